"""RESTful v2 schema operations Milvus 2.6 serves (issue 18): collections/truncate,
collections/fields/add, collections/fields/alter_properties (and drop_properties), and
entities/upsert with partialUpdate. Each is checked through HTTP against what the same
operation does through pymilvus (gRPC): same stored values, same error codes and messages.
"""

from __future__ import annotations

import pytest
import requests
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from e2e_util import unique

DIM = 4


class Rest:
    def __init__(self, server):
        self.base = f"http://{server.host}:{server.port}/v2/vectordb/"
        self.session = requests.Session()

    def call(self, path: str, body: dict) -> dict:
        r = self.session.post(self.base + path, json=body, timeout=60)
        assert r.status_code == 200, f"{path}: HTTP {r.status_code} {r.text[:300]}"
        return r.json()

    def ok(self, path: str, body: dict):
        j = self.call(path, body)
        assert j["code"] == 0, f"{path} {body}: {j}"
        return j.get("data")


@pytest.fixture(scope="module")
def rest(module_server):
    r = Rest(module_server)
    yield r
    r.session.close()


def vec(pk: int):
    return [float(pk % 5), 1.0, float(pk % 3), 0.5]


def make(client: MilvusClient, dynamic: bool = False) -> str:
    name = unique("restschema")
    s = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=64)
    s.add_field("score", DataType.DOUBLE, nullable=True)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    return name


def rows_by_id(client: MilvusClient, name: str, fields=("title", "score")):
    got = client.query(name, filter="id >= 0", output_fields=list(fields), consistency_level="Strong")
    return {r["id"]: {f: r.get(f) for f in fields} for r in got}


def grpc_error(fn):
    with pytest.raises(MilvusException) as e:
        fn()
    return e.value.code, e.value.message


def test_rest_truncate(rest, module_client):
    client = module_client
    name = make(client)
    client.insert(name, [{"id": i, "vec": vec(i), "title": f"t{i}", "score": i / 2} for i in range(20)])
    client.flush(name)
    client.insert(name, [{"id": i, "vec": vec(i), "title": f"t{i}"} for i in range(20, 25)])
    assert rest.ok("collections/truncate", {"collectionName": name}) == {}
    assert rows_by_id(client, name) == {}
    client.insert(name, [{"id": 1, "vec": vec(1), "title": "again"}])
    assert rows_by_id(client, name) == {1: {"title": "again", "score": None}}
    # a missing collection: the gRPC answer's code and message
    missing = unique("nope")
    code, msg = grpc_error(lambda: client.truncate_collection(missing))
    j = rest.call("collections/truncate", {"collectionName": missing})
    assert (j["code"], j["message"]) == (code, msg)
    j = rest.call("collections/truncate", {})
    assert j["code"] == 1802 and "collectionName" in j["message"], j


def test_rest_add_field(rest, module_client):
    client = module_client
    name = make(client)
    client.insert(name, [{"id": i, "vec": vec(i), "title": f"t{i}"} for i in range(5)])
    client.flush(name)
    body = {"collectionName": name,
            "schema": {"fieldName": "price", "dataType": "Int64", "nullable": True, "defaultValue": 7}}
    assert rest.ok("collections/fields/add", body) == {}
    rest.ok("collections/fields/add", {"collectionName": name, "schema": {
        "fieldName": "note", "dataType": "VarChar", "nullable": True, "elementTypeParams": {"max_length": 16}}})
    fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert fields["price"]["type"] == DataType.INT64 and fields["price"]["default_value"].long_data == 7
    assert fields["note"]["params"]["max_length"] == 16
    client.insert(name, [{"id": 9, "vec": vec(9), "title": "new", "price": 3, "note": "n"}])
    got = rows_by_id(client, name, ("price", "note"))
    assert got == {**{i: {"price": 7, "note": None} for i in range(5)}, 9: {"price": 3, "note": "n"}}

    # refusals: the same code and message as AddCollectionField through gRPC
    bad = [
        ({"fieldName": "req", "dataType": "Int64"},
         lambda: client.add_collection_field(name, "req", DataType.INT64)),
        ({"fieldName": "price", "dataType": "Int64", "nullable": True},
         lambda: client.add_collection_field(name, "price", DataType.INT64, nullable=True)),
        ({"fieldName": "nolen", "dataType": "VarChar", "nullable": True},
         lambda: client.add_collection_field(name, "nolen", DataType.VARCHAR, nullable=True)),
    ]
    for schema, grpc_call in bad:
        code, msg = grpc_error(grpc_call)
        j = rest.call("collections/fields/add", {"collectionName": name, "schema": schema})
        assert (j["code"], j["message"]) == (code, msg), (schema, j)
    j = rest.call("collections/fields/add", {"collectionName": name, "schema": {"fieldName": "x", "dataType": "Nope"}})
    assert j["code"] == 1100 and "data type Nope is invalid" in j["message"], j
    j = rest.call("collections/fields/add", {"collectionName": name,
                                             "schema": {"fieldName": "x", "dataType": "Int64", "nullable": "yes"}})
    assert j["code"] == 1801 and "schema.nullable" in j["message"] and "fields[0]" not in j["message"], j
    j = rest.call("collections/fields/add", {"collectionName": name, "schema": {"dataType": "Int64"}})
    assert j["code"] == 1802 and "schema.fieldName" in j["message"], j
    j = rest.call("collections/fields/add", {"collectionName": name})
    assert j["code"] == 1802 and "schema" in j["message"], j
    assert sorted(f["name"] for f in client.describe_collection(name)["fields"]) == \
        sorted(["id", "vec", "title", "score", "price", "note"])


