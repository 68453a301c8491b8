"""Write path end to end through pymilvus: insert / upsert / delete / flush, read back with get /
query, persistence across SIGTERM and kill -9, validation, load/release, pagination, partitions.

Reads use only what Kite implements so far: `pk in [...]` / `pk == v` filters, the empty filter
with a limit, and `count(*)`.  Search is not covered here.

Milvus facts relied on (sources in the comments next to each use):
* get/query output_fields=["*"] returns every field, vectors and dynamic keys included; dynamic
  keys are flattened into the row.  Byte vectors (binary/float16/bfloat16/int8) come back from
  pymilvus as a one-element list holding the raw bytes, sparse rows as {index: value}.
* A nullable field sent as None reads back as None; a field with a default value sent as None
  or left out reads back as the default (milvus proxy validate_util.go FillWithDefaultValue).
* Simple deletes (`pk in [...]`, `pk == v`) report delete_count = number of primary keys named
  in the expression, whether or not they exist (milvus proxy task_delete.go: simpleDelete sets
  DeleteCnt = task.count, which counts every pk hashed to a channel).
* get_collection_stats row_count counts inserted rows (upserts insert a new row); deletes are not
  subtracted before compaction.
* Reads on a released collection fail with merr ErrCollectionNotLoaded (101).
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import pytest
from pymilvus import Collection, DataType, MilvusClient, connections
from pymilvus.client.prepare import Prepare
from pymilvus.client.types import LoadState
from pymilvus.client.utils import check_status
from pymilvus.exceptions import DataNotMatchException

from e2e_util import (
    COLLECTION_NOT_FOUND,
    PARTITION_NOT_FOUND,
    UNTYPED_OR_PARAM,
    assert_code,
    assert_msg,
    server_error,
    unique,
)

COLLECTION_NOT_LOADED = 101  # merr ErrCollectionNotLoaded
SEED = int(os.environ.get("KITE_E2E_SEED", "20261124"))  # vary to explore other kill timings

VECTOR_METRIC = {
    DataType.FLOAT_VECTOR: "L2",
    DataType.FLOAT16_VECTOR: "L2",
    DataType.BFLOAT16_VECTOR: "L2",
    DataType.INT8_VECTOR: "L2",
    DataType.BINARY_VECTOR: "HAMMING",
    DataType.SPARSE_FLOAT_VECTOR: "IP",
}


# -- helpers ---------------------------------------------------------------------------------

def create_loaded(client: MilvusClient, name: str, schema, **kwargs) -> None:
    """Create the collection with an AUTOINDEX on every vector field and load it (Milvus needs
    every vector field indexed before LoadCollection)."""
    ip = MilvusClient.prepare_index_params()
    for f in schema.fields:
        if f.dtype in VECTOR_METRIC:
            ip.add_index(f.name, index_type="AUTOINDEX", metric_type=VECTOR_METRIC[f.dtype])
    client.create_collection(name, schema=schema, index_params=ip, **kwargs)
    assert client.get_load_state(name)["state"] == LoadState.Loaded


def count_rows(client: MilvusClient, name: str, **kwargs) -> int:
    res = client.query(name, filter="", output_fields=["count(*)"], **kwargs)
    assert len(res) == 1, res
    return res[0]["count(*)"]


def f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def values_equal(dtype: Optional[DataType], exp, got) -> bool:
    """Exact comparison after the storage type's rounding (FLOAT / FLOAT_VECTOR are float32)."""
    if exp is None or got is None:
        return exp is None and got is None
    if dtype == DataType.FLOAT:
        return f32(exp) == f32(got)
    if dtype == DataType.FLOAT_VECTOR:
        return len(exp) == len(got) and np.array_equal(f32(exp), f32(got))
    if dtype in (DataType.BINARY_VECTOR, DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR,
                 DataType.INT8_VECTOR):
        raw = exp.tobytes() if isinstance(exp, np.ndarray) else bytes(exp)
        # pymilvus returns byte vectors as [bytes] (field_data_extractors wrap_byte_vectors)
        return isinstance(got, list) and len(got) == 1 and bytes(got[0]) == raw
    if dtype == DataType.SPARSE_FLOAT_VECTOR:
        return (sorted(int(k) for k in exp) == sorted(int(k) for k in got)
                and all(f32(exp[k]) == f32(got[k]) for k in exp))
    return exp == got


def assert_rows_equal(expected: Dict, got_rows: List[dict], pk: str, types: Dict[str, DataType]):
    """expected: pk -> full expected row.  Every field (and dynamic key) must match exactly and
    the row must not carry extra keys."""
    got = {}
    for r in got_rows:
        assert r[pk] not in got, f"pk {r[pk]!r} returned twice"
        got[r[pk]] = r
    assert set(got) == set(expected), (
        f"missing {sorted(set(expected) - set(got))[:10]}, "
        f"extra {sorted(set(got) - set(expected))[:10]}")
    for key, exp in expected.items():
        row = got[key]
        assert set(row) == set(exp), f"pk {key!r}: keys {sorted(row)} != {sorted(exp)}"
        for fname, ev in exp.items():
            assert values_equal(types.get(fname), ev, row[fname]), (
                f"pk {key!r} field {fname!r}: expected {ev!r}, got {row[fname]!r}")


def get_all(client: MilvusClient, name: str, pks: List, output_fields: List[str],
            chunk: int = 1000) -> List[dict]:
    out: List[dict] = []
    for i in range(0, len(pks), chunk):
        out.extend(client.get(name, ids=pks[i:i + chunk], output_fields=output_fields))
    return out


# -- 1. round trip of every field type ---------------------------------------------------------

