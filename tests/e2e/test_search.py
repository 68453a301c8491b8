"""Search end to end through pymilvus, checked against brute force computed here with numpy.

Kite searches exactly (FLAT over every live row) whatever index type the field has, so every
result must equal the brute-force answer: exact id lists where ties are impossible (continuous
random data; see `check_hits`), distances within float tolerance.

Milvus facts relied on (sources next to each use):
* Scores: L2 = squared euclidean distance (smaller is better); IP and COSINE = similarity (larger
  is better); HAMMING = differing bits, JACCARD = 1 - |a&b| / |a|b| (smaller is better).
  (shared/reference/milvus-compat.md §1.3 "scores", §3.3)
* The metric is the one of the field's index; a different `metric_type` in search params fails
  with "metric type not match" (milvus proxy task_search.go checkMetricType / querynode).
* topk (limit) in [1, 16384] and offset + limit <= 16384 (compat §3.2 "max result window").
* Range search: L2 keeps range_filter <= d < radius; IP/COSINE keep radius < s <= range_filter
  (compat §5).
* Grouping: `limit` counts groups, `group_size` hits per group; the proxy emits the hits group by
  group, groups ordered by their best hit, each group in score order, the first `offset` groups
  skipped (milvus proxy search_reduce_util.go reduceSearchResultDataWithGroupBy).  pymilvus
  2.6.17 does not decode SearchResultData.group_by_field_value (grep finds no use outside the
  generated protos), so the group value reaches a MilvusClient user only through output_fields
  (as the Milvus docs' grouping example does); the raw field is checked on the stub.
* round_decimal: the server rounds scores (half up) to that many decimals; pymilvus additionally
  rounds client-side only when round_decimal > 0 (client/search_result.py), so round_decimal=0
  shows the server's rounding alone.
* Search on a released collection: merr ErrCollectionNotLoaded (101).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.client.prepare import Prepare
from pymilvus.client.types import LoadState
from pymilvus.client.utils import check_status
from pymilvus.exceptions import ServerVersionIncompatibleException

from e2e_util import PARTITION_NOT_FOUND, assert_code, assert_msg, server_error, unique

SEED = int(os.environ.get("KITE_E2E_SEED", "20261124"))
COLLECTION_NOT_LOADED = 101  # merr ErrCollectionNotLoaded
MAX_TOPK = 16384

LARGER_IS_BETTER = {"L2": False, "IP": True, "COSINE": True, "HAMMING": False, "JACCARD": False}

DIM = 16
N_SEALED = 2000     # _default partition, flushed
N_GROWING = 1000    # partition p1, growing
N_ROWS = N_SEALED + N_GROWING
N_GROUPS = 20
N_TAGS = 15

# (metric, index type, build params): exactness must not depend on the index type
DENSE_CASES = [
    ("L2", "HNSW", {"M": 16, "efConstruction": 64}),
    ("IP", "IVF_FLAT", {"nlist": 16}),
    ("COSINE", "FLAT", {}),
]
METRICS = [m for m, _, _ in DENSE_CASES]


# -- brute force ----------------------------------------------------------------------------

def brute_scores(metric: str, X: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """(nq, n) scores in float64 for float vectors."""
    X = np.asarray(X, dtype=np.float64)
    Q = np.atleast_2d(np.asarray(Q, dtype=np.float64))
    if metric == "L2":
        return ((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    if metric == "IP":
        return Q @ X.T
    if metric == "COSINE":
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        return Qn @ Xn.T
    raise AssertionError(metric)


def brute_binary(metric: str, X: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """X, Q: uint8 arrays (n, dim/8) -> (nq, n) HAMMING or JACCARD distances."""
    xb = np.unpackbits(X, axis=1).astype(bool)
    qb = np.unpackbits(np.atleast_2d(Q), axis=1).astype(bool)
    inter = (qb[:, None, :] & xb[None, :, :]).sum(-1)
    union = (qb[:, None, :] | xb[None, :, :]).sum(-1)
    if metric == "HAMMING":
        return (union - inter).astype(np.float64)
    if metric == "JACCARD":
        return 1.0 - inter / union
    raise AssertionError(metric)


def sorted_order(scores: np.ndarray, larger_better: bool) -> np.ndarray:
    return np.argsort(-scores if larger_better else scores, kind="stable")


def check_hits(hits, ids, scores, k: int, larger_better: bool, offset: int = 0,
               rtol: float = 1e-4, atol: float = 1e-4, what: str = "") -> List:
    """Compare one query's hits with the brute-force window [offset, offset + k).

    * the number of hits is the window size, no id twice, every id eligible;
    * every returned distance equals the true distance of that id (within tolerance);
    * rank i holds a row whose true score equals the i-th best score (within tolerance), so
      the list is correctly ordered and complete up to ties;
    * where the i-th best score is separated from both neighbours by more than the tolerance
      (always, for continuous random data) the id itself must match.
    Returns the returned ids."""
    ids = np.asarray(ids)
    scores = np.asarray(scores, dtype=np.float64)
    order = sorted_order(scores, larger_better)
    s_sc, s_ids = scores[order], ids[order]
    lo, hi = offset, min(offset + k, len(ids))
    exp_ids = s_ids[lo:hi].tolist() if hi > lo else []
    got_ids = [h["id"] for h in hits]
    got_sc = [float(h["distance"]) for h in hits]
    assert len(got_ids) == len(exp_ids), (
        f"{what}: {len(got_ids)} hits, expected {len(exp_ids)}; got {got_ids[:10]}..., "
        f"expected {exp_ids[:10]}...")
    assert len(set(got_ids)) == len(got_ids), f"{what}: duplicate ids in {got_ids}"
    true = dict(zip(ids.tolist(), scores.tolist()))

    def tol(v):
        return atol + rtol * abs(v)

    for i, (pk, d) in enumerate(zip(got_ids, got_sc)):
        p = lo + i
        assert pk in true, f"{what}: hit {pk} at rank {p} is not an eligible live row"
        t = true[pk]
        assert abs(d - t) <= tol(t), f"{what}: id {pk} distance {d}, brute force {t}"
        assert abs(t - s_sc[p]) <= 2 * tol(s_sc[p]), (
            f"{what}: rank {p} holds id {pk} (score {t}); expected id {s_ids[p]} "
            f"(score {s_sc[p]})")
        gap_prev = abs(s_sc[p] - s_sc[p - 1]) if p > 0 else math.inf
        gap_next = abs(s_sc[p + 1] - s_sc[p]) if p + 1 < len(s_sc) else math.inf
        if min(gap_prev, gap_next) > 2 * tol(s_sc[p]):
            assert pk == s_ids[p], f"{what}: rank {p}: got id {pk}, expected {s_ids[p]}"
    return got_ids


def f16_round(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def bf16_round(x) -> np.ndarray:
    """bfloat16 by truncation: the upper half of the float32 bit pattern."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32) & np.uint32(0xFFFF0000)
    return u.view(np.float32)


