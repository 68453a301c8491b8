"""Search and query answer bad requests in Milvus 2.6's words.

Milvus's own python_client suite (milvus_client/test_milvus_client_search*.py, _query.py, ...)
checks that its expected message is contained in the error a server returns, so each test here
sends one malformed request through pymilvus and checks the exact piece of Milvus text that a
client matches. The texts come from Milvus's proxy and planner (task_search.go, task_query.go,
search_util.go, planparserv2) and its segment engine; the requests are this file's own.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import random_vectors as vectors
from e2e_util import server_error_containing as expect
from e2e_util import unique

DIM = 8


@pytest.fixture(scope="module")
def plain(module_client: MilvusClient) -> str:
    """id INT64, vector FLOAT_VECTOR(8), f INT64, tags ARRAY<INT64> nullable; no dynamic field."""
    c = module_client
    name = unique("suite_plain")
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("f", DataType.INT64)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4, nullable=True)
    index = c.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="COSINE")
    c.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    vecs = vectors(50)
    c.insert(name, [{"id": i, "vector": vecs[i], "f": i, "tags": [i, i + 1] if i % 2 else None} for i in range(50)])
    return name


@pytest.fixture(scope="module")
def dynamic(module_client: MilvusClient) -> str:
    """A quickly created collection (id, vector, dynamic field on), as the suite's default one."""
    c = module_client
    name = unique("suite_dyn")
    c.create_collection(name, DIM, consistency_level="Strong")
    vecs = vectors(30, seed=5)
    c.insert(name, [{"id": i, "vector": vecs[i], "color": f"c{i % 3}"} for i in range(30)])
    return name


# --- filters: Milvus's planner texts, wrapped as its proxy wraps them ---------------------------


def test_search_filter_on_unknown_field_is_a_query_plan_error(module_client, plain):
    expect(lambda: module_client.search(plain, vectors(1), limit=5, filter="ghost is null"),
           "failed to create query plan: cannot parse expression: ghost is null, "
           "error: field ghost not exist: invalid parameter")


def test_query_filter_on_unknown_field_is_a_query_plan_error(module_client, plain):
    expect(lambda: module_client.query(plain, filter="ghost > 1"),
           "failed to create query plan: cannot parse expression: ghost > 1, "
           "error: field ghost not exist: invalid parameter")


def test_filter_that_is_a_value_not_a_predicate(module_client, plain, dynamic):
    expect(lambda: module_client.query(plain, filter="f"),
           "predicate is not a boolean expression: f, data type: Int64")
    expect(lambda: module_client.search(plain, vectors(1), limit=3, filter="7"),
           "failed to create query plan: predicate is not a boolean expression: 7, data type: Int64: "
           "invalid parameter")


def test_whole_filter_on_a_dynamic_key_is_not_a_predicate(module_client, dynamic):
    expect(lambda: module_client.query(dynamic, filter="shade"),
           "predicate is not a boolean expression: shade, data type: JSON")
    # Arithmetic between a number and a JSON value is typed as the number.
    expect(lambda: module_client.search(dynamic, vectors(1), limit=3, filter="12-shade"),
           "failed to create query plan: predicate is not a boolean expression: 12-shade, data type: Int64: "
           "invalid parameter")


def test_comparison_of_mismatched_types_names_both(module_client, plain):
    expect(lambda: module_client.search(plain, vectors(1), limit=3, filter='f >= "zero"'),
           'comparisons between f (Int64) and "zero" (VarChar) are not supported')


def test_two_column_comparison_with_json(module_client, dynamic):
    expect(lambda: module_client.query(dynamic, filter="color < shade"),
           "two column comparison with JSON type is not supported")


def test_float_in_an_integer_list(module_client, plain):
    expect(lambda: module_client.query(plain, filter="f in [1.0, 2.0]"),
           "value 'float_val:1' in list cannot be casted to Int64")
    expect(lambda: module_client.query(plain, filter="f in [1, 2.5]"),
           "value 'float_val:2.5' in list cannot be casted to Int64")
    rows = module_client.query(plain, filter="f in [1, 2]", output_fields=["f"])
    assert sorted(r["f"] for r in rows) == [1, 2]


