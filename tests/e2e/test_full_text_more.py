"""Full-text search, second part: multi-language analyzers (multi_analyzer_params), run_analyzer
over REST, the sparse inverted index's algorithms and BM25 parameters, more tokenizers/filters.

Expectations are computed here: tokenizers re-implemented in Python for the simple analyzers
(whitespace split; runs of ASCII letters/digits lowercased), BM25 from the published formula
(as tests/e2e/test_full_text.py does), and exact top-k against that reference.
"""
from __future__ import annotations

import math
import re
from collections import Counter

import pytest
import requests
from pymilvus import DataType, Function, FunctionType, MilvusClient

from e2e_util import assert_msg, server_error, unique

K1, B = 1.2, 0.75


def ws_tokens(text: str) -> list:
    """{"tokenizer": "whitespace"}: runs of non-space characters, case kept."""
    return text.split()


def std_tokens(text: str) -> list:
    """The standard analyzer on ASCII text: runs of letters and digits, lowercased."""
    return [t.lower() for t in re.findall(r"[A-Za-z0-9]+", text)]


def bm25_scores(doc_tokens: dict, query_tokens: list, k1=K1, b=B) -> dict:
    n = len(doc_tokens)
    avgdl = sum(len(t) for t in doc_tokens.values()) / n
    df = Counter()
    for t in doc_tokens.values():
        df.update(set(t))
    q = Counter(query_tokens)
    out = {}
    for i, toks in doc_tokens.items():
        c = Counter(toks)
        s, hit = 0.0, False
        for t, qtf in q.items():
            tf = c.get(t, 0)
            if not tf:
                continue
            hit = True
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            s += qtf * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(toks) / avgdl))
        if hit:
            out[i] = s
    return out


MULTI = {
    "by_field": "lang",
    "analyzers": {"std": {"type": "standard"}, "english": {"type": "english"},
                  "default": {"tokenizer": "whitespace"}},
    "alias": {"s": "std", "en": "english"},
}


def multi_schema(multi=MULTI, lang_type=DataType.VARCHAR, **text_kw):
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    if lang_type == DataType.VARCHAR:
        s.add_field("lang", DataType.VARCHAR, max_length=32, nullable=True)
    else:
        s.add_field("lang", lang_type)
    kw = dict(text_kw)
    if multi is not None:
        kw["multi_analyzer_params"] = multi
    s.add_field("text", DataType.VARCHAR, max_length=1000, enable_analyzer=True, **kw)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                            input_field_names=["text"], output_field_names=["sparse"]))
    return s


def create_multi(c, name):
    c.create_collection(name, schema=multi_schema())
    ip = c.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    c.create_index(name, ip)
    c.load_collection(name)


# Rows: (lang, text). The analyzer of a row: alias -> name -> else "default".
ROWS = [
    ("std", "Quick Brown fox, quick!"),
    ("s", "the LAZY dog and the Quick cat"),
    ("english", "dogs running quickly"),
    ("en", "a dog runs"),
    (None, "Quick quick Dog"),
    ("klingon", "quick Brown Dog dog"),
    ("default", "brown fox jumps"),
]


def row_tokens(lang, text):
    name = {"s": "std", "en": "english"}.get(lang, lang)
    if name == "std":
        return std_tokens(text)
    if name == "english":
        return None  # stemmed: not used in the scored checks below
    return ws_tokens(text)


