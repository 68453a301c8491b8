"""JSON path indexes, NGRAM, scalar AUTOINDEX and index properties (Milvus 2.6, issue 18).

create_index on a JSON field with `json_path` / `json_cast_type`, several indexes on one
JSON field (one per path), indexes on keys of the dynamic field, describe / drop by name;
filters on an indexed path answer exactly what they answer without the index, on growing
and sealed rows and after a restart. NGRAM on VARCHAR (min_gram / max_gram) answers LIKE
as a scan does. alter_index_properties / drop_index_properties with Milvus's refusals
(internal/proxy/task_index.go, internal/util/indexparamcheck/*_checker.go).
"""

from __future__ import annotations

import random
from typing import Dict, List

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from e2e_util import unique

DIM = 4


def vec(pk: int) -> List[float]:
    return [float(pk % 7), float(pk % 5), 1.0, float(pk % 3)]


def make_rows(lo: int, hi: int, rng: random.Random) -> List[dict]:
    rows = []
    for pk in range(lo, hi):
        meta: dict = {"s": f"k{pk % 4}", "nested": {"b": pk % 2 == 0}}
        kind = pk % 5
        if kind == 0:
            meta["a"] = f"{pk}"          # a string: does not cast to DOUBLE
        elif kind == 1:
            pass                          # key missing
        else:
            meta["a"] = pk * 1.5 if kind == 2 else pk
        row = {"id": pk, "vec": vec(pk), "meta": meta, "title": f"{rng.choice(['ab', 'cd', 'xy'])}-{pk}"}
        if pk % 3:
            row["color"] = ["red", "green", "blue"][pk % 3]
        rows.append(row)
    return rows


def expected_ids(rows: List[dict], pred) -> List[int]:
    return sorted(r["id"] for r in rows if pred(r))


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


FILTERS = {
    'meta["a"] > 30': lambda r: num(r["meta"].get("a")) and r["meta"]["a"] > 30,
    'meta["a"] <= 12': lambda r: num(r["meta"].get("a")) and r["meta"]["a"] <= 12,
    'meta["s"] == "k1"': lambda r: r["meta"].get("s") == "k1",
    'meta["s"] in ["k0", "k3"]': lambda r: r["meta"].get("s") in ("k0", "k3"),
    'meta["nested"]["b"] == true': lambda r: r["meta"]["nested"]["b"] is True,
    'color == "red"': lambda r: r.get("color") == "red",
    '$meta["color"] in ["red", "blue"]': lambda r: r.get("color") in ("red", "blue"),
    'title like "%ab%"': lambda r: "ab" in r["title"],
    'title like "cd%"': lambda r: r["title"].startswith("cd"),
}