def test_rest_alter_field_properties(rest, module_client):
    client = module_client
    name = make(client)
    assert rest.ok("collections/fields/alter_properties",
                   {"collectionName": name, "fieldName": "title", "fieldParams": {"max_length": 8}}) == {}
    fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert int(fields["title"]["params"]["max_length"]) == 8
    with pytest.raises(MilvusException):
        client.insert(name, [{"id": 1, "vec": vec(1), "title": "x" * 9}])
    client.insert(name, [{"id": 1, "vec": vec(1), "title": "x" * 8}])
    # refusals: the gRPC answer
    for field, props in (("title", {"max_length": 0}), ("score", {"max_length": 10}), ("nope", {"max_length": 3}),
                         ("title", {"mmap.enabled": True})):
        code, msg = grpc_error(lambda: client.alter_collection_field(name, field, field_params=props))
        j = rest.call("collections/fields/alter_properties",
                      {"collectionName": name, "fieldName": field, "fieldParams": props})
        assert (j["code"], j["message"]) == (code, msg), (field, props, j)
    # mmap on a released collection, then dropped again
    client.release_collection(name)
    rest.ok("collections/fields/alter_properties",
            {"collectionName": name, "fieldName": "title", "fieldParams": {"mmap.enabled": True}})
    fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert fields["title"]["params"]["mmap_enabled"] is True
    rest.ok("collections/fields/drop_properties",
            {"collectionName": name, "fieldName": "title", "propertyKeys": ["mmap.enabled"]})
    fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert "mmap_enabled" not in fields["title"]["params"]
    j = rest.call("collections/fields/alter_properties", {"collectionName": name, "fieldParams": {}})
    assert j["code"] == 1802 and "fieldName" in j["message"], j


def test_rest_partial_upsert(rest, module_client):
    client = module_client
    name = make(client, dynamic=True)
    client.insert(name, [{"id": i, "vec": vec(i), "title": f"t{i}", "score": float(i), "k": i} for i in range(6)])
    client.flush(name)
    expected = {i: {"title": f"t{i}", "score": float(i), "k": i} for i in range(6)}
    data = rest.ok("entities/upsert", {"collectionName": name, "partialUpdate": True,
                                       "data": [{"id": 1, "score": 10.5}, {"id": 4, "score": None},
                                                {"id": 2, "score": 20.0, "k2": "x"}]})
    assert data["upsertCount"] == 3 and sorted(data["upsertIds"]) == [1, 2, 4]
    expected[1]["score"] = 10.5
    expected[4]["score"] = None
    expected[2].update(score=20.0, k2="x")
    got = client.query(name, filter="id >= 0", output_fields=["title", "score", "$meta"], consistency_level="Strong")
    assert {r["id"]: {k: v for k, v in r.items() if k not in ("id",)} for r in got} == expected
    # only the title this time, on a sealed and a growing row
    rest.ok("entities/upsert", {"collectionName": name, "partialUpdate": True, "data": [{"id": 5, "title": "five"}]})
    expected[5]["title"] = "five"
    got = client.query(name, filter="id >= 0", output_fields=["title", "score", "$meta"], consistency_level="Strong")
    assert {r["id"]: {k: v for k, v in r.items() if k not in ("id",)} for r in got} == expected
    # vectors kept: a search by the stored vector of id 5 still finds it first
    hits = client.search(name, [vec(5)], limit=1, consistency_level="Strong")[0]
    assert hits[0]["distance"] == 0.0

    # a new key without the required fields: the gRPC partial upsert's answer
    code, msg = grpc_error(lambda: client.upsert(name, [{"id": 99, "score": 1.0}], partial_update=True))
    j = rest.call("entities/upsert", {"collectionName": name, "partialUpdate": True,
                                      "data": [{"id": 99, "score": 1.0}]})
    assert (j["code"], j["message"]) == (code, msg), j
    # without partialUpdate the missing fields are refused as before
    j = rest.call("entities/upsert", {"collectionName": name, "data": [{"id": 1, "score": 1.0}]})
    assert j["code"] == 1804, j
    j = rest.call("entities/upsert", {"collectionName": name, "partialUpdate": "yes", "data": [{"id": 1}]})
    assert j["code"] == 1801, j