def test_multi_analyzer_bm25_per_row_analyzer_and_query_analyzer_name(server):
    c = server.client()
    name = unique("multi")
    create_multi(c, name)
    rows = [{"id": i, "lang": lang, "text": t} for i, (lang, t) in enumerate(ROWS)]
    c.insert(name, rows[:4])
    c.flush(name)
    c.insert(name, rows[4:])  # sealed + growing

    # run_analyzer on the field: the analyzer each name selects.
    res = c.run_analyzer("Quick Brown", collection_name=name, field_name="text", analyzer_names=["s"])
    assert list(res.tokens) == std_tokens("Quick Brown")
    res = c.run_analyzer(["Quick Brown", "Dogs x"], collection_name=name, field_name="text",
                         analyzer_names="nope")  # unknown: default, one name for every text
    assert [list(r.tokens) for r in res] == [ws_tokens("Quick Brown"), ws_tokens("Dogs x")]
    res = c.run_analyzer("dogs running", collection_name=name, field_name="text", analyzer_names=["en"])
    assert list(res.tokens) == ["dog", "run"]
    e = server_error(c.run_analyzer, "a", collection_name=name, field_name="text")
    assert_msg(e, "analyzer names must be set for multi analyzer")
    e = server_error(c.run_analyzer, ["a", "b", "c"], collection_name=name, field_name="text",
                     analyzer_names=["s", "s"])
    assert_msg(e, "multi analyzer input text and analyzer name must have same length")

    # Scored search over the rows analyzed by std / default (english rows have no "quick"/"Quick"
    # token after stemming? they do not contain the word at all).
    docs = {i: row_tokens(lang, t) for i, (lang, t) in enumerate(ROWS)}
    english = {i for i, (lang, _) in enumerate(ROWS) if lang in ("english", "en")}
    # Statistics count every row's tokens; english rows' token counts are their stemmed tokens.
    docs[2] = ["dog", "run", "quick"]  # english: "dogs running quickly" -> dog run quick
    docs[3] = ["dog", "run"]           # "a" is a stop word
    res = c.run_analyzer(["dogs running quickly", "a dog runs"], collection_name=name, field_name="text",
                         analyzer_names=["english"])
    assert [list(r.tokens) for r in res] == [docs[2], docs[3]]
    for query, analyzer, qtokens in [
        ("Quick", "std", std_tokens("Quick")),
        ("Quick", None, ws_tokens("Quick")),
        ("Quick", "s", std_tokens("Quick")),
        ("quick Dog", "unknown-name", ws_tokens("quick Dog")),
        ("running dogs", "en", ["run", "dog"]),
    ]:
        sp = {"metric_type": "BM25"}
        if analyzer is not None:
            sp["analyzer_name"] = analyzer
        got = c.search(name, data=[query], anns_field="sparse", limit=10, search_params=sp,
                       output_fields=["lang"])[0]
        want = bm25_scores(docs, qtokens)
        assert sorted(h["id"] for h in got) == sorted(want), (query, analyzer)
        for h in got:
            assert abs(h["distance"] - want[h["id"]]) <= 1e-4 * max(1, want[h["id"]]), (query, analyzer, h)
    assert english  # the english rows were part of the statistics above


def test_multi_analyzer_params_validation(client):
    def create(schema):
        return server_error(client.create_collection, unique("multi_bad"), schema=schema)

    def with_multi(m, **kw):
        return multi_schema(m, **kw)

    base = {"by_field": "lang", "analyzers": {"default": {"type": "standard"}}}
    assert_msg(create(with_multi({"analyzers": base["analyzers"]})),
               "multi analyzer params now must set by_field to specify with field decide analyzer")
    assert_msg(create(with_multi({**base, "by_field": 3})),
               "multi analyzer params by_field must be string but now: 3")
    assert_msg(create(with_multi({**base, "by_field": "nope"})),
               'multi analyzer dependent field "nope" not exist in collection')
    assert_msg(create(with_multi(base, lang_type=DataType.INT64)),
               "multi analyzer params now only support by string field, but field lang is not string")
    assert_msg(create(with_multi({**base, "alias": {"a": 1}})),
               'multi analyzer alias must be string map but now: {"a":1}')
    assert_msg(create(with_multi({"by_field": "lang"})), "multi analyzer params must set analyzers")
    assert_msg(create(with_multi({"by_field": "lang", "analyzers": {"en": {"type": "english"}}})),
               "multi analyzer must set default analyzer for all unknown value")
    assert_msg(create(with_multi({"by_field": "lang", "analyzers": {"default": {"type": "klingon"}}})),
               "analyzer default params invalid:", "unknown build-in analyzer type: klingon")
    assert_msg(create(with_multi(base, enable_match=True)),
               "multi analyzer now only support for bm25, but now field text enable match")
    assert_msg(create(with_multi(base, analyzer_params={"type": "english"})),
               "field text analyzer params should be none if has multi analyzer params")
    # A valid one is accepted and described back.
    name = unique("multi_ok")
    client.create_collection(name, schema=with_multi(base))
    fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert "multi_analyzer_params" in fields["text"]["params"]


# ---------------------------------------------------------------- boost ranker random_score

M64 = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _fmix(k):
    k ^= k >> 33
    k = (k * 0xff51afd7ed558ccd) & M64
    k ^= k >> 33
    k = (k * 0xc4ceb9fe1a85ec53) & M64
    return k ^ (k >> 33)


