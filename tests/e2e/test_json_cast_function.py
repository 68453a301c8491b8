"""JSON path indexes with `json_cast_function` STRING_TO_DOUBLE (Milvus 2.6, issue 18): the index is
built per sealed segment with every string at the path read as the number it starts with (as
Milvus's JsonCastFunction does with std::stod), and numeric filters on that path answered by it
then match those strings on sealed segments, while growing rows are scanned (strings never
compare to numbers there), exactly Milvus's split. The file survives a restart; wrong functions
and cast types are refused with Milvus's texts.

Expectations are computed here: `stod` below reads a string's leading number independently.
"""

from __future__ import annotations

import random
import re

import pytest
from pymilvus import DataType, MilvusClient, MilvusException

from e2e_util import unique, wait_until

DIM = 4
_NUM = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def stod(s: str):
    m = _NUM.match(s)
    return float(m.group(0)) if m else None


def is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def value(rng: random.Random):
    k = rng.randrange(8)
    if k == 0:
        return rng.randrange(0, 30)
    if k == 1:
        return rng.randrange(0, 60) / 2
    if k == 2:
        return str(rng.randrange(0, 30))
    if k == 3:
        return f" {rng.randrange(0, 60) / 2}"
    if k == 4:
        return f"{rng.randrange(0, 30)}abc"
    if k == 5:
        return rng.choice(["abc", "", "x1", "-", "e5"])
    if k == 6:
        return rng.random() < 0.5
    return "missing"


def make_rows(lo: int, hi: int, rng: random.Random):
    rows = []
    for pk in range(lo, hi):
        meta = None if rng.random() < 0.05 else {}
        if meta is not None:
            v = value(rng)
            if v != "missing":
                meta["price"] = v
        rows.append({"id": pk, "vec": [1.0, float(pk % 3), 0.0, 1.0], "meta": meta})
    return rows


def price(r):
    m = r["meta"]
    return KeyError if m is None or "price" not in m else m["price"]


def indexed(r):
    """The value the STRING_TO_DOUBLE index holds for a row (None: not in it)."""
    v = price(r)
    if is_num(v):
        return float(v)
    if isinstance(v, str):
        return stod(v)
    return None


# filter -> (predicate on the indexed value of a sealed row, predicate on a scanned growing row)
FILTERS = {
    'meta["price"] > 10': (lambda r: indexed(r) is not None and indexed(r) > 10,
                           lambda r: is_num(price(r)) and price(r) > 10),
    'meta["price"] == 7': (lambda r: indexed(r) == 7.0, lambda r: is_num(price(r)) and price(r) == 7),
    'meta["price"] in [3, 12.5]': (lambda r: indexed(r) in (3.0, 12.5),
                                   lambda r: is_num(price(r)) and price(r) in (3, 12.5)),
    '2 <= meta["price"] < 6': (lambda r: indexed(r) is not None and 2 <= indexed(r) < 6,
                               lambda r: is_num(price(r)) and 2 <= price(r) < 6),
    'meta["price"] != 7': (lambda r: r["meta"] is not None and indexed(r) != 7.0,
                           lambda r: r["meta"] is not None and not (is_num(price(r)) and price(r) == 7)),
}


def check(client, name, sealed, growing):
    for flt, (on_index, on_scan) in FILTERS.items():
        got = client.query(name, filter=flt, output_fields=["id"], consistency_level="Strong", limit=16384)
        want = sorted([r["id"] for r in sealed if on_index(r)] + [r["id"] for r in growing if on_scan(r)])
        assert sorted(g["id"] for g in got) == want, flt


def create(client: MilvusClient) -> str:
    name = unique("jcast")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("meta", DataType.JSON, nullable=True)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    return name


