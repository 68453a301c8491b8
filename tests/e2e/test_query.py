"""Query end to end through pymilvus: every filter operator compared with a Python evaluation of
the same predicate over the inserted rows, limit/offset, output_fields, count(*), delete by
filter, query_iterator, consistency levels, and filter errors.

Milvus facts relied on:
* Filter grammar and operators: shared/reference/milvus-compat.md §4 (Plan.g4).
* NULL: a comparison on a NULL value is false, and so is its negation: `not (x > 1)`, `x != 1`,
  `x not in [...]` do not match NULL rows (Milvus's own filter tests expect
  `not (nullable_bool == true)` to leave out the NULL row).  `is null` / `is not null` test the
  validity.  JSON: a missing key or a value of another JSON type never satisfies a comparison.
* Integer arithmetic is C++ int64 arithmetic in segcore: `/` and `%` truncate toward zero.
* `**` only folds constants ("power can only apply on constants", milvus planparserv2).
* MilvusClient.query without output_fields asks for "*" (milvus_client.py query()); rows carry
  every requested schema field (pymilvus fills a template from fields_data) and only the
  dynamic keys a row actually has.
* Query with limit returns rows ordered by primary key (proxy reduce merges by pk); iterator
  pages are ordered by pk (compat §1.3).
* Consistency (compat §5 "Guarantee timestamps"): Strong reads see every acknowledged write;
  Session reads see the same client's writes (pymilvus sends its last mutation ts); the
  collection's level applies when the request gives none (use_default_consistency).
* Empty filter without limit is rejected ("empty expression should be used with limit").
"""

from __future__ import annotations

import os
import random
import re
import time
from typing import Callable, List

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.client.prepare import Prepare
from pymilvus.client.utils import check_status

from e2e_util import assert_code, assert_msg, server_error, unique

SEED = int(os.environ.get("KITE_E2E_SEED", "20261124"))
COLLECTION_NOT_LOADED = 101
N = 800
DIM = 8
I64_MAX = 2 ** 63 - 1
I64_MIN = -(2 ** 63)

WORDS = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]
COLORS = ["red", "green", "blue", "black", "white"]
SPECIAL_S = ['he said "hi"', "100%_done", "100% done", "naïve café", "", "under_score",
             "back\\slash", "it's", "ünïcödé_5"]

MISSING = object()


# -- data -------------------------------------------------------------------------------------

