"""Milvus RESTful API v2 end to end: real HTTP/1.1 requests to the same port pymilvus uses for
gRPC (19530 in Milvus), covering every endpoint family Kite implements, the error envelopes,
the HTTP transport (keep-alive, chunked bodies, pipelining, Expect: 100-continue, oversized
bodies, non-HTTP bytes) and the interplay with gRPC clients.

Milvus facts relied on (milvus internal/distributed/proxy/httpserver handler_v2.go,
request_v2.go, utils.go, constant.go; shared/reference/milvus-compat.md section 2 and 7):
* Every answer is HTTP 200 with {"code": 0, "data": ...} or {"code": <merr>, "message": ...}.
* 1801 = body is not JSON / a parameter has the wrong JSON type (gin binding error),
  1802 = a `binding:"required"` parameter is missing, 1804 = rows cannot be decoded,
  1806 = bad primary keys for get/delete.
* collections/create quick form: pk "id" Int64, "vector" FloatVector, dynamic field on,
  AUTOINDEX named after the vector field with metric COSINE, then loaded.
* query: outputFields default ["*"], limit default 100; search: limit default 100, every hit
  carries its primary key under "id" and its score under "distance"; newer Milvus adds
  "topks" (per-query hit counts) next to "data".
* insertIds are JSON numbers unless the client sends `Accept-Type-Allow-Int64: false`
  (proxy.http.acceptTypeAllowInt64 defaults to true), then Int64 values are strings.
* Unknown paths: Milvus answers a plain-text 404; Kite answers an envelope (code 1100) with
  HTTP 200 like every other error. Known Milvus endpoints Kite lacks answer code 10.
"""

from __future__ import annotations

import json
import socket
import time

import numpy as np
import pytest
import requests
from pymilvus import DataType, MilvusClient

from e2e_util import unique

OK = 0
UNIMPLEMENTED = 10
COLLECTION_NOT_FOUND = 100
COLLECTION_NOT_LOADED = 101
PARTITION_NOT_FOUND = 200
INDEX_NOT_FOUND = 700
DATABASE_NOT_FOUND = 800
PARAMETER_INVALID = 1100
PARAMETER_TOO_LARGE = 1102
ALIAS_NOT_FOUND = 1600
BAD_JSON = 1801
MISSING_PARAMS = 1802
INVALID_INSERT_DATA = 1804
BAD_PRIMARY_KEY = 1806


class Rest:
    """A RESTful v2 client over one keep-alive HTTP session."""

    def __init__(self, server):
        self.host, self.port = server.host, server.port
        self.base = f"http://{server.host}:{server.port}/v2/vectordb/"
        self.session = requests.Session()

    def raw(self, path: str, body=None, headers=None, data=None, method="POST") -> requests.Response:
        kwargs = {"headers": headers or {}, "timeout": 60}
        if data is not None:
            kwargs["data"] = data
        elif body is not None:
            kwargs["json"] = body
        return self.session.request(method, self.base + path, **kwargs)

    def call(self, path: str, body=None, headers=None, data=None) -> dict:
        r = self.raw(path, body, headers, data)
        assert r.status_code == 200, f"{path}: HTTP {r.status_code} {r.text[:500]}"
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        return r.json()

    def ok(self, path: str, body=None, headers=None):
        j = self.call(path, body if body is not None else {}, headers)
        assert j["code"] == OK, f"{path} {body}: {j}"
        assert "data" in j, j
        return j["data"]

    def err(self, path: str, body, code, headers=None, data=None) -> str:
        j = self.call(path, body, headers, data)
        allowed = code if isinstance(code, tuple) else (code,)
        assert j["code"] in allowed, f"{path} {body}: expected code {allowed}, got {j}"
        assert "data" not in j and isinstance(j.get("message"), str) and j["message"], j
        return j["message"]


@pytest.fixture(scope="module")
def rest(module_server):
    r = Rest(module_server)
    yield r
    r.session.close()


def quick(rest: Rest, name: str, dim: int = 4, **extra):
    rest.ok("collections/create", {"collectionName": name, "dimension": dim, **extra})


