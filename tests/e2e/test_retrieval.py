"""Retrieval features of Milvus 2.6 through pymilvus: the primary key in output fields, function
rerankers (decay, RRF, weighted), hybrid search, search by primary key and ordered results.

Every expected answer is computed here with numpy from the rows the test inserted (brute force
over the live rows), never copied from Kite's output.

Milvus facts relied on (milvus-io/milvus 2.6, internal/util/function/rerank/*.go and
internal/proxy/task_search.go):
* search keeps the primary key among a hit's fields when output_fields names it or is "*"
  (translateOutputFields is called without removing the pk for search).
* RRF: score(id) = sum over the lists that hold it of 1 / (k + rank), rank from 1; default k 60,
  0 < k < 16384.  Results sorted by score descending, ties by primary key ascending.
* Weighted: score(id) = sum_i w_i * f_i(score_i); with norm_score f is COSINE (1+s)/2,
  IP 0.5 + atan(s)/pi, BM25 2 atan(s)/pi, L2 and others 1 - 2 atan(d)/pi; without norm_score
  f is the identity unless the lists mix larger-is-better and smaller-is-better metrics, then
  L2-like distances become 1 - 2 atan(d)/pi; sorted descending when normalized or every metric
  is larger-is-better, ascending otherwise.  Weights in [0, 1], one per request.
* Decay: relevance = the score (IP/COSINE/BM25) or 1 - 2 atan(d)/pi (L2-like), times
  gauss exp(ln(decay) * a^2 / scale^2), exp exp(ln(decay) / scale * a), linear
  max(decay, 1 - (1 - decay) / scale * a), with a = max(0, |v - origin| - offset); sorted
  descending.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, RRFRanker, WeightedRanker

from e2e_util import assert_code, assert_msg, server_error, unique

SEED = int(os.environ.get("KITE_E2E_SEED", "20261206"))
DIM = 8
N_SEALED = 300
N_GROWING = 200
N = N_SEALED + N_GROWING


class Data:
    """The rows of the shared collection and brute-force search over the live ones."""

    def __init__(self, name: str, rng: np.random.Generator):
        self.name = name
        self.ids = np.arange(N, dtype=np.int64) * 3 + 7  # not dense, not starting at 0
        self.dv = rng.standard_normal((N, DIM)).astype(np.float32)
        self.dv2 = rng.standard_normal((N, DIM)).astype(np.float32)
        self.ts = rng.integers(0, 1000, N).astype(np.int64)
        self.price = rng.uniform(0, 100, N).astype(np.float32)
        self.grp = rng.integers(0, 7, N).astype(np.int64)
        self.tag = np.array([f"t{i % 11}" for i in range(N)])
        self.live = np.ones(N, dtype=bool)

    def rows(self, lo: int, hi: int):
        return [{"id": int(self.ids[i]), "dv": self.dv[i].tolist(), "dv2": self.dv2[i].tolist(),
                 "ts": int(self.ts[i]), "price": float(self.price[i]), "grp": int(self.grp[i]),
                 "tag": str(self.tag[i])} for i in range(lo, hi)]

    def scores(self, field: str, metric: str, q: np.ndarray) -> np.ndarray:
        X = (self.dv if field == "dv" else self.dv2).astype(np.float64)
        q = np.asarray(q, dtype=np.float64)
        if metric == "L2":
            s = ((X - q) ** 2).sum(1)
        elif metric == "IP":
            s = X @ q
        else:
            s = (X / np.linalg.norm(X, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
        return s

    def top(self, field: str, metric: str, q, k: int, mask=None):
        """[(row, score)] best first among live rows (and mask)."""
        s = self.scores(field, metric, q)
        ok = self.live.copy() if mask is None else (self.live & mask)
        rows = np.nonzero(ok)[0]
        order = np.argsort(s[rows] if metric == "L2" else -s[rows], kind="stable")
        return [(int(rows[j]), float(s[rows[j]])) for j in order[:k]]

    def row_of(self, pk) -> int:
        return int(np.nonzero(self.ids == pk)[0][0])


@pytest.fixture(scope="module")
def data(module_client) -> Data:
    c = module_client
    d = Data(unique("retr"), np.random.default_rng(SEED))
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("dv", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("dv2", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("ts", DataType.INT64)
    schema.add_field("price", DataType.FLOAT)
    schema.add_field("grp", DataType.INT64)
    schema.add_field("tag", DataType.VARCHAR, max_length=16)
    idx = c.prepare_index_params()
    idx.add_index("dv", index_type="FLAT", metric_type="L2")
    idx.add_index("dv2", index_type="FLAT", metric_type="IP")
    c.create_collection(d.name, schema=schema, index_params=idx, consistency_level="Strong")
    c.insert(d.name, d.rows(0, N_SEALED))
    c.flush(d.name)
    c.insert(d.name, d.rows(N_SEALED, N))
    # Deletes in both the sealed and the growing part.
    gone = [int(d.ids[i]) for i in (3, 50, 120, N_SEALED + 5, N_SEALED + 77)]
    c.delete(d.name, ids=gone)
    for pk in gone:
        d.live[d.row_of(pk)] = False
    return d


# -- 1. the primary key in output_fields ------------------------------------------------------

def test_search_returns_pk_in_entity_when_requested(module_client, data):
    c = module_client
    q = data.dv[10] + 0.01
    res = c.search(data.name, [q.tolist()], anns_field="dv", limit=5, output_fields=["id", "tag"])
    assert len(res[0]) == 5
    for hit in res[0]:
        assert hit["entity"]["id"] == hit["id"]
        assert hit["entity"]["tag"] == data.tag[data.row_of(hit["id"])]
    res = c.search(data.name, [q.tolist()], anns_field="dv", limit=3, output_fields=["*"])
    for hit in res[0]:
        assert hit["entity"]["id"] == hit["id"]
        assert hit["entity"]["ts"] == data.ts[data.row_of(hit["id"])]
    # Not requested: Milvus leaves it out of the entity (the hit still carries it).
    res = c.search(data.name, [q.tolist()], anns_field="dv", limit=3, output_fields=["tag"])
    for hit in res[0]:
        assert "id" not in hit["entity"]
    # Several queries: each hit's entity pk matches its own id.
    res = c.search(data.name, [data.dv[1].tolist(), data.dv[400].tolist()], anns_field="dv", limit=4,
                   output_fields=["id"])
    for hits in res:
        assert [h["entity"]["id"] for h in hits] == [h["id"] for h in hits]


def test_query_returns_pk(module_client, data):
    res = module_client.query(data.name, filter="id < 40", output_fields=["tag"])
    assert sorted(r["id"] for r in res) == sorted(int(p) for p, ok in zip(data.ids, data.live) if p < 40 and ok)


# -- expected rankings computed here --------------------------------------------------------

F32 = np.float32
PI32 = F32(math.pi)


def larger_better(metric: str) -> bool:
    return metric in ("IP", "COSINE", "BM25")


def norm(metric: str, s: float, norm_score: bool, mixed: bool) -> float:
    """Milvus's per-metric normalisation of weighted reranking, in float32 as Go computes it."""
    s = F32(s)
    at = F32(math.atan(float(s)))
    if not norm_score:
        if not mixed or larger_better(metric):
            return s
        return F32(1) - F32(2) * at / PI32
    if metric == "COSINE":
        return (F32(1) + s) * F32(0.5)
    if metric == "IP":
        return F32(0.5) + at / PI32
    return F32(1) - F32(2) * at / PI32


