"""add_collection_field (Milvus 2.6 AddCollectionField) through pymilvus, issue 18.

A field added to a collection that already holds sealed and growing rows, while it is loaded:
the old rows read the field's default value (or null), new rows store what they are given,
filters and search output see both, across a flush and a restart. Refusals carry Milvus's
messages (internal/proxy/task.go addCollectionFieldTask / validateAddFieldRequest).
"""

from __future__ import annotations

from typing import Dict

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from e2e_util import unique

DIM = 4


def vec(pk: int):
    return [float(pk % 7), float(pk % 5), 1.0, float(pk % 3)]


def make_loaded(client: MilvusClient, dynamic: bool = False) -> str:
    name = unique("evolve")
    s = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("tag", DataType.VARCHAR, max_length=16)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    return name


def rows_by_id(client: MilvusClient, name: str, flt: str = "id >= 0", fields=("price", "note", "tag")) -> Dict[int, dict]:
    got = client.query(name, filter=flt, output_fields=list(fields), consistency_level="Strong")
    return {r["id"]: r for r in got}


def test_add_field_to_a_loaded_collection_old_rows_read_default_or_null(server):
    client = server.client()
    name = make_loaded(client)
    client.insert(name, [{"id": pk, "vec": vec(pk), "tag": f"t{pk}"} for pk in range(1, 11)])
    client.flush(name)                                                      # sealed rows 1..10
    client.insert(name, [{"id": pk, "vec": vec(pk), "tag": f"t{pk}"} for pk in range(11, 16)])  # growing
    before = client.describe_collection(name)

    client.add_collection_field(name, "price", DataType.INT64, nullable=True, default_value=7)
    client.add_collection_field(name, "note", DataType.VARCHAR, max_length=16, nullable=True)

    desc = client.describe_collection(name)
    fields = {f["name"]: f for f in desc["fields"]}
    assert fields["price"]["type"] == DataType.INT64 and fields["price"].get("nullable") is True
    assert fields["note"]["type"] == DataType.VARCHAR and fields["note"]["params"]["max_length"] == 16
    ids = [f["field_id"] for f in desc["fields"]]
    assert len(set(ids)) == len(ids) and fields["note"]["field_id"] > fields["price"]["field_id"]
    assert desc["update_timestamp"] > before["update_timestamp"]

    # new rows through the same client: its cached schema is stale, pymilvus refreshes it
    client.insert(name, [{"id": pk, "vec": vec(pk), "tag": f"t{pk}", "price": pk * 100, "note": f"n{pk}"}
                         for pk in range(16, 21)])
    client.insert(name, [{"id": 21, "vec": vec(21), "tag": "t21", "price": None, "note": None}])
    expected = {pk: {"price": 7, "note": None, "tag": f"t{pk}"} for pk in range(1, 16)}
    expected.update({pk: {"price": pk * 100, "note": f"n{pk}", "tag": f"t{pk}"} for pk in range(16, 21)})
    expected[21] = {"price": 7, "note": None, "tag": "t21"}   # a null in a defaulted field stores the default

    def check(c: MilvusClient) -> None:
        got = rows_by_id(c, name)
        assert sorted(got) == sorted(expected)
        for pk, want in expected.items():
            assert {k: got[pk][k] for k in want} == want, pk
        assert sorted(rows_by_id(c, name, "price == 7")) == [pk for pk, w in expected.items() if w["price"] == 7]
        assert sorted(rows_by_id(c, name, "note is null")) == [pk for pk, w in expected.items() if w["note"] is None]
        assert sorted(rows_by_id(c, name, "price > 1700")) == [18, 19, 20]
        hits = c.search(name, [vec(3)], anns_field="vec", limit=len(expected), output_fields=["price", "note"],
                        consistency_level="Strong")[0]
        assert sorted(h["id"] for h in hits) == sorted(expected)
        for h in hits:
            assert h["entity"]["price"] == expected[h["id"]]["price"]
            assert h["entity"]["note"] == expected[h["id"]]["note"]

    check(client)
    client.flush(name)
    check(client)
    client.close()
    server.restart()
    client = server.client()
    check(client)
    # the restarted server still knows the field: new writes keep it
    client.insert(name, [{"id": 30, "vec": vec(30), "tag": "t30", "price": 1, "note": "late"}])
    expected[30] = {"price": 1, "note": "late", "tag": "t30"}
    check(client)
    client.close()


