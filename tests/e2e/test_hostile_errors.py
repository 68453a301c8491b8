"""Malformed and out-of-range requests (issue 20 #18): every rejection says what is wrong,
with Milvus's code and message.

- A gRPC request whose bytes do not parse gets what Milvus's Go server answers (grpc-go):
  status INTERNAL, "grpc: error unmarshalling request: ..." -- for every method, including
  Search (gRPC C++ answered INTERNAL with an empty message, and UNIMPLEMENTED for Search).
- Search parameters that Milvus's index layer (knowhere) range-checks are checked with its
  messages, whether or not the segments are indexed yet: HNSW ef in [1, 2^31-1] and >= k,
  IVF nprobe in [1, 65536]."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
import requests
from pymilvus import DataType, MilvusClient, MilvusException

from e2e_util import unique

UNMARSHAL = "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data"
GARBAGE = [b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x12\x05abc"]  # bad tag; bad length; truncated


@pytest.mark.parametrize("method", ["Insert", "Query", "CreateCollection", "DescribeCollection", "Search",
                                    "HasCollection"])
@pytest.mark.parametrize("payload", GARBAGE, ids=["bad-tag", "bad-varint", "truncated"])
def test_unparseable_grpc_request_gets_internal_with_a_message(server, method, payload):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        call = ch.unary_unary(f"/milvus.proto.milvus.MilvusService/{method}",
                              request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as info:
            call(payload, timeout=10)
    assert info.value.code() == grpc.StatusCode.INTERNAL, (info.value.code(), info.value.details())
    assert info.value.details() == UNMARSHAL
    # the server is fine afterwards
    c = server.client()
    assert isinstance(c.list_collections(), list)


def hnsw_collection(client, indexed: bool) -> str:
    name = unique("ef_range")
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 32})
    client.create_collection(name, schema=schema, index_params=ip)
    rng = np.random.default_rng(2)
    client.insert(name, [{"id": i, "vec": rng.random(4).tolist()} for i in range(300)])
    if indexed:
        client.flush(name)
    return name


SEARCH_CASES = [
    # (search params, limit, message)
    ({"ef": -1}, 10, "param 'ef' (-1) should be in range [1, 2147483647]"),
    ({"ef": 0}, 10, "param 'ef' (0) should be in range [1, 2147483647]"),
    ({"ef": 2**31}, 10, "param 'ef' (2147483648) should be in range [1, 2147483647]"),
    ({"ef": "abc"}, 10, "Type conflict in json: param 'ef' (abc) should be integer"),
    ({"ef": 7}, 10, "ef(7) should be larger than k(10)"),
]


@pytest.mark.parametrize("indexed", [False, True], ids=["growing", "sealed"])
@pytest.mark.parametrize("params,limit,message", SEARCH_CASES)
def test_hnsw_search_params_out_of_range(client, indexed, params, limit, message):
    name = hnsw_collection(client, indexed)
    with pytest.raises(MilvusException) as info:
        client.search(name, data=[[0.1, 0.2, 0.3, 0.4]], limit=limit, search_params={"params": params})
    assert message in info.value.message, info.value.message
    assert info.value.code in (1100, 65535), info.value
    # the boundary values are accepted
    res = client.search(name, data=[[0.1, 0.2, 0.3, 0.4]], limit=limit, search_params={"params": {"ef": limit}})
    assert len(res[0]) == limit


def test_rest_search_ef_out_of_range(server, client):
    name = hnsw_collection(client, indexed=True)
    body = {"collectionName": name, "data": [[0.1, 0.2, 0.3, 0.4]], "annsField": "vec", "limit": 5,
            "searchParams": {"params": {"ef": -1}}}
    r = requests.post(f"{server.uri}/v2/vectordb/entities/search", json=body, timeout=30).json()
    assert r["code"] != 0 and "param 'ef' (-1) should be in range [1, 2147483647]" in r["message"], r
    body["searchParams"] = {"params": {"ef": 2**31}}
    r = requests.post(f"{server.uri}/v2/vectordb/entities/search", json=body, timeout=30).json()
    assert r["code"] != 0 and "param 'ef' (2147483648) should be in range [1, 2147483647]" in r["message"], r


def test_ivf_nprobe_out_of_range(client):
    name = unique("nprobe")
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 8})
    client.create_collection(name, schema=schema, index_params=ip)
    client.insert(name, [{"id": i, "vec": [i, 0, 0, 0]} for i in range(50)])
    for bad in (0, 65537, -5):
        with pytest.raises(MilvusException) as info:
            client.search(name, data=[[1, 0, 0, 0]], limit=3, search_params={"params": {"nprobe": bad}})
        assert f"param 'nprobe' ({bad}) should be in range [1, 65536]" in info.value.message
