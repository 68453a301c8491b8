"""Issue 19 remainders: the char_group tokenizer, dictionary files for the stop / decompounder /
synonym filters (local paths, as Milvus's get_resource_path reads them), and several boost rankers
combined by the FunctionScore's function_mode / boost_mode.

Expectations are computed here: char_group re-implemented in Python from the Unicode categories,
BM25 from the published formula, filters from the dictionary files' lines, and boost scores from
Milvus's rule (values of the matching boosts combined by function_mode, then applied to the score by
boost_mode) on IP scores computed with numpy.
"""
from __future__ import annotations

import math
import unicodedata
from collections import Counter

import numpy as np
import pytest
from pymilvus import DataType, Function, FunctionScore, FunctionType, MilvusClient

from e2e_util import assert_msg, server_error, unique

# Unicode White_Space (Rust's char::is_whitespace).
WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)}
GROUPS = {
    "whitespace": lambda c: c in WHITE_SPACE,
    "letter": lambda c: c.isalpha(),  # the test texts hold no Nl / combining marks
    "digit": lambda c: "0" <= c <= "9",
    "punctuation": lambda c: unicodedata.category(c).startswith("P"),
    "symbol": lambda c: unicodedata.category(c).startswith("S"),
    "ascii_whitespace": lambda c: c in " \t\n\x0c\r",
    "ascii_letter": lambda c: c.isascii() and c.isalpha(),
    "ascii_digit": lambda c: "0" <= c <= "9",
    "ascii_punctuation": lambda c: c.isascii() and 0x20 < ord(c) < 0x7F and not c.isalnum(),
}


def char_group_reference(delimiters, text):
    """Tokens (text, byte start, byte end) of Milvus's char_group tokenizer."""
    chars = {d for d in delimiters if len(d) == 1}
    groups = [GROUPS[d] for d in delimiters if len(d) != 1]

    def is_delim(c):
        return c in chars or any(g(c) for g in groups)

    out, cur, start, pos = [], [], 0, 0
    for c in text:
        if is_delim(c):
            if cur:
                out.append(("".join(cur), start, pos))
                cur = []
        else:
            if not cur:
                start = pos
            cur.append(c)
        pos += len(c.encode())
    if cur:
        out.append(("".join(cur), start, pos))
    return out


def bm25(docs: dict, query: list, k1=1.2, b=0.75) -> dict:
    n = len(docs)
    avgdl = sum(len(t) for t in docs.values()) / n
    df = Counter()
    for t in docs.values():
        df.update(set(t))
    out = {}
    for i, toks in docs.items():
        c = Counter(toks)
        s = sum(qtf * math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * c[t] * (k1 + 1)
                / (c[t] + k1 * (1 - b + b * len(toks) / avgdl))
                for t, qtf in Counter(query).items() if c[t])
        if any(c[t] for t in query):
            out[i] = s
    return out


# ---------------------------------------------------------------- char_group

CG_TEXTS = [
    "testotest,test1test",
    "red,green; blue|yellow 42 apples",
    "Käse—Brot… ¿qué? 3×4=12 $5 €6 naïve",
    "中文，逗号。句号 mixed-Case_text\u00a0nbsp\ttab",
    "",
    ",,,",
]
CG_DELIMS = [
    ["o", "punctuation", "digit"],
    [",", ";", "|", "whitespace"],
    ["symbol", "whitespace"],
    ["letter"],
    ["，", "。", "ascii_whitespace", "ascii_punctuation"],
    ["ascii_letter", "ascii_digit"],
    [],
]


def test_char_group_tokens_match_the_reference(client):
    for delims in CG_DELIMS:
        params = {"tokenizer": {"type": "char_group", "delimiters": delims}}
        for text in CG_TEXTS:
            res = client.run_analyzer(text, analyzer_params=params, with_detail=True)
            got = [(t["token"], t["start_offset"], t["end_offset"]) for t in res.tokens]
            assert got == char_group_reference(delims, text), (delims, text)
            assert [t["position"] for t in res.tokens] == list(range(len(got)))
    # Filters run after the tokenizer.
    res = client.run_analyzer("Red,GREEN", analyzer_params={
        "tokenizer": {"type": "char_group", "delimiters": [","]}, "filter": ["lowercase"]})
    assert list(res.tokens) == ["red", "green"]


