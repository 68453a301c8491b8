"""The seed's read flow through the role APIs (issue 14): proxy -> each shard's
delegator (streaming node) -> query node, reduced at three levels; consistency on
the shards' tsafe watermark instead of a shared lock.
"""

from __future__ import annotations

import threading

import numpy as np
from pymilvus import DataType, MilvusClient

from e2e_util import unique

DIM = 8


def make(client: MilvusClient, name: str, shards: int):
    s = MilvusClient.create_schema(enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("g", DataType.INT64)
    ip = client.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip, consistency_level="Strong", num_shards=shards)


def test_strong_search_right_after_acknowledged_delete_never_returns_the_row(module_client):
    """A delete acknowledged before a Strong search is always applied where the
    search runs: sealed rows (query node) and growing rows (delegator) alike,
    while another client keeps writing to the same shards."""
    c, name = module_client, unique("strong_delete")
    make(c, name, shards=2)
    rng = np.random.default_rng(7)
    n = 400
    vecs = rng.random((n, DIM), dtype=np.float32)
    c.insert(name, [{"id": i, "vector": vecs[i].tolist(), "g": i % 5} for i in range(n // 2)])
    c.flush(name)  # half sealed, half growing
    c.insert(name, [{"id": i, "vector": vecs[i].tolist(), "g": i % 5} for i in range(n // 2, n)])
    stop = threading.Event()

    def writer():
        w = np.random.default_rng(8)
        k = 10_000
        while not stop.is_set():
            c.insert(name, [{"id": k, "vector": w.random(DIM, dtype=np.float32).tolist(), "g": 0}])
            k += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for i in range(0, n, 7):
            c.delete(name, ids=[i])
            res = c.search(name, data=[vecs[i].tolist()], limit=3, output_fields=["g"])
            ids = [h["id"] for h in res[0]]
            assert i not in ids, f"deleted row {i} returned by a Strong search right after its delete: {ids}"
            got = c.query(name, filter=f"id == {i}")
            assert got == [], got
    finally:
        stop.set()
        t.join()


def test_search_reduces_across_shards_growing_and_sealed(module_client):
    """Hits spread over 4 shards, each with sealed and growing rows, come back
    exactly as an exact search over all rows ranks them, with their fields."""
    c, name = module_client, unique("reduce3")
    make(c, name, shards=4)
    rng = np.random.default_rng(11)
    n = 600
    vecs = rng.random((n, DIM), dtype=np.float32)
    rows = [{"id": i, "vector": vecs[i].tolist(), "g": i % 7, "extra": f"e{i}"} for i in range(n)]
    c.insert(name, rows[:300])
    c.flush(name)
    c.insert(name, rows[300:])
    queries = rng.random((5, DIM), dtype=np.float32)
    res = c.search(name, data=queries.tolist(), limit=10, output_fields=["g", "extra"])
    for q, hits in zip(queries, res):
        d = ((vecs - q) ** 2).sum(axis=1)
        want = [int(i) for i in np.argsort(d, kind="stable")[:10]]
        assert [h["id"] for h in hits] == want
        for h in hits:
            assert h["entity"]["g"] == h["id"] % 7 and h["entity"]["extra"] == f"e{h['id']}"
    # Group-by across shards: the best hit of each of the best 3 groups.
    res = c.search(name, data=[queries[0].tolist()], limit=3, group_by_field="g", output_fields=["g"])
    d = ((vecs - queries[0]) ** 2).sum(axis=1)
    best = {}
    for i in np.argsort(d, kind="stable"):
        best.setdefault(int(i) % 7, int(i))
    want_groups = sorted(best.items(), key=lambda kv: d[kv[1]])[:3]
    assert [h["id"] for h in res[0]] == [i for _, i in want_groups]
    # query with limit/offset across shards: ordered by key, paged once.
    got = c.query(name, filter="id >= 100", output_fields=["g"], limit=20, offset=5)
    assert [r["id"] for r in got] == list(range(105, 125))
    assert c.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == n