A_TYPES = {
    "pk": DataType.INT64, "vec": DataType.FLOAT_VECTOR, "i8v": DataType.INT8_VECTOR,
    "b": DataType.BOOL, "i8": DataType.INT8, "i16": DataType.INT16, "i32": DataType.INT32,
    "i64": DataType.INT64, "f": DataType.FLOAT, "d": DataType.DOUBLE, "s": DataType.VARCHAR,
    "j": DataType.JSON, "arr": DataType.ARRAY, "sarr": DataType.ARRAY,
    "n_i16": DataType.INT16, "n_s": DataType.VARCHAR, "n_j": DataType.JSON,
    "n_arr": DataType.ARRAY, "n_d": DataType.DOUBLE,
    "df_i64": DataType.INT64, "df_s": DataType.VARCHAR, "df_b": DataType.BOOL,
    "df_i32": DataType.INT32, "nd_f": DataType.FLOAT,
}
A_DEFAULTS = {"df_i64": 77, "df_s": "dflt", "df_b": True, "df_i32": -5, "nd_f": 2.5}
A_NULLABLE = ("n_i16", "n_s", "n_j", "n_arr", "n_d")


def schema_a(dynamic: bool = True):
    s = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    s.add_field("pk", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=8)
    s.add_field("i8v", DataType.INT8_VECTOR, dim=8)
    s.add_field("b", DataType.BOOL)
    s.add_field("i8", DataType.INT8)
    s.add_field("i16", DataType.INT16)
    s.add_field("i32", DataType.INT32)
    s.add_field("i64", DataType.INT64)
    s.add_field("f", DataType.FLOAT)
    s.add_field("d", DataType.DOUBLE)
    s.add_field("s", DataType.VARCHAR, max_length=64)
    s.add_field("j", DataType.JSON)
    s.add_field("arr", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    s.add_field("sarr", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4,
                max_length=16)
    s.add_field("n_i16", DataType.INT16, nullable=True)
    s.add_field("n_s", DataType.VARCHAR, max_length=32, nullable=True)
    s.add_field("n_j", DataType.JSON, nullable=True)
    s.add_field("n_arr", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4,
                nullable=True)
    s.add_field("n_d", DataType.DOUBLE, nullable=True)
    s.add_field("df_i64", DataType.INT64, default_value=77)
    s.add_field("df_s", DataType.VARCHAR, max_length=16, default_value="dflt")
    s.add_field("df_b", DataType.BOOL, default_value=True)
    # INT32 defaults must be numpy scalars (see e2e_util.all_types_schema_a)
    s.add_field("df_i32", DataType.INT32, default_value=np.int32(-5))
    s.add_field("nd_f", DataType.FLOAT, nullable=True, default_value=2.5)
    return s


def rows_a(pks, rng: np.random.Generator, dynamic: bool = True) -> List[dict]:
    i8s, i16s = [-128, 127, 0, -1], [-32768, 32767, 0, 5]
    i32s, i64s = [-2**31, 2**31 - 1, 0, 12345], [-2**63, 2**63 - 1, 0, 1 << 40]
    rows = []
    for n, pk in enumerate(pks):
        row = {
            "pk": pk,
            "vec": (rng.integers(-512, 512, 8) / 64.0).tolist(),
            "i8v": rng.integers(-128, 128, 8).astype(np.int8),
            "b": pk % 2 == 0,
            "i8": i8s[n % 4], "i16": i16s[n % 4], "i32": i32s[n % 4], "i64": i64s[n % 4],
            "f": pk / 8.0 - 3.0,
            "d": pk / 3.0,
            "s": f"s-{pk}-\u00fc\u4e2d" if n % 3 else "",
            "j": ({"k": pk, "nested": {"a": [1, "two", {"b": None}]}, "f": 1.5, "t": True}
                  if n % 4 else [pk, "x", None]),
            "arr": list(range(pk, pk + n % 9)),
            "sarr": [f"e{pk}-{i}" for i in range(n % 5)],
        }
        # nullable without default: value / explicit None / key left out
        for name, val in (("n_i16", -pk), ("n_s", f"n{pk}"), ("n_j", {"pk": pk}),
                          ("n_arr", [pk, -pk]), ("n_d", pk * 0.5)):
            if n % 3 == 0:
                row[name] = val
            elif n % 3 == 1:
                row[name] = None
        # fields with defaults: explicit value / explicit None / left out
        for name, val in (("df_i64", -pk), ("df_s", f"v{pk}"), ("df_b", False),
                          ("df_i32", pk * 3), ("nd_f", pk + 0.25)):
            if n % 3 == 0:
                row[name] = val
            elif n % 3 == 1:
                row[name] = None
        if dynamic and n % 2 == 0:
            row.update({"color": f"c{pk}", "score": pk * 0.25, "tags": ["a", pk],
                        "obj": {"x": pk, "y": [None, 1.5]}})
        elif dynamic and n % 5 == 1:
            row["color"] = "lonely"
        rows.append(row)
    return rows


def expected_a(row: dict) -> dict:
    exp = {}
    for name in A_TYPES:
        v = row.get(name)
        if v is None and name in A_DEFAULTS:
            v = A_DEFAULTS[name]
        exp[name] = v
    for k, v in row.items():
        if k not in A_TYPES:
            exp[k] = v  # dynamic key
    return exp


def test_all_scalar_types_row_form_round_trip(module_client):
    c = module_client
    name = unique("rt_rows")
    create_loaded(c, name, schema_a())
    rng = np.random.default_rng(SEED)
    rows = rows_a(range(1, 25), rng)
    r1 = c.insert(name, rows[:10])
    r2 = c.insert(name, rows[10:])
    assert r1["insert_count"] == 10 and r2["insert_count"] == 14
    assert list(r1["ids"]) + list(r2["ids"]) == [r["pk"] for r in rows]

    expected = {r["pk"]: expected_a(r) for r in rows}
    got = c.get(name, ids=[r["pk"] for r in rows], output_fields=["*"])
    assert_rows_equal(expected, got, "pk", A_TYPES)

    # explicit output fields: pk always comes back; a dynamic key only where the row has it
    got = c.query(name, filter=f"pk in {[r['pk'] for r in rows]}", output_fields=["i8", "color"])
    assert len(got) == len(rows)
    for g in got:
        want = {"pk": g["pk"], "i8": expected[g["pk"]]["i8"]}
        if "color" in expected[g["pk"]]:
            want["color"] = expected[g["pk"]]["color"]
        assert g == want
    assert count_rows(c, name) == len(rows)
    c.drop_collection(name)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # ORM API is deprecated in pymilvus 2.6
def test_all_scalar_types_column_form_orm(module_client, module_server):
    """Column-form insert: MilvusClient.insert only takes rows, so use ORM Collection.insert with
    one list per schema field (pymilvus Prepare.batch_insert_param).  No dynamic keys can be sent
    in this form; Milvus then stores an empty $meta object per row."""
    c = module_client
    name = unique("rt_cols")
    create_loaded(c, name, schema_a())
    rows = rows_a(range(100, 118), np.random.default_rng(SEED + 1), dynamic=False)
    columns = []
    for fname in A_TYPES:
        col = [r.get(fname) for r in rows]
        if fname == "i8v":
            col = [v.tobytes() for v in col]
        columns.append(col)
    alias = unique("orm")
    connections.connect(alias=alias, uri=module_server.uri)
    try:
        coll = Collection(name, using=alias)
        res = coll.insert(columns)
        assert res.insert_count == len(rows)
        assert list(res.primary_keys) == [r["pk"] for r in rows]
    finally:
        connections.disconnect(alias)
    expected = {r["pk"]: expected_a(r) for r in rows}
    got = c.get(name, ids=list(expected), output_fields=["*"])
    assert_rows_equal(expected, got, "pk", A_TYPES)
    c.drop_collection(name)


V_TYPES = {"vpk": DataType.VARCHAR, "bvec": DataType.BINARY_VECTOR,
           "f16": DataType.FLOAT16_VECTOR, "bf16": DataType.BFLOAT16_VECTOR,
           "sp": DataType.SPARSE_FLOAT_VECTOR}


def schema_v():
    # At most 4 vector fields per collection (Milvus proxy.maxVectorFieldNum default), so
    # INT8_VECTOR lives in schema_a.
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("vpk", DataType.VARCHAR, is_primary=True, max_length=32)
    s.add_field("bvec", DataType.BINARY_VECTOR, dim=16)
    s.add_field("f16", DataType.FLOAT16_VECTOR, dim=8)
    s.add_field("bf16", DataType.BFLOAT16_VECTOR, dim=8)
    s.add_field("sp", DataType.SPARSE_FLOAT_VECTOR)
    return s


def bf16_bytes(x) -> bytes:
    """bfloat16 = upper half of float32 (numpy has no bfloat16 without ml_dtypes, so pymilvus
    takes raw bytes)."""
    return (f32(x).view(np.uint32) >> 16).astype(np.uint16).tobytes()


def rows_v(keys, rng: np.random.Generator) -> List[dict]:
    rows = []
    for n, k in enumerate(keys):
        nnz = 1 + n % 5
        idx = sorted(set(rng.choice(100000, nnz, replace=False).tolist()))
        if n == 3:
            idx[-1] = 4_000_000_000  # sparse indices are uint32 (< 2^32-1)
        rows.append({
            "vpk": k,
            "bvec": rng.integers(0, 256, 2, dtype=np.uint8).tobytes(),
            "f16": (rng.integers(-64, 64, 8) / 8.0).astype(np.float16),
            "bf16": bf16_bytes(rng.integers(-64, 64, 8) / 4.0),
            "sp": {i: (j + 1) * 0.25 for j, i in enumerate(idx)},
        })
    return rows


def test_vector_types_and_varchar_pk_round_trip(module_client):
    c = module_client
    name = unique("rt_vec")
    create_loaded(c, name, schema_v())
    rng = np.random.default_rng(SEED + 2)
    row_form = rows_v([f"r{i}" for i in range(8)], rng)
    res = c.insert(name, row_form)
    assert res["insert_count"] == 8 and list(res["ids"]) == [r["vpk"] for r in row_form]

    # column form through pymilvus's batch layer (what ORM Collection.insert calls; ORM's own
    # prepare_data cannot take bfloat16 without numpy bfloat16 support)
    col_form = rows_v([f"col-{i}" for i in range(6)], rng)
    entities = [
        {"name": "vpk", "type": DataType.VARCHAR, "values": [r["vpk"] for r in col_form]},
        {"name": "bvec", "type": DataType.BINARY_VECTOR, "values": [r["bvec"] for r in col_form]},
        {"name": "f16", "type": DataType.FLOAT16_VECTOR,
         "values": [r["f16"].tobytes() for r in col_form]},
        {"name": "bf16", "type": DataType.BFLOAT16_VECTOR, "values": [r["bf16"] for r in col_form]},
        {"name": "sp", "type": DataType.SPARSE_FLOAT_VECTOR, "values": [r["sp"] for r in col_form]},
    ]
    mr = c._get_connection().batch_insert(name, entities, timeout=10)
    assert mr.insert_count == 6 and list(mr.primary_keys) == [r["vpk"] for r in col_form]

    expected = {r["vpk"]: dict(r) for r in row_form + col_form}
    got = c.get(name, ids=list(expected), output_fields=["*"])
    assert_rows_equal(expected, got, "vpk", V_TYPES)

    one = c.query(name, filter='vpk == "r3"', output_fields=["sp"])
    assert len(one) == 1 and values_equal(DataType.SPARSE_FLOAT_VECTOR, expected["r3"]["sp"],
                                          one[0]["sp"])
    assert c.get(name, ids=["nope", "r1"], output_fields=["vpk"]) == [{"vpk": "r1"}]
    assert count_rows(c, name) == 14
    c.drop_collection(name)


def test_auto_id_returns_generated_ids(module_client):
    c = module_client
    name = unique("autoid")
    s = MilvusClient.create_schema(enable_dynamic_field=False, auto_id=True)
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    create_loaded(c, name, s)
    vecs = [[i, i + 0.5, -i, 1.0] for i in range(50)]
    r1 = c.insert(name, [{"vec": v} for v in vecs[:30]])
    r2 = c.insert(name, [{"vec": v} for v in vecs[30:]])
    ids = list(r1["ids"]) + list(r2["ids"])
    assert r1["insert_count"] == 30 and r2["insert_count"] == 20
    assert len(ids) == 50 and len(set(ids)) == 50 and all(isinstance(i, int) for i in ids)
    got = {r["id"]: r["vec"] for r in c.get(name, ids=ids, output_fields=["vec"])}
    assert set(got) == set(ids)
    for i, pk in enumerate(ids):
        assert values_equal(DataType.FLOAT_VECTOR, vecs[i], got[pk]), f"row {i} id {pk}"

    # Supplying the pk of an auto_id collection is refused (Milvus: "the value of primary key
    # field should be empty when auto_id is true" unless allow_insert_auto_id is set);
    # pymilvus sends the column when the first row carries it.
    e = server_error(c.insert, name, [{"id": 1, "vec": [0, 0, 0, 0]}])
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "id", "auto")
    assert count_rows(c, name) == 50
    c.drop_collection(name)