def bf16_bytes(x) -> bytes:
    """pymilvus takes bfloat16 rows as raw bytes (numpy has no bfloat16 without ml_dtypes)."""
    return (np.asarray(x, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()


def raw_search(client: MilvusClient, name: str, data, limit: int, anns_field: str = "vec",
               param: Optional[dict] = None, **kwargs):
    """SearchRequest built by pymilvus's own Prepare but sent without grpc_handler.search's
    client-side checks (check_pass_param rejects limit <= 0); status through check_status."""
    handler = client._get_connection()
    req = Prepare.search_requests_with_expr(
        collection_name=name, anns_field=anns_field, param=dict(param or {}), limit=limit,
        data=data, expr=kwargs.pop("expr", ""), **kwargs)
    resp = handler._stub.Search(req, timeout=10)
    check_status(resp.status)
    return resp


# -- the shared float data set ---------------------------------------------------------------

@dataclass
class DenseSet:
    client: MilvusClient
    vecs: np.ndarray
    rows: List[dict]
    colls: Dict[str, str] = field(default_factory=dict)  # metric -> collection name

    @property
    def ids(self) -> np.ndarray:
        return np.arange(len(self.rows))

    def col(self, key) -> list:
        return [r.get(key) for r in self.rows]


def dense_schema():
    s = MilvusClient.create_schema(enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("i64", DataType.INT64)
    s.add_field("grp", DataType.INT64)
    s.add_field("tag", DataType.VARCHAR, max_length=16)
    s.add_field("f", DataType.FLOAT)
    s.add_field("s", DataType.VARCHAR, max_length=32)
    return s


def dense_rows(vecs: np.ndarray, rng: np.random.Generator) -> List[dict]:
    rows = []
    for i in range(len(vecs)):
        r = {"id": i, "vec": vecs[i].tolist(), "i64": int(rng.integers(-1000, 1000)),
             "grp": int(rng.integers(0, N_GROUPS)), "tag": f"t{int(rng.integers(0, N_TAGS))}",
             "f": float(np.float32(rng.integers(-4000, 4000) / 200.0)), "s": f"s{i:05d}"}
        if i % 2 == 0:
            r["dk"] = i % 50           # dynamic key on even rows only
        r["color"] = ("red", "green", "blue")[i % 3]
        rows.append(r)
    return rows


@pytest.fixture(scope="module")
def dense(module_client) -> DenseSet:
    """Three collections with the same 3000 rows: ids 0..1999 in _default (flushed), 2000..2999
    in partition p1 (growing); one collection per metric, each with a different index type."""
    c = module_client
    rng = np.random.default_rng(SEED)
    vecs = rng.standard_normal((N_ROWS, DIM)).astype(np.float32)
    rows = dense_rows(vecs, rng)
    ds = DenseSet(client=c, vecs=vecs, rows=rows)
    for metric, index_type, params in DENSE_CASES:
        name = unique(f"dense_{metric.lower()}")
        ip = MilvusClient.prepare_index_params()
        ip.add_index("vec", index_type=index_type, metric_type=metric, params=params)
        c.create_collection(name, schema=dense_schema(), index_params=ip)
        c.create_partition(name, "p1")
        for start in range(0, N_SEALED, 1000):
            assert c.insert(name, rows[start:start + 1000])["insert_count"] == 1000
        c.flush(name)
        for start in range(N_SEALED, N_ROWS, 500):
            c.insert(name, rows[start:start + 500], partition_name="p1")
        assert c.get_load_state(name)["state"] == LoadState.Loaded
        ds.colls[metric] = name
    return ds


def queries(n: int, salt: int, dim: int = DIM) -> np.ndarray:
    return np.random.default_rng(SEED + salt).standard_normal((n, dim)).astype(np.float32)


# -- basic top-k ------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("nq,limit", [(1, 50), (7, 10), (100, 10)])
def test_topk_matches_brute_force(dense, metric, nq, limit):
    c, name = dense.client, dense.colls[metric]
    Q = queries(nq, salt=nq)
    res = c.search(name, data=Q.tolist(), limit=limit)
    assert len(res) == nq
    S = brute_scores(metric, dense.vecs, Q)
    for qi in range(nq):
        check_hits(res[qi], dense.ids, S[qi], limit, LARGER_IS_BETTER[metric],
                   what=f"{metric} nq={nq} q{qi}")
        assert res[qi][0]["entity"] == {}, "no output_fields: the entity must be empty"


@pytest.mark.parametrize("metric", ["L2", "COSINE"])  # (IP: a row need not be its own best)
def test_query_vector_equal_to_a_row_finds_it_first(dense, metric):
    c, name = dense.client, dense.colls[metric]
    probe = [5, 1999, 2000, 2999]  # sealed and growing rows
    res = c.search(name, data=dense.vecs[probe].tolist(), limit=3)
    for qi, pk in enumerate(probe):
        assert res[qi][0]["id"] == pk, f"{metric}: row {pk} is not its own nearest neighbour"
        self_score = brute_scores(metric, dense.vecs[pk:pk + 1], dense.vecs[pk:pk + 1])[0, 0]
        assert res[qi][0]["distance"] == pytest.approx(self_score, rel=1e-4, abs=1e-4)


def test_max_limit_returns_every_row_in_order(dense):
    c, name = dense.client, dense.colls["L2"]
    Q = queries(2, salt=11)
    res = c.search(name, data=Q.tolist(), limit=MAX_TOPK)
    S = brute_scores("L2", dense.vecs, Q)
    for qi in range(2):
        got = check_hits(res[qi], dense.ids, S[qi], MAX_TOPK, False, what=f"limit max q{qi}")
        assert sorted(got) == list(range(N_ROWS))


@pytest.mark.parametrize("metric", ["L2", "IP"])
def test_offset_pages(dense, metric):
    c, name = dense.client, dense.colls[metric]
    Q = queries(3, salt=12)
    S = brute_scores(metric, dense.vecs, Q)
    pages = []
    for offset in (0, 10, 20):
        res = c.search(name, data=Q.tolist(), limit=10, offset=offset)
        for qi in range(3):
            check_hits(res[qi], dense.ids, S[qi], 10, LARGER_IS_BETTER[metric], offset=offset,
                       what=f"{metric} offset={offset} q{qi}")
        pages.append([[h["id"] for h in res[qi]] for qi in range(3)])
    whole = c.search(name, data=Q.tolist(), limit=30)
    for qi in range(3):
        assert pages[0][qi] + pages[1][qi] + pages[2][qi] == [h["id"] for h in whole[qi]]
    # a window running past the end returns what is left
    tail = c.search(name, data=Q[:1].tolist(), limit=20, offset=N_ROWS - 7)
    check_hits(tail[0], dense.ids, S[0], 20, LARGER_IS_BETTER[metric], offset=N_ROWS - 7,
               what="tail window")
    assert len(tail[0]) == 7
    # offset + limit == 16384 is still allowed
    edge = c.search(name, data=Q[:1].tolist(), limit=MAX_TOPK - 100, offset=100)
    assert len(edge[0]) == N_ROWS - 100


# -- output fields ----------------------------------------------------------------------------

def test_output_fields_scalars_vectors_dynamic(dense):
    c, name = dense.client, dense.colls["L2"]
    Q = queries(3, salt=13)
    rows = dense.rows

    res = c.search(name, data=Q.tolist(), limit=20, output_fields=["i64", "tag", "f", "s"])
    for hits in res:
        for h in hits:
            r = rows[h["id"]]
            assert set(h["entity"]) == {"i64", "tag", "f", "s"}, h["entity"]
            assert h["entity"]["i64"] == r["i64"] and h["entity"]["tag"] == r["tag"]
            assert h["entity"]["s"] == r["s"]
            assert np.float32(h["entity"]["f"]) == np.float32(r["f"])

    res = c.search(name, data=Q.tolist(), limit=20, output_fields=["vec"])
    for hits in res:
        for h in hits:
            assert set(h["entity"]) == {"vec"}
            assert np.array_equal(np.asarray(h["entity"]["vec"], dtype=np.float32),
                                  dense.vecs[h["id"]])

    # dynamic keys: present only on the rows that have them
    res = c.search(name, data=Q.tolist(), limit=20, output_fields=["dk", "color"])
    seen_missing = False
    for hits in res:
        for h in hits:
            r = rows[h["id"]]
            exp = {k: r[k] for k in ("dk", "color") if k in r}
            seen_missing |= "dk" not in r
            assert h["entity"] == exp, f"id {h['id']}: {h['entity']} != {exp}"
    assert seen_missing, "data set should have hits without the dynamic key"

    # "*": every field (vectors included) and the dynamic keys, flattened
    res = c.search(name, data=Q.tolist(), limit=20, output_fields=["*"])
    for hits in res:
        for h in hits:
            r = rows[h["id"]]
            ent = dict(h["entity"])
            if "id" in ent:
                assert ent.pop("id") == h["id"]
            assert set(ent) == set(r) - {"id"}, f"keys {sorted(ent)} vs {sorted(r)}"
            assert np.array_equal(np.asarray(ent["vec"], dtype=np.float32), dense.vecs[h["id"]])
            for k in set(r) - {"id", "vec", "f"}:
                assert ent[k] == r[k], f"id {h['id']} field {k}: {ent[k]!r} != {r[k]!r}"
            assert np.float32(ent["f"]) == np.float32(r["f"])


def test_filter_and_output_fields_do_not_change_ranking(dense):
    c, name = dense.client, dense.colls["COSINE"]
    Q = queries(4, salt=14)
    plain = c.search(name, data=Q.tolist(), limit=15)
    with_fields = c.search(name, data=Q.tolist(), limit=15, output_fields=["*"])
    with_true_filter = c.search(name, data=Q.tolist(), limit=15, filter="id >= 0")
    for qi in range(4):
        ids = [h["id"] for h in plain[qi]]
        assert [h["id"] for h in with_fields[qi]] == ids
        assert [h["id"] for h in with_true_filter[qi]] == ids


# -- partitions -------------------------------------------------------------------------------

@pytest.mark.parametrize("parts,lo,hi", [(["p1"], N_SEALED, N_ROWS), (["_default"], 0, N_SEALED),
                                         (["_default", "p1"], 0, N_ROWS)])
def test_partition_names(dense, parts, lo, hi):
    c, name = dense.client, dense.colls["IP"]
    Q = queries(5, salt=15)
    res = c.search(name, data=Q.tolist(), limit=25, partition_names=parts)
    S = brute_scores("IP", dense.vecs[lo:hi], Q)
    for qi in range(5):
        check_hits(res[qi], dense.ids[lo:hi], S[qi], 25, True, what=f"{parts} q{qi}")


# -- filtered search --------------------------------------------------------------------------

def _filter_cases(rows):
    """(filter, filter_params, python predicate over a row)"""
    some_ids = list(range(3, N_ROWS, 61))
    return [
        ("i64 > 100", None, lambda r: r["i64"] > 100),
        ('tag in ["t1", "t3"] and grp < 10', None,
         lambda r: r["tag"] in ("t1", "t3") and r["grp"] < 10),
        ("dk >= 40", None, lambda r: "dk" in r and r["dk"] >= 40),
        ('color == "red" or i64 < -900', None, lambda r: r["color"] == "red" or r["i64"] < -900),
        (f"id in {some_ids}", None, lambda r: r["id"] in some_ids),
        ("not (grp in [1, 2, 3])", None, lambda r: r["grp"] not in (1, 2, 3)),
        ("f > 2.5 && s like \"s01%\"", None, lambda r: r["f"] > 2.5 and r["s"].startswith("s01")),
        ("i64 > {lo} and tag == {t}", {"lo": 0, "t": "t2"},
         lambda r: r["i64"] > 0 and r["tag"] == "t2"),
        ("id in {ids}", {"ids": some_ids[:5]}, lambda r: r["id"] in some_ids[:5]),
        ("i64 > 5000", None, lambda r: False),
    ]


@pytest.mark.parametrize("metric", ["L2", "COSINE"])
def test_filtered_search_matches_brute_force(dense, metric):
    c, name = dense.client, dense.colls[metric]
    Q = queries(3, salt=16)
    S = brute_scores(metric, dense.vecs, Q)
    for expr, params, pred in _filter_cases(dense.rows):
        mask = np.array([pred(r) for r in dense.rows])
        kwargs = {"filter_params": params} if params else {}
        res = c.search(name, data=Q.tolist(), limit=20, filter=expr, **kwargs)
        assert len(res) == 3
        for qi in range(3):
            check_hits(res[qi], dense.ids[mask], S[qi][mask], 20, LARGER_IS_BETTER[metric],
                       what=f"{metric} filter {expr!r} q{qi}")


# -- range search -----------------------------------------------------------------------------

def _cut(sorted_scores: np.ndarray, pos: int) -> (float, int):
    """A threshold between sorted_scores[p-1] and sorted_scores[p] for some p >= pos where the
    two differ clearly (so float rounding cannot move a row across it)."""
    p = pos
    while abs(sorted_scores[p] - sorted_scores[p - 1]) < 1e-3 * max(1.0, abs(sorted_scores[p])):
        p += 1
    return float((sorted_scores[p] + sorted_scores[p - 1]) / 2), p


@pytest.mark.parametrize("metric", METRICS)
def test_range_search_window(dense, metric):
    c, name = dense.client, dense.colls[metric]
    larger = LARGER_IS_BETTER[metric]
    Q = queries(2, salt=17)
    S = brute_scores(metric, dense.vecs, Q)
    for qi in range(2):
        order = sorted_order(S[qi], larger)
        ss = S[qi][order]
        inner, p_in = _cut(ss, 20)    # between the best 20-ish and the rest
        outer, p_out = _cut(ss, 80)
        # L2: range_filter <= d < radius;  IP/COSINE: radius < s <= range_filter
        params = {"radius": outer, "range_filter": inner}
        window = order[p_in:p_out]
        mask = np.zeros(N_ROWS, bool)
        mask[window] = True
        res = c.search(name, data=[Q[qi].tolist()], limit=200, search_params={"params": params})
        got = check_hits(res[0], dense.ids[mask], S[qi][mask], 200, larger,
                         what=f"{metric} range {params}")
        assert len(got) == p_out - p_in
        # limit smaller than the window: the best `limit` rows of the window
        res = c.search(name, data=[Q[qi].tolist()], limit=10, search_params={"params": params})
        check_hits(res[0], dense.ids[mask], S[qi][mask], 10, larger, what=f"{metric} range lim")
        # radius alone: everything better than the radius
        res = c.search(name, data=[Q[qi].tolist()], limit=500,
                       search_params={"params": {"radius": outer}})
        mask2 = np.zeros(N_ROWS, bool)
        mask2[order[:p_out]] = True
        got = check_hits(res[0], dense.ids[mask2], S[qi][mask2], 500, larger,
                         what=f"{metric} radius only")
        assert len(got) == p_out


@pytest.fixture(scope="module")
def grid(module_client):
    """Rows with exactly representable scores: vec_i = [i, 0, 0, 0] for i in 0..20 (ids = i)."""
    c = module_client
    names = {}
    for metric in ("L2", "IP"):
        name = unique(f"grid_{metric.lower()}")
        ip = MilvusClient.prepare_index_params()
        ip.add_index("vec", index_type="FLAT", metric_type=metric)
        s = MilvusClient.create_schema()
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
        c.create_collection(name, schema=s, index_params=ip)
        c.insert(name, [{"id": i, "vec": [float(i), 0.0, 0.0, 0.0]} for i in range(21)])
        names[metric] = name
    return names


def test_range_search_bounds_are_half_open(module_client, grid):
    c = module_client
    # L2 from the origin: d_i = i*i.  4 <= d < 16 -> i in {2, 3}
    res = c.search(grid["L2"], data=[[0.0, 0.0, 0.0, 0.0]], limit=100,
                   search_params={"params": {"radius": 16.0, "range_filter": 4.0}})
    assert [(h["id"], h["distance"]) for h in res[0]] == [(2, 4.0), (3, 9.0)]
    # IP with [1,0,0,0]: s_i = i.  3 < s <= 7 -> i in {7, 6, 5, 4}
    res = c.search(grid["IP"], data=[[1.0, 0.0, 0.0, 0.0]], limit=100,
                   search_params={"params": {"radius": 3.0, "range_filter": 7.0}})
    assert [(h["id"], h["distance"]) for h in res[0]] == [(7, 7.0), (6, 6.0), (5, 5.0), (4, 4.0)]
    # exact ties at the integer grid: plain top-k is still the right set of scores
    res = c.search(grid["L2"], data=[[0.0, 0.0, 0.0, 0.0]], limit=3)
    assert [h["id"] for h in res[0]] == [0, 1, 2]


# -- grouping ---------------------------------------------------------------------------------

def expected_groups(order_ids, group_of, limit, group_size, offset=0):
    """Milvus's proxy group reduce over a single, exactly ordered hit list."""
    skipped, groups, order = set(), {}, []
    for pk in order_ids:
        g = group_of[pk]
        if len(skipped) < offset or g in skipped:
            skipped.add(g)
            continue
        if g not in groups:
            if len(groups) >= limit:
                continue
            groups[g] = []
            order.append(g)
        if len(groups[g]) < group_size:
            groups[g].append(pk.item() if isinstance(pk, np.generic) else pk)
    return [(g, groups[g]) for g in order]


def split_groups(hits, field_name):
    out = []
    for h in hits:
        g = h["entity"][field_name]
        if out and out[-1][0] == g:
            out[-1][1].append(h["id"])
        else:
            out.append((g, [h["id"]]))
    return out


@pytest.mark.parametrize("group_field", ["grp", "tag"])
@pytest.mark.parametrize("limit,group_size,strict,offset", [
    (5, 1, False, 0), (4, 3, True, 0), (6, 2, True, 2), (3, 4, False, 0)])
def test_grouping_search(dense, group_field, limit, group_size, strict, offset):
    c, name = dense.client, dense.colls["L2"]
    Q = queries(2, salt=18)
    S = brute_scores("L2", dense.vecs, Q)
    group_of = {r["id"]: r[group_field] for r in dense.rows}
    kwargs = dict(group_by_field=group_field, group_size=group_size, strict_group_size=strict)
    if offset:
        kwargs["offset"] = offset
    res = c.search(name, data=Q.tolist(), limit=limit, output_fields=[group_field], **kwargs)
    for qi in range(2):
        order = sorted_order(S[qi], False)
        exp = expected_groups(order.tolist(), group_of, limit, group_size, offset)
        got = split_groups(res[qi], group_field)
        assert [g for g, _ in got] == [g for g, _ in exp], (
            f"groups {[g for g, _ in got]} != {[g for g, _ in exp]} (hits must come group by "
            f"group, groups ordered by their best hit)")
        for (g, got_ids), (_, exp_ids) in zip(got, exp):
            if strict:
                assert got_ids == exp_ids, f"group {g}: {got_ids} != {exp_ids}"
            else:
                assert 1 <= len(got_ids) <= group_size and got_ids == exp_ids[:len(got_ids)], (
                    f"group {g}: {got_ids} is not a prefix of {exp_ids}")
        for h in res[qi]:
            assert h["distance"] == pytest.approx(S[qi][h["id"]], rel=1e-4, abs=1e-4)


def test_grouping_search_with_filter_and_raw_group_values(dense):
    c, name = dense.client, dense.colls["IP"]
    Q = queries(1, salt=19)
    S = brute_scores("IP", dense.vecs, Q)[0]
    mask = np.array([r["i64"] > 0 for r in dense.rows])
    group_of = {r["id"]: r["grp"] for r in dense.rows}
    order = dense.ids[mask][sorted_order(S[mask], True)]
    exp = expected_groups(order.tolist(), group_of, 5, 2)
    res = c.search(name, data=Q.tolist(), limit=5, filter="i64 > 0", group_by_field="grp",
                   group_size=2, strict_group_size=True, output_fields=["grp"])
    assert split_groups(res[0], "grp") == exp

    # SearchResultData.group_by_field_value carries the group of every hit (not decoded by
    # pymilvus, so read on the raw response)
    resp = raw_search(c, name, Q.tolist(), 5, expr="i64 > 0", group_by_field="grp",
                      group_size=2, strict_group_size=True)
    ids = list(resp.results.ids.int_id.data)
    assert ids == [pk for _, pks in exp for pk in pks]
    vals = list(resp.results.group_by_field_value.scalars.long_data.data)
    assert vals == [group_of[pk] for pk in ids], "group_by_field_value must align with ids"


# -- round_decimal ----------------------------------------------------------------------------

def test_round_decimal(dense):
    c, name = dense.client, dense.colls["L2"]
    Q = queries(2, salt=20)
    S = brute_scores("L2", dense.vecs, Q)
    res = c.search(name, data=Q.tolist(), limit=30, round_decimal=0)  # server-side only
    checked = 0
    for qi in range(2):
        for h in res[qi]:
            t = S[qi][h["id"]]
            if abs((t % 1.0) - 0.5) < 1e-3:
                continue  # too close to the rounding boundary for float32
            assert h["distance"] == math.floor(t + 0.5), (h["id"], h["distance"], t)
            checked += 1
    assert checked > 40
    res = c.search(name, data=Q.tolist(), limit=30, round_decimal=2)
    for qi in range(2):
        for h in res[qi]:
            t = S[qi][h["id"]]
            assert abs(h["distance"] - t) <= 0.005 + 1e-4
            assert abs(h["distance"] * 100 - round(h["distance"] * 100)) < 1e-3
    plain = c.search(name, data=Q.tolist(), limit=30)
    assert [[h["id"] for h in r] for r in res] == [[h["id"] for h in r] for r in plain]


# -- iterators --------------------------------------------------------------------------------

def drain(it, cap: int = 200) -> List[list]:
    pages = []
    for _ in range(cap):
        page = it.next()
        if page is None or len(page) == 0:  # v2 with a limit returns None once it is spent
            break
        pages.append(list(page))
    else:
        raise AssertionError("iterator did not finish")
    it.close()
    return pages


@pytest.mark.parametrize("metric", ["L2", "IP"])
def test_search_iterator_v2(dense, metric):
    c, name = dense.client, dense.colls[metric]
    larger = LARGER_IS_BETTER[metric]
    Q = queries(1, salt=21)
    S = brute_scores(metric, dense.vecs, Q)[0]
    mask = np.array([r["grp"] < 10 for r in dense.rows])

    it = c.search_iterator(name, data=Q.tolist(), batch_size=150, filter="grp < 10",
                           output_fields=["grp"])
    assert type(it).__name__ == "SearchIteratorV2", "Kite should support search_iterator v2"
    pages = drain(it)
    assert all(len(p) <= 150 for p in pages) and all(len(p) == 150 for p in pages[:-1])
    hits = [h for p in pages for h in p]
    assert all(h["entity"]["grp"] < 10 for h in hits)
    got = check_hits(hits, dense.ids[mask], S[mask], N_ROWS, larger, what="iterator v2")
    assert len(got) == int(mask.sum())

    # limit caps the total
    it = c.search_iterator(name, data=Q.tolist(), batch_size=64, limit=200)
    hits = [h for p in drain(it) for h in p]
    check_hits(hits, dense.ids, S, 200, larger, what="iterator v2 limit")


def test_search_iterator_v1_fallback(dense, monkeypatch):
    """Force pymilvus's v1 iterator (range search pages + `pk not in [...]` de-duplication), as
    used against servers that return no iterator token."""
    import pymilvus.milvus_client.milvus_client as mc

    def no_v2(*args, **kwargs):
        raise ServerVersionIncompatibleException(message="forced v1 for the test")

    monkeypatch.setattr(mc, "SearchIteratorV2", no_v2)
    c = dense.client
    for metric in ("L2", "COSINE"):
        name = dense.colls[metric]
        larger = LARGER_IS_BETTER[metric]
        Q = queries(1, salt=22)
        S = brute_scores(metric, dense.vecs, Q)[0]
        mask = np.array([r["tag"] != "t0" for r in dense.rows])
        it = c.search_iterator(name, data=Q.tolist(), batch_size=100, limit=450,
                               filter='tag != "t0"', search_params={"metric_type": metric})
        assert type(it).__name__ == "SearchIterator"
        hits = [h for p in drain(it) for h in p]
        check_hits(hits, dense.ids[mask], S[mask], 450, larger, what=f"iterator v1 {metric}")


# -- metric handling --------------------------------------------------------------------------

def test_explicit_matching_metric_is_accepted_and_mismatch_fails(dense):
    c = dense.client
    Q = queries(1, salt=23)
    for metric in METRICS:
        name = dense.colls[metric]
        ok = c.search(name, data=Q.tolist(), limit=5, search_params={"metric_type": metric})
        S = brute_scores(metric, dense.vecs, Q)[0]
        check_hits(ok[0], dense.ids, S, 5, LARGER_IS_BETTER[metric], what=f"explicit {metric}")
        for other in METRICS:
            if other == metric:
                continue
            e = server_error(c.search, name, data=Q.tolist(), limit=5,
                             search_params={"metric_type": other})
            assert_msg(e, "metric type not match", "metric type mismatch")


# -- mixed growing / sealed / deleted / upserted data -----------------------------------------

def test_search_over_growing_flushed_deleted_and_upserted_rows(module_client):
    c = module_client
    name = unique("mixed")
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 32})
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("ver", DataType.INT64)
    c.create_collection(name, schema=s, index_params=ip)
    rng = np.random.default_rng(SEED + 30)
    live: Dict[int, np.ndarray] = {}
    ver: Dict[int, int] = {}

    def put(pks, v, upsert=False):
        vs = rng.standard_normal((len(pks), DIM)).astype(np.float32)
        rows = [{"id": pk, "vec": vs[i].tolist(), "ver": v} for i, pk in enumerate(pks)]
        (c.upsert if upsert else c.insert)(name, rows)
        for i, pk in enumerate(pks):
            live[pk] = vs[i]
            ver[pk] = v

    put(list(range(0, 1000)), 0)
    c.flush(name)
    put(list(range(1000, 1500)), 0)                      # growing
    dels = list(range(0, 1000, 7)) + list(range(1001, 1500, 9))
    c.delete(name, ids=dels)
    c.delete(name, filter="id >= 1400 and id < 1450")
    for pk in dels + list(range(1400, 1450)):
        live.pop(pk, None)
    put(list(range(500, 600)) + list(range(1200, 1250)) + list(range(5000, 5050)), 1, upsert=True)
    put(list(range(550, 560)), 2, upsert=True)           # upsert the upserted rows again
    put([7, 14], 3, upsert=True)                         # upsert of deleted ids revives them

    def check(tag):
        ids = np.array(sorted(live))
        X = np.stack([live[pk] for pk in ids])
        Q = queries(10, salt=31)
        S = brute_scores("L2", X, Q)
        res = c.search(name, data=Q.tolist(), limit=60, output_fields=["ver"],
                       consistency_level="Strong")
        for qi in range(10):
            check_hits(res[qi], ids, S[qi], 60, False, what=f"{tag} q{qi}")
            for h in res[qi]:
                assert h["entity"]["ver"] == ver[h["id"]], f"{tag}: stale version of {h['id']}"
        every = c.search(name, data=Q[:1].tolist(), limit=MAX_TOPK, consistency_level="Strong")
        got = [h["id"] for h in every[0]]
        assert len(got) == len(set(got)), f"{tag}: duplicate ids"
        assert sorted(got) == ids.tolist(), (
            f"{tag}: extra {sorted(set(got) - set(ids.tolist()))[:10]}, "
            f"missing {sorted(set(ids.tolist()) - set(got))[:10]}")
        n = c.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
        assert n[0]["count(*)"] == len(live)
        # a filter sees only the live version of each row
        v1 = np.array([pk for pk in ids if ver[pk] == 1])
        res = c.search(name, data=Q[:3].tolist(), limit=40, filter="ver == 1",
                       consistency_level="Strong")
        S1 = brute_scores("L2", np.stack([live[pk] for pk in v1]), Q[:3])
        for qi in range(3):
            check_hits(res[qi], v1, S1[qi], 40, False, what=f"{tag} ver==1 q{qi}")
        res = c.search(name, data=Q[:1].tolist(), limit=MAX_TOPK, filter="ver == 0",
                       consistency_level="Strong")
        assert sorted(h["id"] for h in res[0]) == [pk for pk in ids if ver[pk] == 0]

    check("before flush")
    c.flush(name)
    check("after flush")
    c.release_collection(name)
    c.load_collection(name)
    check("after reload")
    c.drop_collection(name)


# -- half-precision and binary vectors --------------------------------------------------------

@pytest.fixture(scope="module")
def halfp(module_client):
    c = module_client
    name = unique("halfp")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("h", DataType.FLOAT16_VECTOR, dim=DIM)
    s.add_field("bh", DataType.BFLOAT16_VECTOR, dim=DIM)
    s.add_field("n", DataType.INT64)
    ip = MilvusClient.prepare_index_params()
    ip.add_index("h", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 32})
    ip.add_index("bh", index_type="FLAT", metric_type="IP")
    c.create_collection(name, schema=s, index_params=ip)
    rng = np.random.default_rng(SEED + 40)
    n = 1500
    H = f16_round(rng.standard_normal((n, DIM)))
    B32 = rng.standard_normal((n, DIM)).astype(np.float32)
    rows = [{"id": i, "h": H[i], "bh": bf16_bytes(B32[i]), "n": i % 10} for i in range(n)]
    c.insert(name, rows[:1000])
    c.flush(name)
    c.insert(name, rows[1000:])
    return {"name": name, "H": H.astype(np.float32), "B": bf16_round(B32), "n": n}


