"""Retrieval features answer as Milvus 2.6 does, for Milvus's own python_client suites.

The suites (milvus_client/test_milvus_client_partition_key_isolation.py, _search_boost_ranker.py,
_analyzer.py, ...) send a request through pymilvus and check that Milvus's message is contained in
the error, or that the rows are what the data implies. Each test here sends its own request and
checks the piece of Milvus text a client matches (taken from Milvus's proxy source), or ids
computed from this file's own data.
"""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import expect_texts as expect
from e2e_util import random_vectors as vectors
from e2e_util import unique

DIM = 8


def flat_collection(c: MilvusClient, prefix: str, fields, dynamic: bool = False, dim: int = DIM) -> str:
    """A loaded collection: id INT64 primary, vector FLOAT_VECTOR(dim) with a FLAT L2 index, then
    `fields` as (name, type, add_field keyword arguments)."""
    name = unique(prefix)
    schema = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    for field, dtype, kwargs in fields:
        schema.add_field(field, dtype, **kwargs)
    index = c.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    return name


# --- partition-key isolation (Milvus proxy: validatePartitionKeyIsolation, exprutil) -------------


def tenant_schema(partition_key: bool):
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tenant", DataType.VARCHAR, max_length=16, is_partition_key=partition_key)
    schema.add_field("kind", DataType.VARCHAR, max_length=16)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    return schema


@pytest.fixture(scope="module")
def isolated(module_client: MilvusClient) -> str:
    """tenant is the partition key, isolation turned on before the index; 12 rows, tenant t{i%3}."""
    c = module_client
    name = unique("iso")
    c.create_collection(name, schema=tenant_schema(True), num_partitions=4, consistency_level="Strong")
    c.alter_collection_properties(name, {"partitionkey.isolation": "true"})
    vecs = vectors(12)
    c.insert(name, [{"id": i, "tenant": f"t{i % 3}", "kind": f"k{i % 2}", "vector": vecs[i]} for i in range(12)])
    index = c.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_index(name, index)
    c.load_collection(name)
    return name


def test_isolation_needs_a_partition_key(module_client):
    c = module_client
    name = unique("iso_nokey")
    c.create_collection(name, schema=tenant_schema(False))
    expect(lambda: c.alter_collection_properties(name, {"partitionkey.isolation": "true"}),
           "partition key isolation mode is enabled but no partition key field is set")
    # Off is always accepted; at creation the same rule holds.
    c.alter_collection_properties(name, {"partitionkey.isolation": "false"})
    expect(lambda: c.create_collection(unique("iso_nokey"), schema=tenant_schema(False),
                                       properties={"partitionkey.isolation": "true"}),
           "partition key isolation mode is enabled but no partition key field is set")


def test_isolation_cannot_change_under_a_vector_index(module_client):
    c = module_client
    name = unique("iso_idx")
    c.create_collection(name, schema=tenant_schema(True), num_partitions=2)
    index = c.prepare_index_params()
    index.add_index("vector", index_name="vidx", index_type="FLAT", metric_type="L2")
    c.create_index(name, index)
    expect(lambda: c.alter_collection_properties(name, {"partitionkey.isolation": "true"}),
           "can not alter partition key isolation mode if the collection already has a vector index",
           "index duplicates[indexName=vector]")
    c.drop_index(name, "vidx")
    c.alter_collection_properties(name, {"partitionkey.isolation": "true"})
    assert c.describe_collection(name)["properties"]["partitionkey.isolation"] == "true"


@pytest.mark.parametrize("expr, what", [
    ("tenant in ['t1', 't2']", "IN"),
    ("tenant not in ['t1']", "IN"),
    ("tenant == 't1' or kind == 'k1'", "OR"),
    ("tenant != 't1'", "NotEqual"),
    ("tenant > 't1'", "GreaterThan"),
    ("'t0' < tenant < 't2'", "BinaryRange"),
    ("not (tenant == 't1')", "NOT"),
    ("tenant like 't%'", "PrefixMatch"),
])
def test_isolated_search_refuses_filters_that_do_not_pin_the_key(module_client, isolated, expr, what):
    expect(lambda: module_client.search(isolated, vectors(1), limit=5, filter=expr),
           f"partition key isolation does not support {what}")