def schema(dynamic: bool = True):
    s = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("i8", DataType.INT8)
    s.add_field("i32", DataType.INT32)
    s.add_field("i64", DataType.INT64)
    s.add_field("f", DataType.FLOAT)
    s.add_field("d", DataType.DOUBLE)
    s.add_field("b", DataType.BOOL)
    s.add_field("s", DataType.VARCHAR, max_length=64)
    s.add_field("ni", DataType.INT64, nullable=True)
    s.add_field("j", DataType.JSON, nullable=True)
    s.add_field("ai", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    s.add_field("av", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=6,
                max_length=16)
    return s


def make_rows(n: int, seed: int) -> List[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        j = {"a": rng.randint(0, 9), "name": f"{rng.choice(WORDS)}{rng.randint(0, 9)}",
             "nested": {"x": rng.randint(-40, 40) / 2, "y": rng.choice(COLORS)},
             "tags": rng.sample(COLORS, rng.randint(0, 3)),
             "nums": [rng.randint(0, 5) for _ in range(rng.randint(0, 4))]}
        u = rng.random()
        if u < 0.1:
            del j["a"]
        elif u < 0.2:
            j["a"] = str(j["a"])          # same key, another JSON type
        if rng.random() < 0.2:
            del j["nested"]
        if rng.random() < 0.3:
            j["opt"] = None if rng.random() < 0.5 else rng.randint(0, 3)
        r = {
            "id": i,
            "vec": [rng.uniform(-1, 1) for _ in range(DIM)],
            "i8": rng.randint(-128, 127),
            "i32": rng.randint(-1000, 1000),
            "i64": rng.randint(-500, 500),
            "f": rng.randint(-400, 400) / 4,             # exact in float32
            "d": rng.randint(-10 ** 6, 10 ** 6) / 1000,
            "b": rng.random() < 0.5,
            "s": (SPECIAL_S[i] if i < len(SPECIAL_S)
                  else f"{rng.choice(WORDS)}_{rng.randint(0, 99)}"),
            "ni": None if rng.random() < 0.25 else rng.randint(0, 20),
            "j": None if rng.random() < 0.05 else j,
            "ai": [rng.randint(0, 9) for _ in range(rng.randint(0, 6))],
            "av": [rng.choice(COLORS) for _ in range(rng.randint(0, 4))],
        }
        if i % 3:
            r["dk"] = rng.randint(0, 50)
        if i % 2 == 0:
            r["dcolor"] = rng.choice(COLORS)
        rows.append(r)
    rows[0]["i64"] = I64_MAX
    rows[1]["i64"] = I64_MIN
    rows[2]["i64"] = 7
    rows[3]["ni"] = 5
    return rows


ROWS = make_rows(N, SEED)


@pytest.fixture(scope="module")
def qcoll(module_client):
    """ROWS in one collection: the first half flushed (sealed), the rest growing."""
    c = module_client
    name = unique("q")
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema(), index_params=ip)
    c.insert(name, ROWS[: N // 2])
    c.flush(name)
    c.insert(name, ROWS[N // 2:])
    return name


# -- Python evaluation helpers ----------------------------------------------------------------

def J(r, *path):
    cur = r["j"]
    if cur is None:
        return MISSING
    for p in path:
        if isinstance(cur, dict) and isinstance(p, str) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and isinstance(p, int) and 0 <= p < len(cur):
            cur = cur[p]
        else:
            return MISSING
    return cur


def num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def like(pattern: str) -> Callable[[str], bool]:
    rx = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    compiled = re.compile(rx, re.DOTALL)
    return lambda s: isinstance(s, str) and compiled.fullmatch(s) is not None


def tdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def tmod(a: int, b: int) -> int:
    return a - b * tdiv(a, b)


def f32(x) -> float:
    return float(np.float32(x))


def nn(v) -> bool:
    return v is not None


# (filter, filter_params or None, predicate)
CASES = [
    # comparisons on every scalar type
    ("i64 == 7", None, lambda r: r["i64"] == 7),
    ("i64 != 7", None, lambda r: r["i64"] != 7),
    ("i64 > 100", None, lambda r: r["i64"] > 100),
    ("i64 >= 100", None, lambda r: r["i64"] >= 100),
    ("i64 < -100", None, lambda r: r["i64"] < -100),
    ("i64 <= -100", None, lambda r: r["i64"] <= -100),
    ("100 < i64", None, lambda r: r["i64"] > 100),
    ("i64 == 9223372036854775807", None, lambda r: r["i64"] == I64_MAX),
    ("i64 < -9223372036854775807", None, lambda r: r["i64"] == I64_MIN),
    ("i32 > 0x10", None, lambda r: r["i32"] > 16),
    ("i8 >= -128 and i8 < 0", None, lambda r: r["i8"] < 0),
    ("i32 > i64", None, lambda r: r["i32"] > r["i64"]),
    ("f > 12.5", None, lambda r: r["f"] > 12.5),
    ("f == 2.25", None, lambda r: r["f"] == 2.25),
    ("d < -100.123", None, lambda r: r["d"] < -100.123),
    ("d >= 0", None, lambda r: r["d"] >= 0),
    ("b == true", None, lambda r: r["b"]),
    ("b == False", None, lambda r: not r["b"]),
    ("b != true", None, lambda r: not r["b"]),
    ('s == "apple_3"', None, lambda r: r["s"] == "apple_3"),
    ('s == "he said \\"hi\\""', None, lambda r: r["s"] == 'he said "hi"'),
    ("s == \"it's\"", None, lambda r: r["s"] == "it's"),
    ("s == 'naïve café'", None, lambda r: r["s"] == "naïve café"),
    ('s == ""', None, lambda r: r["s"] == ""),
    ('s > "date"', None, lambda r: r["s"] > "date"),
    ('s <= "banana_5"', None, lambda r: r["s"] <= "banana_5"),
    # ranges
    ("-100 < i64 <= 50", None, lambda r: -100 < r["i64"] <= 50),
    ("50 >= i64 > -100", None, lambda r: -100 < r["i64"] <= 50),
    ("-10.5 <= f < 3", None, lambda r: -10.5 <= r["f"] < 3),
    ('"b" <= s < "d"', None, lambda r: "b" <= r["s"] < "d"),
    # membership
    ("i8 in [1, 2, 3, -128, 127]", None, lambda r: r["i8"] in (1, 2, 3, -128, 127)),
    ("i32 not in [0, 1, 2, 3, 4, 5]", None, lambda r: r["i32"] not in range(6)),
    ('s in ["apple_1", "under_score", "it\'s", "nope"]', None,
     lambda r: r["s"] in ("apple_1", "under_score", "it's")),
    ('s not in ["apple_1", "fig_2"]', None, lambda r: r["s"] not in ("apple_1", "fig_2")),
    ("i64 in []", None, lambda r: False),
    ("f in [2.25, -1.5, 0.25]", None, lambda r: r["f"] in (2.25, -1.5, 0.25)),
    # LIKE
    ('s like "apple%"', None, lambda r: r["s"].startswith("apple")),
    ('s like "%_5"', None, lambda r: len(r["s"]) >= 2 and r["s"].endswith("5")),
    ('s like "%an%"', None, lambda r: "an" in r["s"]),
    ('s like "b_n%"', None, lambda r: like("b_n%")(r["s"])),
    ('s like "%café"', None, lambda r: r["s"].endswith("café")),
    ('s like "100%"', None, lambda r: r["s"].startswith("100")),
    ('s like "fig_1_"', None, lambda r: like("fig_1_")(r["s"])),
    ('not (s like "apple%")', None, lambda r: not r["s"].startswith("apple")),
    # logic
    ('(i64 > 0 and b == true) || (s like "apple%" && not (i32 < 0))', None,
     lambda r: (r["i64"] > 0 and r["b"]) or (r["s"].startswith("apple") and not r["i32"] < 0)),
    ("!(i64 > 0)", None, lambda r: not r["i64"] > 0),
    ("i64 > 0 AND b == true OR i32 < -900", None,
     lambda r: (r["i64"] > 0 and r["b"]) or r["i32"] < -900),
    ("NOT (i8 < 0) and not (b == false)", None, lambda r: r["i8"] >= 0 and r["b"]),
    ("i64 > 0 or i64 <= 0", None, lambda r: True),
    ("i64 > 0 and i64 <= 0", None, lambda r: False),
    # arithmetic (rows 0/1 hold int64 extremes; keep them out of overflowing expressions)
    ("id > 1 and i64 + 3 > 20", None, lambda r: r["id"] > 1 and r["i64"] + 3 > 20),
    ("id > 1 and i64 - 1 == 6", None, lambda r: r["id"] > 1 and r["i64"] - 1 == 6),
    ("id > 1 and i64 * 2 <= 30", None, lambda r: r["id"] > 1 and r["i64"] * 2 <= 30),
    ("id > 1 and i64 / 3 == -5", None, lambda r: r["id"] > 1 and tdiv(r["i64"], 3) == -5),
    ("id > 1 and i64 % 7 == -1", None, lambda r: r["id"] > 1 and tmod(r["i64"], 7) == -1),
    ("i32 % 10 == 3", None, lambda r: tmod(r["i32"], 10) == 3),
    ("f * 2 > 50", None, lambda r: r["f"] * 2 > 50),
    ("d + 1.5 >= 0", None, lambda r: r["d"] + 1.5 >= 0),
    ("i32 > 0 and 2 ** 3 == 8", None, lambda r: r["i32"] > 0),
    # NULL
    ("ni is null", None, lambda r: r["ni"] is None),
    ("ni is not null", None, lambda r: r["ni"] is not None),
    ("ni IS NULL or ni == 0", None, lambda r: r["ni"] is None or r["ni"] == 0),
    ("ni > 10", None, lambda r: nn(r["ni"]) and r["ni"] > 10),
    ("ni == 5", None, lambda r: r["ni"] == 5),
    ("ni != 5", None, lambda r: nn(r["ni"]) and r["ni"] != 5),
    ("not (ni > 10)", None, lambda r: nn(r["ni"]) and not r["ni"] > 10),
    ("ni in [1, 2, 3]", None, lambda r: r["ni"] in (1, 2, 3)),
    ("ni not in [1, 2, 3]", None, lambda r: nn(r["ni"]) and r["ni"] not in (1, 2, 3)),
    ("j is null", None, lambda r: r["j"] is None),
    ("j is not null", None, lambda r: r["j"] is not None),
    # JSON
    ('j["a"] == 3', None, lambda r: num(J(r, "a")) and J(r, "a") == 3),
    ('j["a"] > 5', None, lambda r: num(J(r, "a")) and J(r, "a") > 5),
    ('j["a"] in [1, 2, 3]', None, lambda r: num(J(r, "a")) and J(r, "a") in (1, 2, 3)),
    ('j["a"] == "3"', None, lambda r: J(r, "a") == "3"),
    ('j["a"] * 2 == 8', None, lambda r: num(J(r, "a")) and J(r, "a") * 2 == 8),
    ('j["nested"]["x"] <= 0', None,
     lambda r: num(J(r, "nested", "x")) and J(r, "nested", "x") <= 0),
    ('-5 < j["nested"]["x"] < 5.5', None,
     lambda r: num(J(r, "nested", "x")) and -5 < J(r, "nested", "x") < 5.5),
    ('j["nested"]["y"] == "red"', None, lambda r: J(r, "nested", "y") == "red"),
    ('j["name"] like "app%"', None, lambda r: like("app%")(J(r, "name"))),
    ('j["tags"][0] == "blue"', None, lambda r: J(r, "tags", 0) == "blue"),
    ('j["nums"][1] >= 3', None, lambda r: num(J(r, "nums", 1)) and J(r, "nums", 1) >= 3),
    ('json_contains(j["tags"], "red")', None,
     lambda r: isinstance(J(r, "tags"), list) and "red" in J(r, "tags")),
    ('json_contains_all(j["tags"], ["red", "blue"])', None,
     lambda r: isinstance(J(r, "tags"), list) and {"red", "blue"} <= set(J(r, "tags"))),
    ('json_contains_any(j["nums"], [1, 2])', None,
     lambda r: isinstance(J(r, "nums"), list) and bool({1, 2} & set(J(r, "nums")))),
    ('JSON_CONTAINS(j["tags"], "green")', None,
     lambda r: isinstance(J(r, "tags"), list) and "green" in J(r, "tags")),
    ('exists j["nested"]', None, lambda r: J(r, "nested") is not MISSING),
    ('exists j["opt"]', None, lambda r: J(r, "opt") is not MISSING),
    ('j["opt"] == 2', None, lambda r: J(r, "opt") == 2),
    ('j["a"] > 3 and j["nested"]["y"] in ["red", "blue"]', None,
     lambda r: num(J(r, "a")) and J(r, "a") > 3 and J(r, "nested", "y") in ("red", "blue")),
    # arrays
    ("array_contains(ai, 3)", None, lambda r: 3 in r["ai"]),
    ("array_contains_all(ai, [1, 2])", None, lambda r: {1, 2} <= set(r["ai"])),
    ("array_contains_any(ai, [8, 9])", None, lambda r: bool({8, 9} & set(r["ai"]))),
    ('array_contains_any(av, ["red", "white"])', None,
     lambda r: bool({"red", "white"} & set(r["av"]))),
    ('array_contains(av, "green")', None, lambda r: "green" in r["av"]),
    ("array_length(ai) == 0", None, lambda r: len(r["ai"]) == 0),
    ("array_length(av) >= 3", None, lambda r: len(r["av"]) >= 3),
    ("ai[0] == 2", None, lambda r: len(r["ai"]) > 0 and r["ai"][0] == 2),
    ("ai[2] > 6", None, lambda r: len(r["ai"]) > 2 and r["ai"][2] > 6),
    ('av[1] == "blue"', None, lambda r: len(r["av"]) > 1 and r["av"][1] == "blue"),
    ("ai == [1, 2]", None, lambda r: r["ai"] == [1, 2]),
    # dynamic fields
    ("dk > 25", None, lambda r: "dk" in r and r["dk"] > 25),
    ('$meta["dk"] <= 5', None, lambda r: "dk" in r and r["dk"] <= 5),
    ('dcolor in ["red", "blue"]', None, lambda r: r.get("dcolor") in ("red", "blue")),
    ('dk == 10 or dcolor == "red"', None, lambda r: r.get("dk") == 10 or r.get("dcolor") == "red"),
    ('dk > 10 and dcolor == "green"', None,
     lambda r: "dk" in r and r["dk"] > 10 and r.get("dcolor") == "green"),
    # templates
    ("i64 > {lo} and s in {names}", {"lo": 0, "names": ["apple_1", "fig_2", "grape_3"]},
     lambda r: r["i64"] > 0 and r["s"] in ("apple_1", "fig_2", "grape_3")),
    ("array_contains_any(av, {cs})", {"cs": ["red", "green"]},
     lambda r: bool({"red", "green"} & set(r["av"]))),
    ('j["a"] in {vals}', {"vals": [1, 2]}, lambda r: num(J(r, "a")) and J(r, "a") in (1, 2)),
    ("ni == {v}", {"v": 5}, lambda r: r["ni"] == 5),
    ("f > {x}", {"x": 10.5}, lambda r: r["f"] > 10.5),
    ("b == {t} and {lo} <= i32 < {hi}", {"t": True, "lo": -10, "hi": 500},
     lambda r: r["b"] and -10 <= r["i32"] < 500),
    ("id in {ids}", {"ids": [3, 5, 700, 9999]}, lambda r: r["id"] in (3, 5, 700)),
]


def expected_ids(pred) -> List[int]:
    return sorted(r["id"] for r in ROWS if pred(r))


@pytest.mark.parametrize("expr,params,pred", CASES, ids=[c[0] for c in CASES])
def test_filter_matches_python(module_client, qcoll, expr, params, pred):
    kwargs = {"filter_params": params} if params else {}
    res = module_client.query(qcoll, filter=expr, output_fields=["id"], **kwargs)
    got = [r["id"] for r in res]
    assert len(got) == len(set(got)), f"{expr!r}: duplicate rows"
    exp = expected_ids(pred)
    assert sorted(got) == exp, (
        f"{expr!r}: extra {sorted(set(got) - set(exp))[:10]}, "
        f"missing {sorted(set(exp) - set(got))[:10]} ({len(got)} vs {len(exp)})")


def test_filter_cases_are_selective():
    """Guard against a vacuous suite: most cases must match some rows but not all."""
    partial = [e for e, _, p in CASES if 0 < len(expected_ids(p)) < N]
    assert len(partial) > 0.8 * len(CASES)


def test_count_star_with_filter(module_client, qcoll):
    c = module_client
    for expr, params, pred in CASES[::5]:
        kwargs = {"filter_params": params} if params else {}
        res = c.query(qcoll, filter=expr, output_fields=["count(*)"], **kwargs)
        assert res == [{"count(*)": len(expected_ids(pred))}], expr
    assert c.query(qcoll, filter="", output_fields=["count(*)"]) == [{"count(*)": N}]


# -- output fields ----------------------------------------------------------------------------

def same(field, exp, got) -> bool:
    if field == "f":
        return f32(exp) == f32(got)
    if field == "vec":
        return np.array_equal(np.asarray(exp, np.float32), np.asarray(got, np.float32))
    return exp == got


def test_output_fields(module_client, qcoll):
    c = module_client
    expr = "id < 60"
    sub = [r for r in ROWS if r["id"] < 60]

    res = c.query(qcoll, filter=expr, output_fields=["i64", "s", "ni", "j", "ai", "av"])
    assert len(res) == 60
    for row in res:
        r = ROWS[row["id"]]
        assert set(row) == {"id", "i64", "s", "ni", "j", "ai", "av"}, row.keys()
        for k in ("i64", "s", "ni", "j", "ai", "av"):
            assert row[k] == r[k], f"id {r['id']} {k}: {row[k]!r} != {r[k]!r}"

    res = c.query(qcoll, filter=expr, output_fields=["dk", "dcolor", "f"])
    for row in res:
        r = ROWS[row["id"]]
        exp = {"id": r["id"], "f": r["f"], **{k: r[k] for k in ("dk", "dcolor") if k in r}}
        assert set(row) == set(exp), f"id {r['id']}: keys {sorted(row)} != {sorted(exp)}"
        assert all(same(k, exp[k], row[k]) for k in exp), row

    for ofs in (["*"], None):
        res = c.query(qcoll, filter=expr, output_fields=ofs)
        assert len(res) == len(sub)
        for row in res:
            r = ROWS[row["id"]]
            assert set(row) == set(r), f"{ofs}: keys {sorted(row)} != {sorted(r)}"
            for k in r:
                assert same(k, r[k], row[k]), f"{ofs}: id {r['id']} {k}: {row[k]!r} != {r[k]!r}"


def test_limit_offset_pages_in_pk_order(module_client, qcoll):
    c = module_client
    expr, pred = "i64 > 0", lambda r: r["i64"] > 0
    exp = expected_ids(pred)
    pages = []
    for offset in (0, 25, 50):
        res = c.query(qcoll, filter=expr, output_fields=["id"], limit=25, offset=offset)
        pages += [r["id"] for r in res]
    assert pages == exp[:75]
    res = c.query(qcoll, filter=expr, output_fields=["id"], limit=5000)
    assert [r["id"] for r in res] == exp
    res = c.query(qcoll, filter=expr, output_fields=["id"], limit=10, offset=len(exp) - 4)
    assert [r["id"] for r in res] == exp[-4:]
    # empty filter needs a limit, and then pages through everything
    res = c.query(qcoll, filter="", output_fields=["id"], limit=7, offset=3)
    assert [r["id"] for r in res] == list(range(3, 10))


def test_query_limit_window(module_client, qcoll):
    """offset + limit <= 16384 for query too (Milvus validateMaxQueryResultWindow)."""
    c = module_client
    assert len(c.query(qcoll, filter="id >= 0", output_fields=["id"], limit=16384)) == N
    e = server_error(c.query, qcoll, filter="id >= 0", output_fields=["id"], limit=16385)
    assert_msg(e, "16384", "limit")
    e = server_error(c.query, qcoll, filter="id >= 0", output_fields=["id"], limit=16000,
                     offset=400)
    assert_msg(e, "16384", "limit", "offset")


def test_partition_filtering(module_client):
    c = module_client
    name = unique("qpart")
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema(), index_params=ip)
    c.create_partition(name, "odd")
    c.insert(name, [r for r in ROWS if r["id"] % 2 == 0])
    c.insert(name, [r for r in ROWS if r["id"] % 2 == 1], partition_name="odd")
    pred = lambda r: r["i64"] > 0  # noqa: E731
    got = c.query(name, filter="i64 > 0", output_fields=["id"], partition_names=["odd"])
    assert ids_of(got) == [pk for pk in expected_ids(pred) if pk % 2 == 1]
    n = c.query(name, filter="i64 > 0", output_fields=["count(*)"], partition_names=["_default"])
    assert n == [{"count(*)": len([pk for pk in expected_ids(pred) if pk % 2 == 0])}]
    c.drop_collection(name)


def test_filters_see_only_the_live_version_after_upsert(module_client):
    c = module_client
    name = unique("qups")
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema(), index_params=ip)
    c.insert(name, ROWS[:300])
    c.flush(name)
    c.insert(name, ROWS[300:])
    changed = [r["id"] for r in ROWS if r["id"] % 5 == 0]
    new_rows = []
    for pk in changed:
        r = dict(ROWS[pk])
        r["i64"], r["s"], r["ni"] = 100_000 + pk, f"upserted_{pk}", None
        new_rows.append(r)
    c.upsert(name, new_rows)
    cur = {r["id"]: r for r in ROWS}
    cur.update({r["id"]: r for r in new_rows})
    for expr, pred in (("i64 >= 100000", lambda r: r["i64"] >= 100000),
                       ("i64 > 0 and i64 < 100000", lambda r: 0 < r["i64"] < 100000),
                       ('s like "upserted_%"', lambda r: r["s"].startswith("upserted_")),
                       ("ni is null", lambda r: r["ni"] is None),
                       ("ni >= 0", lambda r: r["ni"] is not None)):
        got = c.query(name, filter=expr, output_fields=["i64"], consistency_level="Strong")
        assert ids_of(got) == sorted(pk for pk, r in cur.items() if pred(r)), expr
        assert all(row["i64"] == cur[row["id"]]["i64"] for row in got), expr
    n = c.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    assert n == [{"count(*)": N}], "upsert must replace, not add"
    c.drop_collection(name)


def test_empty_filter_without_limit_is_rejected(module_client, qcoll):
    e = server_error(module_client.query, qcoll, filter="", output_fields=["id"])
    assert_msg(e, "limit", "empty expression")


def test_query_iterator_pages(module_client, qcoll):
    c = module_client
    for expr, pred, batch, limit in (("i32 > 0", lambda r: r["i32"] > 0, 37, -1),
                                     ("", lambda r: True, 100, -1),
                                     ('s like "a%" or ni is null',
                                      lambda r: r["s"].startswith("a") or r["ni"] is None, 10, 55)):
        exp = expected_ids(pred)
        if limit > 0:
            exp = exp[:limit]
        it = c.query_iterator(qcoll, batch_size=batch, limit=limit, filter=expr,
                              output_fields=["i32"])
        pages = []
        for _ in range(1000):
            page = it.next()
            if not page:
                break
            pages.append([r["id"] for r in page])
            assert all(set(r) == {"id", "i32"} for r in page)
        else:
            raise AssertionError("query_iterator did not finish")
        it.close()
        assert all(len(p) == batch for p in pages[:-1]) and len(pages[-1]) <= batch, (
            expr, [len(p) for p in pages])
        flat = [pk for p in pages for pk in p]
        assert flat == exp, f"{expr!r}: iterator rows are not the filtered rows in pk order"


def test_get_by_ids_across_sealed_and_growing(module_client, qcoll):
    ids = [0, 1, 399, 400, 799, 12345]
    res = module_client.get(qcoll, ids=ids, output_fields=["i64", "ni"])
    assert sorted((r["id"], r["i64"], r["ni"]) for r in res) == [
        (i, ROWS[i]["i64"], ROWS[i]["ni"]) for i in ids if i < N]


# -- delete by filter -------------------------------------------------------------------------

def test_delete_by_filter_then_verify(module_client):
    c = module_client
    name = unique("qdel")
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema(), index_params=ip)
    c.insert(name, ROWS[:400])
    c.flush(name)
    c.insert(name, ROWS[400:])
    alive = {r["id"] for r in ROWS}
    for expr, pred in (('s like "apple%" or ni is null',
                        lambda r: r["s"].startswith("apple") or r["ni"] is None),
                       ('j["a"] > 6', lambda r: num(J(r, "a")) and J(r, "a") > 6),
                       ("array_contains(ai, 4) and dk > 20",
                        lambda r: 4 in r["ai"] and "dk" in r and r["dk"] > 20)):
        doomed = {r["id"] for r in ROWS if r["id"] in alive and pred(r)}
        assert doomed, expr
        res = c.delete(name, filter=expr)
        assert res["delete_count"] == len(doomed), (expr, res)
        alive -= doomed
        got = c.query(name, filter=expr, output_fields=["id"], consistency_level="Strong")
        assert got == [], f"{expr!r} still matches {[r['id'] for r in got][:10]}"
        got = c.query(name, filter="id >= 0", output_fields=["id"], consistency_level="Strong")
        assert sorted(r["id"] for r in got) == sorted(alive)
        n = c.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
        assert n == [{"count(*)": len(alive)}]
    c.flush(name)
    got = c.query(name, filter="id >= 0", output_fields=["id"], consistency_level="Strong")
    assert sorted(r["id"] for r in got) == sorted(alive)
    c.drop_collection(name)


# -- consistency ------------------------------------------------------------------------------

def simple_collection(c: MilvusClient, name: str, level: str) -> None:
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=s, index_params=ip, consistency_level=level)


def raw_insert(c: MilvusClient, name: str, rows: List[dict]) -> None:
    """Insert through the stub: pymilvus's session-ts cache never hears of this write, so a
    following read carries no timestamp that covers it."""
    handler = c._get_connection()
    sch, ts = handler._get_schema(name)
    req = Prepare.row_insert_param(name, rows, "", sch["fields"],
                                   sch.get("struct_array_fields", []), schema_timestamp=ts,
                                   enable_dynamic=sch.get("enable_dynamic_field", False))
    check_status(handler._stub.Insert(req, timeout=10).status)


def ids_of(res) -> List[int]:
    return sorted(r["id"] for r in res)


@pytest.mark.parametrize("level", ["Strong", "Session"])
def test_read_your_writes_50_times(module_client, level):
    """Bounded collection; every read overrides the level per request."""
    c = module_client
    name = unique(f"ryw_{level.lower()}")
    simple_collection(c, name, "Bounded")
    for i in range(50):
        c.insert(name, [{"id": i, "vec": [float(i), 0.0, 0.0, 0.0]}])
        got = c.query(name, filter=f"id == {i}", output_fields=["id"], consistency_level=level)
        assert ids_of(got) == [i], f"iteration {i}: {level} read missed the insert"
        if i % 10 == 0:
            hits = c.search(name, data=[[float(i), 0.0, 0.0, 0.0]], limit=1,
                            consistency_level=level)
            assert hits[0][0]["id"] == i and hits[0][0]["distance"] == 0.0
        c.delete(name, ids=[i])
        got = c.query(name, filter=f"id == {i}", output_fields=["id"], consistency_level=level)
        assert got == [], f"iteration {i}: {level} read still sees the deleted row"
        if i % 10 == 5:
            c.upsert(name, [{"id": 10_000, "vec": [0.0, float(i), 0.0, 0.0]}])
            got = c.query(name, filter="id == 10000", output_fields=["vec"],
                          consistency_level=level)
            assert got[0]["vec"][1] == float(i), f"iteration {i}: stale upsert"
    c.drop_collection(name)


def test_collection_level_strong_applies_by_default(module_client):
    """Writes the client does not know about (raw Insert) must be visible to a read that names
    no level, because the collection is Strong."""
    c = module_client
    name = unique("coll_strong")
    simple_collection(c, name, "Strong")
    assert c.describe_collection(name)["consistency_level"] == 0  # Strong
    for i in range(30):
        raw_insert(c, name, [{"id": i, "vec": [1.0, 0.0, 0.0, float(i)]}])
        assert ids_of(c.query(name, filter=f"id == {i}", output_fields=["id"])) == [i], i
        hits = c.search(name, data=[[1.0, 0.0, 0.0, float(i)]], limit=1)
        assert hits[0][0]["id"] == i, i
    c.drop_collection(name)


def test_collection_level_session_sees_own_writes(module_client):
    c = module_client
    name = unique("coll_session")
    simple_collection(c, name, "Session")
    assert c.describe_collection(name)["consistency_level"] == 1  # Session
    for i in range(30):
        c.insert(name, [{"id": i, "vec": [0.0, 1.0, 0.0, float(i)]}])
        assert ids_of(c.query(name, filter=f"id == {i}", output_fields=["id"])) == [i], i
        c.delete(name, filter=f"id == {i}")
        assert c.query(name, filter=f"id == {i}", output_fields=["id"]) == [], i
    c.drop_collection(name)


@pytest.mark.parametrize("level,code", [("Bounded", 2), ("Eventually", 3)])
def test_weaker_levels_converge_and_strong_request_overrides(module_client, level, code):
    c = module_client
    name = unique(f"coll_{level.lower()}")
    simple_collection(c, name, level)
    assert c.describe_collection(name)["consistency_level"] == code
    raw_insert(c, name, [{"id": i, "vec": [float(i), 1.0, 0.0, 0.0]} for i in range(20)])
    # per-request Strong: visible at once
    assert ids_of(c.query(name, filter="id >= 0", output_fields=["id"],
                          consistency_level="Strong")) == list(range(20))
    raw_insert(c, name, [{"id": 100, "vec": [0.0, 0.0, 0.0, 1.0]}])
    # the collection's own level: a consistent snapshot, visible within the staleness bound
    deadline = time.monotonic() + 10
    while True:
        got = ids_of(c.query(name, filter="id >= 0", output_fields=["id"]))
        assert got in (list(range(20)), list(range(20)) + [100]), got  # never half a write
        if 100 in got:
            break
        assert time.monotonic() < deadline, f"{level}: insert still invisible after 10 s"
        time.sleep(0.2)
    # every level can be asked for per request; the weak ones converge too
    raw_insert(c, name, [{"id": 200, "vec": [0.0, 0.0, 1.0, 0.0]}])
    want = list(range(20)) + [100, 200]
    for req_level in ("Strong", "Session", "Bounded", "Eventually"):
        deadline = time.monotonic() + 10
        while True:
            got = ids_of(c.query(name, filter="id >= 0", output_fields=["id"],
                                 consistency_level=req_level))
            hits = c.search(name, data=[[0.0, 0.0, 1.0, 0.0]], limit=1,
                            consistency_level=req_level)
            if got == want and hits[0][0]["id"] == 200:
                break
            assert req_level not in ("Strong",), f"Strong read missed a write: {got}"
            assert time.monotonic() < deadline, f"per-request {req_level} never converged"
            time.sleep(0.2)
    c.drop_collection(name)


# -- errors -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def strict_coll(module_client):
    """No dynamic field: unknown names are errors, not dynamic keys."""
    c = module_client
    name = unique("qstrict")
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema(dynamic=False), index_params=ip)
    rows = [{k: v for k, v in r.items() if k not in ("dk", "dcolor")} for r in ROWS[:50]]
    c.insert(name, rows)
    return name


