"""Hostile input (issue 20 #13, #15-#18): requests built to hurt the server must get a clear
Milvus-style error (code + a message naming the field and value), never a crash, a hang or
unbounded memory.  Requests that pymilvus would refuse client-side are sent through its
generated stub, as a hostile client would."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import requests
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

from e2e_util import PARAMETER_INVALID, unique

DIM = 4
JSON_MAX_LENGTH = 65536  # Milvus common.JSONMaxLength
JSON_MAX_DEPTH = 1024    # Kite's nesting bound for one JSON value (limits.h)
BAD_JSON = 1801          # Milvus REST: ErrIncorrectParameterFormat


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def json_collection(client: MilvusClient, dynamic: bool = False) -> str:
    name = unique("hostile_json")
    schema = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("meta", DataType.JSON)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)  # created and loaded
    return name


def raw_insert(client: MilvusClient, name: str, ids, metas, dynamic=None):
    """InsertRequest built by hand (pymilvus parses JSON strings client-side and refuses deep
    ones), sent on pymilvus's own channel; returns the MutationResult's status."""
    n = len(ids)
    fields = [
        schema_pb2.FieldData(type=DataType.INT64, field_name="id",
                             scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=ids))),
        schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="vec",
                             vectors=schema_pb2.VectorField(dim=DIM, float_vector=schema_pb2.FloatArray(
                                 data=[0.5] * (DIM * n)))),
        schema_pb2.FieldData(type=DataType.JSON, field_name="meta",
                             scalars=schema_pb2.ScalarField(json_data=schema_pb2.JSONArray(
                                 data=[m.encode() for m in metas]))),
    ]
    if dynamic is not None:
        fields.append(schema_pb2.FieldData(
            type=DataType.JSON, field_name="$meta", is_dynamic=True,
            scalars=schema_pb2.ScalarField(json_data=schema_pb2.JSONArray(data=[d.encode() for d in dynamic]))))
    req = milvus_pb2.InsertRequest(collection_name=name, fields_data=fields, num_rows=n)
    handler = client._get_connection()
    return handler._stub.Insert(req, timeout=30).status


def alive(client: MilvusClient, name: str) -> None:
    client.insert(name, [{"id": 10**6, "vec": [0.1] * DIM, "meta": {"ok": 1}}])
    assert client.query(name, filter="id == 1000000", output_fields=["meta"])[0]["meta"] == {"ok": 1}


# -- #13: deeply nested JSON --------------------------------------------------------------------

def test_json_over_max_length_is_refused_with_milvus_message(client):
    name = json_collection(client)
    text = nested(100_000)  # the input: 200,000 bytes
    st = raw_insert(client, name, [1], [text])
    assert st.code == PARAMETER_INVALID, st
    assert st.reason == (f"the length ({len(text)}) of json field (meta) exceeds max length ({JSON_MAX_LENGTH}): "
                         "invalid parameter[expected=valid length json string][actual=length exceeds max length]")
    alive(client, name)


def test_json_nesting_deeper_than_limit_is_refused(client):
    name = json_collection(client, dynamic=True)
    deep = nested(JSON_MAX_DEPTH + 1)
    assert len(deep) < JSON_MAX_LENGTH
    st = raw_insert(client, name, [1, 2], ["{}", deep])
    assert st.code == PARAMETER_INVALID, st
    assert "nesting depth of json field (meta) exceeds max depth (1024), row number: 1" in st.reason
    # the dynamic field too
    st = raw_insert(client, name, [1], ["{}"], dynamic=['{"a": ' + deep + "}"])
    assert st.code == PARAMETER_INVALID, st
    assert "exceeds max depth (1024)" in st.reason
    # the limit itself is accepted (not read back: Python's json recursion limit is ~1000)
    st = raw_insert(client, name, [4], [nested(JSON_MAX_DEPTH)])
    assert st.code == 0, st
    # brackets inside strings do not count
    ok_text = '{"s": "' + "[" * 5000 + '", "v": ' + nested(100) + "}"
    st = raw_insert(client, name, [3], [ok_text])
    assert st.code == 0, st
    got = client.query(name, filter="id == 3", output_fields=["meta"])[0]["meta"]
    assert got["s"] == "[" * 5000
    assert nothing_written(client, name, [1, 2])
    alive(client, name)


def nothing_written(client, name, ids) -> bool:
    return client.query(name, filter=f"id in {ids}", output_fields=["id"]) == []


def rest_post(server, path: str, body) -> dict:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    r = requests.post(f"{server.uri}/v2/vectordb/{path}", data=data,
                      headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_rest_deeply_nested_body_is_refused(server, client):
    name = json_collection(client)
    deep = nested(100_000)
    body = '{"collectionName": "%s", "data": [{"id": 1, "vec": [0.1, 0.2, 0.3, 0.4], "meta": %s}]}' % (name, deep)
    res = rest_post(server, "entities/insert", body)
    assert res["code"] == BAD_JSON, res
    assert res["message"] == "can only accept json format request, error: invalid character '[' exceeded max depth"
    # deep enough to pass the body decoder, too deep for a JSON field
    body = ('{"collectionName": "%s", "data": [{"id": 2, "vec": [0.1, 0.1, 0.1, 0.1], "meta": %s}]}'
            % (name, nested(2000)))
    res = rest_post(server, "entities/insert", body)
    assert res["code"] == PARAMETER_INVALID, res
    assert "nesting depth of json field (meta) exceeds max depth (1024)" in res["message"]
    assert nothing_written(client, name, [1, 2])
    alive(client, name)