def test_isolated_search_needs_the_key_pinned(module_client, isolated):
    for expr in ("kind == 'k1'", ""):
        expect(lambda: module_client.search(isolated, vectors(1), limit=5, filter=expr),
               "partition key not found in expr or the expr is invalid when validating partition key isolation")
    res = module_client.search(isolated, vectors(1), limit=20, filter="tenant == 't1' and (kind == 'k0' or id > 9)",
                               output_fields=["tenant"])
    assert sorted(h["id"] for h in res[0]) == [i for i in range(12) if i % 3 == 1 and (i % 2 == 0 or i > 9)]
    # Query is not restricted by the isolation mode.
    assert len(module_client.query(isolated, filter="kind == 'k1'")) == 6


# --- run_analyzer: jieba's parameters (Milvus tantivy-binding jieba_tokenizer.rs) ----------------


@pytest.mark.parametrize("tokenizer, message", [
    ({"type": "jieba", "dict": "words"}, "jieba tokenizer dict must be array"),
    ({"type": "jieba", "dict": None}, "jieba tokenizer dict must be array"),
    ({"type": "jieba", "dict": ["ok", 7]}, "jieba tokenizer dict item must be string"),
    ({"type": "jieba", "dict": ["_default_", "_extend_default_"]}, "jieba tokenizer dict can only set one default dict"),
    ({"type": "jieba", "mode": 3}, "jieba tokenizer mode must be string"),
    ({"type": "jieba", "mode": "fast"}, 'jieba tokenizer mode must be "exact" or "search"'),
    ({"type": "jieba", "hmm": "yes"}, "jieba tokenizer mode must be boolean"),
])
def test_jieba_parameters_are_checked(module_client, tokenizer, message):
    expect(lambda: module_client.run_analyzer("中文分词 text", analyzer_params={"tokenizer": tokenizer}), message)


@pytest.mark.parametrize("params", [
    {"type": "jieba", "dict": ["向量库存"], "mode": "exact", "hmm": False},
    {"type": "jieba", "dict": ["_default_", "向量库存"], "mode": "search"},
])
def test_jieba_dictionary_words_stay_whole(module_client, params):
    text = "kite向量库存中文"
    res = module_client.run_analyzer(text, analyzer_params={"tokenizer": params}, with_detail=True)
    tokens = res.tokens
    assert "向量库存" in [t["token"] for t in tokens]
    for t in tokens:  # byte offsets into the text, as Milvus reports them
        assert text.encode()[t["start_offset"]:t["end_offset"]].decode() == t["token"]
    # Unknown keys are ignored and an empty dict is allowed, as in Milvus.
    for other in ({**params, "invalid_param": 1}, {"type": "jieba", "dict": []}):
        assert module_client.run_analyzer("中文分词", analyzer_params={"tokenizer": other}).tokens


# --- text_match_fuzzy (Milvus planner: TextMatchFuzzy; Tantivy fuzzy terms, transpositions) ------

FUZZY_TEXTS = ["allergy season", "allergic reaction", "apple juice", "football game", "music focus work"]


@pytest.fixture(scope="module")
def fuzzy(module_client: MilvusClient) -> str:
    """text (enable_match, standard analyzer), plain (analyzer, no match), max_edit_distance INT64."""
    c = module_client
    name = flat_collection(c, "fuzzy", [
        ("text", DataType.VARCHAR, {"max_length": 128, "enable_analyzer": True, "enable_match": True,
                                    "nullable": True}),
        ("plain", DataType.VARCHAR, {"max_length": 128, "enable_analyzer": True}),
        ("max_edit_distance", DataType.INT64, {})])
    vecs = vectors(len(FUZZY_TEXTS) + 1)
    rows = [{"id": i, "vector": vecs[i], "text": t, "plain": t, "max_edit_distance": i} for i, t in
            enumerate(FUZZY_TEXTS)]
    rows.append({"id": len(FUZZY_TEXTS), "vector": vecs[-1], "text": None, "plain": "", "max_edit_distance": 9})
    c.insert(name, rows)
    return name