def test_all_types_survive_flush_and_kill9(server, client):
    """Every type through the sealed-segment path and WAL replay: half the rows flushed, half
    growing, some deleted / upserted across both, then kill -9."""
    rng = np.random.default_rng(SEED + 3)
    create_loaded(client, "types_a", schema_a())
    create_loaded(client, "types_v", schema_v())
    a_rows = rows_a(range(1, 31), rng)
    v_rows = rows_v([f"k{i}" for i in range(20)], rng)
    client.insert("types_a", a_rows[:15])
    client.insert("types_v", v_rows[:10])
    client.flush("types_a")
    client.flush("types_v")
    client.insert("types_a", a_rows[15:])
    client.insert("types_v", v_rows[10:])
    a_new = rows_a([2, 20, 99], rng)  # upsert: sealed row, growing row, new row
    client.upsert("types_a", a_new)
    client.delete("types_a", ids=[3, 21])
    v_new = rows_v(["k1", "k15", "k99"], rng)
    client.upsert("types_v", v_new)
    client.delete("types_v", ids=["k2", "k16"])

    a_exp = {r["pk"]: expected_a(r) for r in a_rows + a_new}
    del a_exp[3], a_exp[21]
    v_exp = {r["vpk"]: dict(r) for r in v_rows + v_new}
    del v_exp["k2"], v_exp["k16"]

    def check(c):
        assert_rows_equal(a_exp, c.get("types_a", ids=list(range(1, 31)) + [99],
                                       output_fields=["*"]), "pk", A_TYPES)
        assert_rows_equal(v_exp, c.get("types_v", ids=[f"k{i}" for i in range(20)] + ["k99"],
                                       output_fields=["*"]), "vpk", V_TYPES)
        assert count_rows(c, "types_a") == len(a_exp)
        assert count_rows(c, "types_v") == len(v_exp)

    check(client)
    client.close()
    server.kill9()
    server.start()
    c2 = server.client()
    try:
        check(c2)
    finally:
        c2.close()