def fuse(kind: str, lists, limit: int, offset: int = 0, k: float = 60, weights=None, norm_score=False):
    """lists: [(metric, [(pk, score), ...best first])].  Returns [(pk, score)]."""
    metrics = [m for m, _ in lists]
    mixed = any(larger_better(m) for m in metrics) and not all(larger_better(m) for m in metrics)
    acc = {}
    for i, (metric, hits) in enumerate(lists):
        for rank, (pk, s) in enumerate(hits, start=1):
            if kind == "rrf":
                v = F32(1) / (F32(k) + F32(rank))
            else:
                v = F32(weights[i]) * norm(metric, s, norm_score, mixed)
            acc[pk] = F32(acc.get(pk, F32(0)) + v)
    descending = kind == "rrf" or norm_score or mixed or all(larger_better(m) for m in metrics)
    order = sorted(acc.items(), key=lambda kv: ((-kv[1] if descending else kv[1]), kv[0]))
    return [(pk, float(s)) for pk, s in order[offset:offset + limit]]


def decay_factor(fn: str, v: float, origin: float, scale: float, offset: float, decay: float) -> float:
    a = max(0.0, abs(v - origin) - offset)
    if fn == "gauss":
        return math.exp(math.log(decay) * a * a / (scale * scale))
    if fn == "exp":
        return math.exp(math.log(decay) / scale * a)
    return max(decay, 1 - (1 - decay) / scale * a)


def assert_ranking(got, want, tol=2e-5):
    """got/want: [(pk, score)].  Same length, scores equal within tol at every position, and the
    same ids except where the expected scores of the swapped ids are within tol (a near tie)."""
    assert len(got) == len(want), (got, want)
    want_score = dict(want)
    for i, ((gp, gs), (wp, ws)) in enumerate(zip(got, want)):
        assert gs == pytest.approx(ws, rel=tol, abs=tol), (i, got, want)
        if gp != wp:
            assert gp in want_score and abs(want_score[gp] - ws) <= tol, (i, got, want)


def hits_of(res_row, pk: str = "id"):
    return [(h[pk], h["distance"]) for h in res_row]


def brute(data, field, metric, q, k, mask=None):
    return [(int(data.ids[r]), s) for r, s in data.top(field, metric, q, k, mask)]


# -- 2a. search(ranker=Function(...)) ---------------------------------------------------------

@pytest.mark.parametrize("fn", ["gauss", "exp", "linear"])
@pytest.mark.parametrize("field,metric", [("dv", "L2"), ("dv2", "IP")])
def test_search_with_decay_ranker_scores_relevance_times_decay(module_client, data, fn, field, metric):
    c = module_client
    origin, scale, off, dec = 500.0, 150.0, 20.0, 0.4
    ranker = Function(name="d", input_field_names=["ts"], function_type=FunctionType.RERANK,
                      params={"reranker": "decay", "function": fn, "origin": origin, "scale": scale,
                              "offset": off, "decay": dec})
    rng = np.random.default_rng(7)
    qs = rng.standard_normal((2, DIM)).astype(np.float32)
    limit, offset = 10, 3
    res = c.search(data.name, qs.tolist(), anns_field=field, limit=limit, offset=offset, ranker=ranker,
                   output_fields=["ts"])
    for qi, q in enumerate(qs):
        cand = brute(data, field, metric, q, limit + offset)  # Milvus reranks limit+offset candidates
        scored = []
        for pk, s in cand:
            rel = s if larger_better(metric) else 1 - 2 * math.atan(s) / math.pi
            scored.append((pk, rel * decay_factor(fn, float(data.ts[data.row_of(pk)]), origin, scale, off, dec)))
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        assert_ranking(hits_of(res[qi]), scored[offset:offset + limit])
        for h in res[qi]:
            assert h["entity"]["ts"] == data.ts[data.row_of(h["id"])]