@pytest.mark.parametrize("expr, ids", [
    ('text_match_fuzzy(text, "musc", max_edit_distance=1)', {4}),
    ('text_match_fuzzy(text, "muisc", max_edit_distance=1)', {4}),       # a swap is one edit
    ('text_match_fuzzy(text, "musc", max_edit_distance=0)', set()),
    ('text_match_fuzzy(text, "music", max_edit_distance=0)', {4}),
    ('text_match_fuzzy(text, "fotbal", max_edit_distance=1)', set()),
    ('TEXT_MATCH_FUZZY(text, "fotbal", MAX_EDIT_DISTANCE=2)', {3}),
    ('text_match_fuzzy(text, "alergy aple", max_edit_distance=1)', {0, 2}),
    ('text_match_fuzzy(text, "...", max_edit_distance=1)', set()),
    ('not text_match_fuzzy(text, "alergy", max_edit_distance=1)', {1, 2, 3, 4}),
])
def test_text_match_fuzzy_rows(module_client, fuzzy, expr, ids):
    assert {r["id"] for r in module_client.query(fuzzy, filter=expr)} == ids


def test_text_match_fuzzy_template_and_search(module_client, fuzzy):
    expr = "text_match_fuzzy(text, {q}, max_edit_distance=1)"
    assert {r["id"] for r in module_client.query(fuzzy, filter=expr, filter_params={"q": "alergy"})} == {0}
    hits = module_client.search(fuzzy, vectors(1, seed=9), limit=10, filter=expr, filter_params={"q": "aple"})
    assert [h["id"] for h in hits[0]] == [2]
    # The exact match still needs the exact term, and the option's name stays usable as a field name.
    assert module_client.query(fuzzy, filter='text_match(text, "musc")') == []
    assert {r["id"] for r in module_client.query(fuzzy, filter="max_edit_distance > 3")} == {4, 5}


@pytest.mark.parametrize("expr, message", [
    ('text_match_fuzzy(text, "alergy", fuzziness=1)', "expected max_edit_distance"),
    ('text_match_fuzzy(text, "alergy", max_edit_distance=-1)', "max_edit_distance should be in [0, 2]"),
    ('text_match_fuzzy(text, "alergy", max_edit_distance=3)', "max_edit_distance should be in [0, 2]"),
    ('text_match_fuzzy(text, "alergy", max_edit_distance=1.5)', "expecting IntegerConstant"),
    ('text_match_fuzzy(text, "alergy", max_edit_distance=9223372036854775808)', "invalid max_edit_distance value"),
    ('text_match_fuzzy(text, "alergy")', "expecting ','"),
    ('text_match_fuzzy(text, 123, max_edit_distance=1)',
     "text_match_fuzzy query should be a string literal or template variable"),
    ('text_match_fuzzy(max_edit_distance, "alergy", max_edit_distance=1)', "non-string"),
    ('text_match_fuzzy(plain, "alergy", max_edit_distance=1)', "does not enable match"),
])
def test_text_match_fuzzy_errors(module_client, fuzzy, expr, message):
    expect(lambda: module_client.query(fuzzy, filter=expr), message)


# --- query ORDER BY (Milvus orderby.ParseOrderByFields, queryTask.PreExecute) ---------------------
# pymilvus 2.6.17's query() does not send order_by_fields; the request is built as it builds a query
# and the query_params key Milvus reads is added before it goes through the stub.


def raw_query(client: MilvusClient, name: str, expr: str, fields, order_by: str, **params):
    from pymilvus.client.prepare import Prepare
    from pymilvus.client.utils import check_status
    from pymilvus.grpc_gen import common_pb2

    req = Prepare.query_request(name, expr, fields, [], **params)
    req.query_params.append(common_pb2.KeyValuePair(key="order_by_fields", value=order_by))
    resp = client._get_connection()._stub.Query(req, timeout=10)
    check_status(resp.status)
    cols = {}
    for fd in resp.fields_data:
        data = fd.scalars.long_data.data or fd.scalars.int_data.data
        valid = list(fd.valid_data) or [True] * len(data)
        cols[fd.field_name] = [v if ok else None for v, ok in zip(data, valid)]
    return cols