def test_float16_search(module_client, halfp):
    c = module_client
    Q = f16_round(queries(5, salt=41))
    res = c.search(halfp["name"], data=list(Q), anns_field="h", limit=20, output_fields=["n"])
    S = brute_scores("L2", halfp["H"], Q.astype(np.float32))
    ids = np.arange(halfp["n"])
    for qi in range(5):
        check_hits(res[qi], ids, S[qi], 20, False, rtol=1e-2, atol=1e-2, what=f"fp16 q{qi}")
        assert all(h["entity"]["n"] == h["id"] % 10 for h in res[qi])
    # filter + fp16
    res = c.search(halfp["name"], data=list(Q[:2]), anns_field="h", limit=10, filter="n == 3")
    mask = ids % 10 == 3
    for qi in range(2):
        check_hits(res[qi], ids[mask], S[qi][mask], 10, False, rtol=1e-2, atol=1e-2,
                   what=f"fp16 filtered q{qi}")


def test_bfloat16_search_and_vector_output(module_client, halfp):
    c = module_client
    Q32 = queries(5, salt=42)
    Qb = bf16_round(Q32)
    res = c.search(halfp["name"], data=[bf16_bytes(q) for q in Q32], anns_field="bh", limit=20,
                   output_fields=["bh"])
    S = brute_scores("IP", halfp["B"], Qb)
    ids = np.arange(halfp["n"])
    for qi in range(5):
        check_hits(res[qi], ids, S[qi], 20, True, rtol=1e-2, atol=1e-2, what=f"bf16 q{qi}")
        for h in res[qi]:
            raw = h["entity"]["bh"]
            raw = raw[0] if isinstance(raw, list) else raw  # pymilvus wraps byte vectors in a list
            assert bytes(raw) == bf16_bytes(halfp["B"][h["id"]])