def test_unknown_field_in_filter(module_client, strict_coll):
    e = server_error(module_client.query, strict_coll, filter="nofield > 1", output_fields=["id"])
    assert_msg(e, "nofield")


def test_unknown_dynamic_key_is_just_absent(module_client, qcoll):
    assert module_client.query(qcoll, filter="nokey > 1", output_fields=["id"]) == []


@pytest.mark.parametrize("expr,needles", [
    ('i64 == "abc"', ("i64", "int64")),
    ("s > 5", ("s", "varchar", "string")),
    ('b == "yes"', ("b", "bool")),
    ('array_contains(ai, "x")', ("ai", "int64", "cast")),
])
def test_type_mismatch(module_client, strict_coll, expr, needles):
    e = server_error(module_client.query, strict_coll, filter=expr, output_fields=["id"])
    assert_msg(e, *needles)


@pytest.mark.parametrize("expr,where", [
    ("i64 > ", 6), ("i64 > 5 and and b == true", 12), ('s == "unterminated', 5),
    ("i64 >> 5 )", None), ("(i64 > 5", None), ("i64 in [1, 2", None)])
def test_unparseable_filter_says_where(module_client, strict_coll, expr, where):
    e = server_error(module_client.query, strict_coll, filter=expr, output_fields=["id"])
    msg = e.message or ""
    assert re.search(r"(position|pos|offset|column|col|line|at|char)\D{0,12}\d+", msg, re.I), (
        f"{expr!r}: message does not say where: {msg!r}")
    assert_msg(e, "parse", "syntax", "expect", "unexpected", "invalid", "mismatched")
    if where is not None:
        nums = [int(n) for n in re.findall(r"\d+", msg)]
        assert any(abs(n - where) <= 2 for n in nums), (
            f"{expr!r}: no position near {where}: {msg!r}")


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_deeply_nested_filter_fails_fast_and_server_survives(module_client, module_server,
                                                             strict_coll, depth):
    c = module_client
    expr = "(" * depth + "i64 > 0" + ")" * depth
    t0 = time.monotonic()
    try:
        res = c.query(strict_coll, filter=expr, output_fields=["id"])
    except Exception as e:  # noqa: BLE001 - the type is checked below
        from pymilvus import MilvusException
        assert isinstance(e, MilvusException), f"not a server error: {e!r}"
        assert_msg(e, "depth", "nest", "deep", "long", "length", "limit", "recursion", "parenthes")
        res = None
    elapsed = time.monotonic() - t0
    assert elapsed < 5, f"took {elapsed:.1f}s"
    if depth == 100_000:
        assert res is None, "100000 nested parentheses should be rejected"
    elif res is not None:  # a server may accept moderate nesting; then the answer must be right
        assert ids_of(res) == sorted(r["id"] for r in ROWS[:50] if r["i64"] > 0)
    assert module_server.running
    assert len(c.query(strict_coll, filter="id < 5", output_fields=["id"])) == 5


def test_query_on_released_collection(module_client):
    c = module_client
    name = unique("qrel")
    c.create_collection(name, dimension=4)
    c.insert(name, [{"id": 1, "vector": [0.0, 0.0, 0.0, 1.0]}])
    c.release_collection(name)
    e = server_error(c.query, name, filter="id > 0")
    assert_code(e, COLLECTION_NOT_LOADED)
    c.drop_collection(name)