@pytest.fixture(scope="module")
def scored(module_client: MilvusClient) -> str:
    """id 0..19, score INT32 nullable (null when id % 4 == 0, else id % 3), a dynamic field."""
    c = module_client
    name = flat_collection(c, "qorder", [("score", DataType.INT32, {"nullable": True}),
                                         ("meta", DataType.JSON, {})], dynamic=True)
    vecs = vectors(20)
    c.insert(name, [{"id": i, "score": None if i % 4 == 0 else i % 3, "meta": {"k": i}, "dyn": i,
                     "vector": vecs[i]} for i in range(20)])
    return name


def expected_order(desc: bool, nulls_first: bool):
    scores = {i: None if i % 4 == 0 else i % 3 for i in range(20)}
    nulls = [i for i in range(20) if scores[i] is None]
    rest = sorted((i for i in range(20) if scores[i] is not None), key=lambda i: (-scores[i] if desc else scores[i], i))
    return nulls + rest if nulls_first else rest + nulls


def test_query_order_by_nulls_follow_postgres(module_client, scored):
    for spec, desc, nulls_first in (("score:asc", False, False), ("score", False, False),
                                    ("score:DESC", True, True),  # PostgreSQL: DESC puts nulls first
                                    ("score:asc:nulls_first", False, True), ("score:desc:nulls_last", True, False)):
        cols = raw_query(module_client, scored, "id >= 0", ["score"], spec, limit=20)
        assert cols["id"] == expected_order(desc, nulls_first), spec


@pytest.mark.parametrize("spec, message", [
    ("score:up", "invalid order direction 'up' for field 'score', must be 'asc' or 'desc'"),
    ("score:asc:nulls_middle", "invalid null ordering 'nulls_middle', must be 'nulls_first' or 'nulls_last'"),
    ("vector:asc", "order_by field 'vector' has type FloatVector which is not sortable"),
    ("meta:asc", "order_by field 'meta' has type JSON which is not sortable"),
    ('meta["k"]:asc', "does not exist in collection schema"),
    ("dyn:asc", "order_by field 'dyn' does not exist in collection schema"),
])
def test_query_order_by_errors(module_client, scored, spec, message):
    expect(lambda: raw_query(module_client, scored, "id >= 0", ["score"], spec, limit=5), message)


def test_query_order_by_needs_a_limit_and_no_aggregate(module_client, scored):
    expect(lambda: raw_query(module_client, scored, "", ["score"], "score:asc"), "ORDER BY requires explicit limit")
    expect(lambda: raw_query(module_client, scored, "id >= 0", ["score"], ":asc", limit=5),
           "order_by field '' does not exist in collection schema")
    expect(lambda: raw_query(module_client, scored, "id < 5", ["count(*)"], "score:asc", limit=5),
           "ORDER BY can only reference GROUP BY columns")


# --- boost ranker on a distance metric (Milvus segcore scorers: the internal score of L2 is -distance)


def test_boost_sum_moves_an_l2_hit_closer(module_client):
    c = module_client
    name = flat_collection(c, "boost_l2", [("tag", DataType.INT64, {})], dim=2)
    c.insert(name, [{"id": i, "vector": v, "tag": i} for i, v in enumerate([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])])
    from pymilvus import Function, FunctionScore, FunctionType

    def boosted(weight, mode):
        boost = Function(name="b", function_type=FunctionType.RERANK, input_field_names=[], output_field_names=[],
                         params={"reranker": "boost", "weight": weight, "filter": "tag == 2"})
        res = c.search(name, [[1.0, 0.0]], limit=4,
                       ranker=FunctionScore(functions=[boost], params={"boost_mode": mode}))
        return [(h["id"], round(h["distance"], 4)) for h in res[0]]

    # Squared L2 from [1, 0]: 0, 0.4, 0.8, 2. Row 2: 0.8 - 0.7 = 0.1 (sum), 0.8 * 0.25 = 0.2 (multiply).
    assert boosted("0.7", "sum") == [(0, 0.0), (2, 0.1), (1, 0.4), (3, 2.0)]
    assert boosted("0.25", "multiply") == [(0, 0.0), (2, 0.2), (1, 0.4), (3, 2.0)]