# -- 2./3. mutation results, upsert and delete semantics ---------------------------------------

def ver_schema(dim: int = 8):
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("ver", DataType.INT64)
    s.add_field("tag", DataType.VARCHAR, max_length=32)
    return s


def vec_for(pk: int, ver: int, dim: int = 8) -> List[float]:
    # multiples of 1/64 below 32: exact in float32, different for every (pk, ver)
    return [((pk * 7 + ver * 13 + i * 3) % 2048) / 64.0 for i in range(dim)]


def vrows(pks, ver: int) -> List[dict]:
    return [{"id": pk, "vec": vec_for(pk, ver), "ver": ver, "tag": f"t{pk}-{ver}"} for pk in pks]


def check_live(client: MilvusClient, name: str, live: Dict[int, int], touched,
               rows: Optional[List[dict]] = None) -> None:
    """The collection holds exactly the rows in live (pk -> version), each exactly once.
    `touched`: every pk ever written (rows outside it are caught by count(*))."""
    if rows is None:
        rows = get_all(client, name, sorted(touched), ["ver", "vec", "tag"])
    expected = {pk: {"id": pk, "ver": v, "vec": vec_for(pk, v), "tag": f"t{pk}-{v}"}
                for pk, v in live.items()}
    assert_rows_equal(expected, rows, "id", {"vec": DataType.FLOAT_VECTOR})
    assert count_rows(client, name) == len(live)


def test_mutation_results(module_client):
    c = module_client
    name = unique("mres")
    create_loaded(c, name, ver_schema())
    r = c.insert(name, vrows([5, 1, 9, 3, 7], 1))
    assert r["insert_count"] == 5 and list(r["ids"]) == [5, 1, 9, 3, 7]
    r = c.upsert(name, vrows([9, 3, 20], 2))  # two existing pks, one new
    assert r["upsert_count"] == 3 and list(r["ids"]) == [9, 3, 20]
    r = c.delete(name, ids=[1, 5])
    assert r["delete_count"] == 2
    r = c.delete(name, filter="id in [7]")
    assert r["delete_count"] == 1
    r = c.delete(name, filter="id == 20")
    assert r["delete_count"] == 1
    # Milvus simpleDelete counts the pks named, existing or not (task_delete.go; see docstring)
    r = c.delete(name, ids=[1000, 1001])
    assert r["delete_count"] == 2
    assert sorted(x["id"] for x in c.query(name, filter="", limit=10)) == [3, 9]
    c.drop_collection(name)