def test_char_group_param_errors_are_milvus(client):
    def err(tok):
        return server_error(client.run_analyzer, "x", analyzer_params={"tokenizer": tok})
    assert_msg(err({"type": "char_group"}), "char group tokenizer delimiters can't be empty")
    assert_msg(err({"type": "char_group", "delimiters": ","}), "char group tokenizer delimiters must be a vector")
    assert_msg(err({"type": "char_group", "delimiters": [1]}),
               "char group tokenizer delimiter in delimiters must be string")
    assert_msg(err({"type": "char_group", "delimiters": ["comma"]}), "comma not a char or name of build-in char group")
    # Tokenizers Kite does not have are refused with Milvus's text for an unknown tokenizer.
    assert_msg(err({"type": "ngram", "min_gram": 2, "max_gram": 3}), "unsupported tokenizer: ngram")


def test_bm25_and_text_match_with_a_char_group_analyzer(client):
    delims = [",", ";", "|", "whitespace"]
    params = {"tokenizer": {"type": "char_group", "delimiters": delims}, "filter": ["lowercase"]}
    name = unique("cg_bm25")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("text", DataType.VARCHAR, max_length=500, enable_analyzer=True, enable_match=True,
                analyzer_params=params)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                            input_field_names=["text"], output_field_names=["sparse"]))
    ip = client.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    texts = ["red-wine,cheese;bread", "Red-Wine|red-wine cheese", "white-wine bread bread",
             "cheese;cheese;cheese", "beer,red-wine", "water"]
    client.insert(name, [{"id": i, "text": t} for i, t in enumerate(texts[:3])])
    client.flush(name)  # sealed + growing
    client.insert(name, [{"id": i + 3, "text": t} for i, t in enumerate(texts[3:])])
    docs = {i: [t.lower() for t, _, _ in char_group_reference(delims, text)] for i, text in enumerate(texts)}
    for q in ["red-wine", "cheese bread", "RED-WINE|beer"]:
        want = bm25(docs, [t.lower() for t, _, _ in char_group_reference(delims, q)])
        res = client.search(name, [q], anns_field="sparse", limit=10, search_params={"metric_type": "BM25"})[0]
        got = {h["id"]: h["distance"] for h in res}
        assert set(got) == set(want), q
        for i, sc in want.items():
            assert abs(got[i] - sc) <= 1e-4 * max(1.0, sc), (q, i)
    # "red-wine" is one token here (the standard analyzer would split it).
    got = sorted(r["id"] for r in client.query(name, filter="TEXT_MATCH(text, 'red-wine')", output_fields=["id"]))
    assert got == sorted(i for i, toks in docs.items() if "red-wine" in toks) == [0, 1, 4]


# ---------------------------------------------------------------- dictionary files

def local(path):
    return {"type": "local", "path": str(path)}


def test_stop_decompounder_and_synonym_filters_read_local_files(client, tmp_path):
    stop = tmp_path / "stop.txt"
    stop.write_text("the\nof\nand\n")
    words = tmp_path / "words.txt"
    words.write_text("dampf\nschiff\nfahrt\n")
    syn = tmp_path / "syn.txt"
    syn.write_text("fast, quick => speedy\r\nhappy, joyful, cheerful\n\n")

    def toks(filt, text, tokenizer="whitespace"):
        return list(client.run_analyzer(text, analyzer_params={"tokenizer": tokenizer, "filter": [filt]}).tokens)

    text = "the history of rome and the empire"
    stop_words = set(stop.read_text().split("\n")) | {"empire"}
    assert toks({"type": "stop", "stop_words": ["empire"], "stop_words_file": local(stop)}, text) == [
        w for w in text.split() if w not in stop_words]
    assert toks({"type": "decompounder", "word_list_file": local(words)}, "dampfschifffahrt dampfer") == [
        "dampf", "schiff", "fahrt", "dampfer"]
    # Rules from the file are the rules inline: both give the same tokens.
    text = "fast cars make joyful people happy"
    inline = [line for line in syn.read_text().splitlines() if line]
    for expand in (True, False):
        from_file = client.run_analyzer(text, analyzer_params={"tokenizer": "whitespace", "filter": [
            {"type": "synonym", "synonyms_file": local(syn), "expand": expand}]}, with_detail=True)
        from_list = client.run_analyzer(text, analyzer_params={"tokenizer": "whitespace", "filter": [
            {"type": "synonym", "synonyms": inline, "expand": expand}]}, with_detail=True)
        by_pos = lambda r: {(t["position"], t["token"]) for t in r.tokens}  # noqa: E731
        assert by_pos(from_file) == by_pos(from_list)
    got = toks({"type": "synonym", "synonyms_file": local(syn), "expand": False}, text)
    assert got == ["speedy", "cars", "make", "happy", "people", "happy"]

    # Milvus's messages for file params.
    def err(filt):
        return server_error(client.run_analyzer, "x", analyzer_params={"tokenizer": "standard", "filter": [filt]})
    assert_msg(err({"type": "stop", "stop_words_file": local(tmp_path / "missing.txt")}),
               "IOError: No such file or directory (os error 2)")
    assert_msg(err({"type": "stop", "stop_words_file": local(tmp_path)}),
               "read stop words dict file failed, error: Is a directory (os error 21)")
    assert_msg(err({"type": "synonym", "synonyms_file": {"type": "remote", "resource_name": "en", "file_name": "s.txt"}}),
               "file resource: en not found in local resource list")
    assert_msg(err({"type": "synonym", "synonyms_file": {"type": "local"}}),
               "file path of local file `synonyms dict file` must be set")
    assert_msg(err({"type": "decompounder", "word_list_file": "words.txt"}),
               "file config of decompounder word list file must be object")
    assert_msg(err({"type": "decompounder"}), "decompounder word list is empty")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe\n")
    assert_msg(err({"type": "synonym", "synonyms_file": local(bad)}),
               "read synonyms dict file failed, error: stream did not contain valid UTF-8")


