"""valid_data and JSON nulls exactly as SDKs put them on the wire (issue 18).

Insert requests are built by hand (schema_pb2.FieldData) and sent on pymilvus's own stub,
because pymilvus itself always sends nullable columns compacted; other SDKs do not:

* the Node SDK sends a null JSON value as zero bytes (Buffer.alloc(0)) in a dense column, with
  valid_data false -- or true, or no valid_data at all, depending on the version;
* valid_data may come with a compacted column (one value per valid row, what pymilvus and
  Milvus's own proxy produce) or a dense one (one value per row, placeholders at the nulls).

Each test checks what is read back by query, and by a filter on the nulls, on the growing
segment, after a flush (sealed segment) and after a restart (WAL replay + segment load).
"""

from __future__ import annotations

import time
from typing import Dict, List

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.client.utils import check_status
from pymilvus.grpc_gen import milvus_pb2, schema_pb2

from e2e_util import unique

DIM = 2


def send_insert(client: MilvusClient, name: str, n: int, fields: List[schema_pb2.FieldData]) -> None:
    req = milvus_pb2.InsertRequest(collection_name=name, fields_data=fields, num_rows=n)
    check_status(client._get_connection()._stub.Insert(req, timeout=10).status)


def pk_field(ids: List[int]) -> schema_pb2.FieldData:
    return schema_pb2.FieldData(type=DataType.INT64, field_name="id",
                                scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=ids)))


def vec_field(n: int) -> schema_pb2.FieldData:
    return schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="vec", vectors=schema_pb2.VectorField(
        dim=DIM, float_vector=schema_pb2.FloatArray(data=[0.25] * (DIM * n))))


def json_field(name: str, cells: List[bytes], valid=None, dynamic=False) -> schema_pb2.FieldData:
    fd = schema_pb2.FieldData(type=DataType.JSON, field_name=name, is_dynamic=dynamic,
                              scalars=schema_pb2.ScalarField(json_data=schema_pb2.JSONArray(data=cells)))
    if valid is not None:
        fd.valid_data.extend(valid)
    return fd


def loaded_collection(client: MilvusClient, schema) -> str:
    name = unique("nullwire")
    index = client.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    return name


def read_rows(client: MilvusClient, name: str, fields: List[str]) -> Dict[int, dict]:
    rows = client.query(name, filter="id >= 0", output_fields=fields, consistency_level="Strong")
    return {r["id"]: r for r in rows}


def null_ids(client: MilvusClient, name: str, field: str) -> List[int]:
    rows = client.query(name, filter=f"{field} is null", output_fields=["id"], consistency_level="Strong")
    return sorted(r["id"] for r in rows)


# -- JSON nulls as zero bytes (the silent bug) ------------------------------------------------

