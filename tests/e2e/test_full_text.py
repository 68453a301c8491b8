"""Full-text search (BM25) end to end through pymilvus.

The corpus is real text shipped with the interpreter: paragraphs of the docstrings of Python's
standard library (read with `ast`, as bench/suite/textdata.py does), ASCII-only so the test's
tokenizer is unambiguous. Expected rankings come from a BM25 written here from the published
formula (Robertson & Zaragoza 2009, as Milvus defines it):
    idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
    score  = sum over query terms t of qtf(t) * idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
with the standard analyzer re-implemented in Python (runs of letters/digits, lowercased), N and
df counted over every stored row (Milvus keeps deleted rows in the statistics until compaction).
"""
from __future__ import annotations

import ast
import math
import os
import re
import sysconfig
import time
from collections import Counter

import pytest
from pymilvus import DataType, Function, FunctionType, MilvusClient

from e2e_util import assert_msg, server_error, unique

K1, B = 1.2, 0.75
MAX_LEN = 2000


def corpus(limit: int) -> list:
    root = sysconfig.get_paths()["stdlib"]
    skip = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "turtledemo"}
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        paths += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".py")]
    seen, out = set(), []
    for path in paths:
        try:
            tree = ast.parse(open(path, encoding="utf-8").read())
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in [tree] + [n for n in ast.walk(tree)
                              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]:
            doc = ast.get_docstring(node)
            if not doc:
                continue
            for para in re.split(r"\n\s*\n", doc):
                text = " ".join(para.split())
                if 6 <= len(text.split()) <= 60 and text.isascii() and text not in seen:
                    seen.add(text)
                    out.append(text)
                    if len(out) >= limit:
                        return out
    return out


def tokens(text: str) -> list:
    """Milvus's standard analyzer on ASCII text: runs of letters and digits, lowercased."""
    return [t.lower() for t in re.findall(r"[A-Za-z0-9]+", text)]


class Bm25:
    def __init__(self, docs: dict):
        self.docs = {i: Counter(tokens(t)) for i, t in docs.items()}
        self.len = {i: sum(c.values()) for i, c in self.docs.items()}
        self.n = len(self.docs)
        self.avgdl = sum(self.len.values()) / self.n
        self.df = Counter()
        for c in self.docs.values():
            self.df.update(c.keys())

    def scores(self, query: str, among=None) -> dict:
        q = Counter(tokens(query))
        out = {}
        for i in (among if among is not None else self.docs):
            c = self.docs[i]
            s, hit = 0.0, False
            for t, qtf in q.items():
                tf = c.get(t, 0)
                if not tf:
                    continue
                hit = True
                df = self.df[t]
                idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
                s += qtf * idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.len[i] / self.avgdl))
            if hit:
                out[i] = s
        return out


def check_ranking(c, name, ref: Bm25, queries, alive, k=10, what=""):
    res = c.search(name, data=queries, anns_field="sparse", limit=k, output_fields=["text"],
                   search_params={"metric_type": "BM25"})
    assert len(res) == len(queries)
    for q, hits in zip(queries, res):
        want = ref.scores(q, among=alive)
        best = sorted(want.items(), key=lambda kv: -kv[1])[:k]
        assert len(hits) == len(best), (what, q)
        for rank, h in enumerate(hits):
            hid, score = h["id"], h["distance"]
            assert hid in want, (what, q, hid)
            tol = 1e-4 * max(1.0, abs(want[hid]))
            # The score Kite gives is the reference score of that document ...
            assert abs(score - want[hid]) <= tol, (what, q, rank, hid, score, want[hid])
            # ... and the rank-th best reference score (equal up to ties).
            assert abs(score - best[rank][1]) <= tol, (what, q, rank, score, best[rank])
            assert h["entity"]["text"] == ref_text[hid]


ref_text: dict = {}


def bm25_schema(analyzer_params=None):
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    kw = {"analyzer_params": analyzer_params} if analyzer_params is not None else {}
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_LEN, enable_analyzer=True, **kw)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["text"], output_field_names=["sparse"]))
    return schema


def create_bm25(c, name, analyzer_params=None, index_params=None):
    c.create_collection(name, schema=bm25_schema(analyzer_params))
    ip = c.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                 params=index_params or {})
    c.create_index(name, ip)
    c.load_collection(name)