def l2_collection(rest: Rest, name: str, dim: int = 4, dynamic: bool = True, db=None, **params):
    """id Int64 pk, vector FloatVector(dim) with an L2 index, tag VarChar, n Int64 nullable; loaded."""
    body = {
        "collectionName": name,
        "schema": {
            "enableDynamicField": dynamic,
            "fields": [
                {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                {"fieldName": "vector", "dataType": "FloatVector", "elementTypeParams": {"dim": dim}},
                {"fieldName": "tag", "dataType": "VarChar", "elementTypeParams": {"max_length": 32}},
                {"fieldName": "n", "dataType": "Int64", "nullable": True},
            ],
        },
        "indexParams": [{"fieldName": "vector", "indexName": "vidx", "metricType": "L2", "indexType": "FLAT"}],
    }
    if params:
        body["params"] = params
    if db:
        body["dbName"] = db
    rest.ok("collections/create", body)


def rows_l2(n: int, dim: int = 4, start: int = 0):
    return [{"id": start + i, "vector": [float(start + i)] * dim, "tag": f"t{(start + i) % 3}", "n": start + i}
            for i in range(n)]


# ---------------------------------------------------------------------------- databases
def test_databases(rest, module_client):
    db = unique("rdb")
    rest.ok("databases/create", {"dbName": db, "properties": {"database.max.collections": 7}})
    assert db in rest.ok("databases/list")
    assert "default" in rest.ok("databases/list")
    d = rest.ok("databases/describe", {"dbName": db})
    assert d["dbName"] == db and isinstance(d["dbID"], int)
    assert {"key": "database.max.collections", "value": "7"} in d["properties"]
    rest.ok("databases/alter", {"dbName": db, "properties": {"database.force.deny.reading": False}})
    props = {p["key"]: p["value"] for p in rest.ok("databases/describe", {"dbName": db})["properties"]}
    assert props["database.force.deny.reading"] == "false"
    rest.ok("databases/alter_properties", {"dbName": db, "properties": {"database.replica.number": 1}})
    props = {p["key"]: p["value"] for p in rest.ok("databases/describe", {"dbName": db})["properties"]}
    assert props["database.replica.number"] == "1"
    rest.ok("databases/drop_properties", {"dbName": db, "propertyKeys": ["database.max.collections"]})
    props = {p["key"]: p["value"] for p in rest.ok("databases/describe", {"dbName": db})["properties"]}
    assert "database.max.collections" not in props
    # gRPC sees the database created over REST.
    assert db in module_client.list_databases()

    # dbName in the body, else the DB-Name header.
    coll = unique("c")
    quick(rest, coll, dbName=db)
    assert coll in rest.ok("collections/list", {"dbName": db})
    assert coll in rest.ok("collections/list", {}, headers={"DB-Name": db})
    assert coll not in rest.ok("collections/list")
    assert rest.ok("collections/has", {"collectionName": coll}, headers={"DB-Name": db})["has"] is True
    # The body wins over the header.
    assert rest.ok("collections/has", {"collectionName": coll, "dbName": "default"},
                   headers={"DB-Name": db})["has"] is False
    rest.ok("collections/drop", {"collectionName": coll, "dbName": db})
    rest.ok("databases/drop", {"dbName": db})
    assert db not in rest.ok("databases/list")
    rest.err("databases/describe", {"dbName": db}, DATABASE_NOT_FOUND)
    rest.err("collections/list", {"dbName": unique("nodb")}, DATABASE_NOT_FOUND)
    rest.err("databases/create", {}, MISSING_PARAMS)


# -------------------------------------------------------------------------- collections
def test_quick_create_and_describe(rest, module_client):
    name = unique("quick")
    quick(rest, name, dim=8)
    assert rest.ok("collections/has", {"collectionName": name}) == {"has": True}
    assert name in rest.ok("collections/list")
    d = rest.ok("collections/describe", {"collectionName": name})
    assert d["collectionName"] == name and isinstance(d["collectionID"], int)
    assert d["autoId"] is False and d["enableDynamicField"] is True
    assert d["consistencyLevel"] == "Bounded" and d["shardsNum"] == 1
    assert d["load"] == "LoadStateLoaded"
    assert d["aliases"] == [] and d["functions"] == [] and isinstance(d["properties"], list)
    fields = {f["name"]: f for f in d["fields"]}
    assert list(fields) == ["id", "vector"]
    assert fields["id"]["type"] == "Int64" and fields["id"]["primaryKey"] is True
    assert fields["vector"]["type"] == "FloatVector"
    assert {"key": "dim", "value": "8"} in fields["vector"]["params"]
    assert d["indexes"] == [{"fieldName": "vector", "indexName": "vector", "metricType": "COSINE"}]
    st = rest.ok("collections/get_load_state", {"collectionName": name})
    assert st == {"loadState": "LoadStateLoaded", "loadProgress": 100}
    assert rest.ok("collections/get_stats", {"collectionName": name}) == {"rowCount": 0}

    # The same collection through gRPC.
    desc = module_client.describe_collection(name)
    assert [f["name"] for f in desc["fields"]] == ["id", "vector"]
    assert desc["enable_dynamic_field"] is True
    assert str(module_client.get_load_state(name)["state"]) == "Loaded"

    rest.ok("collections/release", {"collectionName": name})
    assert rest.ok("collections/get_load_state", {"collectionName": name}) == {"loadState": "LoadStateNotLoad"}
    assert rest.ok("collections/describe", {"collectionName": name})["load"] == "LoadStateNotLoad"
    rest.ok("collections/load", {"collectionName": name})
    rest.ok("collections/refresh_load", {"collectionName": name})
    assert rest.ok("collections/get_load_state", {"collectionName": name})["loadState"] == "LoadStateLoaded"

    rest.ok("collections/drop", {"collectionName": name})
    assert rest.ok("collections/has", {"collectionName": name}) == {"has": False}
    rest.err("collections/describe", {"collectionName": name}, COLLECTION_NOT_FOUND)
    rest.err("collections/get_load_state", {"collectionName": name}, COLLECTION_NOT_FOUND)


def test_quick_create_options(rest):
    name = unique("quickopt")
    rest.ok("collections/create", {
        "collectionName": name, "dimension": 2, "idType": "VarChar", "autoID": False,
        "metricType": "L2", "primaryFieldName": "pk", "vectorFieldName": "emb",
        "params": {"max_length": 64, "enableDynamicField": False, "consistencyLevel": "Strong",
                   "shardsNum": 2, "ttlSeconds": 3600},
        "description": "quick with options"})
    d = rest.ok("collections/describe", {"collectionName": name})
    fields = {f["name"]: f for f in d["fields"]}
    assert list(fields) == ["pk", "emb"]
    assert fields["pk"]["type"] == "VarChar" and {"key": "max_length", "value": "64"} in fields["pk"]["params"]
    assert d["enableDynamicField"] is False and d["consistencyLevel"] == "Strong" and d["shardsNum"] == 2
    assert d["description"] == "quick with options"
    assert {"key": "collection.ttl.seconds", "value": "3600"} in d["properties"]
    assert d["indexes"] == [{"fieldName": "emb", "indexName": "emb", "metricType": "L2"}]
    ids = rest.ok("entities/insert", {"collectionName": name, "data": [{"pk": "a", "emb": [1, 2]},
                                                                       {"pk": "b", "emb": [3, 4]}]})
    assert ids == {"insertCount": 2, "insertIds": ["a", "b"]}
    hits = rest.ok("entities/search", {"collectionName": name, "data": [[1, 2]], "limit": 1})
    assert hits[0]["id"] == "a" and hits[0]["pk"] == "a" and hits[0]["distance"] == 0

    auto = unique("quickauto")
    rest.ok("collections/create", {"collectionName": auto, "dimension": 2, "autoID": True})
    out = rest.ok("entities/insert", {"collectionName": auto, "data": [{"vector": [1, 0]}, {"vector": [0, 1]}]})
    assert out["insertCount"] == 2 and all(isinstance(i, int) for i in out["insertIds"])
    # A value given for an auto-id primary key is ignored, as Milvus's REST insert does.
    out2 = rest.ok("entities/insert", {"collectionName": auto, "data": [{"id": 5, "vector": [1, 1]}]})
    assert out2["insertIds"] != [5]

    rest.err("collections/create", {"collectionName": unique("nodim")}, PARAMETER_INVALID)
    rest.err("collections/create", {"collectionName": unique("badid"), "dimension": 2, "idType": "Float"},
             PARAMETER_INVALID)
    rest.err("collections/create", {"collectionName": unique("badcl"), "dimension": 2,
                                    "params": {"consistencyLevel": "Sometimes"}}, PARAMETER_INVALID)
    for c in (name, auto):
        rest.ok("collections/drop", {"collectionName": c})


def test_collection_rename_properties_flush(rest, module_client):
    name, new = unique("ren"), unique("renamed")
    quick(rest, name)
    rest.ok("entities/insert", {"collectionName": name, "data": [{"id": 1, "vector": [1, 0, 0, 0]}]})
    rest.ok("collections/flush", {"collectionName": name})
    rest.ok("collections/rename", {"collectionName": name, "newCollectionName": new})
    assert rest.ok("collections/has", {"collectionName": name})["has"] is False
    assert rest.ok("collections/has", {"collectionName": new})["has"] is True
    assert module_client.has_collection(new)
    rest.ok("collections/alter_properties", {"collectionName": new,
                                            "properties": {"collection.ttl.seconds": 60}})
    props = {p["key"]: p["value"] for p in rest.ok("collections/describe", {"collectionName": new})["properties"]}
    assert props["collection.ttl.seconds"] == "60"
    rest.ok("collections/drop_properties", {"collectionName": new, "propertyKeys": ["collection.ttl.seconds"]})
    props = {p["key"]: p["value"] for p in rest.ok("collections/describe", {"collectionName": new})["properties"]}
    assert "collection.ttl.seconds" not in props
    assert rest.ok("entities/get", {"collectionName": new, "id": 1, "outputFields": ["id"]}) == [{"id": 1}]
    rest.ok("collections/drop", {"collectionName": new})


ALL_TYPES_FIELDS = [
    {"fieldName": "pk", "dataType": "Int64", "isPrimary": True},
    {"fieldName": "fvec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
    {"fieldName": "bvec", "dataType": "BinaryVector", "elementTypeParams": {"dim": 16}},
    {"fieldName": "f16", "dataType": "Float16Vector", "elementTypeParams": {"dim": 2}},
    {"fieldName": "bf16", "dataType": "BFloat16Vector", "elementTypeParams": {"dim": 2}},
    {"fieldName": "b", "dataType": "Bool"},
    {"fieldName": "i8", "dataType": "Int8", "defaultValue": 3},
    {"fieldName": "i16", "dataType": "Int16", "nullable": True},
    {"fieldName": "i32", "dataType": "Int32"},
    {"fieldName": "i64", "dataType": "Int64", "nullable": True, "defaultValue": -42},
    {"fieldName": "f", "dataType": "Float"},
    {"fieldName": "d", "dataType": "Double"},
    {"fieldName": "s", "dataType": "VarChar", "elementTypeParams": {"max_length": "16"}, "defaultValue": "dflt"},
    {"fieldName": "j", "dataType": "JSON", "nullable": True},
    {"fieldName": "arr", "dataType": "Array", "elementDataType": "Int64",
     "elementTypeParams": {"max_capacity": 4}},
    {"fieldName": "sarr", "dataType": "Array", "elementDataType": "VarChar",
     "elementTypeParams": {"max_capacity": 3, "max_length": 8}},
]


def test_custom_schema_all_types_roundtrip(rest, module_client):
    name = unique("alltypes")
    rest.ok("collections/create", {
        "collectionName": name,
        "schema": {"autoID": False, "enableDynamicField": True, "fields": ALL_TYPES_FIELDS},
        "indexParams": [
            {"fieldName": "fvec", "metricType": "L2", "indexType": "FLAT"},
            {"fieldName": "bvec", "metricType": "HAMMING", "indexType": "BIN_FLAT"},
            {"fieldName": "f16", "metricType": "L2"},
            {"fieldName": "bf16", "metricType": "IP", "indexName": "bf_idx", "params": {"index_type": "FLAT"}},
        ],
        "params": {"consistencyLevel": "Strong", "shardsNum": 2},
    })
    d = rest.ok("collections/describe", {"collectionName": name})
    fields = {f["name"]: f for f in d["fields"]}
    assert list(fields) == [f["fieldName"] for f in ALL_TYPES_FIELDS]
    assert fields["arr"]["elementType"] == "Int64" and fields["sarr"]["elementType"] == "VarChar"
    assert fields["i16"]["nullable"] is True and fields["b"]["nullable"] is False
    assert fields["i8"]["defaultValue"] == 3 and fields["s"]["defaultValue"] == "dflt"
    assert fields["i64"]["defaultValue"] == -42
    assert d["consistencyLevel"] == "Strong" and d["shardsNum"] == 2 and d["load"] == "LoadStateLoaded"
    assert {i["indexName"] for i in d["indexes"]} == {"fvec", "bvec", "f16", "bf_idx"}
    grpc_types = {f["name"]: f["type"] for f in module_client.describe_collection(name)["fields"]}
    assert grpc_types["bvec"] == DataType.BINARY_VECTOR and grpc_types["sarr"] == DataType.ARRAY

    rows = [
        {"pk": 1, "fvec": [0.1, 0.2, 0.3, 0.4], "bvec": [1, 255], "f16": [0.5, -2.0], "bf16": [1.5, 3.0],
         "b": True, "i8": -7, "i16": 300, "i32": 70000, "i64": 2 ** 40, "f": 1.25, "d": 3.5, "s": "hello",
         "j": {"a": [1, 2], "b": "x"}, "arr": [1, 2, 3], "sarr": ["a", "bc"], "color": "red", "extra": {"k": 1}},
        {"pk": 2, "fvec": [1, 1, 1, 1], "bvec": [0, 0], "f16": [1, 1], "bf16": [2, 2], "b": False,
         "i16": None, "i32": -1, "f": -0.5, "d": 1e300, "j": None, "arr": [], "sarr": []},
    ]
    out = rest.ok("entities/insert", {"collectionName": name, "data": rows})
    assert out == {"insertCount": 2, "insertIds": [1, 2]}
    got = rest.ok("entities/query", {"collectionName": name, "filter": "pk in [1, 2]"})
    by_pk = {r["pk"]: r for r in got}
    r1, r2 = by_pk[1], by_pk[2]
    assert r1["fvec"] == [0.1, 0.2, 0.3, 0.4]
    assert r1["bvec"] == [1, 255]
    assert r1["f16"] == [0.5, -2.0] and r1["bf16"] == [1.5, 3.0]
    assert r1["b"] is True and r1["i8"] == -7 and r1["i16"] == 300 and r1["i32"] == 70000
    assert r1["i64"] == 2 ** 40 and r1["f"] == 1.25 and r1["d"] == 3.5 and r1["s"] == "hello"
    assert r1["j"] == {"a": [1, 2], "b": "x"}
    assert r1["arr"] == [1, 2, 3] and r1["sarr"] == ["a", "bc"]
    assert r1["color"] == "red" and r1["extra"] == {"k": 1}  # dynamic keys flattened back
    assert r2["i8"] == 3 and r2["i64"] == -42 and r2["s"] == "dflt"  # defaults filled
    assert r2["i16"] is None and r2["j"] is None  # nulls stay null
    assert r2["d"] == 1e300 and r2["arr"] == [] and "color" not in r2

    # The same rows through gRPC.
    g = {r["pk"]: r for r in module_client.query(name, filter="pk in [1, 2]", output_fields=["*"])}
    assert g[1]["s"] == "hello" and g[1]["arr"] == [1, 2, 3] and g[1]["color"] == "red"
    assert np.allclose(g[1]["fvec"], [0.1, 0.2, 0.3, 0.4])
    assert g[2]["i8"] == 3 and g[2]["i16"] is None

    # Selected dynamic keys only; Int64 as strings on request.
    sel = rest.ok("entities/get", {"collectionName": name, "id": [1], "outputFields": ["i64", "color"]},
                  headers={"Accept-Type-Allow-Int64": "false"})
    assert sel == [{"pk": "1", "i64": str(2 ** 40), "color": "red"}]
    rest.ok("collections/drop", {"collectionName": name})


def test_sparse_int8_and_binary_search(rest):
    name = unique("sparse")
    rest.ok("collections/create", {
        "collectionName": name,
        "schema": {"fields": [
            {"fieldName": "id", "dataType": "VarChar", "isPrimary": True, "elementTypeParams": {"max_length": 8}},
            {"fieldName": "sp", "dataType": "SparseFloatVector"},
            {"fieldName": "bv", "dataType": "BinaryVector", "elementTypeParams": {"dim": 8}},
        ]},
        "indexParams": [{"fieldName": "sp", "metricType": "IP", "indexType": "SPARSE_INVERTED_INDEX"},
                        {"fieldName": "bv", "metricType": "HAMMING", "indexType": "BIN_FLAT"}],
    })
    rest.ok("entities/insert", {"collectionName": name, "data": [
        {"id": "a", "sp": {"1": 0.5, "7": 2.0}, "bv": [0b00001111]},
        {"id": "b", "sp": {"indices": [2, 7], "values": [1.0, 1.0]}, "bv": [0b11111111]},
    ]})
    got = rest.ok("entities/get", {"collectionName": name, "id": ["a", "b"], "outputFields": ["sp", "bv"]})
    by = {r["id"]: r for r in got}
    assert by["a"]["sp"] == {"1": 0.5, "7": 2.0} and by["b"]["sp"] == {"2": 1.0, "7": 1.0}
    assert by["a"]["bv"] == [15]
    hits = rest.ok("entities/search", {"collectionName": name, "annsField": "sp", "data": [{"7": 1.0}],
                                       "limit": 2})
    assert [h["id"] for h in hits] == ["a", "b"] and hits[0]["distance"] == 2.0
    hits = rest.ok("entities/search", {"collectionName": name, "annsField": "bv", "data": [[255]], "limit": 2})
    assert [h["id"] for h in hits] == ["b", "a"] and [h["distance"] for h in hits] == [0, 4]
    # Two vector fields and no annsField: Milvus refuses (1801).
    msg = rest.err("entities/search", {"collectionName": name, "data": [[1]]}, BAD_JSON)
    assert "annsField" in msg
    rest.err("entities/search", {"collectionName": name, "annsField": "nope", "data": [[1]]}, BAD_JSON)
    rest.err("entities/search", {"collectionName": name, "annsField": "sp", "data": [{"x": 1}]}, BAD_JSON)
    rest.ok("collections/drop", {"collectionName": name})


# --------------------------------------------------------------------------- partitions
def test_partitions(rest, module_client):
    name = unique("parts")
    l2_collection(rest, name)
    rest.ok("partitions/create", {"collectionName": name, "partitionName": "p1"})
    assert rest.ok("partitions/has", {"collectionName": name, "partitionName": "p1"}) == {"has": True}
    assert rest.ok("partitions/has", {"collectionName": name, "partitionName": "p2"}) == {"has": False}
    assert rest.ok("partitions/list", {"collectionName": name}) == ["_default", "p1"]
    assert module_client.list_partitions(name) == ["_default", "p1"]
    rest.ok("entities/insert", {"collectionName": name, "partitionName": "p1", "data": rows_l2(3)})
    rest.ok("entities/insert", {"collectionName": name, "data": rows_l2(2, start=10)})
    assert rest.ok("partitions/get_stats", {"collectionName": name, "partitionName": "p1"}) == {"rowCount": 3}
    assert rest.ok("collections/get_stats", {"collectionName": name}) == {"rowCount": 5}
    q = rest.ok("entities/query", {"collectionName": name, "filter": "id >= 0", "partitionNames": ["p1"],
                                   "outputFields": ["id"]})
    assert sorted(r["id"] for r in q) == [0, 1, 2]
    hits = rest.ok("entities/search", {"collectionName": name, "data": [[0, 0, 0, 0]], "limit": 10,
                                       "partitionNames": ["_default"]})
    assert sorted(h["id"] for h in hits) == [10, 11]
    rest.ok("collections/release", {"collectionName": name})
    rest.ok("partitions/load", {"collectionName": name, "partitionNames": ["p1"]})
    st = rest.ok("collections/get_load_state", {"collectionName": name, "partitionNames": ["p1"]})
    assert st["loadState"] == "LoadStateLoaded"
    rest.ok("partitions/release", {"collectionName": name, "partitionNames": ["p1"]})
    rest.err("partitions/load", {"collectionName": name, "partitionNames": []}, PARAMETER_INVALID)
    rest.err("partitions/load", {"collectionName": name}, MISSING_PARAMS)
    rest.err("partitions/load", {"collectionName": name, "partitionNames": ["nope"]}, PARTITION_NOT_FOUND)
    rest.ok("partitions/drop", {"collectionName": name, "partitionName": "p1"})
    assert rest.ok("partitions/list", {"collectionName": name}) == ["_default"]
    rest.err("partitions/create", {"collectionName": name}, MISSING_PARAMS)
    rest.ok("collections/drop", {"collectionName": name})


# ------------------------------------------------------------------------------ aliases
def test_aliases(rest, module_client):
    a, b, alias = unique("ca"), unique("cb"), unique("al")
    quick(rest, a)
    quick(rest, b)
    rest.ok("aliases/create", {"collectionName": a, "aliasName": alias})
    assert rest.ok("aliases/describe", {"aliasName": alias}) == {"dbName": "default", "collectionName": a,
                                                                  "aliasName": alias}
    assert alias in rest.ok("aliases/list", {"collectionName": a})
    assert alias in rest.ok("aliases/list")
    assert rest.ok("collections/describe", {"collectionName": a})["aliases"] == [alias]
    # An alias works wherever a collection name does.
    assert rest.ok("collections/describe", {"collectionName": alias})["collectionName"] == a
    assert module_client.describe_alias(alias)["collection_name"] == a
    rest.ok("aliases/alter", {"collectionName": b, "aliasName": alias})
    assert rest.ok("aliases/describe", {"aliasName": alias})["collectionName"] == b
    rest.ok("aliases/drop", {"aliasName": alias})
    rest.err("aliases/describe", {"aliasName": alias}, ALIAS_NOT_FOUND)
    rest.err("aliases/create", {"collectionName": a}, MISSING_PARAMS)
    for c in (a, b):
        rest.ok("collections/drop", {"collectionName": c})


# ------------------------------------------------------------------------------ indexes
def test_indexes(rest, module_client):
    name = unique("idx")
    rest.ok("collections/create", {"collectionName": name, "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}},
        {"fieldName": "age", "dataType": "Int32"},
    ]}})
    # No indexParams: created, not indexed, not loaded.
    assert rest.ok("indexes/list", {"collectionName": name}) == []
    assert rest.ok("collections/get_load_state", {"collectionName": name})["loadState"] == "LoadStateNotLoad"
    rest.err("collections/load", {"collectionName": name}, INDEX_NOT_FOUND)
    rest.ok("indexes/create", {"collectionName": name, "indexParams": [
        {"fieldName": "v", "indexName": "v_idx", "metricType": "IP", "indexType": "HNSW",
         "params": {"M": 16, "efConstruction": 64}},
        {"fieldName": "age", "indexName": "age_idx", "indexType": "STL_SORT"},
    ]})
    assert sorted(rest.ok("indexes/list", {"collectionName": name})) == ["age_idx", "v_idx"]
    d = rest.ok("indexes/describe", {"collectionName": name, "indexName": "v_idx"})
    assert len(d) == 1
    assert d[0]["indexName"] == "v_idx" and d[0]["fieldName"] == "v" and d[0]["indexType"] == "HNSW"
    assert d[0]["metricType"] == "IP" and d[0]["indexState"] == "Finished"
    assert {"totalRows", "indexedRows", "pendingRows", "failReason"} <= set(d[0])
    # pymilvus sees the REST index (flattened params).
    info = module_client.describe_index(name, "v_idx")
    assert info["index_type"] == "HNSW" and str(info["M"]) == "16"
    rest.ok("indexes/alter_properties", {"collectionName": name, "indexName": "v_idx",
                                         "properties": {"mmap.enabled": True}})
    rest.ok("indexes/drop_properties", {"collectionName": name, "indexName": "v_idx",
                                        "propertyKeys": ["mmap.enabled"]})
    rest.err("indexes/describe", {"collectionName": name, "indexName": "nope"}, INDEX_NOT_FOUND)
    rest.err("indexes/create", {"collectionName": name, "indexParams": [{"indexName": "x"}]}, MISSING_PARAMS)
    rest.err("indexes/create", {"collectionName": name}, MISSING_PARAMS)
    rest.ok("collections/load", {"collectionName": name})
    rest.ok("collections/release", {"collectionName": name})
    rest.ok("indexes/drop", {"collectionName": name, "indexName": "age_idx"})
    assert rest.ok("indexes/list", {"collectionName": name}) == ["v_idx"]
    rest.ok("collections/drop", {"collectionName": name})