def murmur3_x64_one_block(k1: int, k2: int, h1: int, h2: int) -> int:
    """The MurmurHash3_x64_128 (Appleby) body for one 16-byte block (k1, k2) from the state
    (h1, h2), then its finalization for a 16-byte input; the first 64 bits."""
    c1, c2 = 0x87c37b91114253d5, 0x4cf5ad432745937f
    k1 = (_rotl((k1 * c1) & M64, 31) * c2) & M64
    h1 ^= k1
    h1 = (_rotl(h1, 27) + h2) & M64
    h1 = (h1 * 5 + 0x52dce729) & M64
    k2 = (_rotl((k2 * c2) & M64, 33) * c1) & M64
    h2 ^= k2
    h2 = (_rotl(h2, 31) + h1) & M64
    h2 = (h2 * 5 + 0x38495ab5) & M64
    h1 ^= 16
    h2 ^= 16
    h1 = (h1 + h2) & M64
    h2 = (h2 + h1) & M64
    h1, h2 = _fmix(h1), _fmix(h2)
    return (h1 + h2) & M64


def milvus_random(key: int, seed: int) -> float:
    """Milvus's boost random_score value (rescores/Murmur3.c MurmurHash3_x64_64_Special and
    Utils.h hash_to_double): the block (key, seed) hashed from the state (key ^ seed, seed), its low
    52 bits as the mantissa of a double in [1, 2), minus 1."""
    import struct
    key &= M64
    seed &= M64
    h = murmur3_x64_one_block(key, seed, key ^ seed, seed)
    return struct.unpack("<d", struct.pack("<Q", (0x3FF << 52) | (h & ((1 << 52) - 1))))[0] - 1.0


def test_boost_random_score_is_deterministic_for_a_seed_and_field(client):
    import json
    import numpy as np
    from pymilvus import FunctionScore
    name = unique("rnd")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("k", DataType.INT64)
    s.add_field("tag", DataType.VARCHAR, max_length=8)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    rng = np.random.default_rng(7)
    n = 40
    vecs = rng.random((n, 4)).astype(np.float32)
    rows = [{"id": i, "k": 1000 + 7 * i, "tag": "a" if i % 3 else "b", "v": vecs[i].tolist()} for i in range(n)]
    client.insert(name, rows[:20])
    client.flush(name)
    client.insert(name, rows[20:])
    q = rng.random(4).astype(np.float32)
    ip_scores = {i: float(np.dot(vecs[i], q)) for i in range(n)}

    def search(params, mode=None):
        fn = Function(name="rnd", input_field_names=[], function_type=FunctionType.RERANK, params=params)
        ranker = FunctionScore(functions=[fn], params={"boost_mode": mode}) if mode else fn
        return client.search(name, [q.tolist()], anns_field="v", limit=n, ranker=ranker)[0]

    for seed, weight, mode, flt in [(126, 1.0, None, None), (5, 2.0, "sum", None), (99, 0.5, None, "tag == 'b'")]:
        params = {"reranker": "boost", "weight": weight,
                  "random_score": json.dumps({"seed": seed, "field": "k"})}
        if flt:
            params["filter"] = flt
        got = search(params, mode)
        want = {}
        for i in range(n):
            sc = ip_scores[i]
            if flt is None or rows[i]["tag"] == "b":
                f = milvus_random(rows[i]["k"], seed) * weight
                sc = sc + f if mode == "sum" else sc * f
            want[i] = sc
        assert len(got) == n
        for h in got:
            assert abs(h["distance"] - want[h["id"]]) <= 1e-5 * max(1.0, abs(want[h["id"]])), (seed, h)
        order = [h["id"] for h in got]
        assert [want[i] for i in order] == sorted([want[i] for i in order], reverse=True) or all(
            want[order[j]] >= want[order[j + 1]] - 1e-5 for j in range(n - 1))
        # Deterministic: the same request answers the same.
        assert [h["id"] for h in search(params, mode)] == order

    # Without a field the key is the row's place in its segment: still deterministic.
    params = {"reranker": "boost", "weight": 1.0, "random_score": json.dumps({"seed": 3})}
    a, b = search(params), search(params)
    assert [h["id"] for h in a] == [h["id"] for h in b]
    assert [h["distance"] for h in a] == [h["distance"] for h in b]

    # Milvus's checks of the params.
    def bad(rs):
        return server_error(search, {"reranker": "boost", "weight": 1.0, "random_score": rs})
    assert_msg(bad(json.dumps({"field": "tag"})), "only support int64 field as random seed, but got VarChar")
    assert_msg(bad(json.dumps({"field": "nope"})), "random seed field not found")
    assert_msg(bad(json.dumps({"field": 3})), "random seed field name must be string")
    assert_msg(bad(json.dumps({"seed": "x"})), "random seed must be number")
    assert_msg(bad(str({"seed": 1})), "invalid character '\\'' looking for beginning of object key string")