def test_null_check_on_a_vector_or_an_array_element_names_the_type(module_client, plain):
    for op in ("is null", "IS NOT NULL"):
        expect(lambda: module_client.search(plain, vectors(1), limit=3, filter=f"vector {op}"),
               "unsupported data type: VECTOR_FLOAT")
        expect(lambda: module_client.search(plain, vectors(1), limit=3, filter=f"tags[0] {op}"),
               "unsupported data type: ARRAY")


def test_null_check_on_a_whole_array_field_still_filters(module_client, plain):
    nulls = module_client.query(plain, filter="tags is null", output_fields=["id"])
    assert sorted(r["id"] for r in nulls) == [i for i in range(50) if i % 2 == 0]


def test_tokens_left_after_a_whole_expression(module_client, dynamic):
    expect(lambda: module_client.query(dynamic, filter="color inn [1, 2]"),
           "invalid expression: color inn [1, 2]")


def test_in_operator_right_side(module_client, plain, dynamic):
    expect(lambda: module_client.query(plain, filter="f in 1"),
           "cannot parse expression: f in 1, error: the right-hand side of 'in' must be a list")
    expect(lambda: module_client.query(dynamic, filter="color in (mn)"),
           "cannot parse expression: color in (mn), error: value '(mn)' in list cannot be a non-const expression")
    expect(lambda: module_client.query(plain, filter="f in not [1, 2]"),
           "not can only apply on boolean")


# --- search parameters ------------------------------------------------------------------------


def test_unknown_anns_field_is_a_query_plan_error(module_client, plain):
    expect(lambda: module_client.search(plain, vectors(1), limit=3, anns_field="no_such_vec"),
           "failed to create query plan: failed to get field schema by name: fieldName(no_such_vec) not found: "
           "invalid parameter")


def test_topk_over_the_limit_says_what_it_got(module_client, plain):
    expect(lambda: module_client.search(plain, vectors(1), limit=16385),
           "topk [16385] is invalid, it should be in range [1, 16384], but got 16385")


def test_nq_over_the_limit_is_checked_before_the_topk(module_client, plain):
    many = np.zeros((16385, DIM), dtype=np.float32)
    many[:, 0] = 1.0
    expect(lambda: module_client.search(plain, many, limit=16385),
           "nq [16385] is invalid, nq (number of search vector per search request) should be in range "
           "[1, 16384], but got 16385")


def test_unknown_partition_in_search_and_query(module_client, plain):
    expect(lambda: module_client.search(plain, vectors(1), limit=3, partition_names=["no_part"]),
           "partition name no_part not found")
    expect(lambda: module_client.query(plain, filter="id >= 0", partition_names=["no_part"]),
           "partition name no_part not found")


def test_search_hints(module_client, plain):
    ok = module_client.search(plain, vectors(1), limit=3, filter="f >= 10",
                              search_params={"hints": "iterative_filter"})
    assert len(ok[0]) == 3 and all(h["id"] >= 10 for h in ok[0])
    expect(lambda: module_client.search(plain, vectors(1), limit=3, filter="f >= 10",
                                        search_params={"hints": "fastest_please"}),
           "Create Plan by expr failed:  => hints: fastest_please not supported")


def test_output_field_that_is_not_an_identifier(module_client, dynamic):
    for bad in ("%", "-", "*%", "**"):
        expect(lambda: module_client.search(dynamic, vectors(1), limit=3, output_fields=[bad]),
               f"parse output field name failed: {bad}")
        expect(lambda: module_client.query(dynamic, filter="id in [0, 1]", output_fields=[bad]),
               f"parse output field name failed: {bad}")
    # A well-formed key the rows do not have is still fine.
    rows = module_client.query(dynamic, filter="id in [0, 1]", output_fields=["not_there"])
    assert sorted(r["id"] for r in rows) == [0, 1]