def wait_indexed(c, name, rows, timeout=60.0):
    deadline = time.time() + timeout
    info = None
    while time.time() < deadline:
        info = c.describe_index(name, "sparse")
        if info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= rows:
            return
        assert info.get("state") != "Failed", info
        time.sleep(0.2)
    raise AssertionError(f"index not built: {info}")


def wait_compacted(c, job):
    deadline = time.time() + 60
    while str(c.get_compaction_state(job)) != "Completed" and time.time() < deadline:
        time.sleep(0.2)
    assert str(c.get_compaction_state(job)) == "Completed"


def test_bm25_ranking_equals_reference_through_growing_sealed_delete_restart_compaction(server):
    c = server.client()
    name = unique("fts")
    texts = corpus(3200)
    assert len(texts) >= 3000
    base, held = [t for i, t in enumerate(texts) if i % 16], texts[::16]
    docs = dict(enumerate(base))
    ref_text.clear()
    ref_text.update(docs)
    queries = [" ".join(q.split()[:6]) for q in held[:25]]
    create_bm25(c, name)
    half = len(base) // 2
    rows = [{"id": i, "text": t} for i, t in docs.items()]
    c.insert(name, rows[:half])
    c.flush(name)                      # sealed
    c.insert(name, rows[half:])        # growing
    ref = Bm25(docs)
    alive = set(docs)
    check_ranking(c, name, ref, queries, alive, what="sealed+growing")

    # Deletes: never returned; the statistics still count them (as Milvus does).
    top = c.search(name, data=queries[:5], anns_field="sparse", limit=3, search_params={"metric_type": "BM25"})
    deleted = sorted({h["id"] for hits in top for h in hits})
    c.delete(name, ids=deleted)
    alive -= set(deleted)
    check_ranking(c, name, ref, queries, alive, what="after delete")

    # Restart: WAL replay + sealed segments give the same answers.
    c.flush(name)
    server.restart()
    c = server.client()
    c.load_collection(name)
    check_ranking(c, name, ref, queries, alive, what="after restart")

    # Compaction rewrites the segments without the deleted rows: they leave the statistics.
    wait_compacted(c, c.compact(name))
    ref = Bm25({i: docs[i] for i in alive})
    check_ranking(c, name, ref, queries, alive, what="after compaction")
    # Once the merged segment (> 2048 rows) has its BM25 sparse index, searches go through it.
    wait_indexed(c, name, len(alive))
    check_ranking(c, name, ref, queries, alive, what="through the sparse index")


def test_bm25_k1_b_and_growing_only(client):
    name = unique("fts_k1b")
    create_bm25(client, name, index_params={"bm25_k1": 1.6, "bm25_b": 0.5})
    texts = corpus(400)
    docs = dict(enumerate(texts))
    client.insert(name, [{"id": i, "text": t} for i, t in docs.items()])
    ref = Bm25(docs)
    global K1, B
    saved = (K1, B)
    K1, B = 1.6, 0.5
    try:
        ref_text.clear()
        ref_text.update(docs)
        check_ranking(client, name, ref, [" ".join(t.split()[:5]) for t in texts[::40]], set(docs),
                      what="growing, k1=1.6 b=0.5")
    finally:
        K1, B = saved


def test_bm25_english_analyzer_stems_query_and_documents(client):
    name = unique("fts_en")
    create_bm25(client, name, analyzer_params={"type": "english"})
    client.insert(name, [{"id": 1, "text": "The runner was running quickly"},
                         {"id": 2, "text": "A quiet garden"}])
    res = client.search(name, data=["runs"], anns_field="sparse", limit=5, search_params={"metric_type": "BM25"})
    assert [h["id"] for h in res[0]] == [1]
    # A stop word alone matches nothing.
    res = client.search(name, data=["the"], anns_field="sparse", limit=5, search_params={"metric_type": "BM25"})
    assert res[0] == [] or len(res[0]) == 0


def test_bm25_schema_is_described_and_output_field_is_never_sent(client):
    name = unique("fts_desc")
    create_bm25(client, name, analyzer_params={"tokenizer": "standard", "filter": ["lowercase"]})
    desc = client.describe_collection(name)
    fns = desc["functions"]
    assert len(fns) == 1 and fns[0]["name"] == "bm25"
    assert fns[0]["input_field_names"] == ["text"] and fns[0]["output_field_names"] == ["sparse"]
    fields = {f["name"]: f for f in desc["fields"]}
    assert fields["sparse"].get("is_function_output") is True
    assert fields["text"]["params"].get("enable_analyzer") in (True, "true")
    # Inserting and upserting text only works (no "Insert missed an field `sparse`").
    client.insert(name, [{"id": 1, "text": "hello world"}])
    client.upsert(name, [{"id": 1, "text": "goodbye world"}])
    res = client.search(name, data=["goodbye"], anns_field="sparse", limit=3, output_fields=["text"],
                        search_params={"metric_type": "BM25"})
    assert [h["entity"]["text"] for h in res[0]] == ["goodbye world"]


