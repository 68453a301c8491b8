"""Milvus 2.6's newer data types and collection properties answer as Milvus's suites expect.

Milvus's python_client suites for struct arrays, TIMESTAMPTZ, GEOMETRY and collection TTL
(milvus_client/test_milvus_client_struct_array.py, _timestamptz.py, _geometry.py, _ttl.py)
match a piece of Milvus's own error text, or check that data a TTL has expired is gone from
every read. Each test here sends its own small requests through pymilvus and checks the
same behaviour; the texts come from Milvus's proxy (task.go validateCollectionTTL,
search_util.go, indexparamcheck) and its segment engine (the function registry's lookup).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from pymilvus import AnnSearchRequest, DataType, MilvusClient, RRFRanker
from pymilvus.client.embedding_list import EmbeddingList

from e2e_util import server_error_containing as expect, unique

DIM = 8
SUB_DIM = 4


def vectors(n: int, dim: int = DIM, seed: int = 7):
    return np.random.default_rng(seed).random((n, dim), dtype=np.float32).tolist()


def wait_for(fn, want, deadline_s: float = 20.0):
    """Polls fn() until it returns `want` (TTL expiry is a matter of the clock); returns the last value."""
    end = time.monotonic() + deadline_s
    got = fn()
    while got != want and time.monotonic() < end:
        time.sleep(0.1)
        got = fn()
    return got


# --- collection TTL (collection.ttl.seconds) ------------------------------------------------


def ttl_schema():
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("vec2", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("fresh", DataType.BOOL)
    return schema


def ttl_index():
    index = MilvusClient.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="COSINE")
    index.add_index("vec2", index_type="FLAT", metric_type="COSINE")
    return index


def test_ttl_out_of_range_or_not_an_integer_is_refused(module_client):
    c = module_client
    name = unique("suite_ttl_bad")
    expect(lambda: c.create_collection(name, schema=ttl_schema(),
                                       properties={"collection.ttl.seconds": 9223372036854775800}),
           "collection TTL is out of range, expect [-1, 3155760000], got 9223372036854775800: invalid parameter")
    expect(lambda: c.create_collection(name, schema=ttl_schema(), properties={"collection.ttl.seconds": "soon"}),
           "collection TTL is not a valid positive integer")
    assert not c.has_collection(name)
    c.create_collection(name, schema=ttl_schema(), properties={"collection.ttl.seconds": -1})
    assert c.describe_collection(name)["properties"]["collection.ttl.seconds"] == "-1"
    expect(lambda: c.alter_collection_properties(name, properties={"collection.ttl.seconds": -5}),
           "collection TTL is out of range, expect [-1, 3155760000], got -5: invalid parameter")


def test_rows_older_than_the_ttl_leave_every_read(module_client):
    c = module_client
    name = unique("suite_ttl")
    c.create_collection(name, schema=ttl_schema(), index_params=ttl_index(), consistency_level="Strong",
                        properties={"collection.ttl.seconds": 3})
    old = vectors(30, seed=1)
    c.insert(name, [{"id": i, "vec": old[i], "vec2": old[i], "fresh": False} for i in range(20)])
    c.flush(name)  # sealed rows expire as growing ones do
    c.insert(name, [{"id": i, "vec": old[i], "vec2": old[i], "fresh": False} for i in range(20, 30)])
    count = lambda expr="": c.query(name, filter=expr, output_fields=["count(*)"])[0]["count(*)"]
    assert count() == 30
    assert wait_for(count, 0) == 0, "rows older than the TTL are still counted"
    q = vectors(1, seed=9)
    assert c.search(name, q, anns_field="vec", limit=10) == [[]]
    reqs = [AnnSearchRequest(q, "vec", {}, 10), AnnSearchRequest(q, "vec2", {}, 10)]
    assert c.hybrid_search(name, reqs, RRFRanker(), limit=10) == [[]]
    assert c.query(name, filter="id in [1, 25]", output_fields=["id"]) == []
    # rows written now are visible; an upsert of an expired key writes a new version
    c.insert(name, [{"id": 100 + i, "vec": old[i], "vec2": old[i], "fresh": True} for i in range(5)])
    c.upsert(name, [{"id": 3, "vec": old[3], "vec2": old[3], "fresh": True}])
    assert sorted(r["id"] for r in c.query(name, filter="fresh == true", output_fields=["id"])) == [
        3, 100, 101, 102, 103, 104]
    assert len(c.search(name, q, anns_field="vec", limit=10)[0]) == 6
    # expiry is a read-time rule: a longer TTL makes the old rows visible again (until compaction)
    c.alter_collection_properties(name, properties={"collection.ttl.seconds": 2000})
    assert count("fresh == false") == 29
    assert count() == 35


# --- GEOMETRY and TIMESTAMPTZ -------------------------------------------------------------------


@pytest.fixture(scope="module")
def geo(module_client: MilvusClient) -> str:
    """id, vec, geo GEOMETRY, ts TIMESTAMPTZ (nullable), n INT64; loaded, one row."""
    c = module_client
    name = unique("suite_geo")
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("geo", DataType.GEOMETRY)
    schema.add_field("ts", DataType.TIMESTAMPTZ, nullable=True)
    schema.add_field("n", DataType.INT64)
    index = c.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    c.insert(name, [{"id": 1, "vec": vectors(1)[0], "geo": "POINT (50 50)", "ts": None, "n": 1}])
    return name


def test_an_unknown_filter_function_fails_where_milvus_builds_the_plan(module_client, geo):
    """Milvus's planner passes any function name on; its segment engine finds no such
    function for the argument types and the query fails there (code 65535)."""
    c = module_client
    area = "POLYGON ((40 40, 60 40, 60 60, 40 60, 40 40))"
    exc = expect(lambda: c.query(geo, filter=f"ST_INTERSECT(geo, '{area}')", output_fields=["id"]),
                 "Create retrieve plan by expr failed: function st_intersect(geometry, varChar) not found.")
    assert exc.code == 65535
    expect(lambda: c.query(geo, filter="my_func(n, 3, 1.5, true)"),
           "function my_func(int64_t, int64_t, double, bool) not found.")
    expect(lambda: c.search(geo, vectors(1), limit=3, filter=f"INVALID_ST_CONTAINS(geo, '{area}')"),
           "Create Plan by expr failed: function invalid_st_contains(geometry, varChar) not found.")
    # a known spatial function with the wrong arguments is still the planner's error
    expect(lambda: c.query(geo, filter="ST_CONTAINS(geo)"), "failed to create query plan: cannot parse expression")
    # an unknown field inside is reported as such, before the call
    expect(lambda: c.query(geo, filter="my_func(ghost)"), "field ghost not exist")


def test_index_types_refused_on_geometry_and_timestamptz(module_client, geo):
    c = module_client
    suffix = ": invalid parameter[expected=valid index params][actual=invalid index params]"
    for field, type_name in (("geo", "Geometry"), ("ts", "Timestamptz")):
        index = c.prepare_index_params()
        index.add_index(field, index_type="INVERTED")
        expect(lambda: c.create_index(geo, index), f"INVERTED are not supported on {type_name} field{suffix}")
    index = c.prepare_index_params()
    index.add_index("n", index_type="RTREE")
    expect(lambda: c.create_index(geo, index), f"RTREE index can only be built on geometry field, got Int64{suffix}")
    index = c.prepare_index_params()
    index.add_index("geo", index_type="BITMAP")
    expect(lambda: c.create_index(geo, index), "bitmap index are only supported on bool, int, string and array field")
    assert c.list_indexes(geo) == ["vec"]


def test_an_empty_point_reads_back_as_milvus_writes_it(module_client, geo):
    c = module_client
    shapes = ["POINT EMPTY", "LINESTRING EMPTY", "GEOMETRYCOLLECTION EMPTY", "POINT (1 2)"]
    c.insert(geo, [{"id": 10 + i, "vec": v, "geo": g, "n": i} for i, (v, g) in enumerate(zip(vectors(4), shapes))])
    got = {r["id"]: r["geo"] for r in c.query(geo, filter="id >= 10", output_fields=["geo"])}
    assert got == {10: "POINT (NaN NaN)", 11: "LINESTRING EMPTY", 12: "GEOMETRYCOLLECTION EMPTY", 13: "POINT (1 2)"}


def test_a_timestamptz_default_must_be_text(module_client):
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("stamp", DataType.TIMESTAMPTZ, nullable=True, default_value=10)
    expect(lambda: module_client.create_collection(unique("suite_tz_default"), schema=schema),
           "type (Timestamptz) of field (stamp) is not equal to the type(DataType_Int64) of default_value: "
           "invalid parameter")


# --- Array of Structs ---------------------------------------------------------------------------


def struct_of(c: MilvusClient, vec_type=DataType.FLOAT_VECTOR, **vec_kwargs):
    st = c.create_struct_field_schema()
    st.add_field("emb", vec_type, **(vec_kwargs or {"dim": SUB_DIM}))
    st.add_field("score", DataType.INT64)
    st.add_field("label", DataType.VARCHAR, max_length=32)
    return st


@pytest.fixture(scope="module")
def structs(module_client: MilvusClient) -> str:
    """Two struct arrays with the same sub-field names, and top-level fields named like them."""
    c = module_client
    name = unique("suite_structs")
    schema = MilvusClient.create_schema(enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("score", DataType.INT64)
    schema.add_field("label", DataType.VARCHAR, max_length=32)
    for s in ("a", "b"):
        schema.add_field(s, DataType.ARRAY, element_type=DataType.STRUCT, struct_schema=struct_of(c), max_capacity=4)
    index = c.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    index.add_index("a[emb]", index_type="HNSW", metric_type="MAX_SIM_COSINE", params={"M": 8, "efConstruction": 32})
    index.add_index("b[emb]", index_name="b_emb", index_type="HNSW", metric_type="MAX_SIM_IP",
                    params={"M": 8, "efConstruction": 32})
    c.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    rng = np.random.default_rng(11)
    rows = []
    for i in range(12):
        elems = lambda base: [{"emb": rng.random(SUB_DIM).tolist(), "score": base + j, "label": f"{base}-{j}"}
                              for j in range(1 + i % 3)]
        rows.append({"id": i, "vec": rng.random(DIM).tolist(), "score": i, "label": f"top-{i}",
                     "a": elems(100 * i), "b": elems(-100 * i - 1)})
    c.insert(name, rows)
    return name


def query_list(values):
    e = EmbeddingList()
    for v in values:
        e.add(v)
    return e


def test_sub_fields_may_share_names_with_top_level_fields_and_other_structs(module_client, structs):
    c = module_client
    got = c.query(structs, filter="score < 3", output_fields=["id", "label", "a[score]", "b[label]"])
    assert sorted(r["id"] for r in got) == [0, 1, 2]  # the top-level score filters
    by_id = {r["id"]: r for r in got}
    assert by_id[2]["label"] == "top-2"
    assert by_id[2]["a"] == [{"score": 200}, {"score": 201}, {"score": 202}]
    assert by_id[2]["b"] == [{"label": "-201-0"}, {"label": "-201-1"}, {"label": "-201-2"}]
    hits = c.search(structs, [query_list(vectors(2, SUB_DIM))], anns_field="b[emb]", limit=3,
                    output_fields=["a[label]"])[0]
    assert len(hits) == 3 and all("a" in h["entity"] and "b" not in h["entity"] for h in hits)


def test_an_embedding_list_search_is_a_plain_top_k_search(module_client, structs):
    c = module_client
    q = [query_list(vectors(2, SUB_DIM))]
    expect(lambda: c.search(structs, ids=[1, 2], anns_field="a[emb]", limit=3),
           "array of vector is not supported for search by IDs")
    tail = "fields, fieldName:->a[emb]: invalid parameter[expected=][actual=]"
    expect(lambda: c.search(structs, q, anns_field="a[emb]", limit=3,
                            search_params={"params": {"radius": 0.1, "range_filter": 0.9}}),
           f"range search is not supported for vector array (embedding list) {tail}")
    expect(lambda: c.search(structs, q, anns_field="a[emb]", limit=3, group_by_field="score"),
           f"group by search is not supported for vector array (embedding list) {tail}")
    assert len(c.search(structs, q, anns_field="a[emb]", limit=3)[0]) == 3


def test_a_struct_takes_float_vectors_only(module_client):
    c = module_client
    for vec_type, kwargs in ((DataType.FLOAT16_VECTOR, {"dim": SUB_DIM}), (DataType.BINARY_VECTOR, {"dim": 16}),
                             (DataType.SPARSE_FLOAT_VECTOR, {})):
        schema = MilvusClient.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_field("s", DataType.ARRAY, element_type=DataType.STRUCT,
                         struct_schema=struct_of(c, vec_type, **kwargs), max_capacity=4)
        expect(lambda: c.create_collection(unique("suite_struct_vec"), schema=schema),
               "now only float vector is supported")


def test_mmap_is_set_on_an_array_of_structs_field(module_client, structs):
    c = module_client
    c.release_collection(structs)
    c.alter_collection_field(structs, field_name="a", field_params={"mmap_enabled": True})
    c.alter_collection_field(structs, field_name="a[emb]", field_params={"mmap_enabled": True})
    c.alter_index_properties(structs, index_name="b_emb", properties={"mmap.enabled": True})
    expect(lambda: c.alter_collection_field(structs, field_name="nope", field_params={"mmap_enabled": True}),
           "field not found[field=nope]")
    c.load_collection(structs)
    assert len(c.search(structs, [query_list(vectors(1, SUB_DIM))], anns_field="a[emb]", limit=2)[0]) == 2