def test_a_synonyms_file_analyzer_serves_bm25_search(client, tmp_path):
    syn = tmp_path / "syn.txt"
    syn.write_text("car, automobile, auto\n")
    params = {"tokenizer": "standard", "filter": ["lowercase", {"type": "synonym", "synonyms_file": local(syn)}]}
    name = unique("syn_bm25")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("text", DataType.VARCHAR, max_length=500, enable_analyzer=True, analyzer_params=params)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                            input_field_names=["text"], output_field_names=["sparse"]))
    ip = client.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    texts = ["an automobile for sale", "red car", "bicycle shop", "auto parts and car wash"]
    client.insert(name, [{"id": i, "text": t} for i, t in enumerate(texts)])
    group = ["auto", "automobile", "car"]

    def analyze(t):
        out = []
        for w in t.lower().split():
            out.extend(group if w in group else [w])
        return out
    docs = {i: analyze(t) for i, t in enumerate(texts)}
    want = bm25(docs, analyze("car"))
    res = client.search(name, ["car"], anns_field="sparse", limit=10, search_params={"metric_type": "BM25"})[0]
    got = {h["id"]: h["distance"] for h in res}
    assert set(got) == set(want) == {0, 1, 3}
    for i, sc in want.items():
        assert abs(got[i] - sc) <= 1e-4 * max(1.0, sc)
    # A collection whose analyzer names a missing file is refused at create_collection.
    params["filter"][1]["synonyms_file"] = local(tmp_path / "gone.txt")
    s2 = MilvusClient.create_schema(enable_dynamic_field=False)
    s2.add_field("id", DataType.INT64, is_primary=True)
    s2.add_field("text", DataType.VARCHAR, max_length=500, enable_analyzer=True, analyzer_params=params)
    s2.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    assert_msg(server_error(client.create_collection, unique("syn_gone"), schema=s2),
               "No such file or directory (os error 2)")


# ---------------------------------------------------------------- boost rankers: function_mode / boost_mode

@pytest.fixture(scope="module")
def boost_data(module_client):
    c = module_client
    name = unique("boosts")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("grp", DataType.INT64)
    s.add_field("tag", DataType.VARCHAR, max_length=8)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    ip = c.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="IP")
    c.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    rng = np.random.default_rng(19)
    n = 48
    vecs = rng.random((n, 4)).astype(np.float32)
    rows = [{"id": i, "grp": i % 4, "tag": "b" if i % 3 == 0 else "a", "v": vecs[i].tolist()} for i in range(n)]
    c.insert(name, rows[:30])
    c.flush(name)  # a sealed segment and a growing one
    c.insert(name, rows[30:])
    q = rng.random(4).astype(np.float32)
    return name, rows, {i: float(np.dot(vecs[i], q)) for i in range(n)}, q


BOOSTS = [("grp == 1", 2.0), ("tag == 'b'", 3.0), ("grp >= 2", 0.5)]


def expected_scores(rows, ip, boosts, function_mode, boost_mode):
    """Milvus: the weights of the boosts a row matches combined by function_mode (default multiply),
    then applied to its score by boost_mode (default multiply); rows matching none keep their score."""
    matchers = {"grp == 1": lambda r: r["grp"] == 1, "tag == 'b'": lambda r: r["tag"] == "b",
                "grp >= 2": lambda r: r["grp"] >= 2}
    out = {}
    for r in rows:
        vals = [w for f, w in boosts if matchers[f](r)]
        sc = ip[r["id"]]
        if vals:
            fs = sum(vals) if function_mode == "sum" else math.prod(vals)
            sc = sc + fs if boost_mode == "sum" else sc * fs
        out[r["id"]] = sc
    return out