def test_search_with_rrf_and_weighted_function_rankers(module_client, data):
    c = module_client
    q = data.dv2[42] * 0.5
    rrf = Function(name="r", input_field_names=[], function_type=FunctionType.RERANK,
                   params={"reranker": "rrf", "k": 10})
    res = c.search(data.name, [q.tolist()], anns_field="dv2", limit=6, ranker=rrf)
    want = fuse("rrf", [("IP", brute(data, "dv2", "IP", q, 6))], 6, k=10)
    assert_ranking(hits_of(res[0]), want)
    w = Function(name="w", input_field_names=[], function_type=FunctionType.RERANK,
                 params={"reranker": "weighted", "weights": [0.5], "norm_score": True})
    res = c.search(data.name, [q.tolist()], anns_field="dv2", limit=6, ranker=w)
    want = fuse("weighted", [("IP", brute(data, "dv2", "IP", q, 6))], 6, weights=[0.5], norm_score=True)
    assert_ranking(hits_of(res[0]), want)


RERANK_ERRORS = [
    ({"reranker": "invalid"}, ["ts"],
     "Unsupported rerank function: [invalid] , list of supported [decay,model,rrf,weighted]"),
    ({"function": "invalid"}, ["ts"], "Invaild decay function: decay, only support [gauss,linear,exp]"),
    ({"origin": "x"}, ["ts"], "Param origin:x is not a number"),
    ({"scale": 0}, ["ts"], "Decay function param: scale must > 0, but got 0"),
    ({"offset": -1.0}, ["ts"], "Decay function param: offset must >= 0, but got -1.0"),
    ({"decay": 2}, ["ts"], "Decay function param: decay must 0 < decay < 1, but got 2"),
    ({}, ["nope"], "Function input field not found: nope"),
    ({}, ["ts", "id"], "Decay function only supports single input, but gets [[ts id]] input"),
    ({}, ["tag"], "Decay rerank: unsupported input field type:VarChar, only support numberic field"),
    ({}, ["dv"], "Decay rerank: unsupported input field type:FloatVector, only support numberic field"),
]


@pytest.mark.parametrize("override,inputs,message", RERANK_ERRORS)
def test_invalid_reranker_is_refused_with_milvus_message(module_client, data, override, inputs, message):
    params = {"reranker": "decay", "function": "gauss", "origin": 0, "offset": 0, "decay": 0.5, "scale": 100}
    params.update(override)
    ranker = Function(name="bad", input_field_names=inputs, function_type=FunctionType.RERANK, params=params)
    exc = server_error(module_client.search, data.name, [data.dv[0].tolist()], anns_field="dv", limit=3,
                       ranker=ranker)
    assert_code(exc, 65535)
    assert message in exc.message, exc.message


def test_decay_ranker_refuses_group_by(module_client, data):
    ranker = Function(name="d", input_field_names=["ts"], function_type=FunctionType.RERANK,
                      params={"reranker": "decay", "function": "gauss", "origin": 0, "scale": 100})
    exc = server_error(module_client.search, data.name, [data.dv[0].tolist()], anns_field="dv", limit=3,
                       ranker=ranker, group_by_field="grp")
    assert_msg(exc, "Current rerank does not support grouping search")


# -- 2b. hybrid_search -----------------------------------------------------------------------

def _reqs(data, qs1, qs2, l1=15, l2=12, expr2=None):
    return [AnnSearchRequest(qs1.tolist(), "dv", {"metric_type": "L2"}, l1),
            AnnSearchRequest(qs2.tolist(), "dv2", {"metric_type": "IP"}, l2, expr=expr2)]


@pytest.mark.parametrize("k", [60, 5])
def test_hybrid_search_rrf_equals_numpy_fusion(module_client, data, k):
    c = module_client
    rng = np.random.default_rng(11)
    qs1 = rng.standard_normal((3, DIM)).astype(np.float32)
    qs2 = rng.standard_normal((3, DIM)).astype(np.float32)
    limit, offset = 8, 2
    res = c.hybrid_search(data.name, _reqs(data, qs1, qs2), RRFRanker(k), limit=limit, offset=offset,
                          output_fields=["id", "tag", "ts"])
    assert len(res) == 3
    for qi in range(3):
        want = fuse("rrf", [("L2", brute(data, "dv", "L2", qs1[qi], 15)),
                            ("IP", brute(data, "dv2", "IP", qs2[qi], 12))], limit, offset, k=k)
        assert_ranking(hits_of(res[qi]), want)
        for h in res[qi]:
            r = data.row_of(h["id"])
            assert h["entity"]["tag"] == data.tag[r] and h["entity"]["ts"] == data.ts[r]
            assert h["entity"]["id"] == h["id"]


@pytest.mark.parametrize("norm_score", [True, False])
def test_hybrid_search_weighted_equals_numpy_fusion(module_client, data, norm_score):
    c = module_client
    rng = np.random.default_rng(12)
    qs1 = rng.standard_normal((2, DIM)).astype(np.float32)
    qs2 = rng.standard_normal((2, DIM)).astype(np.float32)
    mask = data.grp != 3
    res = c.hybrid_search(data.name, _reqs(data, qs1, qs2, expr2="grp != 3"),
                          WeightedRanker(0.3, 0.7, norm_score=norm_score), limit=10)
    for qi in range(2):
        want = fuse("weighted", [("L2", brute(data, "dv", "L2", qs1[qi], 15)),
                                 ("IP", brute(data, "dv2", "IP", qs2[qi], 12, mask))], 10,
                    weights=[0.3, 0.7], norm_score=norm_score)
        assert_ranking(hits_of(res[qi]), want)


def test_hybrid_search_weighted_over_distances_only_sorts_ascending(module_client, data):
    c = module_client
    q1, q2 = data.dv[5] + 0.1, data.dv[9] - 0.1
    reqs = [AnnSearchRequest([q1.tolist()], "dv", {}, 10), AnnSearchRequest([q2.tolist()], "dv", {}, 10)]
    res = c.hybrid_search(data.name, reqs, WeightedRanker(1.0, 0.5, norm_score=False), limit=7)
    want = fuse("weighted", [("L2", brute(data, "dv", "L2", q1, 10)), ("L2", brute(data, "dv", "L2", q2, 10))],
                7, weights=[1.0, 0.5], norm_score=False)
    assert_ranking(hits_of(res[0]), want)