def test_two_vector_fields_need_anns_field(module_client, halfp):
    c = module_client
    Q = f16_round(queries(1, salt=43))
    e = server_error(c.search, halfp["name"], data=list(Q), limit=5)
    assert_msg(e, "anns_field", "anns field", "vector field")


@pytest.fixture(scope="module")
def binary(module_client):
    c = module_client
    rng = np.random.default_rng(SEED + 50)
    n, dim = 1500, 64
    X = rng.integers(1, 256, (n, dim // 8), dtype=np.uint8)  # no all-zero vector
    names = {}
    for metric, index_type, params in (("HAMMING", "BIN_FLAT", {}),
                                       ("JACCARD", "BIN_IVF_FLAT", {"nlist": 16})):
        name = unique(f"bin_{metric.lower()}")
        s = MilvusClient.create_schema()
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("bv", DataType.BINARY_VECTOR, dim=dim)
        ip = MilvusClient.prepare_index_params()
        ip.add_index("bv", index_type=index_type, metric_type=metric, params=params)
        c.create_collection(name, schema=s, index_params=ip)
        rows = [{"id": i, "bv": X[i].tobytes()} for i in range(n)]
        c.insert(name, rows[:1000])
        c.flush(name)
        c.insert(name, rows[1000:])
        names[metric] = name
    return {"X": X, "names": names, "n": n}


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_binary_search(module_client, binary, metric):
    """Integer-valued (HAMMING) and coarse (JACCARD) scores tie a lot: check_hits accepts any
    order among equal scores but requires the right multiset of scores."""
    c = module_client
    Q = np.random.default_rng(SEED + 51).integers(1, 256, (6, 8), dtype=np.uint8)
    res = c.search(binary["names"][metric], data=[q.tobytes() for q in Q], anns_field="bv",
                   limit=25)
    S = brute_binary(metric, binary["X"], Q)
    ids = np.arange(binary["n"])
    for qi in range(6):
        check_hits(res[qi], ids, S[qi], 25, False, rtol=1e-5, atol=1e-5, what=f"{metric} q{qi}")
    # the query equal to a stored row finds it at distance 0
    res = c.search(binary["names"][metric], data=[binary["X"][77].tobytes()], anns_field="bv",
                   limit=1)
    assert res[0][0]["distance"] == pytest.approx(0.0, abs=1e-6)
    assert S.shape[1] == binary["n"]


def test_binary_range_search_hamming(module_client, binary):
    c = module_client
    q = np.random.default_rng(SEED + 52).integers(1, 256, (1, 8), dtype=np.uint8)
    d = brute_binary("HAMMING", binary["X"], q)[0]
    res = c.search(binary["names"]["HAMMING"], data=[q[0].tobytes()], anns_field="bv",
                   limit=MAX_TOPK, search_params={"params": {"radius": 30, "range_filter": 26}})
    got = sorted(h["id"] for h in res[0])
    assert got == sorted(np.nonzero((d >= 26) & (d < 30))[0].tolist())
    assert all(26 <= h["distance"] < 30 for h in res[0])
    ds = [h["distance"] for h in res[0]]
    assert ds == sorted(ds)


# -- errors -----------------------------------------------------------------------------------

def test_wrong_query_dimension(dense):
    c, name = dense.client, dense.colls["L2"]
    e = server_error(c.search, name, data=[[0.1] * (DIM // 2)], limit=5)
    assert_msg(e, "dim")
    e = server_error(c.search, name, data=[[0.1] * (DIM + 1)], limit=5)
    assert_msg(e, "dim")


@pytest.mark.parametrize("limit", [0, MAX_TOPK + 1])
def test_limit_out_of_range(dense, limit):
    """pymilvus rejects limit <= 0 client-side (check.is_legal_limit), so the request goes
    through the stub."""
    c, name = dense.client, dense.colls["L2"]
    e = server_error(raw_search, c, name, queries(1, salt=60).tolist(), limit)
    assert_msg(e, "topk", "limit")


def test_limit_plus_offset_over_max_window(dense):
    c, name = dense.client, dense.colls["L2"]
    e = server_error(c.search, name, data=queries(1, salt=61).tolist(), limit=16000, offset=385)
    assert_msg(e, "16384", "offset", "limit", "topk")


def test_search_unknown_partition_and_filter_field(dense):
    c, name = dense.client, dense.colls["L2"]
    Q = queries(1, salt=62).tolist()
    e = server_error(c.search, name, data=Q, limit=5, partition_names=["nope"])
    assert_code(e, PARTITION_NOT_FOUND)
    e = server_error(c.search, name, data=Q, limit=5, filter="i64 >")
    assert_msg(e, "i64", "parse", "syntax", "expression")
    e = server_error(c.search, name, data=Q, limit=5, filter='i64 == "abc"')
    assert_msg(e, "i64", "int64", "type")


def test_search_unknown_output_field_without_dynamic_field(module_client, halfp):
    c = module_client
    Q = f16_round(queries(1, salt=63))
    e = server_error(c.search, halfp["name"], data=list(Q), anns_field="h", limit=5,
                     output_fields=["no_such_field"])
    assert_msg(e, "no_such_field")
    e = server_error(c.search, halfp["name"], data=list(Q), anns_field="h", limit=5,
                     filter="no_such_field > 1")
    assert_msg(e, "no_such_field")


def test_search_on_released_collection(module_client):
    c = module_client
    name = unique("released")
    c.create_collection(name, dimension=8, metric_type="L2")
    c.insert(name, [{"id": i, "vector": [float(i)] * 8} for i in range(10)])
    assert [h["id"] for h in c.search(name, data=[[0.0] * 8], limit=3)[0]] == [0, 1, 2]
    c.release_collection(name)
    e = server_error(c.search, name, data=[[0.0] * 8], limit=3)
    assert_code(e, COLLECTION_NOT_LOADED)
    c.load_collection(name)
    assert [h["id"] for h in c.search(name, data=[[0.0] * 8], limit=3)[0]] == [0, 1, 2]
    c.drop_collection(name)


# -- ties, empty collections, VARCHAR primary keys --------------------------------------------

@pytest.fixture(scope="module")
def ties(module_client):
    """300 rows over only 10 distinct vectors: every distance is shared by ~30 rows."""
    c = module_client
    name = unique("ties")
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=s, index_params=ip)
    rows = [{"id": i, "vec": [float(i % 10), 0.0, 0.0, 0.0]} for i in range(300)]
    c.insert(name, rows[:150])
    c.flush(name)
    c.insert(name, rows[150:])
    return name


def check_iterator_over_ties(pages, ids, true_scores, larger_better, what, tol=1e-6):
    """What search_iterator v2 guarantees in Milvus 2.5/2.6 when scores tie.

    Every page is a fresh search filtered by `score beyond last_bound` (strictly), where
    last_bound is the score of the previous page's last hit; the server keeps no per-iterator
    state (pymilvus client/search_iterator.py: "if the server holds iterator states, this
    implementation needs to be reconsidered"; milvus segcore builds a new CachedSearchIterator
    per request and skips `distance <= last_bound`).  So rows tied with a page's last score
    may be skipped, but: no row twice, scores in order, every returned score right, and every
    row whose score is not a page-boundary score is returned.  Returns the missing rows."""
    hits = [h for p in pages for h in p]
    got = [h["id"] for h in hits]
    assert len(got) == len(set(got)), f"{what}: a row came back twice"
    true = dict(zip(np.asarray(ids).tolist(), np.asarray(true_scores, float).tolist()))
    sc = [h["distance"] for h in hits]
    for pk, d in zip(got, sc):
        assert abs(d - true[pk]) <= tol + 1e-5 * abs(true[pk]), (what, pk, d, true[pk])
    key = [-x for x in sc] if larger_better else sc
    assert all(a <= b + tol for a, b in zip(key, key[1:])), f"{what}: scores out of order"
    bounds = [p[-1]["distance"] for p in pages]
    missing = sorted(set(true) - set(got))
    for pk in missing:
        assert any(abs(true[pk] - b) <= tol + 1e-5 * abs(b) for b in bounds), (
            f"{what}: row {pk} (score {true[pk]}) missing although no page ended at its score")
    return missing


def test_ties_full_result_and_iterator_v2(module_client, ties):
    c = module_client
    q = [[0.0, 0.0, 0.0, 0.0]]
    ids = np.arange(300)
    d = ((ids % 10) ** 2).astype(np.float64)
    res = c.search(ties, data=q, limit=MAX_TOPK)
    check_hits(res[0], ids, d, MAX_TOPK, False, what="ties all")
    res = c.search(ties, data=q, limit=45)   # cuts through the group at distance 1
    check_hits(res[0], ids, d, 45, False, what="ties top45")
    # batch 30 == group size: every page ends exactly at a group boundary, nothing is lost
    pages = drain(c.search_iterator(ties, data=q, batch_size=30))
    assert check_iterator_over_ties(pages, ids, d, False, "ties iterator b30") == []
    # batch 16 cuts groups: Milvus's contract only
    pages = drain(c.search_iterator(ties, data=q, batch_size=16))
    check_iterator_over_ties(pages, ids, d, False, "ties iterator b16")


@pytest.mark.xfail(strict=False, reason=(
    "search_iterator v2 as pymilvus 2.6 speaks it (float last_bound, no pk cursor) skips rows "
    "tied with a page's last score, in Milvus 2.5/2.6 as well; Milvus master adds a strict pk "
    "cursor (segcore CachedSearchIterator cursor_version 2) to close the gap"))
def test_iterator_v2_returns_every_tied_row(module_client, ties):
    q = [[0.0, 0.0, 0.0, 0.0]]
    pages = drain(module_client.search_iterator(ties, data=q, batch_size=16))
    assert sorted(h["id"] for p in pages for h in p) == list(range(300))


def test_binary_iterator_v2_over_ties(module_client, binary):
    c = module_client
    q = np.random.default_rng(SEED + 53).integers(1, 256, (1, 8), dtype=np.uint8)
    d = brute_binary("HAMMING", binary["X"], q)[0]
    pages = drain(c.search_iterator(binary["names"]["HAMMING"], data=[q[0].tobytes()],
                                    anns_field="bv", batch_size=100))
    check_iterator_over_ties(pages, np.arange(binary["n"]), d, False, "hamming iterator")


def test_search_empty_collection_and_empty_partition(module_client):
    c = module_client
    name = unique("empty")
    c.create_collection(name, dimension=8, metric_type="IP")
    c.create_partition(name, "p_empty")
    res = c.search(name, data=[[0.5] * 8, [0.1] * 8], limit=10)
    assert len(res) == 2 and all(len(r) == 0 for r in res)
    c.insert(name, [{"id": 1, "vector": [1.0] * 8}])
    res = c.search(name, data=[[0.5] * 8], limit=10, partition_names=["p_empty"])
    assert len(res) == 1 and len(res[0]) == 0
    res = c.search(name, data=[[0.5] * 8], limit=10, consistency_level="Strong")
    assert [h["id"] for h in res[0]] == [1] and res[0][0]["distance"] == pytest.approx(4.0)
    c.drop_collection(name)


def test_varchar_primary_key_search_and_iterator(module_client):
    c = module_client
    name = unique("vpk")
    s = MilvusClient.create_schema()
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("g", DataType.VARCHAR, max_length=8)
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="HNSW", metric_type="COSINE",
                 params={"M": 8, "efConstruction": 32})
    c.create_collection(name, schema=s, index_params=ip)
    rng = np.random.default_rng(SEED + 70)
    n = 600
    X = rng.standard_normal((n, DIM)).astype(np.float32)
    keys = [f"{rng.integers(0, 1 << 40):010x}-{i}" for i in range(n)]
    rows = [{"pk": keys[i], "vec": X[i].tolist(), "g": f"g{i % 7}"} for i in range(n)]
    c.insert(name, rows[:300])
    c.flush(name)
    c.insert(name, rows[300:])
    karr = np.array(keys, dtype=object)
    Q = queries(3, salt=71)
    S = brute_scores("COSINE", X, Q)
    res = c.search(name, data=Q.tolist(), limit=15, output_fields=["g"])
    for qi in range(3):
        got = check_hits([{"id": h["pk"], "distance": h["distance"]} for h in res[qi]],
                         karr, S[qi], 15, True, what=f"varchar pk q{qi}")
        assert all(isinstance(k, str) for k in got)
        assert all(h["entity"]["g"] == rows[keys.index(h["pk"])]["g"] for h in res[qi])
    # grouping on a VARCHAR field with VARCHAR pks
    res = c.search(name, data=Q[:1].tolist(), limit=3, group_by_field="g", group_size=2,
                   strict_group_size=True, output_fields=["g"])
    order = [keys[i] for i in sorted_order(S[0], True)]
    exp = expected_groups(order, {r["pk"]: r["g"] for r in rows}, 3, 2)
    got = []
    for h in res[0]:
        if got and got[-1][0] == h["entity"]["g"]:
            got[-1][1].append(h["pk"])
        else:
            got.append((h["entity"]["g"], [h["pk"]]))
    assert got == exp
    # search iterator with string pks
    it = c.search_iterator(name, data=Q[:1].tolist(), batch_size=50, filter='g != "g0"')
    hits = [{"id": h["pk"], "distance": h["distance"]} for p in drain(it) for h in p]
    mask = np.array([r["g"] != "g0" for r in rows])
    check_hits(hits, karr[mask], S[0][mask], n, True, what="varchar pk iterator")
    # query iterator pages by string pk order
    qit = c.query_iterator(name, batch_size=64, filter='g in ["g1", "g2"]', output_fields=["g"])
    pages = []
    while True:
        page = qit.next()
        if not page:
            break
        pages.append([r["pk"] for r in page])
    qit.close()
    flat = [k for p in pages for k in p]
    assert flat == sorted(r["pk"] for r in rows if r["g"] in ("g1", "g2"))
    c.drop_collection(name)


def test_heavy_searches_do_not_hold_other_calls(kite_factory):
    """Brute-force searches of many vectors run on workers, not on gRPC's own threads: while four of
    them are in flight, other calls (a light search, has_collection) still answer."""
    import threading
    import time

    srv = kite_factory("heavy").start()
    c = MilvusClient(srv.uri, dedicated=True)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=128)
    index = c.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    for name in ("big", "small"):
        c.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    rng = np.random.default_rng(11)
    big = rng.random((40_000, 128), dtype=np.float32)
    for lo in range(0, len(big), 10_000):
        c.insert("big", [{"id": lo + i, "vec": big[lo + i]} for i in range(10_000)])
    c.insert("small", [{"id": i, "vec": big[i]} for i in range(100)])
    heavy_q = rng.random((1_500, 128), dtype=np.float32).tolist()  # 1,500 x 40,000 distances each
    done = []

    def heavy():
        cc = MilvusClient(srv.uri, dedicated=True)
        cc.search("big", data=heavy_q, limit=100)
        done.append(time.time())
        cc.close()

    threads = [threading.Thread(target=heavy) for _ in range(4)]
    start = time.time()
    for t in threads:
        t.start()
    time.sleep(1.5)  # the heavy searches have reached the server (pymilvus encodes them first)
    probe = time.time()
    assert c.has_collection("small")
    hits = c.search("small", data=[big[7].tolist()], limit=1)
    light_s = time.time() - probe
    assert hits[0][0]["id"] == 7
    for t in threads:
        t.join(timeout=300)
    assert len(done) == 4
    # The light calls did not queue behind the heavy ones. Run on gRPC's own threads, they waited
    # for one to end (2.7 s of a 5.2 s heavy search, measured); on workers they take milliseconds.
    heavy_s = min(done) - start
    assert light_s < 0.25 * heavy_s, (light_s, [d - start for d in done])
    c.close()