def test_upsert_and_delete_semantics(module_client):
    c = module_client
    name = unique("updel")
    create_loaded(c, name, ver_schema())
    live: Dict[int, int] = {}
    touched = set()

    def ins(pks, ver):
        c.insert(name, vrows(pks, ver))
        live.update({p: ver for p in pks})
        touched.update(pks)

    def ups(pks, ver):
        c.upsert(name, vrows(pks, ver))
        live.update({p: ver for p in pks})
        touched.update(pks)

    def dele(pks):
        c.delete(name, ids=list(pks))
        for p in pks:
            live.pop(p, None)

    ins(range(10), 1)
    assert count_rows(c, name) == 10
    ups([3, 4], 2)
    got = c.get(name, ids=[3, 4], output_fields=["ver"])
    assert sorted((g["id"], g["ver"]) for g in got) == [(3, 2), (4, 2)]  # new version only
    assert count_rows(c, name) == 10
    page = c.query(name, filter="", limit=100, output_fields=["ver"])
    assert [(p["id"], p["ver"]) for p in page] == sorted(live.items())
    check_live(c, name, live, touched)

    dele([5, 6])
    assert c.get(name, ids=[5, 6]) == []
    assert count_rows(c, name) == 8
    ins([5], 3)  # re-insert a deleted pk
    assert [(g["id"], g["ver"]) for g in c.get(name, ids=[5], output_fields=["ver"])] == [(5, 3)]
    ups([100], 4)  # upsert of a pk that never existed inserts it
    assert count_rows(c, name) == 10
    ups([3], 5)
    ups([3], 6)  # two upserts in a row: only the last survives
    dele([7])
    ups([7], 7)  # upsert after delete
    dele([6])  # deleting an already deleted pk changes nothing
    check_live(c, name, live, touched)
    assert c.query(name, filter="id == 3", output_fields=["ver"]) == [{"id": 3, "ver": 6}]
    got = c.query(name, filter="id in [5, 6, 100]", output_fields=["ver"])
    assert sorted((g["id"], g["ver"]) for g in got) == [(5, 3), (100, 4)]

    # row_count: inserted rows incl. the row each upsert inserts, deletes not subtracted:
    # 10 inserts + 2 + 1 (re-insert) + 1 + 1 + 1 + 1 upserted rows = 17
    c.flush(name)
    assert c.get_collection_stats(name)["row_count"] == 17
    check_live(c, name, live, touched)
    c.drop_collection(name)


# -- 4. flush, clean restart, kill -9 ----------------------------------------------------------

def test_flush_restart_and_kill9_keep_every_write(server, client):
    name = "durable"
    create_loaded(client, name, ver_schema())
    live: Dict[int, int] = {}
    touched = set()

    def ins(c, pks, ver):
        c.insert(name, vrows(list(pks), ver))
        live.update({p: ver for p in pks})
        touched.update(pks)

    def ups(c, pks, ver):
        c.upsert(name, vrows(list(pks), ver))
        live.update({p: ver for p in pks})
        touched.update(pks)

    def dele(c, pks):
        c.delete(name, ids=list(pks))
        for p in pks:
            live.pop(p, None)

    ins(client, range(100), 1)
    client.flush(name)
    ups(client, range(10, 20), 2)  # overwrite sealed rows
    dele(client, range(20, 30))  # delete sealed rows
    ins(client, range(100, 150), 3)  # growing
    ups(client, [*range(0, 5), *range(100, 105), 500, 501], 4)  # sealed + growing + new
    dele(client, [*range(140, 145), 30, 31])  # growing + sealed
    dele(client, [60])
    ins(client, [60], 5)  # re-insert after delete
    check_live(client, name, live, touched)
    client.close()

    server.restart()  # SIGTERM, must exit 0
    c2 = server.client()
    assert c2.get_load_state(name)["state"] == LoadState.Loaded
    check_live(c2, name, live, touched)
    ups(c2, range(40, 45), 6)
    dele(c2, [0, 1, 100])
    ins(c2, range(600, 620), 7)
    c2.flush(name)  # a second sealed generation on top of the first
    ups(c2, [2, 3, 605, 41], 8)  # sealed gen 1 + sealed gen 2
    dele(c2, [606, 42, 101])
    ins(c2, range(620, 630), 9)
    c2.close()

    server.kill9()
    server.start()
    c3 = server.client()
    assert c3.get_load_state(name)["state"] == LoadState.Loaded
    check_live(c3, name, live, touched)
    ups(c3, [2, 620, 700], 10)
    dele(c3, [3, 621])
    c3.close()

    server.kill9()
    server.start()
    c4 = server.client()
    try:
        check_live(c4, name, live, touched)
        ids = [r["id"] for r in c4.query(name, filter="", limit=1000, output_fields=["id"])]
        assert ids == sorted(live)
    finally:
        c4.close()


# -- 5. crash test: kill -9 while a writer streams ---------------------------------------------

STREAM_TIMEOUT_S = 3.0  # per write; after the kill, pymilvus's retry gives up after this long


@dataclass
class Op:
    kind: str  # insert | upsert | delete
    pks: List[int]
    ver: int
    before: Dict[int, Optional[int]]  # pk -> version before the op (None: absent)


@dataclass
class Model:
    live: Dict[int, int] = field(default_factory=dict)  # acknowledged state: pk -> version
    next_pk: int = 0
    ver: int = 0
    acked: Dict[str, int] = field(default_factory=lambda: {"insert": 0, "upsert": 0, "delete": 0})
    in_doubt: List[str] = field(default_factory=list)

    def apply(self, op: Op) -> None:
        for pk in op.pks:
            if op.kind == "delete":
                self.live.pop(pk, None)
            else:
                self.live[pk] = op.ver