def test_hybrid_search_with_function_ranker(module_client, data):
    c = module_client
    rng = np.random.default_rng(13)
    q1, q2 = rng.standard_normal(DIM).astype(np.float32), rng.standard_normal(DIM).astype(np.float32)
    reqs = [AnnSearchRequest([q1.tolist()], "dv", {}, 10), AnnSearchRequest([q2.tolist()], "dv2", {}, 10)]
    rrf = Function(name="r", input_field_names=[], function_type=FunctionType.RERANK,
                   params={"reranker": "rrf", "k": 20})
    res = c.hybrid_search(data.name, reqs, rrf, limit=5)
    want = fuse("rrf", [("L2", brute(data, "dv", "L2", q1, 10)), ("IP", brute(data, "dv2", "IP", q2, 10))], 5, k=20)
    assert_ranking(hits_of(res[0]), want)
    # Decay over a hybrid: best normalised relevance of the lists times the field's decay.
    dec = Function(name="d", input_field_names=["price"], function_type=FunctionType.RERANK,
                   params={"reranker": "decay", "function": "linear", "origin": 50, "scale": 30, "decay": 0.2})
    res = c.hybrid_search(data.name, reqs, dec, limit=6, output_fields=["price"])
    best = {}
    for metric, hits in [("L2", brute(data, "dv", "L2", q1, 10)), ("IP", brute(data, "dv2", "IP", q2, 10))]:
        for pk, s in hits:
            rel = s if larger_better(metric) else 1 - 2 * math.atan(s) / math.pi
            best[pk] = max(best.get(pk, -1e30), rel)
    scored = sorted(((pk, rel * decay_factor("linear", float(data.price[data.row_of(pk)]), 50, 30, 0, 0.2))
                     for pk, rel in best.items()), key=lambda kv: (-kv[1], kv[0]))
    assert_ranking(hits_of(res[0]), scored[:6], tol=1e-4)


def test_hybrid_search_weights_must_match_requests(module_client, data):
    reqs = _reqs(data, data.dv[:1], data.dv2[:1])
    exc = server_error(module_client.hybrid_search, data.name, reqs, WeightedRanker(0.2, 0.3, 0.5), limit=3)
    assert_code(exc, 1100)
    assert_msg(exc, "the length of weights param mismatch with ann search requests")


def test_hybrid_search_group_by(module_client, data):
    c = module_client
    rng = np.random.default_rng(14)
    q1, q2 = rng.standard_normal(DIM).astype(np.float32), rng.standard_normal(DIM).astype(np.float32)
    reqs = [AnnSearchRequest([q1.tolist()], "dv", {}, 4), AnnSearchRequest([q2.tolist()], "dv2", {}, 4)]
    res = c.hybrid_search(data.name, reqs, RRFRanker(), limit=3, group_by_field="grp", group_size=2,
                          output_fields=["grp"])

    def grouped(field, metric, q, groups, size):
        # A grouped search lists its hits group by group, groups in order of their best hit
        # (Milvus reduceSearchResultDataWithGroupBy); RRF ranks are positions in that list.
        order, members = [], {}
        for pk, s in brute(data, field, metric, q, N):
            g = int(data.grp[data.row_of(pk)])
            if g not in members:
                if len(order) >= groups:
                    continue
                order.append(g)
                members[g] = []
            if len(members[g]) < size:
                members[g].append((pk, s))
        return [h for g in order for h in members[g]]

    lists = [grouped("dv", "L2", q1, 4, 2), grouped("dv2", "IP", q2, 4, 2)]
    acc = {}
    for hits in lists:
        for rank, (pk, _) in enumerate(hits, start=1):
            acc[pk] = F32(acc.get(pk, F32(0)) + F32(1) / (F32(60) + F32(rank)))
    order = sorted(acc.items(), key=lambda kv: (-kv[1], kv[0]))
    groups = {}
    for pk, s in order:
        g = int(data.grp[data.row_of(pk)])
        members = groups.setdefault(g, [])
        if len(members) < 2:
            members.append((pk, float(s)))
    ranked = sorted(groups.values(), key=lambda m: (-max(s for _, s in m), -len(m), m[0][0]))[:3]
    want = [h for m in ranked for h in m]
    assert_ranking(hits_of(res[0]), want)
    for h in res[0]:
        assert h["entity"]["grp"] == data.grp[data.row_of(h["id"])]


# -- 3. search by primary key ----------------------------------------------------------------

def test_search_by_ids_uses_stored_vectors(module_client, data):
    c = module_client
    # Rows from the sealed part and the growing part.
    pks = [int(data.ids[i]) for i in (1, 77, N_SEALED + 3, N - 1)]
    res = c.search(data.name, ids=pks, anns_field="dv", limit=5, output_fields=["id"])
    assert len(res) == len(pks)
    for pk, hits in zip(pks, res):
        want = brute(data, "dv", "L2", data.dv[data.row_of(pk)], 5)
        assert_ranking(hits_of(hits), want)
        assert hits[0]["id"] == pk and hits[0]["distance"] == pytest.approx(0, abs=1e-5)
    # The other vector field and its metric.
    res = c.search(data.name, ids=pks[:2], anns_field="dv2", limit=4)
    for pk, hits in zip(pks[:2], res):
        assert_ranking(hits_of(hits), brute(data, "dv2", "IP", data.dv2[data.row_of(pk)], 4))


def test_search_by_ids_with_filter_and_ranker(module_client, data):
    c = module_client
    pk = int(data.ids[20])
    res = c.search(data.name, ids=[pk], anns_field="dv", limit=6, filter="grp in [1, 2]")
    want = brute(data, "dv", "L2", data.dv[20], 6, mask=np.isin(data.grp, [1, 2]))
    assert_ranking(hits_of(res[0]), want)