def test_bm25_schema_errors(client):
    def create(schema):
        return server_error(client.create_collection, unique("fts_bad"), schema=schema)

    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("text", DataType.VARCHAR, max_length=100)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                            input_field_names=["text"], output_field_names=["sparse"]))
    assert_msg(create(s), "BM25 function input field must set enable_analyzer to true")

    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("text", DataType.VARCHAR, max_length=100, enable_analyzer=True,
                analyzer_params={"tokenizer": "standard", "filter": ["nope"]})
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                            input_field_names=["text"], output_field_names=["sparse"]))
    assert_msg(create(s), "build analyzer failed, filter not found :nope")

    s = bm25_schema(analyzer_params={"type": "klingon"})
    assert_msg(create(s), "unknown build-in analyzer type: klingon")


# ---------------------------------------------------------------- TEXT_MATCH / PHRASE_MATCH

def phrase_ref(doc_tokens, query_tokens, slop):
    """Lucene-style sloppy phrase: positions p_i with spread of (p_i - i) <= slop."""
    if not query_tokens:
        return False
    pos = {}
    for p, t in enumerate(doc_tokens):
        pos.setdefault(t, []).append(p)
    lists = [[p - i for p in pos.get(t, [])] for i, t in enumerate(query_tokens)]
    if any(not l for l in lists):
        return False
    best = min(max(c) - min(c) for c in _product(lists))
    return best <= slop


def _product(lists):
    import itertools
    return itertools.product(*lists)


def test_text_match_and_phrase_match_against_python_logic(server):
    c = server.client()
    name = unique("tm")
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_LEN, enable_analyzer=True, enable_match=True)
    schema.add_field("n", DataType.INT64)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    c.create_collection(name, schema=schema)
    ip = c.prepare_index_params()
    ip.add_index(field_name="v", index_type="FLAT", metric_type="L2")
    c.create_index(name, ip)
    c.load_collection(name)
    texts = corpus(600)
    docs = dict(enumerate(texts))
    rows = [{"id": i, "text": t, "n": i % 7, "v": [float(i), 0.0]} for i, t in docs.items()]
    c.insert(name, rows[:300])
    c.flush(name)
    c.insert(name, rows[300:])
    toks = {i: tokens(t) for i, t in docs.items()}

    def ids(expr):
        return sorted(r["id"] for r in c.query(name, filter=expr, output_fields=["id"], limit=16384))

    for words in ["return value", "file", "socket connection", "iterator", "zzzz nothing"]:
        want = sorted(i for i, t in toks.items() if set(tokens(words)) & set(t))
        assert ids(f"TEXT_MATCH(text, '{words}')") == want, words
        want_n = sorted(i for i in want if docs[i] and i % 7 == 3)
        assert ids(f"TEXT_MATCH(text, '{words}') and n == 3") == want_n
        assert ids(f"not TEXT_MATCH(text, '{words}')") == sorted(set(docs) - set(want))
    words = "return value file object"
    for m in (1, 2, 3):
        want = sorted(i for i, t in toks.items() if len(set(tokens(words)) & set(t)) >= m)
        assert ids(f"TEXT_MATCH(text, '{words}', minimum_should_match={m})") == want, m
    for phrase, slop in [("the file", 0), ("return the", 1), ("if the", 2), ("object file", 3)]:
        q = tokens(phrase)
        want = sorted(i for i, t in toks.items() if phrase_ref(t, q, slop))
        assert ids(f"PHRASE_MATCH(text, '{phrase}', {slop})") == want, (phrase, slop)
    # A filtered search combines with text match.
    res = c.search(name, data=[[0.0, 0.0]], anns_field="v", limit=5, filter="TEXT_MATCH(text, 'file')",
                   output_fields=["text"])
    want = sorted(i for i, t in toks.items() if "file" in t)[:5]
    assert [h["id"] for h in res[0]] == want
    # After a restart (WAL replay + sealed segment) the same answers.
    server.restart()
    c = server.client()
    c.load_collection(name)
    want = sorted(i for i, t in toks.items() if "file" in t)
    assert ids("TEXT_MATCH(text, 'file')") == want


