"""RANDOM_SAMPLE(factor) in filters (Milvus 2.6, random-sampling.md): the rest of a top-level
`and` filters first, then each segment keeps max(floor(N * factor), 1) of its N matching rows,
drawn afresh per request. Checked statistically: the sample is a subset of the plain filter's
rows and its size is the per-segment floor (within one row per segment); the refusals carry
Milvus's planparserv2 words.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import server_error, unique

DIM = 4


@pytest.fixture(scope="module")
def coll(module_client: MilvusClient):
    c, name = module_client, unique("rsample")
    schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.VARCHAR, max_length=8)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    index = c.prepare_index_params()
    index.add_index("vector", metric_type="L2")
    c.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    rng = np.random.default_rng(11)
    rows = [{"id": i, "tag": "a" if i % 2 else "b", "vector": rng.random(DIM).tolist()} for i in range(3000)]
    c.insert(name, rows[:2000])
    c.flush(name)  # one sealed segment, then a growing one
    c.insert(name, rows[2000:])
    return name


def ids(rows) -> set:
    return {r["id"] for r in rows}


def test_sample_is_a_subset_of_the_filter_and_sized_per_segment(module_client, coll):
    c = module_client
    plain = ids(c.query(coll, filter='tag == "a"', output_fields=["id"], limit=16384))
    assert len(plain) == 1500
    seen = set()
    for _ in range(3):
        got = ids(c.query(coll, filter='tag == "a" AND RANDOM_SAMPLE(0.1)', output_fields=["id"], limit=16384))
        assert got <= plain
        # 1000 + 500 matching rows in two segments: floor(100) + floor(50), give or take a row each.
        assert 145 <= len(got) <= 155, len(got)
        seen |= got
    assert len(seen) > 160  # three independent draws, not the same 150 rows
    n = c.query(coll, filter='tag == "a" and random_sample(0.5)', output_fields=["count(*)"])[0]["count(*)"]
    assert 748 <= n <= 752, n
    alone = c.query(coll, filter="random_sample(0.01)", output_fields=["id"], limit=16384)
    assert 28 <= len(alone) <= 32, len(alone)


def test_search_with_a_sampled_filter(module_client, coll):
    c = module_client
    plain = ids(c.query(coll, filter='tag == "b" and id < 100', output_fields=["id"], limit=16384))
    hits = c.search(coll, [[0.5] * DIM], filter='tag == "b" and id < 100 and random_sample(0.2)', limit=50)[0]
    got = {h["id"] for h in hits}
    assert got <= plain and 9 <= len(got) <= 11, (len(got), got - plain)


@pytest.mark.parametrize("expr,text", [
    ("random_sample(1.5)", "the sample factor should be between 0 and 1 and not too close to 0 or 1(the "
                           "difference should be larger than 1e-10), but got 1.5"),
    ("random_sample(id)", '"float factor" should be a const float expression: "float factor" passed: id'),
    ("random_sample(0.1) and id > 1",
     "random sample expression can only be the last expression in the logical and expression"),
    ("id > 1 or random_sample(0.1)", "random sample expression cannot be used in logical and expression"),
    ("not random_sample(0.1)", "random sample expression cannot be used in unary expression"),
])
def test_refusals(module_client, coll, expr, text):
    e = server_error(module_client.query, coll, filter=expr, output_fields=["id"], limit=10)
    assert e.code == 1100, e
    assert text in e.message and expr in e.message, e.message