# ---------------------------------------------------------------- search iterator with a ranker

def test_search_iterator_with_a_ranker_is_refused_as_milvus_does(client):
    """Milvus 2.6 (initSearchRequest): a function score on an iterator's search is refused."""
    name = unique("iter_rank")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("ts", DataType.INT64)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    client.insert(name, [{"id": i, "ts": i, "v": [float(i), 0.0]} for i in range(20)])
    decay = Function(name="d", input_field_names=["ts"], function_type=FunctionType.RERANK,
                     params={"reranker": "decay", "function": "gauss", "origin": 0, "scale": 10})
    boost = Function(name="b", input_field_names=[], function_type=FunctionType.RERANK,
                     params={"reranker": "boost", "weight": 2.0})
    for ranker in (decay, boost):
        e = server_error(lambda: client.search_iterator(name, data=[[0.0, 0.0]], batch_size=5, ranker=ranker).next())
        assert_msg(e, "Range search do not support rerank")
    # The plain iterator still works and the plain ranked search too.
    it = client.search_iterator(name, data=[[0.0, 0.0]], batch_size=7)
    seen = []
    while True:
        page = it.next()
        if not page:
            break
        seen += [h["id"] for h in page]
    it.close()
    assert seen == list(range(20))
    assert len(client.search(name, [[0.0, 0.0]], limit=3, ranker=decay)[0]) == 3


# ---------------------------------------------------------------- sparse index algorithms and BM25 params

def test_inverted_index_algos_give_identical_bm25_top_k(client):
    texts = [
        "the quick brown fox jumps over the lazy dog",
        "a quick brown dog outpaces a quick red fox",
        "lorem ipsum dolor sit amet",
        "the dog barks at the fox and the fox runs",
        "brown bears eat honey",
        "quick quick quick",
        "foxes and dogs are animals",
        "the end of the story",
    ] * 4
    docs = {i: std_tokens(t) for i, t in enumerate(texts)}
    queries = ["quick fox", "brown dog", "the story", "honey bears eat"]
    results = {}
    for algo, k1, b in [("DAAT_MAXSCORE", 1.2, 0.75), ("DAAT_WAND", 1.2, 0.75), ("TAAT_NAIVE", 1.2, 0.75),
                        ("DAAT_MAXSCORE", 2.0, 0.3)]:
        name = unique("algo")
        client.create_collection(name, schema=multi_schema(None))
        ip = client.prepare_index_params()
        ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params={"inverted_index_algo": algo, "bm25_k1": k1, "bm25_b": b})
        client.create_index(name, ip)
        client.load_collection(name)
        client.insert(name, [{"id": i, "lang": "x", "text": t} for i, t in enumerate(texts)])
        client.flush(name)
        got = client.search(name, data=queries, anns_field="sparse", limit=10,
                            search_params={"metric_type": "BM25"})
        results[(algo, k1, b)] = [[(h["id"], round(h["distance"], 4)) for h in hits] for hits in got]
        for q, hits in zip(queries, got):
            want = bm25_scores(docs, std_tokens(q), k1, b)
            best = sorted(want.values(), reverse=True)[:10]
            assert [round(h["distance"], 3) for h in hits] == [round(x, 3) for x in best], (algo, q)
            for h in hits:
                assert abs(h["distance"] - want[h["id"]]) <= 1e-4 * max(1, want[h["id"]])
    base = results[("DAAT_MAXSCORE", 1.2, 0.75)]
    assert results[("DAAT_WAND", 1.2, 0.75)] == base
    assert results[("TAAT_NAIVE", 1.2, 0.75)] == base
    assert results[("DAAT_MAXSCORE", 2.0, 0.3)] != base


