"""What the cluster tests (streaming node, coordinator stand-by and proxy processes) share: one
small schema (id, n, vector), rows for it, and the check that a collection answers exactly what
the test wrote (query, search against a brute-force ranking computed here, count)."""

from __future__ import annotations

import numpy as np
from pymilvus import DataType, MilvusClient


def id_n_vector_schema(dim: int):
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("n", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return s


def id_n_rows(ids, rng, dim: int, mult: int = 3):
    return [{"id": int(i), "n": int(i) * mult, "vector": rng.random(dim).astype(np.float32).tolist()} for i in ids]


def answers_exactly(client, name, expected, queries, ef: int = 512) -> None:
    """`expected`: pk -> row. Strong reads: every row once with its n, the top 5 of each query as
    the exact L2 ranking of `expected`, and count(*)."""
    got = client.query(name, filter="id >= 0", output_fields=["id", "n"], limit=16384, consistency_level="Strong")
    ids = [r["id"] for r in got]
    assert len(ids) == len(set(ids)), "a row returned twice"
    assert set(ids) == set(expected), (sorted(set(expected) - set(ids))[:10], sorted(set(ids) - set(expected))[:10])
    for r in got:
        assert r["n"] == expected[r["id"]]["n"], r
    res = client.search(name, [q.tolist() for q in queries], limit=5, consistency_level="Strong",
                        search_params={"metric_type": "L2", "params": {"ef": ef}})
    for q, hits in zip(queries, res):
        d = sorted((float(np.sum((np.asarray(r["vector"], np.float32) - q) ** 2)), pk) for pk, r in expected.items())
        assert [h["id"] for h in hits] == [pk for _, pk in d[:5]]
    count = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    assert count[0]["count(*)"] == len(expected)