def test_null_json_sent_as_zero_bytes_is_stored_as_null(server):
    """Every way an SDK sends a JSON null in a nullable JSON field is stored as null, not
    refused as "invalid JSON" (the whole insert failed before), and zero bytes in the dynamic
    field read back as a row without dynamic keys (they were stored as-is and broke pymilvus's
    decoding of every query that returned the row)."""
    client = server.client()
    s = MilvusClient.create_schema(enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("j", DataType.JSON, nullable=True)
    name = loaded_collection(client, s)

    doc = {"k": [1, "two"], "n": 3}
    doc_bytes = b'{"k": [1, "two"], "n": 3}'
    # (ids, j cells, j valid_data, $meta cells): row 0 of each batch holds a value, row 1 a null
    batches = [
        ([1, 2], [doc_bytes, b""], [True, False], [b'{"x": 1}', b'{}']),    # dense, valid false
        ([3, 4], [doc_bytes, b""], [True, True], [b'{"x": 3}', b'']),       # dense, valid true
        ([5, 6], [doc_bytes, b""], None, [b'{"x": 5}', b'']),               # no valid_data at all
        ([7, 8], [doc_bytes], [True, False], [b'{"x": 7}', b'{}']),         # compacted
    ]
    for ids, cells, valid, meta in batches:
        send_insert(client, name, len(ids), [pk_field(ids), vec_field(len(ids)),
                                             json_field("j", cells, valid),
                                             json_field("$meta", meta, dynamic=True)])
    expect_null = sorted(ids[1] for ids, *_ in batches)
    expect_x = {ids[0]: ids[0] for ids, *_ in batches}

    def check(c: MilvusClient) -> None:
        rows = read_rows(c, name, ["j", "x"])
        assert sorted(rows) == list(range(1, 9))
        for pk, row in rows.items():
            if pk in expect_null:
                assert row["j"] is None, (pk, row)
                assert "x" not in row, (pk, row)
            else:
                assert row["j"] == doc, (pk, row)
                assert row["x"] == expect_x[pk], (pk, row)
        assert null_ids(c, name, "j") == expect_null
        got = c.query(name, filter="j['n'] == 3", output_fields=["id"], consistency_level="Strong")
        assert sorted(r["id"] for r in got) == sorted(expect_x)

    check(client)                      # growing
    client.flush(name)
    check(client)                      # sealed
    client.close()
    server.restart()
    client = server.client()
    check(client)                      # after restart
    client.close()


def test_zero_bytes_in_a_non_nullable_json_field_are_still_refused(server):
    client = server.client()
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("j", DataType.JSON)
    name = loaded_collection(client, s)
    with pytest.raises(Exception) as info:
        send_insert(client, name, 2, [pk_field([1, 2]), vec_field(2), json_field("j", [b'{"a": 1}', b""])])
    assert getattr(info.value, "code", None) == 1100, info.value
    assert "invalid JSON in field j, row number: 1" in str(info.value)
    assert client.query(name, filter="id >= 0", output_fields=["id"], consistency_level="Strong") == []
    client.close()


# -- valid_data on every scalar type ------------------------------------------------------------

# field name -> (data type, proto writer, values of rows 0 and 2, placeholder for a dense null)
SCALARS = {
    "b": (DataType.BOOL, "bool", [True, False], False),
    "i8": (DataType.INT8, "int", [-7, 100], 0),
    "i16": (DataType.INT16, "int", [-300, 30000], 0),
    "i32": (DataType.INT32, "int", [-70000, 2**31 - 1], 0),
    "i64": (DataType.INT64, "long", [-(2**40), 2**62], 0),
    "f": (DataType.FLOAT, "float", [1.5, -0.25], 0.0),
    "d": (DataType.DOUBLE, "double", [2.125, -1e100], 0.0),
    "s": (DataType.VARCHAR, "string", ["alpha", ""], ""),
    "j": (DataType.JSON, "json", [{"a": 1}, [1, 2]], None),
    "arr": (DataType.ARRAY, "array", [[1, 2, 3], []], []),
}


def scalar_column(fname: str, cells: list, valid: List[bool]) -> schema_pb2.FieldData:
    dtype, kind, _, _ = SCALARS[fname]
    sf = schema_pb2.ScalarField()
    if kind == "bool":
        sf.bool_data.data.extend(cells)
    elif kind == "int":
        sf.int_data.data.extend(cells)
    elif kind == "long":
        sf.long_data.data.extend(cells)
    elif kind == "float":
        sf.float_data.data.extend(cells)
    elif kind == "double":
        sf.double_data.data.extend(cells)
    elif kind == "string":
        sf.string_data.data.extend(cells)
    elif kind == "json":
        import json
        sf.json_data.data.extend(b"" if c is None else json.dumps(c).encode() for c in cells)
    elif kind == "array":
        sf.array_data.element_type = DataType.INT64
        for c in cells:
            sf.array_data.data.add().long_data.data.extend(c)
    fd = schema_pb2.FieldData(type=dtype, field_name=fname, scalars=sf)
    fd.valid_data.extend(valid)
    return fd


def test_valid_data_on_every_scalar_type_compacted_and_dense(server):
    client = server.client()
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    for fname, (dtype, _, _, _) in SCALARS.items():
        extra = {}
        if dtype == DataType.VARCHAR:
            extra["max_length"] = 16
        if dtype == DataType.ARRAY:
            extra.update(element_type=DataType.INT64, max_capacity=4)
        s.add_field(fname, dtype, nullable=True, **extra)
    s.add_field("with_default", DataType.INT64, nullable=True, default_value=42)
    name = loaded_collection(client, s)

    valid = [True, False, True, False]
    expected: Dict[int, dict] = {}
    for layout, base in (("compacted", 10), ("dense", 20)):
        ids = [base + r for r in range(4)]
        cols = [pk_field(ids), vec_field(4)]
        for fname, (_, _, vals, hole) in SCALARS.items():
            cells = vals if layout == "compacted" else [vals[0], hole, vals[1], hole]
            cols.append(scalar_column(fname, cells, valid))
        dflt = schema_pb2.FieldData(type=DataType.INT64, field_name="with_default",
                                    scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(
                                        data=[5, 6] if layout == "compacted" else [5, 0, 6, 0])))
        dflt.valid_data.extend(valid)
        cols.append(dflt)
        send_insert(client, name, 4, cols)
        for r, pk in enumerate(ids):
            row = {fname: (vals[r // 2] if valid[r] else None) for fname, (_, _, vals, _) in SCALARS.items()}
            row["with_default"] = [5, None, 6, None][r] if valid[r] else 42
            expected[pk] = row

    out = list(SCALARS) + ["with_default"]

    def close(a, b):
        if isinstance(a, float) and isinstance(b, float):
            return abs(a - b) <= 1e-6 * max(1.0, abs(b))
        return a == b

    def check(c: MilvusClient) -> None:
        rows = read_rows(c, name, out)
        assert sorted(rows) == sorted(expected)
        for pk, want in expected.items():
            for fname, v in want.items():
                got = rows[pk][fname]
                if fname == "arr" and got is not None:
                    got = list(got)
                assert close(got, v), (pk, fname, got, v)
        for fname in SCALARS:
            want_null = sorted(pk for pk, row in expected.items() if row[fname] is None)
            assert null_ids(c, name, fname) == want_null, fname
        assert null_ids(c, name, "with_default") == []

    check(client)
    client.flush(name)
    check(client)
    client.close()
    server.restart()
    client = server.client()
    check(client)
    client.close()


# -- nullable vector fields (Milvus 2.6) ---------------------------------------------------------

VEC_CASES = {
    # dtype, dim, index params, metric
    "float": (DataType.FLOAT_VECTOR, 4, {"index_type": "HNSW", "params": {"M": 8, "efConstruction": 64}}, "L2"),
    "binary": (DataType.BINARY_VECTOR, 16, {"index_type": "BIN_FLAT"}, "HAMMING"),
    "sparse": (DataType.SPARSE_FLOAT_VECTOR, 0, {"index_type": "SPARSE_INVERTED_INDEX"}, "IP"),
}


def wait_indexed(client: MilvusClient, name: str, field: str, rows: int, deadline_s: float = 60.0) -> None:
    """Until describe_index says every row of the field is indexed (the sealed segment's index,
    built over its non-null vectors, is what the next searches use)."""
    end = time.monotonic() + deadline_s
    while True:
        info = client.describe_index(name, field)
        if info.get("indexed_rows") == rows and info.get("pending_index_rows") == 0:
            return
        assert time.monotonic() < end, f"index of {field} not built: {info}"
        time.sleep(0.05)


def make_vector(kind: str, pk: int):
    if kind == "float":
        return [float((pk * 7 + j * 3) % 11) - 5.0 for j in range(4)]
    if kind == "binary":
        return bytes([(pk * 37) % 256, (pk * 11 + 5) % 256])
    return {pk % 5: 1.0 + pk, 10 + pk % 3: 0.5 * (pk % 4)}


def distance(kind: str, q, v) -> float:
    if kind == "float":
        return sum((a - b) ** 2 for a, b in zip(q, v))
    if kind == "binary":
        return float(sum(bin(a ^ b).count("1") for a, b in zip(q, v)))
    return sum(w * v.get(i, 0.0) for i, w in q.items())


def same_vector(kind: str, got, want) -> bool:
    if kind == "float":
        return [float(x) for x in got] == want
    if kind == "binary":
        got = got[0] if isinstance(got, list) else got
        return bytes(got) == want
    return {int(k): float(v) for k, v in dict(got).items()} == {k: float(v) for k, v in want.items()}


@pytest.mark.parametrize("kind", list(VEC_CASES))
def test_nullable_vector_field_stores_returns_and_never_searches_nulls(server, kind):
    dtype, dim, index, metric = VEC_CASES[kind]
    client = server.client()
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("tag", DataType.INT64)
    if dim:
        s.add_field("v", dtype, dim=dim, nullable=True)
    else:
        s.add_field("v", dtype, nullable=True)
    name = unique("nullvec")
    ip = client.prepare_index_params()
    ip.add_index("v", metric_type=metric, **index)
    client.create_collection(name, schema=s, index_params=ip)
    desc = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert desc["v"].get("nullable") is True

    stored = {}
    rows = []
    for pk in range(1, 61):
        vec = None if pk % 3 == 0 else make_vector(kind, pk)
        stored[pk] = vec
        rows.append({"id": pk, "tag": pk % 2, "v": vec})
    client.insert(name, rows)                       # pymilvus: valid_data + compacted vectors
    # a batch where the field is left out entirely: every row's vector is null
    client.insert(name, [{"id": 100 + i, "tag": 0} for i in range(3)])
    stored.update({100 + i: None for i in range(3)})
    non_null = sorted(pk for pk, v in stored.items() if v is not None)
    q = make_vector(kind, 5)

    def brute(filter_tag=None):
        cand = [pk for pk in non_null if filter_tag is None or pk % 2 == filter_tag]
        reverse = metric == "IP"
        return sorted(cand, key=lambda pk: (-distance(kind, q, stored[pk]) if reverse
                                            else distance(kind, q, stored[pk]), pk))

    def check(c: MilvusClient) -> None:
        got = read_rows(c, name, ["v"])
        assert sorted(got) == sorted(stored)
        for pk, vec in stored.items():
            if vec is None:
                assert got[pk]["v"] is None, (pk, got[pk])
            else:
                assert same_vector(kind, got[pk]["v"], vec), (pk, got[pk]["v"], vec)
        hits = c.search(name, [q], anns_field="v", limit=len(stored), output_fields=["v"],
                        consistency_level="Strong")[0]
        ids = [h["id"] for h in hits]
        assert sorted(ids) == non_null                       # null rows are never hits
        want = brute()
        want_d = [distance(kind, q, stored[pk]) for pk in want]
        got_d = [distance(kind, q, stored[h["id"]]) for h in hits]
        assert got_d == pytest.approx(want_d, rel=1e-5, abs=1e-4)  # same order as brute force
        for h in hits:
            assert same_vector(kind, h["entity"]["v"], stored[h["id"]])
        filtered = c.search(name, [q], anns_field="v", limit=5, filter="tag == 1",
                            consistency_level="Strong")[0]
        want_f = brute(1)[:5]
        assert [distance(kind, q, stored[h["id"]]) for h in filtered] == pytest.approx(
            [distance(kind, q, stored[pk]) for pk in want_f], rel=1e-5, abs=1e-4)
        assert all(stored[h["id"]] is not None for h in filtered)

    check(client)                                    # growing
    client.flush(name)
    wait_indexed(client, name, "v", len(stored))
    check(client)                                    # sealed, indexed by the data node
    client.close()
    server.restart()
    client = server.client()
    check(client)                                    # after restart
    client.close()


def test_nullable_float_vectors_sent_dense_with_placeholders(server):
    client = server.client()
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=DIM, nullable=True)
    name = unique("nullvec")
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    vec = schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="v", vectors=schema_pb2.VectorField(
        dim=DIM, float_vector=schema_pb2.FloatArray(data=[1.0, 2.0, 0.0, 0.0, 3.0, 4.0])))
    vec.valid_data.extend([True, False, True])
    send_insert(client, name, 3, [pk_field([1, 2, 3]), vec])
    rows = read_rows(client, name, ["v"])
    assert [rows[1]["v"], rows[2]["v"], rows[3]["v"]] == [[1.0, 2.0], None, [3.0, 4.0]]
    # a valid_data of the wrong length is refused with Milvus's message, nothing written
    bad = schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="v", vectors=schema_pb2.VectorField(
        dim=DIM, float_vector=schema_pb2.FloatArray(data=[1.0, 2.0])))
    bad.valid_data.extend([True, False])
    with pytest.raises(Exception) as info:
        send_insert(client, name, 3, [pk_field([7, 8, 9]), bad])
    assert "the length of valid_data of field(v) is wrong" in str(info.value)
    assert sorted(read_rows(client, name, ["id"])) == [1, 2, 3]
    client.close()