@pytest.mark.parametrize("function_mode", [None, "multiply", "sum"])
@pytest.mark.parametrize("boost_mode", [None, "sum"])
def test_several_boosts_combine_by_function_mode_then_boost_mode(module_client, boost_data, function_mode,
                                                                  boost_mode):
    name, rows, ip, q = boost_data
    fns = [Function(name=f"b{i}", input_field_names=[], function_type=FunctionType.RERANK,
                    params={"reranker": "boost", "filter": f, "weight": w}) for i, (f, w) in enumerate(BOOSTS)]
    params = {}
    if function_mode:
        params["function_mode"] = function_mode
    if boost_mode:
        params["boost_mode"] = boost_mode
    # limit >= rows: every segment's every row is a candidate, so the answer is every row, rescored.
    res = module_client.search(name, [q.tolist()], anns_field="v", limit=len(rows),
                               ranker=FunctionScore(functions=fns, params=params))[0]
    want = expected_scores(rows, ip, BOOSTS, function_mode, boost_mode)
    assert len(res) == len(rows)
    for h in res:
        assert abs(h["distance"] - want[h["id"]]) <= 1e-5 * max(1.0, abs(want[h["id"]])), h
    got = [want[h["id"]] for h in res]
    assert all(got[j] >= got[j + 1] - 1e-5 for j in range(len(got) - 1))
    # A smaller limit: each segment's top-k by IP are rescored, then merged (Milvus applies boosts
    # to every segment's candidates before the reduce). Rows 0-29 are sealed, 30-47 growing.
    k = 5
    cands = []
    for seg in (rows[:30], rows[30:]):
        top = sorted(seg, key=lambda r: (-ip[r["id"]], r["id"]))[:k]
        cands += [(r["id"], want[r["id"]]) for r in top]
    best = sorted(cands, key=lambda kv: (-kv[1], kv[0]))[:k]
    res5 = module_client.search(name, [q.tolist()], anns_field="v", limit=k,
                                ranker=FunctionScore(functions=fns, params=params))[0]
    assert [h["distance"] for h in res5] == pytest.approx([sc for _, sc in best], rel=1e-5)
    assert {h["id"] for h in res5} == {i for i, _ in best}


def test_function_mode_matters_only_with_several_matches(module_client, boost_data):
    """With one boost, function_mode changes nothing (the combination of one value is that value)."""
    name, rows, ip, q = boost_data
    fn = Function(name="b", input_field_names=[], function_type=FunctionType.RERANK,
                  params={"reranker": "boost", "filter": "grp == 1", "weight": 2.0})

    def scores(params):
        res = module_client.search(name, [q.tolist()], anns_field="v", limit=len(rows),
                                   ranker=FunctionScore(functions=[fn], params=params))[0]
        return {h["id"]: h["distance"] for h in res}
    assert scores({"function_mode": "sum"}) == scores({"function_mode": "multiply"}) == scores({})


def test_boost_param_errors_are_milvus(module_client, boost_data):
    name, rows, ip, q = boost_data

    def err(params, score_params=None, **kw):
        fn = Function(name="b", input_field_names=[], function_type=FunctionType.RERANK,
                      params={"reranker": "boost", **params})
        ranker = FunctionScore(functions=[fn], params=score_params or {})
        return server_error(module_client.search, name, [q.tolist()], anns_field="v", limit=3, ranker=ranker, **kw)
    assert_msg(err({"filter": "grp == 1"}), "failed to create query plan: must set weight params for weight scorer")
    assert_msg(err({"filter": "nope == 1", "weight": 2}), "failed to create query plan: parse expr failed with error")
    assert_msg(err({"weight": "heavy"}),
               'parse function scorer weight params failed with error: {strconv.ParseFloat: parsing "heavy": '
               'invalid syntax}')
    assert_msg(err({"weight": 2}, {"boost_mode": "Max"}), "unknown boost mode: max: invalid parameter")
    assert_msg(err({"weight": 2}, {"function_mode": "avg"}), "unknown function mode: avg: invalid parameter")
    exc = err({"weight": 2}, group_by_field="grp")
    assert exc.code == 1100, exc
    assert_msg(exc, "failed to create query plan: don't support use segment scorer with group_by or search_iterator: "
                    "invalid parameter")