def test_text_match_errors(client):
    name = unique("tm_err")
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=100, enable_analyzer=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=schema)
    ip = client.prepare_index_params()
    ip.add_index(field_name="v", index_type="FLAT", metric_type="L2")
    client.create_index(name, ip)
    client.load_collection(name)
    e = server_error(client.query, name, filter="TEXT_MATCH(text, 'a')")
    assert_msg(e, 'field "text" does not enable match')
    e = server_error(client.query, name, filter="PHRASE_MATCH(id, 'a', 1)")
    assert_msg(e, "phrase match operation on non-string is unsupported")


# ---------------------------------------------------------------- run_analyzer

def test_run_analyzer_tokens_offsets_and_hashes(client):
    import zlib
    res = client.run_analyzer(["The Quick brown-fox", "Dogs' running"], analyzer_params={"type": "english"},
                              with_hash=True, with_detail=True)
    toks = [[t["token"] for t in r.tokens] for r in res]
    assert toks == [["quick", "brown", "fox"], ["dog", "run"]]
    first = res[0].tokens[0]
    assert (first["start_offset"], first["end_offset"], first["position"]) == (4, 9, 1)
    assert first["hash"] == zlib.crc32(b"quick") % 0xFFFFFFFF
    plain = client.run_analyzer("Hello World")
    assert list(plain.tokens) == ["hello", "world"]
    e = server_error(client.run_analyzer, "x", analyzer_params={"tokenizer": "nope"})
    assert_msg(e, "unsupported tokenizer: nope")
    # A collection field's own analyzer.
    name = unique("ra")
    create_bm25(client, name, analyzer_params={"type": "english"})
    res = client.run_analyzer("Running dogs", collection_name=name, field_name="text")
    assert list(res.tokens) == ["run", "dog"]


def test_bm25_index_and_search_metric_rules(client):
    name = unique("fts_metric")
    client.create_collection(name, schema=bm25_schema())
    ip = client.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    e = server_error(client.create_index, name, ip)
    assert_msg(e, "index metric type of BM25 function output field must be BM25")
    ip = client.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="AUTOINDEX")
    client.create_index(name, ip)
    info = client.describe_index(name, "sparse")
    assert info["metric_type"] == "BM25"
    client.load_collection(name)
    client.insert(name, [{"id": 1, "text": "alpha beta"}, {"id": 2, "text": "beta gamma"}])
    e = server_error(client.search, name, data=["beta"], anns_field="sparse", limit=3,
                     search_params={"metric_type": "IP"})
    assert_msg(e, "must use BM25 metric type when searching against BM25 Function output field")
    res = client.search(name, data=["alpha"], anns_field="sparse", limit=3)
    assert [h["id"] for h in res[0]] == [1]


def test_bm25_over_rest(server):
    import requests
    base = f"http://{server.host}:{server.port}/v2/vectordb/"
    name = unique("fts_rest")

    def ok(path, body):
        j = requests.post(base + path, json=body, timeout=60).json()
        assert j["code"] == 0, (path, j)
        return j.get("data")

    ok("collections/create", {
        "collectionName": name,
        "schema": {
            "autoId": False,
            "fields": [
                {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                {"fieldName": "text", "dataType": "VarChar",
                 "elementTypeParams": {"max_length": 200, "enable_analyzer": True}},
                {"fieldName": "sparse", "dataType": "SparseFloatVector"},
            ],
            "functions": [{"name": "bm25", "type": "BM25", "inputFieldNames": ["text"],
                           "outputFieldNames": ["sparse"]}],
        },
        "indexParams": [{"fieldName": "sparse", "indexName": "sparse", "metricType": "BM25",
                         "indexType": "SPARSE_INVERTED_INDEX"}],
    })
    docs = {1: "the quick brown fox", 2: "a lazy dog sleeps", 3: "quick quick thinking"}
    ok("entities/insert", {"collectionName": name, "data": [{"id": i, "text": t} for i, t in docs.items()]})
    got = ok("entities/search", {"collectionName": name, "data": ["quick fox"], "annsField": "sparse",
                                 "limit": 3, "outputFields": ["text"]})
    ref = Bm25(docs).scores("quick fox")
    want = sorted(ref, key=lambda i: -ref[i])
    assert [h["id"] for h in got] == want
    for h in got:
        assert abs(h["distance"] - ref[h["id"]]) <= 1e-4
