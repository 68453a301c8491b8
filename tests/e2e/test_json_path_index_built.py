"""JSON path indexes are built per sealed segment and answer filters (Milvus 2.6, issue 18).

An INVERTED index with `json_path` / `json_cast_type` (BOOL, DOUBLE, VARCHAR, ARRAY_*) on a JSON
field or a dynamic key is built by the data node for every sealed segment (an index file per
segment, as for other scalar indexes), loaded after a restart, and used by filters on that path
with the cast type. Rows whose value there is of another type, lacks the path, or whose JSON is
null are answered exactly as without the index: every expectation below is computed in Python
from the inserted rows, on growing and sealed rows, before and after the indexes and a restart.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Dict, List

from pymilvus import DataType, MilvusClient

from e2e_util import unique, wait_until

DIM = 4


def is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def a_value(rng: random.Random):
    kind = rng.randrange(9)
    if kind == 0:
        return rng.randrange(-5, 40)
    if kind == 1:
        return rng.randrange(-10, 80) / 4
    if kind == 2:
        return f"x{rng.randrange(0, 12)}"
    if kind == 3:
        return rng.random() < 0.5
    if kind == 4:
        return None                                   # JSON null
    if kind == 5:
        return [rng.randrange(0, 5), f"x{rng.randrange(0, 3)}"]
    if kind == 6:
        return {"nested": 1}
    if kind == 7:
        return "missing"                              # the key is left out
    return rng.randrange(0, 10)


def make_rows(lo: int, hi: int, rng: random.Random) -> List[dict]:
    rows = []
    for pk in range(lo, hi):
        meta = None
        if rng.random() > 0.08:                       # 8% null JSON
            meta = {}
            a = a_value(rng)
            if a != "missing":
                meta["a"] = a
            if rng.random() < 0.8:
                meta["tags"] = rng.sample(["red", "green", "blue", "cyan", 3, True], rng.randrange(0, 4))
            if rng.random() < 0.8:
                meta["nums"] = [rng.choice([1, 2, 2.5, 3, "2", False]) for _ in range(rng.randrange(0, 4))]
            if rng.random() < 0.8:
                meta["flag"] = rng.choice([True, False, 1, "true"])
        row = {"id": pk, "vec": [float(pk % 7), float(pk % 5), 1.0, float(pk % 3)], "meta": meta}
        if rng.random() < 0.85:
            row["dk"] = rng.choice([rng.randrange(0, 30), f"s{pk % 5}", rng.randrange(0, 30) / 2])
        rows.append(row)
    return rows


def at(r: dict, key: str):
    m = r["meta"]
    return m.get(key, KeyError) if m is not None else KeyError


def num_eq(v, c) -> bool:
    return is_num(v) and v == c


def contains(arr, c) -> bool:
    if not isinstance(arr, list):
        return False
    for e in arr:
        if isinstance(c, bool) or isinstance(e, bool):
            if isinstance(c, bool) and isinstance(e, bool) and e == c:
                return True
        elif isinstance(c, str) or isinstance(e, str):
            if e == c:
                return True
        elif is_num(e) and e == c:
            return True
    return False


def valid(r: dict) -> bool:
    return r["meta"] is not None


# Filter -> the rows it selects, as the filter language defines it (a JSON
# null row matches no comparison and no negation of one).
FILTERS: Dict[str, Callable[[dict], bool]] = {
    'meta["a"] > 10': lambda r: is_num(at(r, "a")) and at(r, "a") > 10,
    'meta["a"] <= 2.5': lambda r: is_num(at(r, "a")) and at(r, "a") <= 2.5,
    'meta["a"] == 5': lambda r: num_eq(at(r, "a"), 5),
    'meta["a"] != 5': lambda r: valid(r) and not num_eq(at(r, "a"), 5),
    'meta["a"] in [1, 2.5, 7]': lambda r: any(num_eq(at(r, "a"), c) for c in (1, 2.5, 7)),
    '1 <= meta["a"] < 10': lambda r: is_num(at(r, "a")) and 1 <= at(r, "a") < 10,
    'not (meta["a"] > 3)': lambda r: valid(r) and not (is_num(at(r, "a")) and at(r, "a") > 3),
    'meta["a"] == "x3"': lambda r: at(r, "a") == "x3",
    'meta["a"] > "x5"': lambda r: isinstance(at(r, "a"), str) and at(r, "a") > "x5",
    'meta["a"] like "x1%"': lambda r: isinstance(at(r, "a"), str) and at(r, "a").startswith("x1"),
    'json_contains(meta["tags"], "red")': lambda r: contains(at(r, "tags"), "red"),
    'json_contains_any(meta["tags"], ["blue", "cyan"])':
        lambda r: contains(at(r, "tags"), "blue") or contains(at(r, "tags"), "cyan"),
    'json_contains_all(meta["nums"], [2, 2.5])':
        lambda r: contains(at(r, "nums"), 2) and contains(at(r, "nums"), 2.5),
    'json_contains(meta["nums"], 1)': lambda r: contains(at(r, "nums"), 1),
    'meta["flag"] == true': lambda r: at(r, "flag") is True,
    'meta["flag"] != false': lambda r: valid(r) and at(r, "flag") is not False,
    'dk > 12': lambda r: is_num(r.get("dk")) and r["dk"] > 12,
    'dk in [3, 4, 5]': lambda r: any(num_eq(r.get("dk"), c) for c in (3, 4, 5)),
    '(meta["a"] > 10 or dk < 3) and json_contains(meta["tags"], "green")':
        lambda r: (is_num(at(r, "a")) and at(r, "a") > 10 or is_num(r.get("dk")) and r["dk"] < 3)
        and contains(at(r, "tags"), "green"),
}

INDEXES = [
    ("a_dbl", "meta", 'meta["a"]', "DOUBLE"),
    ("tags_str", "meta", 'meta["tags"]', "ARRAY_VARCHAR"),
    ("nums_dbl", "meta", 'meta["nums"]', "ARRAY_DOUBLE"),
    ("flag_bool", "meta", 'meta["flag"]', "BOOL"),
    ("dk_dbl", "dk", "dk", "DOUBLE"),
]


def check_filters(client: MilvusClient, name: str, rows: List[dict], filters=FILTERS) -> None:
    for flt, pred in filters.items():
        got = client.query(name, filter=flt, output_fields=["id"], consistency_level="Strong", limit=16384)
        want = sorted(r["id"] for r in rows if pred(r))
        assert sorted(r["id"] for r in got) == want, flt


def index_files(server, collection_id: int) -> List[Path]:
    root = Path(server.data_dir) / "objects" / "collections" / str(collection_id) / "indexes"
    return sorted(root.rglob("*.idx")) if root.exists() else []


def create_json_indexes(client: MilvusClient, name: str, specs) -> None:
    ip = client.prepare_index_params()
    for index_name, field, path, cast in specs:
        ip.add_index(field, index_type="INVERTED", index_name=index_name,
                     params={"json_path": path, "json_cast_type": cast})
    client.create_index(name, ip)


def test_json_path_indexes_are_built_and_answer_as_scans(server):
    client = server.client()
    name = unique("jsonbuilt")
    s = MilvusClient.create_schema(enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("meta", DataType.JSON, nullable=True)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    cid = client.describe_collection(name)["collection_id"]
    rng = random.Random(18)
    rows = make_rows(0, 1500, rng)
    client.insert(name, rows[:700])
    client.flush(name)
    client.insert(name, rows[700:1200])
    client.flush(name)                                # two sealed segments
    client.insert(name, rows[1200:])                  # growing
    check_filters(client, name, rows)                 # without indexes
    files_before = index_files(server, cid)

    client.release_collection(name)
    create_json_indexes(client, name, INDEXES)
    # each JSON path index is built for each sealed segment: 5 x 2 more index files
    assert wait_until(lambda: len(index_files(server, cid)) >= len(files_before) + 2 * len(INDEXES), 60), \
        (files_before, index_files(server, cid))
    for index_name, *_ in INDEXES:
        d = client.describe_index(name, index_name)
        assert d["indexed_rows"] == 1200 and d["pending_index_rows"] == 0, d
    client.load_collection(name)
    check_filters(client, name, rows)

    more = make_rows(1500, 1800, rng)
    client.insert(name, more)                         # growing rows after the indexes
    rows += more
    check_filters(client, name, rows)
    client.flush(name)                                # sealed and then indexed
    assert wait_until(lambda: len(index_files(server, cid)) >= len(files_before) + 3 * len(INDEXES), 60)
    check_filters(client, name, rows)

    server.restart()                                  # the index files are loaded, not rebuilt
    client = server.client()
    client.load_collection(name)
    check_filters(client, name, rows)

    client.release_collection(name)
    for index_name, *_ in INDEXES:
        client.drop_index(name, index_name)
    client.load_collection(name)
    check_filters(client, name, rows)


def test_json_path_index_varchar_cast_and_like(server):
    """A VARCHAR cast answers ==, ranges, IN and LIKE on the string rows only."""
    client = server.client()
    name = unique("jsonvc")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("meta", DataType.JSON)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    rng = random.Random(5)
    rows = []
    for pk in range(600):
        a = a_value(rng)
        meta = {} if a == "missing" else {"a": a}
        rows.append({"id": pk, "vec": [1.0, 0.0, 0.0, float(pk % 3)], "meta": meta})
    client.insert(name, rows)
    client.flush(name)
    client.release_collection(name)
    create_json_indexes(client, name, [("a_str", "meta", 'meta["a"]', "VARCHAR")])
    client.load_collection(name)
    filters = {
        'meta["a"] == "x3"': lambda r: at(r, "a") == "x3",
        'meta["a"] != "x3"': lambda r: at(r, "a") != "x3",
        'meta["a"] in ["x1", "x10", "zz"]': lambda r: at(r, "a") in ("x1", "x10", "zz"),
        '"x2" <= meta["a"] <= "x5"': lambda r: isinstance(at(r, "a"), str) and "x2" <= at(r, "a") <= "x5",
        'meta["a"] like "x1%"': lambda r: isinstance(at(r, "a"), str) and at(r, "a").startswith("x1"),
        'meta["a"] like "%1"': lambda r: isinstance(at(r, "a"), str) and at(r, "a").endswith("1"),
        'meta["a"] > 3': lambda r: is_num(at(r, "a")) and at(r, "a") > 3,   # numbers: not this index's
    }
    check_filters(client, name, rows, filters)