def test_sparse_index_param_errors(client):
    name = unique("algo_bad")
    client.create_collection(name, schema=multi_schema(None))

    def bad(params):
        ip = client.prepare_index_params()
        ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=params)
        return server_error(client.create_index, name, ip)
    assert_msg(bad({"inverted_index_algo": "BLOCK"}),
               "sparse inverted index algo BLOCK not found or not supported, "
               "supported: [TAAT_NAIVE DAAT_WAND DAAT_MAXSCORE]")
    assert_msg(bad({"bm25_k1": 3.5}), "param 'bm25_k1' (3.5) should be in range [0.000000, 3.000000]")
    assert_msg(bad({"bm25_b": 1.5}), "param 'bm25_b' (1.5) should be in range [0.000000, 1.000000]")
    assert_msg(bad({"drop_ratio_build": 1}), "invalid drop_ratio_build: 1, must be in range [0, 1)")


# ---------------------------------------------------------------- run_analyzer over REST

def test_run_analyzer_over_rest(server):
    import zlib
    base = f"http://{server.host}:{server.port}/v2/vectordb/"

    def post(path, body):
        return requests.post(base + path, json=body, timeout=30).json()

    j = post("common/run_analyzer", {"text": ["The Quick-Brown fox", "DOGS"],
                                     "analyzerParams": "{\"type\": \"standard\"}"})
    assert j["code"] == 0, j
    assert [[t["token"] for t in r["tokens"]] for r in j["data"]["results"]] == \
        [std_tokens("The Quick-Brown fox"), std_tokens("DOGS")]
    j = post("common/run_analyzer", {"text": ["Hello  World"], "withDetail": True, "withHash": True,
                                     "analyzerParams": {"tokenizer": "whitespace"}})
    assert j["code"] == 0, j
    toks = j["data"]["results"][0]["tokens"]
    assert [(t["token"], t["startOffset"], t["endOffset"], t["position"]) for t in toks] == \
        [("Hello", 0, 5, 0), ("World", 7, 12, 1)]
    assert [t["hash"] for t in toks] == [zlib.crc32(b"Hello") % 0xFFFFFFFF, zlib.crc32(b"World") % 0xFFFFFFFF]
    # A collection field with multi-language analyzers, by analyzer name.
    c = server.client()
    name = unique("ra_rest")
    create_multi(c, name)
    j = post("common/run_analyzer", {"text": ["Quick Brown"], "collectionName": name, "fieldName": "text",
                                     "analyzerNames": ["s"]})
    assert j["code"] == 0, j
    assert [t["token"] for t in j["data"]["results"][0]["tokens"]] == std_tokens("Quick Brown")
    j = post("common/run_analyzer", {"text": ["x"], "analyzerParams": "{\"tokenizer\": \"nope\"}"})
    assert j["code"] != 0 and "unsupported tokenizer: nope" in j["message"], j
    j = post("common/run_analyzer", {"analyzerParams": "{}"})
    assert j["code"] != 0, j


# ---------------------------------------------------------------- regex and synonym filters

def test_regex_and_synonym_filters(client):
    def toks(params, text):
        return list(client.run_analyzer(text, analyzer_params=params).tokens)

    words = "test milvus testing retest vector db"
    got = toks({"tokenizer": "whitespace", "filter": [{"type": "regex", "expr": "^(?!test)"}]}, words)
    assert got == [w for w in words.split() if re.search(r"^(?!test)", w)] == ["milvus", "retest", "vector", "db"]
    got = toks({"tokenizer": "whitespace", "filter": [{"type": "regex", "expr": "t$"}]}, words)
    assert got == [w for w in words.split() if re.search(r"t$", w)]

    syn = ["fast, quick => speedy", "happy, joyful, cheerful", "a\\,b, ab"]
    text = "fast cars make joyful people happy a,b"
    res = client.run_analyzer(text, analyzer_params={"tokenizer": "whitespace", "filter": [
        {"type": "synonym", "synonyms": syn, "expand": True}]}, with_detail=True)
    by_pos = {}
    for t in res.tokens:
        by_pos.setdefault(t["position"], set()).add(t["token"])
    assert by_pos == {0: {"fast", "speedy"}, 1: {"cars"}, 2: {"make"}, 3: {"happy", "joyful", "cheerful"},
                      4: {"people"}, 5: {"happy", "joyful", "cheerful"}, 6: {"a,b", "ab"}}
    got = toks({"tokenizer": "whitespace", "filter": [{"type": "synonym", "synonyms": syn, "expand": False}]}, text)
    assert got == ["speedy", "cars", "make", "happy", "people", "happy", "a,b"]

    def err(filt):
        return server_error(client.run_analyzer, "x", analyzer_params={"tokenizer": "standard", "filter": [filt]})
    assert_msg(err({"type": "regex"}), "must set expr for regex filter")
    assert_msg(err({"type": "regex", "expr": 3}), "expr must be string")
    assert_msg(err({"type": "regex", "expr": "(unclosed"}), "regex expression invalid, expr:(unclosed")
    assert_msg(err({"type": "synonym", "expand": "yes"}), "create synonym filter failed, `expand` must be bool")
    assert_msg(err({"type": "synonym", "synonyms": "a, b"}), "create synonym filter failed, `synonyms` must be array")
    assert_msg(err({"type": "synonym", "synonyms": ["a b, c"]}), "read synonym dict failed, has space between words")
    assert_msg(err({"type": "synonym", "synonyms": ["a => b => c"]}), 'has more than one "=>" in a => b => c')