def test_add_field_to_a_released_collection_then_load(server):
    client = server.client()
    name = make_loaded(client)
    client.insert(name, [{"id": pk, "vec": vec(pk), "tag": "x"} for pk in range(5)])
    client.flush(name)
    client.release_collection(name)
    client.add_collection_field(name, "score", DataType.DOUBLE, nullable=True)
    client.load_collection(name)
    got = client.query(name, filter="id >= 0", output_fields=["score"], consistency_level="Strong")
    assert sorted(r["id"] for r in got) == list(range(5))
    assert all(r["score"] is None for r in got)
    client.close()


@pytest.mark.parametrize("kwargs, field, message", [
    ({"data_type": DataType.INT64}, "plain", "added field must be nullable, please check it, field name = plain"),
    ({"data_type": DataType.INT64, "nullable": True}, "tag", "duplicate field name: tag: invalid parameter"),
    ({"data_type": DataType.INT64, "nullable": True, "is_primary": True}, "pk2", "not support to add pk field, field name = pk2"),
    ({"data_type": DataType.INT64, "nullable": True, "is_partition_key": True}, "pkey",
     "not support to add partition key field, field name  = pkey"),
    ({"data_type": DataType.VARCHAR, "nullable": True}, "nolen", "max_length"),
])
def test_add_field_refusals(module_client, kwargs, field, message):
    name = make_loaded(module_client)
    dtype = kwargs.pop("data_type")
    with pytest.raises(MilvusException) as info:
        module_client.add_collection_field(name, field, dtype, **kwargs)
    # 1101 (parameter missing) where a create_collection of the same field answers it
    assert info.value.code == (1101 if field == "nolen" else 1100), info.value
    assert message in info.value.message
    assert [f["name"] for f in module_client.describe_collection(name)["fields"]] == ["id", "vec", "tag"]


def test_stale_client_schema_after_add_field_is_refreshed_not_misfiled(server):
    """A client that cached the schema before the field was added sends the new key as a dynamic
    key; the server refuses the write as a schema mismatch (code 109, legacy SchemaMismatch), the
    client refreshes and resends it, and the value lands in the new field, not in $meta."""
    client = server.client()
    name = make_loaded(client, dynamic=True)
    client.insert(name, [{"id": 1, "vec": vec(1), "tag": "a", "extra": 1}])    # caches the schema
    other = server.client()
    other.add_collection_field(name, "price", DataType.INT64, nullable=True)
    other.close()
    client.insert(name, [{"id": 2, "vec": vec(2), "tag": "b", "price": 42, "extra": 2}])
    got = rows_by_id(client, name, fields=("price", "extra", "$meta"))
    assert got[2]["price"] == 42 and got[2]["extra"] == 2
    assert got[1]["price"] is None and got[1]["extra"] == 1
    assert sorted(rows_by_id(client, name, "price == 42")) == [2]
    assert rows_by_id(client, name, "$meta['price'] == 42") == {}

    # the raw answer to a stale write
    from pymilvus.client.prepare import Prepare
    from pymilvus.grpc_gen import common_pb2
    handler = client._get_connection()
    schema, ts = handler._get_schema(name)
    req = Prepare.row_insert_param(name, [{"id": 3, "vec": vec(3), "tag": "c"}], "", schema["fields"],
                                   schema.get("struct_array_fields", []), schema_timestamp=ts - 1,
                                   enable_dynamic=True)
    status = handler._stub.Insert(req, timeout=10).status
    assert (status.code, status.error_code) == (109, common_pb2.SchemaMismatch)
    assert status.reason == f"collection schema mismatch[collection={name}]"
    client.close()