class Writer(threading.Thread):
    """Streams acknowledged writes into the model until its first failure (the kill)."""

    def __init__(self, client: MilvusClient, name: str, model: Model, rng: random.Random,
                 flush_after: Optional[int] = None):
        super().__init__(daemon=True)
        self.client, self.name, self.model, self.rng = client, name, model, rng
        self.flush_after = flush_after
        self.flushed = threading.Event()
        self.failed_op: Optional[Op] = None
        self.failure: Optional[BaseException] = None
        self.error: Optional[BaseException] = None  # a wrong acknowledgement or a test bug
        self.failed_at: Optional[float] = None
        self.n_acked = 0

    def fail(self, op: Optional[Op], e: BaseException) -> None:
        self.failed_at = time.monotonic()
        self.failed_op, self.failure = op, e

    def next_op(self) -> Op:
        m, rng = self.model, self.rng
        m.ver += 1
        r = rng.random()
        if r < 0.6 and len(m.live) >= 40_000:  # bound the verify cost: upsert/delete instead
            r = 0.6 + r * 0.4 / 0.6
        if r < 0.6 or len(m.live) < 400:
            pks = list(range(m.next_pk, m.next_pk + 200))
            m.next_pk += 200
            kind = "insert"
        elif r < 0.8:
            fresh = list(range(m.next_pk, m.next_pk + 10))
            m.next_pk += 10
            pks = rng.sample(list(m.live), 40) + fresh
            kind = "upsert"
        else:
            pks = rng.sample(list(m.live), 40) + [-1 - rng.randrange(1000) for _ in range(3)]
            pks = list(dict.fromkeys(pks))
            kind = "delete"
        return Op(kind, pks, m.ver, {pk: m.live.get(pk) for pk in pks})

    def send(self, op: Op):
        if op.kind == "insert":
            return self.client.insert(self.name, vrows(op.pks, op.ver), timeout=STREAM_TIMEOUT_S)
        if op.kind == "upsert":
            return self.client.upsert(self.name, vrows(op.pks, op.ver), timeout=STREAM_TIMEOUT_S)
        return self.client.delete(self.name, ids=op.pks, timeout=STREAM_TIMEOUT_S)

    def run(self) -> None:
        try:
            while True:
                if self.flush_after is not None and self.n_acked == self.flush_after:
                    try:
                        self.client.flush(self.name, timeout=10)
                    except Exception as e:  # noqa: BLE001 - the kill hit the flush
                        self.fail(None, e)
                        return
                    self.flushed.set()
                op = self.next_op()
                try:
                    res = self.send(op)
                except Exception as e:  # noqa: BLE001 - the kill (or a timeout): in doubt
                    self.fail(op, e)
                    return
                if op.kind == "insert":
                    assert res["insert_count"] == len(op.pks), res
                    assert list(res["ids"]) == op.pks
                elif op.kind == "upsert":
                    assert res["upsert_count"] == len(op.pks), res
                self.model.apply(op)
                self.model.acked[op.kind] += 1
                self.n_acked += 1
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            self.error = e


def resolve_in_doubt(op: Op, rows: Dict[int, dict]) -> bool:
    """The op that was in flight at the kill must be fully applied or not at all.
    Returns whether it was applied."""
    outcomes = {}
    for pk in op.pks:
        before = op.before[pk]
        after = None if op.kind == "delete" else op.ver
        if before == after:
            continue  # deleting a pk that was already absent tells nothing
        got = rows[pk]["ver"] if pk in rows else None
        assert got in (before, after), (
            f"{op.kind} v{op.ver}: pk {pk} has version {got}, neither before ({before}) nor "
            f"after ({after})")
        outcomes[pk] = got == after
    assert len(set(outcomes.values())) <= 1, (
        f"{op.kind} v{op.ver} applied partially: applied for "
        f"{sorted(p for p, a in outcomes.items() if a)[:10]}, not for "
        f"{sorted(p for p, a in outcomes.items() if not a)[:10]}")
    return bool(outcomes) and next(iter(outcomes.values()))


def test_kill9_during_streaming_writes(server, client):
    name = "stream"
    create_loaded(client, name, ver_schema(), num_shards=1)
    client.close()
    model = Model()
    timing = random.Random(SEED)
    started = time.monotonic()
    for cycle in range(3):
        wc = server.client()
        writer = Writer(wc, name, model, random.Random(SEED + cycle),
                        flush_after=8 if cycle == 1 else None)
        writer.start()
        if cycle == 1:  # kill only after the flush, so growing data sits on top of sealed data
            deadline = time.monotonic() + 20
            while (not writer.flushed.wait(0.05) and writer.is_alive()
                   and time.monotonic() < deadline):
                pass
        time.sleep(timing.uniform(0.4, 1.6))
        killed_at = time.monotonic()
        server.kill9()
        writer.join(timeout=30)
        assert not writer.is_alive(), "writer still blocked 30 s after the kill"
        wc.close()
        if writer.error:
            raise writer.error
        if writer.failed_at is not None and writer.failed_at < killed_at:
            pytest.fail(f"cycle {cycle}: a write failed while the server was up: "
                        f"{writer.failure!r}")
        assert writer.n_acked > 0, f"cycle {cycle}: nothing acknowledged ({writer.failure!r})"
        if cycle == 1:
            assert writer.flushed.is_set(), f"flush never acknowledged: {writer.failure!r}"

        server.start()
        vc = server.client()
        try:
            pks = list(range(model.next_pk))
            got = get_all(vc, name, pks, ["ver", "vec", "tag"])
            rows = {}
            for r in got:
                assert r["id"] not in rows, f"pk {r['id']} returned twice"
                rows[r["id"]] = r
            op = writer.failed_op
            if op is not None:
                applied = resolve_in_doubt(op, rows)
                outcome = "applied" if applied else "lost"
                model.in_doubt.append(f"{op.kind}({len(op.pks)})={outcome}")
                if applied:
                    model.apply(op)
            check_live(vc, name, model.live, pks, rows=got)
        finally:
            vc.close()
    elapsed = time.monotonic() - started
    print(f"crash test: {elapsed:.1f}s, acked {model.acked}, live {len(model.live)}, "
          f"in doubt {model.in_doubt}")


# -- 6. validation: the request is refused, nothing of the batch is written ---------------------

def val_schema():
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=8)
    s.add_field("count_i64", DataType.INT64)
    s.add_field("tiny_i8", DataType.INT8)
    s.add_field("title", DataType.VARCHAR, max_length=8)
    s.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=3)
    s.add_field("doc", DataType.JSON)
    s.add_field("maybe", DataType.INT32, nullable=True)
    return s