# ---------------------------------------------------------------- REST searchParams: order_by_fields, analyzer_name

def test_rest_search_order_by_fields_and_analyzer_name(server):
    base = f"http://{server.host}:{server.port}/v2/vectordb/"

    def ok(path, body):
        j = requests.post(base + path, json=body, timeout=30).json()
        assert j["code"] == 0, (path, j)
        return j.get("data")

    c = server.client()
    name = unique("rest_ob")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("price", DataType.INT64)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    ip = c.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    prices = [(i * 37) % 11 for i in range(12)]
    c.insert(name, [{"id": i, "price": prices[i], "v": [float(i), 0.0]} for i in range(12)])
    got = ok("entities/search", {"collectionName": name, "data": [[0.0, 0.0]], "annsField": "v", "limit": 6,
                                 "outputFields": ["price"],
                                 "searchParams": {"metricType": "L2", "order_by_fields": "price:desc"}})
    nearest = list(range(6))  # L2 to the origin: ids 0..5 are the 6 nearest
    want = sorted(nearest, key=lambda i: (-prices[i], i))
    assert [h["price"] for h in got] == [prices[i] for i in want]
    assert sorted(h["id"] for h in got) == nearest
    # Same through gRPC.
    res = c.search(name, [[0.0, 0.0]], anns_field="v", limit=6, output_fields=["price"],
                   order_by_fields=[{"field": "price", "order": "desc"}])
    assert [h["entity"]["price"] for h in res[0]] == [h["price"] for h in got]

    # BM25 with a multi-language analyzer picked by analyzer_name.
    mname = unique("rest_multi")
    create_multi(c, mname)
    c.insert(mname, [{"id": i, "lang": lang, "text": t} for i, (lang, t) in enumerate(ROWS)])
    docs = {i: row_tokens(lang, t) or [] for i, (lang, t) in enumerate(ROWS)}
    for analyzer, qtokens in [("std", std_tokens("Quick")), ("default", ws_tokens("Quick"))]:
        want_ids = {i for i, t in docs.items() if set(qtokens) & set(t)}
        if analyzer == "std":
            want_ids |= {2}  # the english row "dogs running quickly" stems to "quick"
        got = ok("entities/search", {"collectionName": mname, "data": ["Quick"], "annsField": "sparse", "limit": 10,
                                     "searchParams": {"metricType": "BM25", "analyzer_name": analyzer}})
        assert {h["id"] for h in got} == want_ids, analyzer


def test_hybrid_search_bm25_request_uses_its_analyzer_name(client):
    """An AnnSearchRequest on a multi-analyzer BM25 field analyzes its text with its own analyzer_name."""
    from pymilvus import AnnSearchRequest, RRFRanker
    name = unique("multi_hyb")
    create_multi(client, name)
    client.insert(name, [{"id": i, "lang": lang, "text": t} for i, (lang, t) in enumerate(ROWS)])
    docs = {i: row_tokens(lang, t) or [] for i, (lang, t) in enumerate(ROWS)}
    for analyzer, qtokens in [("s", std_tokens("Quick")), ("nope", ws_tokens("Quick"))]:
        req = AnnSearchRequest(data=["Quick"], anns_field="sparse", limit=10,
                               param={"metric_type": "BM25", "analyzer_name": analyzer})
        got = client.hybrid_search(name, [req], RRFRanker(), limit=10)[0]
        want = {i for i, t in docs.items() if set(qtokens) & set(t)}
        if analyzer == "s":
            want |= {2}  # the english row stems "quickly" to "quick"
        assert {h["id"] for h in got} == want, analyzer