def test_search_by_missing_or_deleted_ids_fails(module_client, data):
    c = module_client
    deleted = int(data.ids[50])  # deleted in the fixture
    exc = server_error(c.search, data.name, ids=[int(data.ids[0]), deleted], anns_field="dv", limit=3)
    assert_msg(exc, "some of the provided primary key IDs do not exist: missing IDs")
    assert str(deleted) in exc.message
    exc = server_error(c.search, data.name, ids=[10 ** 12], anns_field="dv", limit=3)
    assert_msg(exc, "some of the provided primary key IDs do not exist")
    # Two vector fields and no anns_field.
    exc = server_error(c.search, data.name, ids=[int(data.ids[0])], limit=3)
    assert_msg(exc, "multiple vector fields exist, please specify anns_field in search_params")


# -- 4. order_by_fields ------------------------------------------------------------------------

def _ordered(data, hits, keys):
    """Expected reorder of distance-ordered hits by (field, ascending) keys; stable."""
    def key_of(h):
        r = data.row_of(h[0])
        out = []
        for f, asc in keys:
            v = getattr(data, f)[r]
            v = float(v) if f != "tag" else str(v)
            out.append(v)
        return out
    out = list(hits)
    for f, asc in reversed(keys):
        idx = [f for f, _ in keys].index(f)
        out.sort(key=lambda h: key_of(h)[idx], reverse=not asc)
    return out


@pytest.mark.parametrize("spec,keys", [
    ([{"field": "price", "order": "asc"}], [("price", True)]),
    ([{"field": "ts", "order": "descending"}], [("ts", False)]),
    ([{"field": "grp", "order": "asc"}, {"field": "ts", "order": "desc"}], [("grp", True), ("ts", False)]),
    ([{"field": "tag", "order": "desc"}], [("tag", False)]),
])
def test_search_order_by_fields(module_client, data, spec, keys):
    c = module_client
    q = data.dv[33] + 0.05
    limit, offset = 12, 2
    res = c.search(data.name, [q.tolist()], anns_field="dv", limit=limit, offset=offset,
                   order_by_fields=spec, output_fields=[f for f, _ in keys])
    # Milvus: the search keeps offset..offset+limit by distance, then orders those (ties by distance).
    kept = brute(data, "dv", "L2", q, limit + offset)[offset:]
    want = _ordered(data, kept, keys)
    assert [h["id"] for h in res[0]] == [pk for pk, _ in want]
    got_d = {h["id"]: h["distance"] for h in res[0]}
    for pk, d in want:
        assert got_d[pk] == pytest.approx(d, rel=1e-5, abs=1e-5)


def test_search_order_by_groups(module_client, data):
    c = module_client
    q = data.dv[8]
    res = c.search(data.name, [q.tolist()], anns_field="dv", limit=4, group_by_field="grp", group_size=2,
                   order_by_fields=[{"field": "grp", "order": "desc"}], output_fields=["grp"])
    groups = [h["entity"]["grp"] for h in res[0]]
    firsts = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
    assert firsts == sorted(firsts, reverse=True) and len(set(firsts)) == len(firsts) == 4


@pytest.mark.parametrize("spec,message", [
    ([{"field": "nope", "order": "asc"}], "order_by field 'nope' does not exist in collection schema"),
    ([{"field": "dv", "order": "asc"}],
     "order_by field 'dv' has unsortable type FloatVector; supported types: bool, int8/16/32/64, float, double, "
     "string, varchar; for JSON fields use path syntax like field[\"key\"]"),
    ([{"field": "price", "order": "invalid"}],
     "invalid order direction 'invalid' for field 'price', expected 'asc' or 'desc'"),
])
def test_search_order_by_errors(module_client, data, spec, message):
    exc = server_error(module_client.search, data.name, [data.dv[0].tolist()], anns_field="dv", limit=3,
                       order_by_fields=spec)
    assert message in exc.message, exc.message


# -- REST: hybrid_search / advanced_search, search by ids -----------------------------------

