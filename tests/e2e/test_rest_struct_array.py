"""Array of Structs fields through the RESTful v2 API (issue 18), as Milvus's httpserver serves
them: collections/create with `schema.structFields`, collections/describe listing them under
`structFields`, entities/insert|upsert|query|get with `[{sub: value, ...}, ...]` values, and
entities/search on a struct's vector sub-field with embedding lists (MAX_SIM metrics).

Every answer is checked against what the same data gives through pymilvus (gRPC), and search
scores against numpy's MAX_SIM computed here from the inserted rows.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
from pymilvus import DataType, MilvusClient

from e2e_util import unique

DIM = 4
SUB_DIM = 3
CAP = 5


class Rest:
    def __init__(self, server):
        self.base = f"http://{server.host}:{server.port}/v2/vectordb/"
        self.session = requests.Session()

    def call(self, path: str, body: dict) -> dict:
        r = self.session.post(self.base + path, json=body, timeout=60)
        assert r.status_code == 200, f"{path}: HTTP {r.status_code} {r.text[:300]}"
        return r.json()

    def ok(self, path: str, body: dict):
        j = self.call(path, body)
        assert j["code"] == 0, f"{path}: {j}"
        return j.get("data")


@pytest.fixture(scope="module")
def rest(module_server):
    r = Rest(module_server)
    yield r
    r.session.close()


def struct_fields_body():
    return [{
        "fieldName": "clips",
        "description": "clips of a film",
        "fields": [
            {"fieldName": "text", "dataType": "Array", "elementDataType": "VarChar",
             "elementTypeParams": {"max_length": 32, "max_capacity": CAP}},
            {"fieldName": "score", "dataType": "Array", "elementDataType": "Float",
             "elementTypeParams": {"max_capacity": CAP}},
            {"fieldName": "n", "dataType": "Array", "elementDataType": "Int64",
             "elementTypeParams": {"max_capacity": CAP}},
            {"fieldName": "emb", "dataType": "ArrayOfVector", "elementDataType": "FloatVector",
             "elementTypeParams": {"dim": SUB_DIM, "max_capacity": CAP}},
        ],
    }]


def create(rest: Rest, name: str, metric: str = "MAX_SIM_COSINE"):
    rest.ok("collections/create", {
        "collectionName": name,
        "schema": {
            "autoID": False,
            "fields": [
                {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": DIM}},
            ],
            "structFields": struct_fields_body(),
        },
        "indexParams": [
            {"fieldName": "vec", "indexName": "vec", "metricType": "L2", "indexType": "FLAT"},
            {"fieldName": "clips[emb]", "indexName": "clips_emb", "metricType": metric, "indexType": "HNSW",
             "params": {"M": 8, "efConstruction": 64}},
        ],
    })


def make_rows(rng: np.random.Generator, start: int, count: int):
    rows = []
    for i in range(start, start + count):
        n = int(rng.integers(1, CAP + 1)) if i % 6 else 0  # every 6th row: no structs
        clips = [{
            "text": f"c{i}-{j}",
            "score": float(np.float32(rng.random())),
            "n": int(rng.integers(-10**12, 10**12)),
            "emb": [float(x) for x in rng.standard_normal(SUB_DIM).astype(np.float32)],
        } for j in range(n)]
        rows.append({"id": i, "vec": [float(x) for x in rng.random(DIM).astype(np.float32)], "clips": clips})
    return rows


def norm(clips):
    return [{"text": s["text"], "score": float(np.float32(s["score"])), "n": int(s["n"]),
             "emb": [float(np.float32(x)) for x in s["emb"]]} for s in clips]


def rest_query(rest: Rest, name: str, n: int):
    got = rest.ok("entities/query", {"collectionName": name, "filter": "id >= 0", "outputFields": ["clips"],
                                     "limit": n + 10, "consistencyLevel": "Strong"})
    return {r["id"]: norm(r["clips"]) for r in got}


def grpc_query(client: MilvusClient, name: str, n: int):
    got = client.query(name, filter="id >= 0", output_fields=["clips"], limit=n + 10, consistency_level="Strong")
    return {r["id"]: norm(r["clips"]) for r in got}


def max_sim(query: np.ndarray, vecs: np.ndarray, metric: str):
    if metric == "MAX_SIM_COSINE":
        q = query / np.linalg.norm(query, axis=1, keepdims=True)
        v = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        return float((q @ v.T).max(axis=1).sum())
    if metric == "MAX_SIM_IP":
        return float((query @ vecs.T).max(axis=1).sum())
    return float(((query[:, None, :] - vecs[None, :, :]) ** 2).sum(axis=2).min(axis=1).sum())


def expected(rows, query: np.ndarray, metric: str, k: int):
    scored = []
    for r in rows:
        if not r["clips"]:
            continue
        vecs = np.array([s["emb"] for s in r["clips"]], dtype=np.float64)
        scored.append((max_sim(query.astype(np.float64), vecs, metric), r["id"]))
    scored.sort(key=lambda x: (x[0] if metric == "MAX_SIM_L2" else -x[0], x[1]))
    return scored[:k]


def test_rest_create_describe_struct(rest, module_client):
    name = unique("rst_desc")
    create(rest, name)
    d = rest.ok("collections/describe", {"collectionName": name})
    assert [f["name"] for f in d["fields"]] == ["id", "vec"], d["fields"]
    (st,) = d["structFields"]
    assert st["name"] == "clips" and st["type"] == "ArrayOfStruct" and st["description"] == "clips of a film"
    subs = {f["name"]: f for f in st["fields"]}
    assert list(subs) == ["text", "score", "n", "emb"]
    assert subs["text"]["type"] == "Array" and subs["text"]["elementType"] == "VarChar"
    assert subs["emb"]["type"] == "ArrayOfVector" and subs["emb"]["elementType"] == "FloatVector"
    assert {p["key"]: p["value"] for p in subs["emb"]["params"]}["dim"] == str(SUB_DIM)
    assert d["load"] == "LoadStateLoaded"
    # the same collection through gRPC: the struct with the same sub-fields and ids
    g = module_client.describe_collection(name)
    gst = {f["name"]: f for f in g["fields"]}["clips"]
    assert gst["field_id"] == st["id"]
    assert [f["name"] for f in gst["struct_fields"]] == list(subs)
    assert [f["field_id"] for f in gst["struct_fields"]] == [f["id"] for f in subs.values()]
    assert {f["name"]: f["type"] for f in gst["struct_fields"]}["emb"] == DataType.FLOAT_VECTOR
    idx = rest.ok("indexes/describe", {"collectionName": name, "indexName": "clips_emb"})
    assert idx[0]["metricType"] == "MAX_SIM_COSINE"


def test_rest_insert_query_matches_grpc(rest, module_client):
    name = unique("rst_rows")
    create(rest, name)
    rng = np.random.default_rng(3)
    rest_rows = make_rows(rng, 0, 30)
    grpc_rows = make_rows(rng, 30, 30)
    r = rest.ok("entities/insert", {"collectionName": name, "data": rest_rows})
    assert r["insertCount"] == 30
    module_client.insert(name, grpc_rows)
    want = {r["id"]: norm(r["clips"]) for r in rest_rows + grpc_rows}
    # growing, then sealed: REST and gRPC give back exactly what either wrote
    assert rest_query(rest, name, 60) == want
    assert grpc_query(module_client, name, 60) == want
    rest.ok("collections/flush", {"collectionName": name})
    assert rest_query(rest, name, 60) == want
    assert grpc_query(module_client, name, 60) == want
    # entities/get and outputFields ["*"] carry the struct too
    got = rest.ok("entities/get", {"collectionName": name, "id": [1, 31], "outputFields": ["*"]})
    assert {g["id"]: norm(g["clips"]) for g in got} == {1: want[1], 31: want[31]}
    assert all(set(g) == {"id", "vec", "clips"} for g in got)


def test_rest_upsert_struct(rest, module_client):
    name = unique("rst_ups")
    create(rest, name)
    rng = np.random.default_rng(5)
    rows = make_rows(rng, 0, 10)
    rest.ok("entities/insert", {"collectionName": name, "data": rows})
    new = make_rows(rng, 0, 3)
    for r in new:  # give each a known, different struct list
        r["clips"] = [{"text": f"new{r['id']}", "score": 0.25, "n": -r["id"], "emb": [1.0, 0.0, float(r["id"])]}]
    d = rest.ok("entities/upsert", {"collectionName": name, "data": new})
    assert d["upsertCount"] == 3
    want = {r["id"]: norm(r["clips"]) for r in rows}
    want.update({r["id"]: norm(r["clips"]) for r in new})
    assert grpc_query(module_client, name, 10) == want
    assert rest_query(rest, name, 10) == want


@pytest.mark.parametrize("metric", ["MAX_SIM_COSINE", "MAX_SIM_IP", "MAX_SIM_L2"])
def test_rest_embedding_list_search(rest, module_client, metric):
    name = unique("rst_srch")
    create(rest, name, metric=metric)
    rng = np.random.default_rng(11)
    rows = make_rows(rng, 0, 60)
    rest.ok("entities/insert", {"collectionName": name, "data": rows[:30]})
    rest.ok("collections/flush", {"collectionName": name})
    rest.ok("entities/insert", {"collectionName": name, "data": rows[30:]})  # sealed + growing
    queries = [rng.standard_normal((2, SUB_DIM)).astype(np.float32), rng.standard_normal((1, SUB_DIM)).astype(np.float32)]
    k = 5
    res = rest.call("entities/search", {
        "collectionName": name, "annsField": "clips[emb]", "limit": k, "outputFields": ["clips"],
        "data": [q.tolist() for q in queries], "consistencyLevel": "Strong",
        "searchParams": {"metricType": metric, "params": {"ef": 64}},
    })
    assert res["code"] == 0, res
    hits = res["data"]
    assert len(hits) == 2 * k and res["topks"] == [k, k]
    by_id = {r["id"]: norm(r["clips"]) for r in rows}
    for qi, q in enumerate(queries):
        want = expected(rows, q, metric, k)
        got = hits[qi * k:(qi + 1) * k]
        assert [h["id"] for h in got] == [i for _, i in want]
        assert [h["distance"] for h in got] == pytest.approx([s for s, _ in want], rel=1e-4, abs=1e-4)
        assert all(norm(h["clips"]) == by_id[h["id"]] for h in got)
    # the same search through gRPC answers the same ids and scores
    from pymilvus.client.embedding_list import EmbeddingList
    lists = []
    for q in queries:
        el = EmbeddingList()
        for v in q:
            el.add(v)
        lists.append(el)
    g = module_client.search(name, data=lists, anns_field="clips[emb]", limit=k, search_params={"metric_type": metric},
                             consistency_level="Strong")
    for qi in range(2):
        assert [h["id"] for h in g[qi]] == [h["id"] for h in hits[qi * k:(qi + 1) * k]]
        assert [h["distance"] for h in g[qi]] == pytest.approx([h["distance"] for h in hits[qi * k:(qi + 1) * k]],
                                                              rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("clips, fragment", [
    ([{"text": "a", "score": 1.0, "n": 1}], "struct array field clips element #0 missing sub-field emb"),
    ([{"text": 5, "score": 1.0, "n": 1, "emb": [1, 2, 3]}], "sub-field text parse error: expect string (value=5)"),
    ([{"text": "a", "score": "x", "n": 1, "emb": [1, 2, 3]}], 'sub-field score parse error: expect float (value="x")'),
    ([{"text": "a", "score": 1.0, "n": 1, "emb": [1, 2]}], "sub-field emb vector dim mismatch: expect 3, got 2"),
    ({"text": "a"}, "struct array field clips expects a JSON array of objects"),
    ([7], "struct array field clips element #0 must be a JSON object"),
    (None, "missing struct array field: clips"),
])
def test_rest_struct_insert_errors(rest, module_client, clips, fragment):
    name = unique("rst_err")
    create(rest, name)
    row = {"id": 1, "vec": [0.0, 1.0, 0.0, 1.0]}
    if clips is not None:
        row["clips"] = clips
    j = rest.call("entities/insert", {"collectionName": name, "data": [row]})
    assert j["code"] == 1804, j
    assert j["message"].startswith("fail to deal the insert data, error: ") and fragment in j["message"], j
    assert module_client.query(name, filter="id >= 0", output_fields=["count(*)"],
                               consistency_level="Strong")[0]["count(*)"] == 0


def test_rest_struct_capacity_and_schema_errors(rest):
    name = unique("rst_cap")
    create(rest, name)
    too_many = [{"text": "a", "score": 0.0, "n": 0, "emb": [1.0, 0.0, 0.0]}] * (CAP + 1)
    j = rest.call("entities/insert", {"collectionName": name, "data": [{"id": 1, "vec": [0.0] * DIM,
                                                                        "clips": too_many}]})
    assert j["code"] != 0 and "clips" in j["message"], j
    # a sub-field that is neither Array nor ArrayOfVector is refused at create
    bad = struct_fields_body()
    bad[0]["fields"][0] = {"fieldName": "text", "dataType": "VarChar", "elementTypeParams": {"max_length": 8}}
    j = rest.call("collections/create", {"collectionName": unique("rst_bad"), "schema": {
        "fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                   {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": DIM}}],
        "structFields": bad}})
    assert j["code"] == 1100 and "text" in j["message"] and "VarChar" in j["message"], j
    # a struct named like a field
    dup = struct_fields_body()
    dup[0]["fieldName"] = "vec"
    j = rest.call("collections/create", {"collectionName": unique("rst_dup"), "schema": {
        "fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                   {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": DIM}}],
        "structFields": dup}})
    assert j["code"] == 1100 and "duplicated field name: vec" in j["message"], j


def test_rest_hybrid_search_with_embedding_list(rest, module_client):
    """entities/hybrid_search: a dense sub-search and an embedding-list sub-search fused by RRF,
    checked against the fusion of the same two searches run alone through gRPC."""
    from pymilvus.client.embedding_list import EmbeddingList
    name = unique("rst_hyb")
    create(rest, name, metric="MAX_SIM_IP")
    rng = np.random.default_rng(17)
    rows = make_rows(rng, 0, 50)
    rest.ok("entities/insert", {"collectionName": name, "data": rows})
    dense = rng.random(DIM).astype(np.float32)
    elist = rng.standard_normal((2, SUB_DIM)).astype(np.float32)
    sub_k, k, rrf_k = 10, 6, 60
    res = rest.call("entities/hybrid_search", {
        "collectionName": name, "limit": k, "consistencyLevel": "Strong",
        "search": [
            {"data": [dense.tolist()], "annsField": "vec", "limit": sub_k, "metricType": "L2"},
            {"data": [elist.tolist()], "annsField": "clips[emb]", "limit": sub_k, "metricType": "MAX_SIM_IP"},
        ],
        "rerank": {"strategy": "rrf", "params": {"k": rrf_k}},
    })
    assert res["code"] == 0, res
    el = EmbeddingList()
    for v in elist:
        el.add(v)
    a = module_client.search(name, data=[dense.tolist()], anns_field="vec", limit=sub_k, consistency_level="Strong")[0]
    b = module_client.search(name, data=[el], anns_field="clips[emb]", limit=sub_k, consistency_level="Strong",
                             search_params={"metric_type": "MAX_SIM_IP"})[0]
    fused = {}
    for hits in (a, b):
        for rank, h in enumerate(hits, start=1):
            fused[h["id"]] = fused.get(h["id"], 0.0) + 1.0 / (rrf_k + rank)
    want = sorted(fused.items(), key=lambda x: (-x[1], x[0]))[:k]
    got = res["data"]
    assert [h["distance"] for h in got] == pytest.approx([s for _, s in want], rel=1e-5)
    assert set(h["id"] for h in got) == set(i for i, _ in want) or [h["id"] for h in got] == [i for i, _ in want]


def test_rest_partial_upsert_of_a_struct(rest, module_client):
    """partialUpdate: rows naming only the struct replace it and keep the other fields."""
    name = unique("rst_part")
    create(rest, name)
    rng = np.random.default_rng(9)
    rows = make_rows(rng, 0, 6)
    rest.ok("entities/insert", {"collectionName": name, "data": rows})
    new = [{"id": 2, "clips": [{"text": "p", "score": 0.5, "n": 9, "emb": [0.0, 1.0, 0.0]}]}]
    d = rest.ok("entities/upsert", {"collectionName": name, "data": new, "partialUpdate": True})
    assert d["upsertCount"] == 1
    got = module_client.query(name, filter="id >= 0", output_fields=["vec", "clips"], consistency_level="Strong")
    by_id = {g["id"]: g for g in got}
    for r in rows:
        want = new[0]["clips"] if r["id"] == 2 else r["clips"]
        assert norm(by_id[r["id"]]["clips"]) == norm(want), r["id"]
        assert [float(np.float32(x)) for x in by_id[r["id"]]["vec"]] == r["vec"], r["id"]