# --- collections searched by the suite --------------------------------------------------------


def test_non_positive_shard_number_takes_the_default(module_client):
    name = unique("suite_shards")
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    module_client.create_collection(name, schema=schema, num_shards=-256)
    assert module_client.describe_collection(name)["num_shards"] == 1
    module_client.drop_collection(name)


# --- hybrid search ------------------------------------------------------------------------------


def test_hybrid_search_limit_is_a_result_window(module_client, plain):
    from pymilvus import AnnSearchRequest, WeightedRanker
    req = AnnSearchRequest(vectors(1), "vector", {}, 5)
    expect(lambda: module_client.hybrid_search(plain, [req, req], WeightedRanker(0.5, 0.5), limit=16385),
           "invalid max query result window, (offset+limit) should be in range [1, 16384], but got 16385")
    bad_field = AnnSearchRequest(vectors(1), "no_such_vec", {}, 5)
    expect(lambda: module_client.hybrid_search(plain, [bad_field, bad_field], WeightedRanker(0.5, 0.5), limit=3),
           "failed to create query plan: failed to get field schema by name: fieldName(no_such_vec) not found: "
           "invalid parameter")
    expect(lambda: module_client.hybrid_search(plain, [req, req], WeightedRanker(0.5, 0.5), limit=3,
                                               partition_names=["no_part"]),
           "partition name no_part not found")


# --- query limit and offset ---------------------------------------------------------------------


def test_query_result_window(module_client, plain):
    expect(lambda: module_client.query(plain, filter=""),
           "empty expression should be used with limit: invalid parameter")
    expect(lambda: module_client.query(plain, filter="id >= 0", limit=-1, offset=10),
           "invalid max query result window, limit [-1] is invalid, should be greater than 0")
    expect(lambda: module_client.query(plain, filter="", limit=2, offset=-1),
           "invalid max query result window, offset [-1] is invalid, should be gte than 0")
    expect(lambda: module_client.query(plain, filter="id >= 0", limit=67890, offset=10),
           "invalid max query result window, (offset+limit) should be in range [1, 16384], but got 67900")
    expect(lambda: module_client.query(plain, filter="id >= 0", limit=" ", offset=10), "limit [] is invalid")
    expect(lambda: module_client.query(plain, filter="id >= 0", limit="12 s", offset=10), "limit [12 s] is invalid")
    expect(lambda: module_client.query(plain, filter="id >= 0", limit=10, offset="3x"), "offset [3x] is invalid")


def test_ignore_growing_must_be_a_boolean(module_client, plain):
    expect(lambda: module_client.query(plain, filter="id >= 0", ignore_growing="str"),
           "parse ignore growing field failed")
    expect(lambda: module_client.search(plain, vectors(1), limit=3, ignore_growing=2.3),
           "parse search growing failed")
    assert module_client.query(plain, filter="id >= 0", ignore_growing=False, limit=3)


# --- grouping ---------------------------------------------------------------------------------


def test_group_by_limits(module_client, plain):
    q = vectors(1)
    expect(lambda: module_client.search(plain, q, limit=3, group_by_field="f", group_size=11),
           "input group size:11 exceeds configured max group size:10")
    expect(lambda: module_client.search(plain, q, limit=3, group_by_field="f", group_size=0),
           "input group size:0 is negative")
    expect(lambda: module_client.search(plain, q, limit=3, group_by_field="f",
                                        search_params={"params": {"radius": 0.1, "range_filter": 0.9}}),
           "Not allowed to do range-search when doing search-group-by")
    expect(lambda: module_client.search(plain, q, limit=3, group_by_field="7f"), "cannot parse identifier")
    grouped = module_client.search(plain, q, limit=3, group_by_field="f", group_size=10)
    assert len(grouped[0]) == 3


def test_range_filter_without_radius(module_client, plain):
    expect(lambda: module_client.search(plain, vectors(1), limit=3,
                                        search_params={"params": {"range_filter": 0.5}}),
           "range_filter requires radius to be set")


