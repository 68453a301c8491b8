"""REST v2 routes answer malformed collection and partition names as the gRPC calls do:
Milvus's proxy tasks validate a name before any lookup (task.go validateCollectionName /
validatePartitionTag: 1100 "Invalid collection name: ...", "Invalid partition name: ..."),
and Milvus's REST entity handlers describe the collection first, so they answer the same.
Also dropping a loaded partition over REST: Milvus's dropPartitionTask refuses it (65535).
"""

from __future__ import annotations

import pytest
import requests

from e2e_util import server_error, unique

BAD_COLLECTION = "12-s"
BAD_PARTITION = "(mn)"
COLLECTION_MSG = (f"Invalid collection name: {BAD_COLLECTION}. the first character of a collection name must be "
                  f"an underscore or letter: invalid parameter")
PARTITION_MSG = (f"Invalid partition name: {BAD_PARTITION}. The first character of a partition name must be an "
                 f"underscore or letter.: invalid parameter")


def post(server, path: str, body: dict) -> dict:
    r = requests.post(f"http://{server.host}:{server.port}/v2/vectordb/{path}", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


# Every route whose gRPC call checks the collection name first, with a body that is
# otherwise well-formed (the required keys present).
COLLECTION_ROUTES = [
    ("collections/has", {}),
    ("collections/describe", {}),
    ("collections/load", {}),
    ("collections/release", {}),
    ("partitions/create", {"partitionName": "p"}),
    ("partitions/drop", {"partitionName": "p"}),
    ("partitions/has", {"partitionName": "p"}),
    ("partitions/list", {}),
    ("partitions/load", {"partitionNames": ["p"]}),
    ("partitions/release", {"partitionNames": ["p"]}),
    ("aliases/create", {"aliasName": "a_ok"}),
    ("aliases/alter", {"aliasName": "a_ok"}),
    ("aliases/list", {}),
    ("indexes/list", {}),
    ("indexes/describe", {"indexName": "vector"}),
    ("indexes/drop", {"indexName": "vector"}),
    ("entities/insert", {"data": [{"id": 1, "vector": [0.1] * 4}]}),
    ("entities/upsert", {"data": [{"id": 1, "vector": [0.1] * 4}]}),
    ("entities/delete", {"filter": "id > 0"}),
    ("entities/get", {"id": [1]}),
    ("entities/query", {"filter": "id > 0"}),
    ("entities/search", {"data": [[0.1] * 4], "limit": 3}),
    ("entities/hybrid_search", {"search": [{"data": [[0.1] * 4], "annsField": "vector", "limit": 3}],
                                "rerank": {"strategy": "rrf", "params": {"k": 10}}, "limit": 3}),
]


@pytest.mark.parametrize("path,extra", COLLECTION_ROUTES, ids=[r[0] for r in COLLECTION_ROUTES])
def test_malformed_collection_name_on_every_route(module_server, path, extra):
    j = post(module_server, path, {"collectionName": BAD_COLLECTION, **extra})
    assert j["code"] == 1100, j
    assert COLLECTION_MSG in j["message"], j


def test_rest_and_grpc_give_the_same_answer(module_server, module_client):
    # The same calls over gRPC (pymilvus) and REST: the same code and message.
    pairs = [
        (lambda: module_client.has_partition(BAD_COLLECTION, "p"), "partitions/has", {"partitionName": "p"}),
        (lambda: module_client.list_partitions(BAD_COLLECTION), "partitions/list", {}),
        (lambda: module_client.create_partition(BAD_COLLECTION, "p"), "partitions/create", {"partitionName": "p"}),
        (lambda: module_client.describe_collection(BAD_COLLECTION), "collections/describe", {}),
    ]
    for grpc_call, path, extra in pairs:
        e = server_error(grpc_call)
        j = post(module_server, path, {"collectionName": BAD_COLLECTION, **extra})
        assert (j["code"], j["message"]) == (e.code, e.message), (path, j, e)


@pytest.fixture(scope="module")
def quick(module_server):
    name = unique("rest_names")
    assert post(module_server, "collections/create", {"collectionName": name, "dimension": 4})["code"] == 0
    return name


@pytest.mark.parametrize("path", ["partitions/drop", "partitions/has"])
def test_malformed_partition_name(module_server, quick, path):
    j = post(module_server, path, {"collectionName": quick, "partitionName": BAD_PARTITION})
    assert j["code"] == 1100, j
    assert PARTITION_MSG in j["message"], j


def test_partition_checks_leave_valid_names_alone(module_server, quick):
    assert post(module_server, "partitions/has", {"collectionName": quick, "partitionName": "nope"}) == {
        "code": 0, "data": {"has": False}}
    assert post(module_server, "collections/has", {"collectionName": quick})["data"] == {"has": True}
    assert post(module_server, "collections/has", {"collectionName": "no_such_coll"})["data"] == {"has": False}


def test_loaded_partition_cannot_be_dropped_over_rest(module_server, quick):
    body = {"collectionName": quick, "partitionName": "p_loaded"}
    assert post(module_server, "partitions/create", body)["code"] == 0
    j = post(module_server, "partitions/drop", body)
    assert j == {"code": 65535,
                 "message": "partition cannot be dropped, partition is loaded, please release it first"}, j
    assert post(module_server, "partitions/has", body)["data"] == {"has": True}
    assert post(module_server, "partitions/release",
                {"collectionName": quick, "partitionNames": ["p_loaded"]})["code"] == 0
    assert post(module_server, "partitions/drop", body)["code"] == 0
    assert post(module_server, "partitions/has", body)["data"] == {"has": False}