def test_string_to_double_index_answers_sealed_rows(server):
    client = server.client()
    name = create(client)
    rng = random.Random(26)
    sealed = make_rows(0, 800, rng)
    client.insert(name, sealed)
    client.flush(name)
    growing = make_rows(800, 1000, rng)
    # with no index every row is scanned: strings never compare to numbers
    client.insert(name, growing)
    for flt, (_, on_scan) in FILTERS.items():
        got = client.query(name, filter=flt, output_fields=["id"], consistency_level="Strong", limit=16384)
        assert sorted(g["id"] for g in got) == sorted(r["id"] for r in sealed + growing if on_scan(r)), flt

    client.release_collection(name)
    ip = client.prepare_index_params()
    ip.add_index("meta", index_type="INVERTED", index_name="price_num",
                 params={"json_path": 'meta["price"]', "json_cast_type": "DOUBLE",
                         "json_cast_function": "STRING_TO_DOUBLE"})
    client.create_index(name, ip)
    assert wait_until(lambda: client.describe_index(name, "price_num")["indexed_rows"] == 800, 60), \
        client.describe_index(name, "price_num")
    d = client.describe_index(name, "price_num")
    assert d["json_cast_function"] == "STRING_TO_DOUBLE" and d["json_cast_type"] == "DOUBLE", d
    client.load_collection(name)
    # the 200 rows inserted after the flush are growing (not indexed): scanned
    check(client, name, sealed, growing)

    server.restart()                                  # the index file is loaded with its function
    client = server.client()
    client.load_collection(name)
    check(client, name, sealed, growing)


@pytest.mark.parametrize("params, message", [
    ({"json_cast_type": "DOUBLE", "json_cast_function": "STRING_TO_INT"},
     "json_cast_function STRING_TO_INT is not supported"),
    ({"json_cast_type": "BOOL", "json_cast_function": "STRING_TO_DOUBLE"},
     "json_cast_function STRING_TO_DOUBLE is not supported for json_cast_type BOOL"),
    ({"json_cast_type": "ARRAY_DOUBLE", "json_cast_function": "STRING_TO_DOUBLE"},
     "json_cast_function STRING_TO_DOUBLE is not supported for json_cast_type ARRAY_DOUBLE"),
    ({"json_cast_type": "INT64"}, "json_cast_type INT64 is not supported"),
])
def test_wrong_cast_functions_are_refused(module_client, params, message):
    name = create(module_client)
    ip = module_client.prepare_index_params()
    ip.add_index("meta", index_type="INVERTED", index_name="bad", params={"json_path": 'meta["price"]', **params})
    with pytest.raises(MilvusException) as e:
        module_client.create_index(name, ip)
    assert e.value.code == 1100 and message in e.value.message, e.value
    assert module_client.list_indexes(name) == ["vec"]


def test_json_cast_type_json_flat_index_is_built_and_answers_as_scans(server):
    """json_cast_type JSON: every key below the path is indexed (a file per sealed segment), and
    filters on those keys answer exactly as the scan of the JSON column does."""
    from test_json_path_index_built import FILTERS as SCAN_FILTERS, check_filters, index_files
    from test_json_path_index_built import make_rows as nested_rows

    client = server.client()
    name = unique("jflat")
    s = MilvusClient.create_schema(enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("meta", DataType.JSON, nullable=True)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    cid = client.describe_collection(name)["collection_id"]
    rng = random.Random(31)
    rows = nested_rows(0, 900, rng)
    client.insert(name, rows[:600])
    client.flush(name)
    client.insert(name, rows[600:])                  # growing
    before = index_files(server, cid)
    client.release_collection(name)
    ip = client.prepare_index_params()
    ip.add_index("meta", index_type="INVERTED", index_name="meta_all",
                 params={"json_path": "meta", "json_cast_type": "JSON"})
    ip.add_index("dk", index_type="INVERTED", index_name="dk_all", params={"json_path": "dk", "json_cast_type": "JSON"})
    client.create_index(name, ip)
    assert wait_until(lambda: len(index_files(server, cid)) >= len(before) + 2, 60), index_files(server, cid)
    for idx in ("meta_all", "dk_all"):
        assert wait_until(lambda: client.describe_index(name, idx)["indexed_rows"] == 600, 60), \
            client.describe_index(name, idx)
    client.load_collection(name)
    check_filters(client, name, rows, SCAN_FILTERS)
    server.restart()
    client = server.client()
    client.load_collection(name)
    check_filters(client, name, rows, SCAN_FILTERS)