def _post(server, path, body):
    import requests
    r = requests.post(f"http://{server.host}:{server.port}/v2/vectordb/{path}", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("route", ["entities/hybrid_search", "entities/advanced_search"])
def test_rest_hybrid_search(module_server, data, route):
    rng = np.random.default_rng(21)
    q1, q2 = rng.standard_normal(DIM).astype(np.float32), rng.standard_normal(DIM).astype(np.float32)
    body = {"collectionName": data.name,
            "search": [{"data": [q1.tolist()], "annsField": "dv", "limit": 10},
                       {"data": [q2.tolist()], "annsField": "dv2", "limit": 10, "filter": "grp != 0"}],
            "rerank": {"strategy": "rrf", "params": {"k": 30}},
            "limit": 5, "outputFields": ["tag"]}
    j = _post(module_server, route, body)
    assert j["code"] == 0, j
    want = fuse("rrf", [("L2", brute(data, "dv", "L2", q1, 10)),
                        ("IP", brute(data, "dv2", "IP", q2, 10, data.grp != 0))], 5, k=30)
    got = [(h["id"], h["distance"]) for h in j["data"]]
    assert_ranking(got, want)
    for h in j["data"]:
        assert h["tag"] == data.tag[data.row_of(h["id"])]
    body["rerank"] = {"strategy": "weighted", "params": {"weights": [0.9, 0.1], "norm_score": True}}
    j = _post(module_server, route, body)
    assert j["code"] == 0, j
    want = fuse("weighted", [("L2", brute(data, "dv", "L2", q1, 10)),
                             ("IP", brute(data, "dv2", "IP", q2, 10, data.grp != 0))], 5,
                weights=[0.9, 0.1], norm_score=True)
    assert_ranking([(h["id"], h["distance"]) for h in j["data"]], want)


def test_rest_search_by_ids(module_server, data):
    pk = int(data.ids[N_SEALED + 10])
    j = _post(module_server, "entities/search", {"collectionName": data.name, "ids": [pk], "annsField": "dv",
                                                 "limit": 3})
    assert j["code"] == 0, j
    want = brute(data, "dv", "L2", data.dv[N_SEALED + 10], 3)
    assert_ranking([(h["id"], h["distance"]) for h in j["data"]], want)


def test_search_results_report_cost(module_client, data):
    """Milvus puts the read's cost in status.extra_info["report_value"] (0 with the default hook);
    pymilvus shows it as result.extra["cost"]."""
    c = module_client
    res = c.search(data.name, [data.dv[0].tolist()], anns_field="dv", limit=2)
    assert res.extra == {"cost": 0}
    res = c.hybrid_search(data.name, _reqs(data, data.dv[:1], data.dv2[:1]), RRFRanker(), limit=2)
    assert res.extra == {"cost": 0}


def test_query_order_by_fields(module_client, data):
    """pymilvus 2.6.17's query() does not send order_by_fields; the same QueryRequest with the
    query_params key Milvus reads ("order_by_fields": "f:dir,...") is sent through the stub."""
    from pymilvus.client.prepare import Prepare
    from pymilvus.client.utils import check_status
    from pymilvus.grpc_gen import common_pb2

    handler = module_client._get_connection()
    req = Prepare.query_request(data.name, "grp in [2, 4]", ["ts", "tag"], [], limit=7, offset=3)
    req.query_params.append(common_pb2.KeyValuePair(key="order_by_fields", value="ts:desc"))
    resp = handler._stub.Query(req, timeout=10)
    check_status(resp.status)
    cols = {fd.field_name: fd for fd in resp.fields_data}
    got_ids = list(cols["id"].scalars.long_data.data)
    got_ts = list(cols["ts"].scalars.long_data.data)
    rows = [r for r in range(N) if data.live[r] and data.grp[r] in (2, 4)]
    rows.sort(key=lambda r: (-int(data.ts[r]), int(data.ids[r])))  # ties by primary key
    want = rows[3:10]
    assert got_ids == [int(data.ids[r]) for r in want]
    assert got_ts == [int(data.ts[r]) for r in want]
    assert set(cols) == {"id", "ts", "tag"}


@pytest.mark.parametrize("mode", [None, "sum"])
def test_boost_ranker_boosts_matching_candidates_per_segment(module_client, data, mode):
    """Boost (Milvus 2.6.2+): each segment's candidates that match the filter get score x weight
    (boost_mode multiply, the default) or score + weight (sum), before the segments are merged."""
    from pymilvus import FunctionScore
    c = module_client
    q = data.dv2[15] * 0.7
    k, weight = 8, 3.0
    boost = Function(name="b", input_field_names=[], function_type=FunctionType.RERANK,
                     params={"reranker": "boost", "filter": "grp == 1", "weight": weight})
    ranker = FunctionScore(functions=[boost], params={"boost_mode": mode}) if mode else boost
    res = c.search(data.name, [q.tolist()], anns_field="dv2", limit=k, ranker=ranker)
    cands = []
    for seg in (np.arange(N) < N_SEALED, np.arange(N) >= N_SEALED):  # sealed rows, growing rows
        for pk, s in brute(data, "dv2", "IP", q, k, mask=seg):
            if data.grp[data.row_of(pk)] == 1:
                s = s + weight if mode == "sum" else s * weight
            cands.append((pk, s))
    want = sorted(cands, key=lambda kv: (-kv[1], kv[0]))[:k]
    assert_ranking(hits_of(res[0]), want)
    assert any(data.grp[data.row_of(pk)] == 1 for pk, _ in want)


def test_boost_ranker_cannot_rank_a_hybrid_search(module_client, data):
    boost = Function(name="b", input_field_names=[], function_type=FunctionType.RERANK,
                     params={"reranker": "boost", "weight": 2.0})
    exc = server_error(module_client.hybrid_search, data.name, _reqs(data, data.dv[:1], data.dv2[:1]), boost,
                       limit=3)
    assert_msg(exc, "boost ranker cannot rank a hybrid search")


def test_rest_search_with_function_score(module_server, data):
    q = data.dv2[7] * 0.3
    body = {"collectionName": data.name, "data": [q.tolist()], "annsField": "dv2", "limit": 5,
            "outputFields": ["ts"],
            "functionScore": {"functions": [{"name": "d", "type": "Rerank", "inputFieldNames": ["ts"],
                                             "params": {"reranker": "decay", "function": "exp", "origin": 300,
                                                        "scale": 200, "decay": 0.3}}]}}
    j = _post(module_server, "entities/search", body)
    assert j["code"] == 0, j
    scored = sorted(((pk, s * decay_factor("exp", float(data.ts[data.row_of(pk)]), 300, 200, 0, 0.3))
                     for pk, s in brute(data, "dv2", "IP", q, 5)), key=lambda kv: (-kv[1], kv[0]))
    assert_ranking([(h["id"], h["distance"]) for h in j["data"]], scored)
    body["functionScore"]["functions"][0]["params"]["scale"] = -1
    j = _post(module_server, "entities/search", body)
    assert j["code"] == 65535 and "Decay function param: scale must > 0" in j["message"], j


def test_hybrid_search_string_pk_across_restart(server):
    """VarChar primary keys, rows in a sealed segment, a growing one and deletes, then a restart
    (WAL replay + segment load): hybrid search equals the numpy fusion before and after."""
    c = server.client()
    name = unique("hyb_str")
    rng = np.random.default_rng(31)
    n = 120
    a = rng.standard_normal((n, DIM)).astype(np.float32)
    b = rng.standard_normal((n, DIM)).astype(np.float32)
    keys = [f"k{i:04d}" for i in range(n)]
    schema = MilvusClient.create_schema()
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=16)
    schema.add_field("a", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("b", DataType.FLOAT_VECTOR, dim=DIM)
    idx = c.prepare_index_params()
    idx.add_index("a", index_type="FLAT", metric_type="COSINE")
    idx.add_index("b", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema, index_params=idx, consistency_level="Strong")
    rows = [{"pk": keys[i], "a": a[i].tolist(), "b": b[i].tolist()} for i in range(n)]
    c.insert(name, rows[:70])
    c.flush(name)
    c.insert(name, rows[70:])
    gone = {keys[3], keys[90]}
    c.delete(name, ids=list(gone))
    live = [i for i in range(n) if keys[i] not in gone]
    q1, q2 = rng.standard_normal(DIM).astype(np.float32), rng.standard_normal(DIM).astype(np.float32)

    def top(X, metric, q, k):
        if metric == "COSINE":
            s = (X / np.linalg.norm(X, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
            order = sorted(live, key=lambda i: -s[i])
        else:
            s = ((X - q) ** 2).sum(1)
            order = sorted(live, key=lambda i: s[i])
        return [(keys[i], float(s[i])) for i in order[:k]]

    want = fuse("weighted", [("COSINE", top(a, "COSINE", q1, 20)), ("L2", top(b, "L2", q2, 20))], 10,
                weights=[0.6, 0.4], norm_score=True)
    reqs = [AnnSearchRequest([q1.tolist()], "a", {}, 20), AnnSearchRequest([q2.tolist()], "b", {}, 20)]
    for _ in range(2):
        res = c.hybrid_search(name, reqs, WeightedRanker(0.6, 0.4), limit=10, output_fields=["pk"])
        assert_ranking(hits_of(res[0], "pk"), want)
        assert all(h["entity"]["pk"] == h["pk"] for h in res[0])
        server.restart()
        c = server.client()
        c.load_collection(name)


def test_hybrid_search_request_errors(module_client, data):
    from pymilvus.client.prepare import Prepare
    from pymilvus.client.utils import check_status
    from pymilvus.exceptions import MilvusException
    from pymilvus.grpc_gen import common_pb2

    # Sub-requests with different nq (Milvus checkNq).
    reqs = [AnnSearchRequest(data.dv[:2].tolist(), "dv", {}, 5), AnnSearchRequest(data.dv2[:1].tolist(), "dv2", {}, 5)]
    exc = server_error(module_client.hybrid_search, data.name, reqs, RRFRanker(), limit=3)
    assert_code(exc, 1100)
    assert_msg(exc, "sub search request nq should be the same")

    # Unknown legacy strategy, sent as pymilvus would send a ranker's dict.
    handler = module_client._get_connection()
    sub = [Prepare.search_requests_with_expr(collection_name=data.name, anns_field="dv", param={}, limit=3,
                                             data=data.dv[:1].tolist())]
    req = Prepare.hybrid_search_request_with_ranker(data.name, sub, RRFRanker(), 3)
    for kv in req.rank_params:
        if kv.key == "strategy":
            kv.value = "foo"
    resp = handler._stub.HybridSearch(req, timeout=10)
    with pytest.raises(MilvusException) as info:
        check_status(resp.status)
    assert info.value.code == 65535 and "unsupported rank type foo" in info.value.message
    # RRF k out of range.
    exc = server_error(module_client.hybrid_search, data.name, _reqs(data, data.dv[:1], data.dv2[:1]),
                       RRFRanker(20000), limit=3)
    assert_msg(exc, "The rank params k should be in range (0, 16384)")


def test_search_rrf_ranker_with_group_by(module_client, data):
    """A grouped search reranked: RRF ranks are positions in the grouped list (group by group,
    offset+limit groups); the fused groups are ranked by their best score, then paged."""
    c = module_client
    q = data.dv[60] - 0.2
    limit, offset, size = 3, 1, 2
    rrf = Function(name="r", input_field_names=[], function_type=FunctionType.RERANK,
                   params={"reranker": "rrf", "k": 7})
    res = c.search(data.name, [q.tolist()], anns_field="dv", limit=limit, offset=offset, ranker=rrf,
                   group_by_field="grp", group_size=size, output_fields=["grp"])
    order, members = [], {}
    for pk, _ in brute(data, "dv", "L2", q, N):
        g = int(data.grp[data.row_of(pk)])
        if g not in members:
            if len(order) >= limit + offset:
                continue
            order.append(g)
            members[g] = []
        if len(members[g]) < size:
            members[g].append(pk)
    listed = [pk for g in order for pk in members[g]]
    score = {pk: float(F32(1) / (F32(7) + F32(r))) for r, pk in enumerate(listed, start=1)}
    groups = sorted(([(pk, score[pk]) for pk in members[g]] for g in order),
                    key=lambda m: (-max(s for _, s in m), -len(m), m[0][0]))
    want = [h for m in groups[offset:offset + limit] for h in m]
    assert_ranking(hits_of(res[0]), want)
    for h in res[0]:
        assert h["entity"]["grp"] == data.grp[data.row_of(h["id"])]


def test_retrieval_after_compaction(server):
    """Two sealed segments with deletes, merged by a manual compaction: hybrid search, a decay
    ranker, search by ids and order_by answer as numpy says over the live rows."""
    import time
    c = server.client()
    d = Data(unique("cmp"), np.random.default_rng(41))
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("dv", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("dv2", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("ts", DataType.INT64)
    schema.add_field("price", DataType.FLOAT)
    schema.add_field("grp", DataType.INT64)
    schema.add_field("tag", DataType.VARCHAR, max_length=16)
    idx = c.prepare_index_params()
    idx.add_index("dv", index_type="FLAT", metric_type="L2")
    idx.add_index("dv2", index_type="FLAT", metric_type="IP")
    c.create_collection(d.name, schema=schema, index_params=idx, consistency_level="Strong")
    c.insert(d.name, d.rows(0, 250))
    c.flush(d.name)
    c.insert(d.name, d.rows(250, N))
    c.flush(d.name)
    gone = [int(d.ids[i]) for i in range(0, N, 7)]
    c.delete(d.name, ids=gone)
    for pk in gone:
        d.live[d.row_of(pk)] = False
    c.flush(d.name)
    job = c.compact(d.name)
    deadline = time.time() + 60
    while str(c.get_compaction_state(job)) != "Completed" and time.time() < deadline:
        time.sleep(0.2)
    assert str(c.get_compaction_state(job)) == "Completed"

    rng = np.random.default_rng(42)
    q1, q2 = rng.standard_normal(DIM).astype(np.float32), rng.standard_normal(DIM).astype(np.float32)
    reqs = [AnnSearchRequest([q1.tolist()], "dv", {}, 15), AnnSearchRequest([q2.tolist()], "dv2", {}, 15)]
    res = c.hybrid_search(d.name, reqs, RRFRanker(), limit=8)
    want = fuse("rrf", [("L2", brute(d, "dv", "L2", q1, 15)), ("IP", brute(d, "dv2", "IP", q2, 15))], 8)
    assert_ranking(hits_of(res[0]), want)
    ranker = Function(name="d", input_field_names=["ts"], function_type=FunctionType.RERANK,
                      params={"reranker": "decay", "function": "gauss", "origin": 100, "scale": 300})
    res = c.search(d.name, [q2.tolist()], anns_field="dv2", limit=6, ranker=ranker)
    scored = sorted(((pk, s * decay_factor("gauss", float(d.ts[d.row_of(pk)]), 100, 300, 0, 0.5))
                     for pk, s in brute(d, "dv2", "IP", q2, 6)), key=lambda kv: (-kv[1], kv[0]))
    assert_ranking(hits_of(res[0]), scored)
    live_pk = int(d.ids[5])
    res = c.search(d.name, ids=[live_pk], anns_field="dv", limit=4)
    assert_ranking(hits_of(res[0]), brute(d, "dv", "L2", d.dv[5], 4))
    exc = server_error(c.search, d.name, ids=[gone[1]], anns_field="dv", limit=4)
    assert_msg(exc, "some of the provided primary key IDs do not exist")
    res = c.search(d.name, [q1.tolist()], anns_field="dv", limit=10, order_by_fields=[{"field": "price"}])
    kept = brute(d, "dv", "L2", q1, 10)
    assert [h["id"] for h in res[0]] == [pk for pk, _ in sorted(kept, key=lambda h: float(d.price[d.row_of(h[0])]))]


def test_search_iterator_refuses_order_by(module_client, data):
    """An iterator pages by distance; Milvus refuses order_by_fields with it."""
    def run():
        it = module_client.search_iterator(data.name, [data.dv[0].tolist()], batch_size=10, anns_field="dv",
                                           order_by_fields=[{"field": "price", "order": "asc"}])
        it.next()
    exc = server_error(run)
    assert_msg(exc, "order_by is not supported when using search iterator")


def test_hybrid_search_dense_and_sparse(server):
    """A dense field (COSINE) and a sparse one (IP, SPARSE_INVERTED_INDEX) fused with RRF and with
    normalised weights; sparse scores computed here as dot products. Every row holds dimension 0,
    as every query does, so every row is a candidate of the sparse search."""
    c = server.client()
    name = unique("hyb_sp")
    rng = np.random.default_rng(51)
    n = 200
    dense = rng.standard_normal((n, DIM)).astype(np.float32)
    sparse = []
    for i in range(n):
        dims = {0: float(rng.uniform(0.1, 1.0))}
        for d in rng.choice(np.arange(1, 40), size=4, replace=False):
            dims[int(d)] = float(rng.uniform(0.1, 1.0))
        sparse.append(dims)
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("d", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("s", DataType.SPARSE_FLOAT_VECTOR)
    idx = c.prepare_index_params()
    idx.add_index("d", index_type="FLAT", metric_type="COSINE")
    idx.add_index("s", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    c.create_collection(name, schema=schema, index_params=idx, consistency_level="Strong")
    rows = [{"id": i, "d": dense[i].tolist(), "s": sparse[i]} for i in range(n)]
    c.insert(name, rows[:120])
    c.flush(name)
    c.insert(name, rows[120:])
    qd = rng.standard_normal(DIM).astype(np.float32)
    qs = {0: 0.5, 3: 1.0, 17: 0.7, 33: 0.2}
    cos = (dense / np.linalg.norm(dense, axis=1, keepdims=True)) @ (qd / np.linalg.norm(qd))
    dots = np.array([sum(v * qs.get(k, 0.0) for k, v in sparse[i].items()) for i in range(n)])
    top_d = [(i, float(cos[i])) for i in sorted(range(n), key=lambda i: -cos[i])[:12]]
    top_s = [(i, float(dots[i])) for i in sorted(range(n), key=lambda i: -dots[i])[:12]]
    reqs = [AnnSearchRequest([qd.tolist()], "d", {}, 12), AnnSearchRequest([qs], "s", {}, 12)]
    res = c.hybrid_search(name, reqs, RRFRanker(), limit=6)
    assert_ranking(hits_of(res[0]), fuse("rrf", [("COSINE", top_d), ("IP", top_s)], 6))
    res = c.hybrid_search(name, reqs, WeightedRanker(0.5, 0.5), limit=6)
    assert_ranking(hits_of(res[0]), fuse("weighted", [("COSINE", top_d), ("IP", top_s)], 6, weights=[0.5, 0.5],
                                         norm_score=True), tol=1e-4)