def good_rows(pks) -> List[dict]:
    return [{"id": pk, "vec": [pk / 4.0] * 8, "count_i64": pk * 10, "tiny_i8": pk % 100,
             "title": f"t{pk}", "tags": [pk], "doc": {"pk": pk}, "maybe": None} for pk in pks]


def raw_insert(client: MilvusClient, name: str, rows: List[dict], mutate) -> None:
    """Build the InsertRequest with pymilvus's own Prepare (as MilvusClient.insert does), apply
    `mutate` to get past pymilvus's client-side checks, send it on the client's stub and raise
    through pymilvus's check_status."""
    handler = client._get_connection()
    schema, ts = handler._get_schema(name)
    req = Prepare.row_insert_param(name, rows, "", schema["fields"],
                                   schema.get("struct_array_fields", []), schema_timestamp=ts,
                                   enable_dynamic=schema.get("enable_dynamic_field", False))
    mutate(req)
    resp = handler._stub.Insert(req, timeout=10)
    check_status(resp.status)


def field_of(req, fname):
    return next(f for f in req.fields_data if f.field_name == fname)


def drop_field(req, fname):
    kept = [f.SerializeToString() for f in req.fields_data if f.field_name != fname]
    del req.fields_data[:]
    for blob in kept:
        req.fields_data.add().ParseFromString(blob)


class Rejects:
    """Checks that a bad write is refused by the server and that nothing of it landed."""

    def __init__(self, client: MilvusClient, name: str, base: Dict[int, dict]):
        self.c, self.name, self.base = client, name, base

    def __call__(self, fn, *args, needles=(), new_pks=(), **kwargs):
        e = server_error(fn, *args, **kwargs)
        assert_code(e, UNTYPED_OR_PARAM)
        if needles:
            assert_msg(e, *needles)
        assert count_rows(self.c, self.name) == len(self.base)
        if new_pks:
            assert self.c.get(self.name, ids=list(new_pks)) == [], "part of a refused batch landed"
        return e


def test_validation_rejects_whole_batch(module_client):
    c = module_client
    name = unique("valid")
    create_loaded(c, name, val_schema())
    base = {r["id"]: r for r in good_rows(range(5))}
    c.insert(name, list(base.values()))
    rejects = Rejects(c, name, base)
    new = [100, 101, 102, 103]

    # wrong dimension in one row / in every row.  Milvus: "the dim (7) of field data(vec) is not
    # equal to schema dim (8)" or "the num_rows ... of field (vec)" (validate_util checkAligned).
    rows = good_rows(new)
    rows[2]["vec"] = [1.0] * 7
    rejects(c.insert, name, rows, needles=("vec",), new_pks=new)
    rows = good_rows(new)
    for r in rows:
        r["vec"] = [1.0] * 16
    rejects(c.insert, name, rows, needles=("vec",), new_pks=new)

    # a string into an INT64 field: pymilvus refuses client-side (protobuf TypeError ->
    # DataNotMatchException) ...
    rows = good_rows(new)
    rows[1]["count_i64"] = "abc"
    with pytest.raises(DataNotMatchException):
        c.insert(name, rows)

    # ... so send the column as string_data.  Milvus: "field 'count_i64' is illegal, array type
    # mismatch" (checkLongFieldData).
    def as_strings(req):
        fd = field_of(req, "count_i64")
        fd.scalars.string_data.data.extend(["abc"] * len(new))

    rejects(raw_insert, c, name, good_rows(new), as_strings, needles=("count_i64",), new_pks=new)

    # missing non-nullable field without default: pymilvus refuses client-side
    # (DataNotMatchException "Insert missed an field `count_i64` ..."); the server must too.
    rows = good_rows(new)
    del rows[0]["count_i64"]
    with pytest.raises(DataNotMatchException):
        c.insert(name, rows)
    rejects(raw_insert, c, name, good_rows(new), lambda req: drop_field(req, "count_i64"),
            needles=("count_i64",), new_pks=new)

    # unknown field with the dynamic field disabled: client-side DataNotMatchException; Milvus
    # server: "Attempt to insert an unexpected field `bogus` to collection without enabling
    # dynamic field".
    rows = good_rows(new)
    rows[3]["bogus"] = 1
    with pytest.raises(DataNotMatchException):
        c.insert(name, rows)

    def add_bogus(req):
        fd = req.fields_data.add(field_name="bogus", type=DataType.INT64)
        fd.scalars.long_data.data.extend([1] * len(new))

    rejects(raw_insert, c, name, good_rows(new), add_bogus, needles=("bogus",), new_pks=new)

    # None in non-nullable fields: pymilvus packs nothing for it (no valid_data for a
    # non-nullable field), so the column is one value short and the server must notice.
    # Milvus: "the num_rows (3) of field (count_i64) is not equal to passed num_rows (4)".
    for fname in ("count_i64", "title", "doc", "vec"):
        rows = good_rows(new)
        rows[1][fname] = None
        rejects(c.insert, name, rows, needles=(fname,), new_pks=new)

    # VARCHAR longer than max_length.  pymilvus's row path does not catch it (its check runs
    # convert_to_str_array over the single string, i.e. over its characters), so the server
    # must.  Milvus counts bytes (verifyLengthPerRow uses Go len()): 5 characters of 2 bytes
    # exceed max_length 8 as well.
    for title in ("x" * 9, "\u00fc" * 5):
        rows = good_rows(new)
        rows[2]["title"] = title
        rejects(c.insert, name, rows, needles=("title",), new_pks=new)

    # ARRAY longer than max_capacity: not checked by pymilvus.  (Milvus's message, "the length
    # (4) of 1th array exceeds max capacity (3)", does not name the field; Kite's must.)
    rows = good_rows(new)
    rows[1]["tags"] = [1, 2, 3, 4]
    rejects(c.insert, name, rows, needles=("tags",), new_pks=new)

    # invalid JSON text: pymilvus always serializes dicts itself, so only a crafted request can
    # carry it.  (Milvus's proxy only checks the length of JSON values; Kite also parses them.)
    def bad_json(req):
        field_of(req, "doc").scalars.json_data.data[2] = b'{"pk": 1'

    rejects(raw_insert, c, name, good_rows(new), bad_json, needles=("doc",), new_pks=new)

    # INT8 out of range: pymilvus sends int_data (int32) unchecked.  (Milvus: "the 2th element
    # (300) out of range: [-128, 127]" without the field name; Kite's message must name it.)
    rows = good_rows(new)
    rows[2]["tiny_i8"] = 300
    rejects(c.insert, name, rows, needles=("tiny_i8",), new_pks=new)

    # a refused upsert leaves the old row untouched
    bad = good_rows([0, 104])
    bad[0]["count_i64"] = 12345
    bad[1]["vec"] = [0.0] * 9
    rejects(c.upsert, name, bad, needles=("vec",), new_pks=[104])
    assert c.get(name, ids=[0], output_fields=["count_i64"]) == [{"id": 0, "count_i64": 0}]

    # delete with a value of the wrong type for the INT64 pk: cannot parse the expression
    rejects(c.delete, name, ids=["abc"])

    # unknown partition / collection
    e = server_error(c.insert, name, good_rows(new), partition_name="no_such_part")
    assert_code(e, PARTITION_NOT_FOUND)
    e = server_error(c.insert, unique("ghost"), good_rows(new))
    assert_code(e, COLLECTION_NOT_FOUND)

    assert c.get(name, ids=list(base), output_fields=["count_i64"]) == [
        {"id": pk, "count_i64": pk * 10} for pk in base]
    c.drop_collection(name)