def make_collection(client: MilvusClient) -> str:
    name = unique("jsonidx")
    s = MilvusClient.create_schema(enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("meta", DataType.JSON)
    s.add_field("title", DataType.VARCHAR, max_length=64)
    s.add_field("flag", DataType.BOOL, nullable=True)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    return name


def check_filters(client: MilvusClient, name: str, rows: List[dict]) -> None:
    for flt, pred in FILTERS.items():
        got = client.query(name, filter=flt, output_fields=["id"], consistency_level="Strong")
        assert sorted(r["id"] for r in got) == expected_ids(rows, pred), flt


def index_names(client: MilvusClient, name: str) -> List[str]:
    return sorted(client.list_indexes(name))


def test_json_path_indexes_several_per_field_and_dynamic_keys(server):
    client = server.client()
    name = make_collection(client)
    rng = random.Random(7)
    rows = make_rows(0, 60, rng)
    client.insert(name, rows[:40])
    client.flush(name)                         # sealed 0..39
    client.insert(name, rows[40:])             # growing 40..59
    check_filters(client, name, rows)          # no index yet

    client.release_collection(name)
    ip = client.prepare_index_params()
    ip.add_index("meta", index_type="INVERTED", index_name="a_idx",
                 params={"json_path": 'meta["a"]', "json_cast_type": "double"})
    ip.add_index("meta", index_type="AUTOINDEX", index_name="s_idx",
                 params={"json_path": 'meta["s"]', "json_cast_type": "VARCHAR"})
    ip.add_index("meta", index_type="INVERTED", index_name="b_idx",
                 params={"json_path": 'meta["nested"]["b"]', "json_cast_type": "BOOL"})
    ip.add_index("color", index_type="INVERTED", index_name="color_idx", params={"json_cast_type": "varchar"})
    ip.add_index("title", index_type="NGRAM", index_name="title_ngram", params={"min_gram": 2, "max_gram": 3})
    client.create_index(name, ip)
    assert index_names(client, name) == sorted(["vec", "a_idx", "s_idx", "b_idx", "color_idx", "title_ngram"])

    a = client.describe_index(name, "a_idx")
    assert a["json_path"] == 'meta["a"]' and a["index_type"] == "INVERTED" and a["field_name"] == "meta"
    assert a["json_cast_type"].upper() == "DOUBLE"
    color = client.describe_index(name, "color_idx")
    assert color["json_cast_type"].upper() == "VARCHAR" and color["json_path"] == "color"
    ng = client.describe_index(name, "title_ngram")
    assert ng["index_type"] == "NGRAM" and int(ng["min_gram"]) == 2 and int(ng["max_gram"]) == 3

    client.load_collection(name)
    check_filters(client, name, rows)
    more = make_rows(60, 80, rng)
    client.insert(name, more)                  # growing rows after the indexes
    rows += more
    check_filters(client, name, rows)
    client.flush(name)
    check_filters(client, name, rows)

    server.restart()
    client = server.client()
    client.load_collection(name)
    assert index_names(client, name) == sorted(["vec", "a_idx", "s_idx", "b_idx", "color_idx", "title_ngram"])
    check_filters(client, name, rows)

    client.release_collection(name)
    client.drop_index(name, "a_idx")
    client.drop_index(name, "title_ngram")
    assert index_names(client, name) == sorted(["vec", "s_idx", "b_idx", "color_idx"])
    client.load_collection(name)
    check_filters(client, name, rows)


def test_json_index_without_name_is_named_after_its_path(server):
    client = server.client()
    name = make_collection(client)
    client.release_collection(name)
    ip = client.prepare_index_params()
    ip.add_index("meta", index_type="INVERTED", params={"json_path": 'meta["a"]', "json_cast_type": "DOUBLE"})
    client.create_index(name, ip)
    ip = client.prepare_index_params()
    ip.add_index("meta", index_type="INVERTED", params={"json_path": 'meta["s"]', "json_cast_type": "VARCHAR"})
    client.create_index(name, ip)
    names = set(client.list_indexes(name)) - {"vec"}
    assert len(names) == 2
    paths = {client.describe_index(name, n)["json_path"] for n in names}
    assert paths == {'meta["a"]', 'meta["s"]'}
    # the same request again is accepted (idempotent) and adds nothing
    client.create_index(name, ip)
    assert set(client.list_indexes(name)) - {"vec"} == names


def expect_error(fn, code, text: str) -> None:
    with pytest.raises(MilvusException) as e:
        fn()
    assert text in e.value.message, e.value.message
    if code is not None:
        assert e.value.code == code, (e.value.code, e.value.message)


def test_json_index_refusals(server):
    client = server.client()
    name = make_collection(client)
    client.release_collection(name)

    def create(field, **kw):
        ip = client.prepare_index_params()
        ip.add_index(field, **kw)
        return lambda: client.create_index(name, ip)

    expect_error(create("meta", index_type="INVERTED", index_name="x", params={"json_path": 'meta["a"]'}),
                 1101, "json index must specify cast type")
    expect_error(create("meta", index_type="INVERTED", index_name="x",
                        params={"json_path": 'meta["a"]', "json_cast_type": "INT64"}),
                 1100, "json_cast_type INT64 is not supported")
    expect_error(create("meta", index_type="INVERTED", index_name="x",
                        params={"json_path": 'meta["a"]', "json_cast_type": "VARCHAR",
                                "json_cast_function": "STRING_TO_DOUBLE"}),
                 1100, "json_cast_function STRING_TO_DOUBLE is not supported for json_cast_type VARCHAR")
    expect_error(create("meta", index_type="NGRAM", index_name="x",
                        params={"json_path": 'meta["s"]', "json_cast_type": "DOUBLE", "min_gram": 1, "max_gram": 2}),
                 1100, "JSON field with ngram index only supports VARCHAR cast type, got: DOUBLE")

    client.create_index(name, create_params(client, "meta", "a1", 'meta["a"]', "DOUBLE"))
    # another index on the same path is refused; another path is accepted
    expect_error(lambda: client.create_index(name, create_params(client, "meta", "a2", 'meta["a"]', "VARCHAR")),
                 None, "at most one distinct index is allowed per field")
    client.create_index(name, create_params(client, "meta", "a3", 'meta["b"]', "VARCHAR"))


def create_params(client, field, index_name, path, cast):
    ip = client.prepare_index_params()
    ip.add_index(field, index_type="INVERTED", index_name=index_name,
                 params={"json_path": path, "json_cast_type": cast})
    return ip


def test_ngram_refusals_and_scalar_autoindex(server):
    client = server.client()
    name = make_collection(client)
    client.release_collection(name)

    def ngram(field, **params):
        ip = client.prepare_index_params()
        ip.add_index(field, index_type="NGRAM", index_name="ng", params=params)
        return lambda: client.create_index(name, ip)

    expect_error(ngram("title", min_gram=2), 1101, "Ngram index must specify both min_gram and max_gram")
    expect_error(ngram("title", min_gram=3, max_gram=2), 1100,
                 "invalid min_gram or max_gram value for Ngram index, min_gram: 3, max_gram: 2")
    expect_error(ngram("title", min_gram="x", max_gram=2), 1100, "min_gram for Ngram index must be an integer, got: x")
    expect_error(ngram("id", min_gram=1, max_gram=2), 1100, "ngram index can only be created on VARCHAR or JSON field")

    # AUTOINDEX on a scalar field: accepted, described as the user gave it
    ip = client.prepare_index_params()
    ip.add_index("flag", index_type="AUTOINDEX", index_name="flag_idx")
    client.create_index(name, ip)
    assert client.describe_index(name, "flag_idx")["index_type"] == "AUTOINDEX"
    client.insert(name, [{"id": i, "vec": vec(i), "meta": {}, "title": "t", "flag": None if i % 3 == 0 else i % 2 == 0}
                         for i in range(30)])
    client.flush(name)
    client.load_collection(name)
    got = client.query(name, filter="flag == true", output_fields=["id"], consistency_level="Strong")
    assert sorted(r["id"] for r in got) == [i for i in range(30) if i % 3 != 0 and i % 2 == 0]


def test_alter_and_drop_index_properties(server):
    client = server.client()
    name = make_collection(client)
    expect_error(lambda: client.alter_index_properties(name, "vec", properties={"mmap.enabled": True}),
                 104, "can't alter index on loaded collection, please release the collection first")
    client.release_collection(name)
    client.alter_index_properties(name, "vec", properties={"mmap.enabled": True})
    assert client.describe_index(name, "vec")["mmap.enabled"] == "True"
    expect_error(lambda: client.alter_index_properties(name, "vec", properties={"M": 8}),
                 1100, "M is not a configable index proptery: invalid parameter")
    expect_error(lambda: client.alter_index_properties(name, "vec", properties={"mmap.enabled": "maybe"}),
                 65535, "invalid mmap.enabled value")
    expect_error(lambda: client.drop_index_properties(name, "vec", property_keys=["efConstruction"]),
                 1100, "efConstruction is not a configable index proptery: invalid parameter")
    client.drop_index_properties(name, "vec", property_keys=["mmap.enabled"])
    assert "mmap.enabled" not in client.describe_index(name, "vec")
    server.restart()
    client = server.client()
    assert "mmap.enabled" not in client.describe_index(name, "vec")
