"""alter_collection_field and upsert(partial_update=True) (Milvus 2.6, issue 18).

alter_collection_field: `max_length` of a VARCHAR field, `max_capacity` of an ARRAY field,
`mmap.enabled` (released collections only), with Milvus's refusals
(internal/proxy/task.go alterCollectionFieldTask); describe_collection shows the new values
and the longer max_length is what new inserts are held to, across a restart.

Partial update: only the fields given change, the others keep their stored values (sealed
and growing rows, across a restart); keys not stored yet are inserted; the dynamic field's
keys are merged; the request must carry the primary key.
"""

from __future__ import annotations

from typing import Dict, List

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from e2e_util import unique

DIM = 4


def vec(pk: int, shift: float = 0.0) -> List[float]:
    return [float(pk % 7) + shift, float(pk % 5), 1.0, float(pk % 3)]


def expect_error(fn, code: int, text: str) -> None:
    with pytest.raises(MilvusException) as e:
        fn()
    assert text in e.value.message, e.value.message
    assert e.value.code == code, (e.value.code, e.value.message)


def make(client: MilvusClient, dynamic: bool = False) -> str:
    name = unique("alterf")
    s = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=8)
    s.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=2)
    s.add_field("score", DataType.DOUBLE)
    s.add_field("note", DataType.VARCHAR, max_length=32, nullable=True)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    return name


def field_params(client: MilvusClient, name: str, field: str) -> dict:
    return next(f for f in client.describe_collection(name)["fields"] if f["name"] == field).get("params", {})


def test_alter_collection_field_max_length_and_capacity(server):
    client = server.client()
    name = make(client)
    long_title = "x" * 20
    row = {"id": 1, "vec": vec(1), "title": long_title, "tags": [1, 2, 3], "score": 1.0}
    with pytest.raises(MilvusException):
        client.insert(name, [row])              # 20 > 8 and 3 > 2
    client.alter_collection_field(name, "title", field_params={"max_length": 32})
    client.alter_collection_field(name, "tags", field_params={"max_capacity": 4})
    assert int(field_params(client, name, "title")["max_length"]) == 32
    assert int(field_params(client, name, "tags")["max_capacity"]) == 4
    client.insert(name, [row])
    got = client.query(name, filter="id == 1", output_fields=["title", "tags"], consistency_level="Strong")
    assert got[0]["title"] == long_title and list(got[0]["tags"]) == [1, 2, 3]
    with pytest.raises(MilvusException):
        client.insert(name, [dict(row, id=2, title="y" * 33)])

    server.restart()
    client = server.client()
    assert int(field_params(client, name, "title")["max_length"]) == 32
    client.insert(name, [dict(row, id=3, title="z" * 30)])
    with pytest.raises(MilvusException):
        client.insert(name, [dict(row, id=4, tags=[1, 2, 3, 4, 5])])


def test_alter_collection_field_refusals_and_mmap(server):
    client = server.client()
    name = make(client)
    expect_error(lambda: client.alter_collection_field(name, "score", field_params={"max_length": 10}),
                 1100, "can not modify the maxlength for non-string types")
    expect_error(lambda: client.alter_collection_field(name, "title", field_params={"max_length": 70000}),
                 1100, "70000 exceeds the maximum allowed value 65535")
    expect_error(lambda: client.alter_collection_field(name, "title", field_params={"max_length": "ten"}),
                 1100, "max_length should be an integer")
    expect_error(lambda: client.alter_collection_field(name, "title", field_params={"max_capacity": 10}),
                 1100, "can not modify the maxcapacity for non-array types")
    expect_error(lambda: client.alter_collection_field(name, "tags", field_params={"max_capacity": 5000}),
                 1100, "the maximum capacity specified for a Array should be in (0, 4096]")
    expect_error(lambda: client.alter_collection_field(name, "title", field_params={"dim": 8}),
                 1100, "dim does not allow update in collection field param")
    expect_error(lambda: client.alter_collection_field(name, "title", field_params={"mmap.enabled": True}),
                 104, "can not alter collection field properties if collection loaded")
    client.release_collection(name)
    client.alter_collection_field(name, "title", field_params={"mmap.enabled": True})
    assert field_params(client, name, "title")["mmap_enabled"] is True   # pymilvus's name for mmap.enabled
    expect_error(lambda: client.alter_collection_field(name, "title", field_params={"mmap.enabled": "yes"}),
                 1100, "invalid mmap.enabled value: yes")
    client.alter_collection_field(name, "title", field_params={"mmap_enabled": False})   # the old key
    assert field_params(client, name, "title")["mmap_enabled"] is False


def make_partial(client: MilvusClient) -> str:
    name = make(client, dynamic=True)
    client.alter_collection_field(name, "title", field_params={"max_length": 64})
    return name


def stored(client: MilvusClient, name: str) -> Dict[int, dict]:
    got = client.query(name, filter="id >= 0", output_fields=["*"], consistency_level="Strong")
    out = {}
    for r in got:
        r = dict(r)
        r["tags"] = list(r["tags"])
        r["vec"] = [round(x, 4) for x in r["vec"]]
        out[r["id"]] = r
    return out