# -- 7. load / release -------------------------------------------------------------------------

def test_reads_need_a_loaded_collection(module_client):
    c = module_client
    name = unique("loadrel")
    create_loaded(c, name, ver_schema())
    c.insert(name, vrows(range(10), 1))
    c.flush(name)
    c.insert(name, vrows(range(10, 15), 1))
    c.release_collection(name)
    assert c.get_load_state(name)["state"] == LoadState.NotLoad

    # Milvus: merr.WrapErrCollectionNotLoaded -> 101 "collection not loaded[collection=...]"
    for call in (lambda: c.get(name, ids=[1]),
                 lambda: c.query(name, filter="id in [1, 2]"),
                 lambda: c.query(name, filter="", limit=5),
                 lambda: count_rows(c, name)):
        e = server_error(call)
        assert_code(e, COLLECTION_NOT_LOADED)

    # writes do not need the collection loaded (a pk delete needs no query)
    c.insert(name, vrows(range(15, 20), 2))
    c.delete(name, ids=[0, 12])
    c.upsert(name, vrows([3], 3))
    assert c.get_collection_stats(name)["row_count"] == 21  # 20 inserted + 1 upserted row

    c.load_collection(name)
    assert c.get_load_state(name)["state"] == LoadState.Loaded
    live = {pk: 1 for pk in range(15)}
    live.update({pk: 2 for pk in range(15, 20)})
    live[3] = 3
    del live[0], live[12]
    check_live(c, name, live, range(20))

    c.release_collection(name)
    c.release_collection(name)  # releasing twice is fine in Milvus
    assert c.get_load_state(name)["state"] == LoadState.NotLoad
    c.load_collection(name)
    check_live(c, name, live, range(20))
    c.drop_collection(name)


# -- 8. pagination and partitions --------------------------------------------------------------

def test_pagination_and_partitions(module_client):
    c = module_client
    name = unique("pages")
    create_loaded(c, name, ver_schema())
    c.create_partition(name, "p1")
    c.create_partition(name, "p2")
    pks = list(range(60))
    random.Random(SEED).shuffle(pks)
    parts = {"_default": pks[:30], "p1": pks[30:50], "p2": pks[50:]}
    for i, (part, keys) in enumerate(parts.items()):
        c.insert(name, vrows(keys[: len(keys) // 2], i), partition_name=part)
    c.flush(name)
    for i, (part, keys) in enumerate(parts.items()):
        c.insert(name, vrows(keys[len(keys) // 2:], i), partition_name=part)

    def ids(**kw):
        return [r["id"] for r in c.query(name, filter="", output_fields=["id"], **kw)]

    # Kite returns query results ordered by primary key (sealed and growing merged)
    assert ids(limit=10) == list(range(10))
    assert ids(limit=10, offset=10) == list(range(10, 20))
    assert ids(limit=10, offset=55) == list(range(55, 60))
    assert ids(limit=100) == list(range(60))
    assert ids(limit=100, partition_names=["p2"]) == sorted(parts["p2"])
    assert ids(limit=5, offset=3, partition_names=["p1"]) == sorted(parts["p1"])[3:8]

    # Milvus: "empty expression should be used with limit"
    e = server_error(c.query, name, filter="", output_fields=["id"])
    assert_msg(e, "limit")

    assert count_rows(c, name) == 60
    for part, keys in parts.items():
        assert count_rows(c, name, partition_names=[part]) == len(keys)
        assert c.get_partition_stats(name, part)["row_count"] == len(keys)
    assert count_rows(c, name, partition_names=["p1", "p2"]) == 30

    p1_pk = parts["p1"][0]
    assert c.get(name, ids=[p1_pk], partition_names=["p2"]) == []
    assert [r["id"] for r in c.get(name, ids=[p1_pk], partition_names=["p1"])] == [p1_pk]
    assert c.get(name, ids=[p1_pk], output_fields=["ver"]) == [{"id": p1_pk, "ver": 1}]

    # a delete scoped to a partition does not touch rows of another partition
    c.delete(name, ids=[p1_pk], partition_name="p2")
    assert [r["id"] for r in c.get(name, ids=[p1_pk])] == [p1_pk]
    c.delete(name, ids=[p1_pk], partition_name="p1")
    assert c.get(name, ids=[p1_pk]) == []
    c.insert(name, vrows([p1_pk], 1), partition_name="p1")

    c.delete(name, ids=parts["p2"][:4])
    assert count_rows(c, name, partition_names=["p2"]) == 6
    assert count_rows(c, name) == 56
    c.drop_collection(name)