def test_create_with_index_params_for_unknown_field(rest):
    name = unique("badidx")
    msg = rest.err("collections/create", {
        "collectionName": name,
        "schema": {"fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                              {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}]},
        "indexParams": [{"fieldName": "w", "metricType": "L2"}]}, MISSING_PARAMS)
    assert "`w`" in msg
    assert rest.ok("collections/has", {"collectionName": name})["has"] is False  # nothing written
    rest.err("collections/create", {"collectionName": name, "schema": {"fields": [
        {"fieldName": "id", "dataType": "int64", "isPrimary": True}]}}, PARAMETER_INVALID)
    rest.err("collections/create", {"collectionName": name, "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "a", "dataType": "Array", "elementDataType": "Nope"}]}}, PARAMETER_INVALID)
    rest.err("collections/create", {"collectionName": name, "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "x", "dataType": "Int32", "defaultValue": "seven"}]}}, PARAMETER_INVALID)
    rest.err("collections/create", {"collectionName": name, "schema": {"fields": [
        {"dataType": "Int64", "isPrimary": True}]}}, MISSING_PARAMS)


# ----------------------------------------------------------------------------- entities
def test_insert_upsert_get_delete(rest, module_client):
    name = unique("dml")
    l2_collection(rest, name)
    out = rest.ok("entities/insert", {"collectionName": name, "data": rows_l2(5)})
    assert out == {"insertCount": 5, "insertIds": [0, 1, 2, 3, 4]}
    out = rest.ok("entities/insert", {"collectionName": name, "data": rows_l2(1, start=9)},
                  headers={"Accept-Type-Allow-Int64": "false"})
    assert out == {"insertCount": 1, "insertIds": ["9"]}
    got = rest.ok("entities/get", {"collectionName": name, "id": 2})
    assert got == [{"id": 2, "vector": [2.0] * 4, "tag": "t2", "n": 2}]
    got = rest.ok("entities/get", {"collectionName": name, "id": ["3", 4], "outputFields": ["tag"]})
    assert sorted(got, key=lambda r: r["id"]) == [{"id": 3, "tag": "t0"}, {"id": 4, "tag": "t1"}]
    out = rest.ok("entities/upsert", {"collectionName": name,
                                      "data": [{"id": 2, "vector": [7] * 4, "tag": "new", "mood": "ok"}]})
    assert out == {"upsertCount": 1, "upsertIds": [2]}
    got = rest.ok("entities/get", {"collectionName": name, "id": [2]})
    assert got == [{"id": 2, "vector": [7.0] * 4, "tag": "new", "n": None, "mood": "ok"}]
    out = rest.ok("entities/delete", {"collectionName": name, "filter": "id in [0, 1]"})
    assert out["deleteCount"] == 2
    out = rest.ok("entities/delete", {"collectionName": name, "id": [3]})
    assert out["deleteCount"] == 1
    rest.ok("entities/delete", {"collectionName": name, "filter": "tag == {t}", "exprParams": {"t": "t0"}})
    left = rest.ok("entities/query", {"collectionName": name, "filter": "", "outputFields": ["id"]})
    assert sorted(r["id"] for r in left) == [2, 4]  # 9 has tag t0
    assert rest.ok("entities/get", {"collectionName": name, "id": [0, 1, 3]}) == []
    rest.err("entities/delete", {"collectionName": name}, MISSING_PARAMS)
    rest.err("entities/get", {"collectionName": name}, MISSING_PARAMS)
    rest.err("entities/get", {"collectionName": name, "id": ["x"]}, BAD_PRIMARY_KEY)
    rest.err("entities/get", {"collectionName": name, "id": [1.5]}, BAD_PRIMARY_KEY)
    rest.ok("collections/drop", {"collectionName": name})


def test_insert_validation(rest):
    name = unique("badrows")
    l2_collection(rest, name, dynamic=False)
    base = {"id": 1, "vector": [0, 0, 0, 0], "tag": "x"}
    cases = [
        ({**base, "vector": [0, 0, 0]}, "dimension"),              # wrong dim
        ({**base, "vector": "abc"}, "vector"),                     # wrong type
        ({**base, "id": "one"}, "id"),                             # Int64 given as text
        ({**base, "id": 2 ** 63}, "id"),                           # out of Int64 range
        ({k: v for k, v in base.items() if k != "tag"}, "tag"),    # missing required field
        ({**base, "tag": 5}, "tag"),                               # VarChar given a number
        ({**base, "undeclared": 1}, "undeclared"),                 # no dynamic field
        ({**base, "vector": [0, 0, 0, float("nan")]}, None),       # not even JSON for requests: NaN
    ]
    for row, needle in cases:
        if needle is None:
            body = json.dumps({"collectionName": name, "data": [row]})  # Python writes NaN
            rest.err("entities/insert", None, BAD_JSON, data=body,
                     headers={"Content-Type": "application/json"})
            continue
        msg = rest.err("entities/insert", {"collectionName": name, "data": [row]}, INVALID_INSERT_DATA)
        assert needle in msg and "row 0" in msg, msg
    rest.err("entities/insert", {"collectionName": name, "data": [base, 5]}, INVALID_INSERT_DATA)
    rest.err("entities/insert", {"collectionName": name, "data": {"id": 1}}, BAD_JSON)
    rest.err("entities/insert", {"collectionName": name}, MISSING_PARAMS)
    rest.err("entities/insert", {"collectionName": unique("missing"), "data": [base]}, COLLECTION_NOT_FOUND)
    # VarChar too long is the proxy's check (Milvus: invalid parameter).
    rest.err("entities/insert", {"collectionName": name, "data": [{**base, "tag": "x" * 40}]},
             (PARAMETER_INVALID, INVALID_INSERT_DATA))
    assert rest.ok("collections/get_stats", {"collectionName": name}) == {"rowCount": 0}
    rest.ok("collections/drop", {"collectionName": name})


def test_query(rest):
    name = unique("query")
    l2_collection(rest, name)
    rest.ok("entities/insert", {"collectionName": name,
                                "data": [dict(r, color=("red" if r["id"] % 2 else "blue")) for r in rows_l2(150)]})
    # Defaults: every field (dynamic keys flattened), limit 100.
    rows = rest.ok("entities/query", {"collectionName": name, "filter": "id >= 0"})
    assert len(rows) == 100 and set(rows[0]) == {"id", "vector", "tag", "n", "color"}
    rows = rest.ok("entities/query", {"collectionName": name, "filter": "id < 20", "limit": 5, "offset": 3,
                                      "outputFields": ["id", "color"]})
    assert [r["id"] for r in rows] == [3, 4, 5, 6, 7] and rows[0] == {"id": 3, "color": "red"}
    rows = rest.ok("entities/query", {"collectionName": name, "filter": "id in {ids} and tag == {t}",
                                      "exprParams": {"ids": [1, 2, 3, 4], "t": "t1"}, "outputFields": ["id"]})
    assert [r["id"] for r in rows] == [1, 4]
    rows = rest.ok("entities/query", {"collectionName": name, "filter": "color == \"red\"",
                                      "outputFields": ["count(*)"]})
    assert rows == [{"count(*)": 75}]
    rows = rest.ok("entities/query", {"collectionName": name, "filter": "", "outputFields": ["count(*)"]},
                   headers={"Accept-Type-Allow-Int64": "false"})
    assert rows == [{"count(*)": "150"}]
    rows = rest.ok("entities/query", {"collectionName": name, "filter": "id == 7", "consistencyLevel": "Strong",
                                      "outputFields": ["n"]}, headers={"Accept-Type-Allow-Int64": "false"})
    assert rows == [{"id": "7", "n": "7"}]
    rest.err("entities/query", {"collectionName": name, "filter": "id >>> 3"}, PARAMETER_INVALID)
    rest.err("entities/query", {"collectionName": name, "filter": "id > 1", "consistencyLevel": "Whenever"},
             PARAMETER_INVALID)
    rest.err("entities/query", {"collectionName": name, "filter": "id > 1", "limit": "ten"}, BAD_JSON)
    rest.ok("collections/release", {"collectionName": name})
    rest.err("entities/query", {"collectionName": name, "filter": "id > 1"}, COLLECTION_NOT_LOADED)
    rest.ok("collections/drop", {"collectionName": name})


def test_search(rest):
    name = unique("search")
    l2_collection(rest, name, dim=2)
    data = [{"id": i, "vector": [float(i), 0.0], "tag": f"g{i % 3}", "n": i, "color": "c%d" % (i % 2)}
            for i in range(20)]
    rest.ok("entities/insert", {"collectionName": name, "data": data})
    j = rest.call("entities/search", {"collectionName": name, "data": [[0, 0], [10, 0]], "limit": 3,
                                      "outputFields": ["tag", "color"]})
    assert j["code"] == 0 and j["topks"] == [3, 3]
    hits = j["data"]
    assert [h["id"] for h in hits] == [0, 1, 2, 10, 9, 11] or [h["id"] for h in hits] == [0, 1, 2, 10, 11, 9]
    assert hits[0] == {"id": 0, "tag": "g0", "color": "c0", "distance": 0}
    assert [h["distance"] for h in hits[:3]] == [0, 1, 4]
    # Default limit (100) returns everything here; offset pages.
    assert len(rest.ok("entities/search", {"collectionName": name, "data": [[0, 0]]})) == 20
    hits = rest.ok("entities/search", {"collectionName": name, "data": [[0, 0]], "limit": 2, "offset": 2})
    assert [h["id"] for h in hits] == [2, 3] and set(hits[0]) == {"id", "distance"}
    # Filter, template values, range search.
    hits = rest.ok("entities/search", {"collectionName": name, "data": [[0, 0]], "limit": 5,
                                       "filter": "tag == {t}", "exprParams": {"t": "g1"}})
    assert [h["id"] for h in hits] == [1, 4, 7, 10, 13]
    hits = rest.ok("entities/search", {"collectionName": name, "data": [[0, 0]], "limit": 10,
                                       "searchParams": {"metricType": "L2",
                                                        "params": {"radius": 10, "range_filter": 1}}})
    assert [h["id"] for h in hits] == [1, 2, 3]  # 1 <= d < 10, d = squared L2 = i^2
    # Grouping: the best hit per group.
    hits = rest.ok("entities/search", {"collectionName": name, "data": [[0, 0]], "limit": 3,
                                       "groupingField": "tag", "groupSize": 1, "outputFields": ["tag"]})
    assert [h["tag"] for h in hits] == ["g0", "g1", "g2"]
    hits = rest.ok("entities/search", {"collectionName": name, "data": [[0, 0]], "limit": 1},
                   headers={"Accept-Type-Allow-Int64": "false"})
    assert hits == [{"id": "0", "distance": 0}]
    rest.err("entities/search", {"collectionName": name, "data": [[0, 0]],
                                 "searchParams": {"metricType": "IP"}}, PARAMETER_INVALID)
    rest.err("entities/search", {"collectionName": name, "data": [[0, 0, 0]]}, BAD_JSON)
    rest.err("entities/search", {"collectionName": name}, MISSING_PARAMS)
    # Search by primary key (2.6.x): the stored vector of row 1 is the query.
    hits = rest.ok("entities/search", {"collectionName": name, "ids": [1], "limit": 2})
    assert hits[0]["id"] == 1 and hits[0]["distance"] == 0
    rest.err("entities/search", {"collectionName": name, "data": [[0, 0]], "limit": 0}, PARAMETER_INVALID)
    rest.ok("collections/drop", {"collectionName": name})


# ----------------------------------------------------------------------- error envelopes
def test_error_envelopes(rest):
    # Bad JSON, an empty body, a body that is not an object.
    assert "json" in rest.err("collections/list", None, BAD_JSON, data="{not json",
                              headers={"Content-Type": "application/json"})
    rest.err("collections/list", None, BAD_JSON, data="")
    rest.err("collections/has", None, BAD_JSON, data="[1, 2]")
    rest.err("collections/has", None, BAD_JSON, data='{"collectionName": "a"} trailing')
    # Missing and wrongly typed parameters.
    msg = rest.err("collections/describe", {}, MISSING_PARAMS)
    assert "collectionName" in msg
    rest.err("collections/describe", {"collectionName": ""}, MISSING_PARAMS)
    msg = rest.err("collections/describe", {"collectionName": 123}, BAD_JSON)
    assert "collectionName" in msg
    rest.err("collections/list", {"dbName": ["default"]}, BAD_JSON)
    rest.err("entities/query", {"collectionName": "x", "outputFields": "id"}, BAD_JSON)
    rest.err("collections/get_load_state", {"collectionName": "x", "partitionNames": [1]}, BAD_JSON)
    # Unknown endpoints and methods: an envelope, HTTP 200.
    rest.err("collections/frobnicate", {}, PARAMETER_INVALID)
    r = rest.session.post(f"http://{rest.host}:{rest.port}/no/such/path", json={}, timeout=10)
    assert r.status_code == 200 and r.json()["code"] == PARAMETER_INVALID
    r = rest.raw("collections/list", method="GET")
    assert r.status_code == 200 and r.json()["code"] == PARAMETER_INVALID
    # Milvus endpoints Kite does not implement yet.
    for path in ("quotacenter/describe", "file_resources/list"):
        assert "not implemented" in rest.err(path, {}, UNIMPLEMENTED)
    # Kite errors keep their Milvus codes.
    rest.err("collections/describe", {"collectionName": unique("none")}, COLLECTION_NOT_FOUND)
    rest.err("collections/create", {"collectionName": "bad name!", "dimension": 2}, PARAMETER_INVALID)
    # Authorization is accepted (and not needed while authorization is off, the default).
    assert isinstance(rest.ok("collections/list", {}, headers={"Authorization": "Bearer root:Milvus"}), list)
    assert isinstance(rest.ok("collections/list", {}, headers={"Request-Timeout": "5"}), list)


def test_oversized_body(rest, module_server):
    limit = 64 << 20
    body = b'{"collectionName": "' + b"x" * (limit + 16) + b'"}'
    with requests.Session() as s:
        r = s.post(rest.base + "entities/insert", data=body, headers={"Content-Type": "application/json"},
                   timeout=120)
        assert r.status_code == 200 and r.json()["code"] == PARAMETER_TOO_LARGE, r.text[:300]
    # With Expect: 100-continue the server answers before the body is sent.
    with socket.create_connection((rest.host, rest.port), timeout=30) as sock:
        sock.sendall(b"POST /v2/vectordb/entities/insert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (limit + 1))
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["code"] == PARAMETER_TOO_LARGE
    # The server is fine afterwards.
    assert isinstance(rest.ok("collections/list"), list)
    module_server.client().get_server_version()


# ---------------------------------------------------------------------- HTTP transport
def read_response(sock: socket.socket, buf: bytearray | None = None):
    """Reads one HTTP response (Content-Length framed); returns (head, body)."""
    buf = buf if buf is not None else bytearray()
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {bytes(buf)!r}"
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    buf[:] = rest[length:]
    return head, rest[:length]


def test_keep_alive_pipelining_chunked_and_http10(rest):
    with socket.create_connection((rest.host, rest.port), timeout=30) as sock:
        req = (b"POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2\r\n\r\n{}")
        sock.sendall(req * 3)  # pipelined on one connection
        buf = bytearray()
        for _ in range(3):
            head, body = read_response(sock, buf)
            assert head.startswith(b"HTTP/1.1 200 OK") and json.loads(body)["code"] == 0
        # Chunked request body.
        payload = b'{"collectionName": "nope_%s"}' % unique("c").encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (payload[:5], payload[5:])) + b"0\r\n\r\n"
        sock.sendall(b"POST /v2/vectordb/collections/has HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n"
                     + chunks)
        head, body = read_response(sock, buf)
        assert json.loads(body) == {"code": 0, "data": {"has": False}}
        # Connection: close is honoured.
        sock.sendall(b"POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        head, body = read_response(sock, buf)
        assert b"connection: close" in head.lower()
        assert sock.recv(10) == b""
    # HTTP/1.0 closes after one answer.
    with socket.create_connection((rest.host, rest.port), timeout=30) as sock:
        sock.sendall(b"POST /v2/vectordb/collections/list HTTP/1.0\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 2\r\n\r\n{}")
        head, body = read_response(sock)
        assert json.loads(body)["code"] == 0
        assert sock.recv(10) == b""
    # A malformed request line gets a plain 400.
    with socket.create_connection((rest.host, rest.port), timeout=30) as sock:
        sock.sendall(b"garbage\r\n\r\n")
        head, _ = read_response(sock)
        assert head.startswith(b"HTTP/1.1 400")


def test_port_survives_junk_connections(rest, module_server):
    # Connect and say nothing; send a partial HTTP/2 preface; send binary junk; send nothing at all.
    socks = []
    for payload in (b"", b"PRI * HTT", b"\x00\x01\x02\xff" * 8):
        s = socket.create_connection((rest.host, rest.port), timeout=10)
        if payload:
            s.sendall(payload)
        socks.append(s)
    for s in socks:
        s.close()
    time.sleep(0.2)
    assert isinstance(rest.ok("collections/list"), list)
    c = module_server.client()
    assert isinstance(c.get_server_version(), str)
    c.close()


# ------------------------------------------------------------------------- interplay
def test_rest_and_grpc_share_the_port(rest, module_server, module_client):
    # Created over REST -> visible and writable over gRPC.
    a = unique("r2g")
    l2_collection(rest, a)
    assert module_client.has_collection(a)
    desc = module_client.describe_collection(a)
    assert [f["name"] for f in desc["fields"]] == ["id", "vector", "tag", "n"]
    rest.ok("entities/insert", {"collectionName": a, "data": rows_l2(4)})
    got = module_client.query(a, filter="id in [0, 1, 2, 3]", output_fields=["tag", "n"],
                              consistency_level="Strong")
    assert sorted((r["id"], r["tag"], r["n"]) for r in got) == [(0, "t0", 0), (1, "t1", 1), (2, "t2", 2),
                                                               (3, "t0", 3)]
    res = module_client.search(a, data=[[1.0, 1.0, 1.0, 1.0]], limit=1, anns_field="vector")
    assert res[0][0]["id"] == 1

    # Created over gRPC -> visible and writable over REST.
    b = unique("g2r")
    module_client.create_collection(b, dimension=3, metric_type="L2", consistency_level="Strong")
    assert rest.ok("collections/has", {"collectionName": b})["has"] is True
    d = rest.ok("collections/describe", {"collectionName": b})
    assert d["load"] == "LoadStateLoaded" and d["indexes"][0]["metricType"] == "L2"
    module_client.insert(b, [{"id": 1, "vector": [1, 2, 3], "extra": "yes"}])
    assert rest.ok("entities/get", {"collectionName": b, "id": 1}) == [{"id": 1, "vector": [1.0, 2.0, 3.0],
                                                                         "extra": "yes"}]
    rest.ok("entities/insert", {"collectionName": b, "data": [{"id": 2, "vector": [0, 0, 1]}]})
    assert {r["id"] for r in module_client.query(b, filter="id > 0")} == {1, 2}

    # Both protocols at once on fresh connections to the same port.
    c = MilvusClient(module_server.uri)
    try:
        for _ in range(5):
            assert c.get_server_version()
            assert b in rest.ok("collections/list")
    finally:
        c.close()
    for name in (a, b):
        rest.ok("collections/drop", {"collectionName": name})
    assert not module_client.has_collection(a)


def test_concurrent_rest_and_grpc(rest, module_server):
    import threading

    name = unique("conc")
    l2_collection(rest, name, dim=2)
    errors = []

    def rest_worker(k: int):
        try:
            with requests.Session() as s:
                for i in range(25):
                    pk = k * 1000 + i
                    r = s.post(rest.base + "entities/insert", timeout=30, json={
                        "collectionName": name,
                        "data": [{"id": pk, "vector": [float(i), 1.0], "tag": "w", "n": k}]}).json()
                    assert r["code"] == 0, r
                    r = s.post(rest.base + "entities/get", timeout=30,
                               json={"collectionName": name, "id": pk, "outputFields": ["n"]}).json()
                    assert r["code"] == 0 and r["data"] == [{"id": pk, "n": k}], r
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def grpc_worker():
        try:
            c = module_server.client()
            for _ in range(100):
                assert c.get_server_version()
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=rest_worker, args=(k,)) for k in range(6)]
    threads += [threading.Thread(target=grpc_worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    count = rest.ok("entities/query", {"collectionName": name, "filter": "", "outputFields": ["count(*)"],
                                       "consistencyLevel": "Strong"})
    assert count == [{"count(*)": 150}]
    rest.ok("collections/drop", {"collectionName": name})


def test_shutdown_with_open_http_connections(server):
    """SIGTERM while HTTP/1.1 connections idle, half-sent and unclassified must still exit promptly."""
    idle = socket.create_connection((server.host, server.port), timeout=10)
    idle.sendall(b"POST /v2/vectordb/collections/list HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    read_response(idle)  # keep-alive: the server now waits for the next request
    half = socket.create_connection((server.host, server.port), timeout=10)
    half.sendall(b"POST /v2/vectordb/collections/list HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
    silent = socket.create_connection((server.host, server.port), timeout=10)
    time.sleep(0.2)
    t0 = time.monotonic()
    assert server.stop(timeout=10) == 0
    assert time.monotonic() - t0 < 8
    for s in (idle, half, silent):
        s.close()


# ---------------------------------------------------------------------- index builds, compaction

def test_index_progress_and_compaction_over_rest(rest):
    name = unique("rest_cmp")
    l2_collection(rest, name)
    for part in range(3):  # three flushes: three small sealed segments
        rest.ok("entities/insert", {"collectionName": name, "data": rows_l2(50, start=part * 50)})
        rest.ok("collections/flush", {"collectionName": name})
    deadline = time.time() + 30
    while True:
        (desc,) = rest.ok("indexes/describe", {"collectionName": name, "indexName": "vidx"})
        if desc["indexState"] == "Finished" and desc["indexedRows"] == 150 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert desc["indexState"] == "Finished" and desc["totalRows"] == 150 and desc["pendingRows"] == 0, desc
    rest.ok("entities/delete", {"collectionName": name, "filter": "id < 60"})
    rest.ok("collections/flush", {"collectionName": name})
    job = rest.ok("collections/compact", {"collectionName": name})["compactionID"]
    deadline = time.time() + 30
    while True:
        state = rest.ok("collections/get_compaction_state", {"jobID": str(job)})
        if state["state"] == "Completed" or time.time() > deadline:
            break
        time.sleep(0.1)
    assert state["state"] == "Completed" and state["completePlanNumber"] >= 1, state
    got = rest.ok("entities/query", {"collectionName": name, "filter": "id >= 0", "outputFields": ["id"],
                                     "limit": 1000})
    assert sorted(r["id"] for r in got) == list(range(60, 150))
    (desc,) = rest.ok("indexes/describe", {"collectionName": name, "indexName": "vidx"})
    assert desc["totalRows"] == 90, desc  # the merged segment holds only the surviving rows
    rest.err("collections/get_compaction_state", {"jobID": "x1"}, PARAMETER_INVALID)
    rest.err("collections/compact", {"collectionName": unique("nope")}, COLLECTION_NOT_FOUND)