# --- iterators ----------------------------------------------------------------------------------


def test_iterator_page_after_the_alias_moved(module_client):
    c = module_client
    first, second, alias = unique("suite_it_a"), unique("suite_it_b"), unique("suite_it_alias")
    for name in (first, second):
        c.create_collection(name, DIM, consistency_level="Strong")
        vecs = vectors(60, seed=11)
        c.insert(name, [{"id": i, "vector": vecs[i]} for i in range(60)])
    c.create_alias(first, alias)
    it = c.search_iterator(alias, vectors(1), batch_size=10)
    assert len(it.next()) == 10
    c.alter_alias(second, alias)
    expect(it.next, "alias or database may have been changed")
    it.close()
    c.drop_alias(alias)
    for name in (first, second):
        c.drop_collection(name)


def test_iterator_refuses_group_by(module_client, plain):
    expect(lambda: module_client.search_iterator(plain, vectors(1), batch_size=5, limit=20, group_by_field="f"),
           "Not allowed to do groupBy when doing iteration")


# --- index types the suite's shared collections build ---------------------------------------------


def test_diskann_rabitq_and_quantized_graph_indexes_are_searchable(module_client):
    c = module_client
    for index_type, params in (("DISKANN", {}), ("HNSW_SQ", {"M": 16, "efConstruction": 100, "sq_type": "SQ8"}),
                               ("IVF_RABITQ", {"nlist": 8})):
        name = unique("suite_graph")
        schema = MilvusClient.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
        c.create_collection(name, schema=schema)
        vecs = vectors(400, seed=21)
        c.insert(name, [{"id": i, "v": vecs[i]} for i in range(400)])
        c.flush(name)
        index = c.prepare_index_params()
        index.add_index("v", index_type=index_type, metric_type="L2", params=params)
        c.create_index(name, index)
        c.load_collection(name)
        assert c.describe_index(name, "v")["index_type"] == index_type
        # Every row is its own nearest neighbour, before and after a reload.
        for _ in range(2):
            hits = c.search(name, [vecs[7], vecs[300]], anns_field="v", limit=5,
                            search_params={"params": {"search_list": 30}} if index_type == "DISKANN" else {})
            assert [h[0]["id"] for h in hits] == [7, 300]
            c.release_collection(name)
            c.load_collection(name)
        c.drop_collection(name)


def test_int8_vectors_build_hnsw_only(module_client):
    name = unique("suite_int8")
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.INT8_VECTOR, dim=DIM)
    module_client.create_collection(name, schema=schema)
    index = module_client.prepare_index_params()
    index.add_index("v", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 8})
    expect(lambda: module_client.create_index(name, index), "data type Int8Vector can't build with this index IVF_FLAT")
    module_client.drop_collection(name)


def test_query_iterator_page_after_the_alias_moved(module_client):
    c = module_client
    first, second, alias = unique("suite_qit_a"), unique("suite_qit_b"), unique("suite_qit_alias")
    for name in (first, second):
        c.create_collection(name, DIM, consistency_level="Strong")
        vecs = vectors(60, seed=12)
        c.insert(name, [{"id": i, "vector": vecs[i]} for i in range(60)])
    c.create_alias(first, alias)
    it = c.query_iterator(alias, batch_size=10, filter="id >= 0")
    assert len(it.next()) == 10
    c.alter_alias(second, alias)
    expect(it.next, "Input collection id is not consistent to collectionID in the context")
    it.close()
    c.drop_alias(alias)
    for name in (first, second):
        c.drop_collection(name)


def test_quick_collection_with_an_unknown_metric(module_client):
    # create_collection(dimension=..., metric_type=...) builds an AUTOINDEX.
    expect(lambda: module_client.create_collection(unique("suite_metric"), DIM, metric_type="invalid"),
           "float vector index does not support metric type: invalid: invalid parameter"
           "[expected=valid index params][actual=invalid index params]")