def test_partial_update_changes_only_given_fields(server):
    client = server.client()
    name = make_partial(client)
    base = {pk: {"id": pk, "vec": vec(pk), "title": f"t{pk}", "tags": [pk], "score": pk * 1.0,
                 "note": f"n{pk}", "color": "red", "size": pk} for pk in range(10)}
    client.insert(name, [base[pk] for pk in range(6)])
    client.flush(name)                                   # sealed 0..5
    client.insert(name, [base[pk] for pk in range(6, 10)])  # growing 6..9

    expected = {pk: dict(r) for pk, r in base.items()}
    # one sealed and one growing row change their score, another its title and a dynamic key
    client.upsert(name, [{"id": 2, "score": 20.5}, {"id": 7, "score": 70.5}], partial_update=True)
    expected[2]["score"] = 20.5
    expected[7]["score"] = 70.5
    client.upsert(name, [{"id": 3, "title": "changed", "color": "blue", "shape": "round"},
                         {"id": 8, "title": "changed8", "color": "blue", "shape": "round"}], partial_update=True)
    for pk, title in ((3, "changed"), (8, "changed8")):
        expected[pk].update(title=title, color="blue", shape="round")
    # a new key: inserted from the request, its nullable field null
    client.upsert(name, [{"id": 42, "vec": vec(42), "title": "new", "tags": [4, 2], "score": 4.2}],
                  partial_update=True)
    expected[42] = {"id": 42, "vec": vec(42), "title": "new", "tags": [4, 2], "score": 4.2, "note": None}
    # a nullable field set to null by a partial update
    client.upsert(name, [{"id": 5, "note": None}], partial_update=True)
    expected[5]["note"] = None

    def check(c: MilvusClient) -> None:
        got = stored(c, name)
        assert sorted(got) == sorted(expected)
        for pk, want in expected.items():
            want = dict(want, vec=[round(x, 4) for x in want["vec"]])
            assert got[pk] == want, (pk, got[pk], want)
        assert c.query(name, filter="id >= 0", output_fields=["count(*)"],
                       consistency_level="Strong")[0]["count(*)"] == len(expected)

    check(client)
    client.flush(name)
    check(client)
    server.restart()
    client = server.client()
    client.load_collection(name)
    check(client)
    # search sees the merged rows once each
    hits = client.search(name, [vec(2)], anns_field="vec", limit=len(expected) + 5, output_fields=["score"],
                         consistency_level="Strong")[0]
    assert sorted(h["id"] for h in hits) == sorted(expected)
    assert {h["id"]: h["entity"]["score"] for h in hits}[2] == 20.5


def test_partial_update_refusals(server):
    client = server.client()
    name = make_partial(client)
    client.insert(name, [{"id": 1, "vec": vec(1), "title": "a", "tags": [1], "score": 1.0}])
    with pytest.raises(MilvusException) as e:
        client.upsert(name, [{"score": 3.0}], partial_update=True)
    assert "pk" in e.value.message or "primary" in e.value.message
    # a new key without a required (not nullable, no default) field
    expect_error(lambda: client.upsert(name, [{"id": 9, "score": 3.0}], partial_update=True),
                 1100, "has no corresponding fieldData pass in: invalid parameter")
    got = client.query(name, filter="id >= 0", output_fields=["score"], consistency_level="Strong")
    assert [(r["id"], r["score"]) for r in got] == [(1, 1.0)]


def test_partial_update_array_append_and_remove(server):
    from pymilvus import FieldOp

    client = server.client()
    name = unique("arrops")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("pk", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=16)
    s.add_field("nums", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    client.insert(name, [{"pk": 1, "vec": vec(1), "tags": ["new"], "nums": [1, 2, 2, 3]}])
    client.flush(name)                                                                   # sealed
    client.insert(name, [{"pk": 2, "vec": vec(2), "tags": ["new", "trial"], "nums": [5]}])  # growing
    expected = {1: (["new"], [1, 2, 2, 3]), 2: (["new", "trial"], [5])}

    def apply(op, given):
        for pk, (tags, nums) in given.items():
            old_tags, old_nums = expected[pk]
            if op == "append":
                expected[pk] = (old_tags + tags, old_nums + nums)
            else:
                expected[pk] = ([t for t in old_tags if t not in tags], [x for x in old_nums if x not in nums])

    def check(c):
        got = c.query(name, filter="pk >= 0", output_fields=["tags", "nums"], consistency_level="Strong")
        assert {r["pk"]: (list(r["tags"]), list(r["nums"])) for r in got} == expected

    given = {1: (["premium", "vip"], [4]), 2: (["premium"], [5, 6])}
    client.upsert(name, [{"pk": pk, "tags": t, "nums": n} for pk, (t, n) in given.items()],
                  field_ops={"tags": FieldOp.array_append(), "nums": FieldOp.array_append()})
    apply("append", given)
    check(client)
    given = {1: (["new"], [2]), 2: (["trial", "absent"], [5])}
    client.upsert(name, [{"pk": pk, "tags": t, "nums": n} for pk, (t, n) in given.items()],
                  field_ops={"tags": FieldOp.array_remove(), "nums": FieldOp.array_remove()})
    apply("remove", given)
    check(client)
    # the capacity holds after an append
    with pytest.raises(MilvusException) as e:
        client.upsert(name, [{"pk": 1, "tags": ["a", "b", "c"]}], field_ops={"tags": FieldOp.array_append()})
    assert "max capacity" in e.value.message
    check(client)
    server.restart()
    client = server.client()
    client.load_collection(name)
    check(client)