def test_a_boost_in_a_hybrid_sub_request_rescores_that_request(module_client):
    """Milvus: a boost ranker cannot rank a hybrid search, but a sub-request (AnnSearchRequest) may carry
    one: that request's candidates are rescored per segment before the fusion. pymilvus 2.6 has no
    ranker on AnnSearchRequest, so the request is built with its Prepare helpers and sent raw."""
    from pymilvus import WeightedRanker
    from pymilvus.client.prepare import Prepare
    from pymilvus.client.utils import check_status
    c = module_client
    name = unique("hyb_boost")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("grp", DataType.INT64)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("w", DataType.FLOAT_VECTOR, dim=4)
    ip = c.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="IP")
    ip.add_index("w", index_type="FLAT", metric_type="IP")
    c.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    rng = np.random.default_rng(5)
    n = 24
    v, w = rng.random((n, 4)).astype(np.float32), rng.random((n, 4)).astype(np.float32)
    rows = [{"id": i, "grp": i % 3, "v": v[i].tolist(), "w": w[i].tolist()} for i in range(n)]
    c.insert(name, rows[:12])
    c.flush(name)
    c.insert(name, rows[12:])
    qv, qw = rng.random(4).astype(np.float32), rng.random(4).astype(np.float32)
    boosts = [Function(name="b1", input_field_names=[], function_type=FunctionType.RERANK,
                       params={"reranker": "boost", "filter": "grp == 1", "weight": 2.0}),
              Function(name="b2", input_field_names=[], function_type=FunctionType.RERANK,
                       params={"reranker": "boost", "filter": "id < 12", "weight": 0.5})]
    ranker = FunctionScore(functions=boosts, params={"boost_mode": "sum", "function_mode": "multiply"})
    # limit n: every row is a candidate of both requests.
    sub = [Prepare.search_requests_with_expr(collection_name=name, anns_field="v", param={"metric_type": "IP"},
                                             limit=n, data=[qv.tolist()], ranker=ranker),
           Prepare.search_requests_with_expr(collection_name=name, anns_field="w", param={"metric_type": "IP"},
                                             limit=n, data=[qw.tolist()])]
    req = Prepare.hybrid_search_request_with_ranker(name, sub, WeightedRanker(1.0, 1.0, norm_score=False), 5)
    resp = c._get_connection()._stub.HybridSearch(req, timeout=10)
    check_status(resp.status)
    got = list(zip(resp.results.ids.int_id.data, resp.results.scores))

    def boosted(i):
        vals = [wt for cond, wt in ((i % 3 == 1, 2.0), (i < 12, 0.5)) if cond]
        return float(np.dot(v[i], qv)) + (math.prod(vals) if vals else 0.0)
    want = sorted(((i, boosted(i) + float(np.dot(w[i], qw))) for i in range(n)), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [i for i, _ in got] == [i for i, _ in want]
    assert [sc for _, sc in got] == pytest.approx([sc for _, sc in want], rel=1e-5)


def test_rest_search_takes_several_boosts_and_the_function_score_params(module_server, boost_data):
    """REST entities/search: functionScore {functions, params} as the gRPC FunctionScore (boost functions
    beside at most one reranker; boost_mode / function_mode in its params)."""
    import requests
    name, rows, ip, q = boost_data
    base = f"http://{module_server.host}:{module_server.port}/v2/vectordb/"
    fns = [{"name": f"b{i}", "type": "Rerank", "inputFieldNames": [],
            "params": {"reranker": "boost", "filter": f, "weight": w}} for i, (f, w) in enumerate(BOOSTS)]
    for function_mode, boost_mode in [("sum", None), (None, "sum"), ("multiply", "multiply")]:
        params = {k: v for k, v in (("function_mode", function_mode), ("boost_mode", boost_mode)) if v}
        body = {"collectionName": name, "data": [q.tolist()], "annsField": "v", "limit": len(rows),
                "functionScore": {"functions": fns, "params": params}}
        j = requests.post(base + "entities/search", json=body, timeout=30).json()
        assert j["code"] == 0, j
        want = expected_scores(rows, ip, BOOSTS, function_mode, boost_mode)
        assert len(j["data"]) == len(rows)
        for h in j["data"]:
            assert abs(h["distance"] - want[h["id"]]) <= 1e-5 * max(1.0, abs(want[h["id"]])), h
    body["functionScore"]["params"] = {"function_mode": "max"}
    j = requests.post(base + "entities/search", json=body, timeout=30).json()
    assert j["code"] != 0 and "unknown function mode: max" in j["message"], j
