"""Parquet bulk import (issue 18 item 6): files written by pymilvus's
LocalBulkWriter(file_type=BulkFileType.PARQUET) for every field type it writes — scalars, nullable
scalars, JSON (as text), arrays (as lists), float / binary / float16 / bfloat16 / int8 / sparse
vectors, the dynamic field `$meta` — imported through the REST jobs and the v1 gRPC API and read
back value by value; files written with pyarrow directly for what the writer never produces (nulls
filling a default value, narrower integers widening, fixed-size lists); malformed files fail their
job with Milvus's reason and leave the collection as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import ml_dtypes
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pymilvus import DataType, MilvusClient, connections, utility
from pymilvus.bulk_writer import BulkFileType, LocalBulkWriter, bulk_import

from e2e_util import unique, wait_until
from test_bulk_import import put_object, rest_url, upload, wait_rest_job
from test_dml import values_equal

DIM = 8

SCALARS = {"b": DataType.BOOL, "i8": DataType.INT8, "i16": DataType.INT16, "i32": DataType.INT32,
           "i64": DataType.INT64, "f": DataType.FLOAT, "d": DataType.DOUBLE, "s": DataType.VARCHAR,
           "j": DataType.JSON}


def scalar_schema(dynamic: bool = True):
    s = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    s.add_field("id", DataType.INT64, is_primary=True)
    for name, t in SCALARS.items():
        kw = {"max_length": 64} if t == DataType.VARCHAR else {}
        s.add_field(name, t, **kw)
    s.add_field("n_i32", DataType.INT32, nullable=True)
    s.add_field("n_s", DataType.VARCHAR, max_length=32, nullable=True)
    s.add_field("n_j", DataType.JSON, nullable=True)
    s.add_field("a_i64", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    s.add_field("a_s", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=8, max_length=16)
    s.add_field("a_d", DataType.ARRAY, element_type=DataType.DOUBLE, max_capacity=8, nullable=True)
    s.add_field("a_b", DataType.ARRAY, element_type=DataType.BOOL, max_capacity=8)
    s.add_field("fv", DataType.FLOAT_VECTOR, dim=DIM)
    return s


def vector_schema():
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=16)
    s.add_field("bv", DataType.BINARY_VECTOR, dim=DIM * 8)
    s.add_field("f16", DataType.FLOAT16_VECTOR, dim=DIM)
    s.add_field("bf16", DataType.BFLOAT16_VECTOR, dim=DIM)
    s.add_field("sp", DataType.SPARSE_FLOAT_VECTOR)
    return s


def vector_schema2():
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    s.add_field("i8v", DataType.INT8_VECTOR, dim=DIM)
    s.add_field("tag", DataType.INT16)
    return s


METRIC = {DataType.FLOAT_VECTOR: "L2", DataType.FLOAT16_VECTOR: "L2", DataType.BFLOAT16_VECTOR: "L2",
          DataType.INT8_VECTOR: "L2", DataType.BINARY_VECTOR: "HAMMING", DataType.SPARSE_FLOAT_VECTOR: "IP"}


def create(client: MilvusClient, schema) -> str:
    name = unique("pq")
    ip = client.prepare_index_params()
    for f in schema.fields:
        if f.dtype in METRIC:
            ip.add_index(f.name, index_type="AUTOINDEX", metric_type=METRIC[f.dtype])
    client.create_collection(name, schema=schema, index_params=ip)
    return name


def scalar_rows(n: int, start: int = 0) -> List[dict]:
    rng = np.random.default_rng(start + 11)
    rows = []
    for i in range(start, start + n):
        r = {"id": i, "b": i % 3 == 0, "i8": (i % 256) - 128, "i16": i * 7 - 30000, "i32": -i * 1001,
             "i64": i * 10_000_000_019, "f": float(np.float32(i / 3)), "d": i / 7, "s": f"s{i}é",
             "j": {"k": i % 5, "arr": [i, "x"], "nested": {"ok": i % 2 == 0}},
             "n_i32": None if i % 4 == 0 else i, "n_s": None if i % 5 == 0 else f"ns{i}",
             "n_j": None if i % 6 == 0 else [i, {"v": i}],
             "a_i64": [i * 3 + k for k in range(i % 4)], "a_s": [f"e{k}" for k in range(i % 3 + 1)],
             "a_d": None if i % 7 == 0 else [i / 2, -i / 4], "a_b": [k % 2 == 0 for k in range(i % 5)],
             "fv": rng.random(DIM, dtype=np.float32)}
        if i % 2:
            r["color"] = ["red", "green", "blue"][i % 3]
        if i % 3 == 0:
            r["$meta"] = {"size": i, "extra": {"deep": [1, 2]}}
        rows.append(r)
    return rows


def vector_rows(n: int) -> List[dict]:
    rng = np.random.default_rng(5)
    rows = []
    for i in range(n):
        rows.append({
            "id": f"v{i}",
            "bv": rng.integers(0, 256, DIM, dtype=np.uint8),
            "f16": rng.random(DIM).astype(np.float16),
            "bf16": rng.random(DIM).astype(ml_dtypes.bfloat16),
            "sp": {int(k): float(np.float32(rng.random())) for k in rng.choice(1000, size=i % 5 + 1, replace=False)},
        })
    return rows


def write_parquet(tmp: Path, schema, rows: List[dict]) -> List[List[str]]:
    w = LocalBulkWriter(schema=schema, local_path=str(tmp / unique("bw")), file_type=BulkFileType.PARQUET)
    for r in rows:
        w.append_row(dict(r))
    w.commit()
    assert all(f.endswith(".parquet") for g in w.batch_files for f in g)
    return w.batch_files


def expected_scalar(r: dict) -> dict:
    out = {k: v for k, v in r.items() if k != "$meta"}
    out["fv"] = list(r["fv"])
    out.update(r.get("$meta", {}))
    return out


def count(client: MilvusClient, name: str) -> int:
    return client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]


def check_scalar_rows(client: MilvusClient, name: str, rows: List[dict]):
    types = dict(SCALARS, fv=DataType.FLOAT_VECTOR)
    got = client.query(name, filter="id >= 0", output_fields=["*"], consistency_level="Strong")
    assert len(got) == len(rows)
    by_id = {g["id"]: g for g in got}
    for r in rows:
        exp, g = expected_scalar(r), by_id[r["id"]]
        assert set(g) == set(exp), (sorted(g), sorted(exp))
        for k, v in exp.items():
            assert values_equal(types.get(k), v, g[k]), (r["id"], k, v, g[k])
    assert count(client, name) == len(rows)
    probe = rows[len(rows) // 3]
    hits = client.search(name, data=[probe["fv"].tolist()], anns_field="fv", limit=1, consistency_level="Strong")
    assert hits[0][0]["id"] == probe["id"]
    # filters see the imported values: a nullable scalar, a JSON path, an array and a dynamic key
    assert sorted(g["id"] for g in client.query(name, filter="n_i32 is null", output_fields=["id"],
                                                consistency_level="Strong")) == \
        sorted(r["id"] for r in rows if r["n_i32"] is None)
    assert sorted(g["id"] for g in client.query(name, filter='j["k"] == 3 and array_length(a_i64) == 2',
                                                output_fields=["id"], consistency_level="Strong")) == \
        sorted(r["id"] for r in rows if r["j"]["k"] == 3 and len(r["a_i64"]) == 2)
    assert sorted(g["id"] for g in client.query(name, filter='color == "green"', output_fields=["id"],
                                                consistency_level="Strong")) == \
        sorted(r["id"] for r in rows if r.get("color") == "green")


@pytest.fixture
def orm(server):
    alias = unique("orm")
    connections.connect(alias=alias, uri=server.uri)
    yield alias
    connections.disconnect(alias)


def test_scalars_arrays_json_and_dynamic_fields_over_rest(server, tmp_path):
    client = server.client()
    name = create(client, scalar_schema())
    rows = scalar_rows(400)
    files = upload(server, write_parquet(tmp_path, scalar_schema(), rows))
    assert len(files) == 1 and len(files[0]) == 1
    job_id = bulk_import(url=rest_url(server), collection_name=name, files=files).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Completed", state
    assert state["importedRows"] == 400 and state["totalRows"] == 400
    assert state["details"][0]["fileSize"] == (Path(server.data_dir) / "objects" / files[0][0]).stat().st_size
    check_scalar_rows(client, name, rows)
    # durable: a restart reads the flushed segments back
    server.kill9()
    server.start()
    client = server.client()
    client.load_collection(name)
    check_scalar_rows(client, name, rows)


def test_byte_and_sparse_vectors_over_grpc(server, tmp_path, orm):
    client = server.client()
    name = create(client, vector_schema())
    rows = vector_rows(120)
    files = upload(server, write_parquet(tmp_path, vector_schema(), rows))
    task = utility.do_bulk_insert(name, files=files[0], using=orm)
    st = {}

    def done():
        st["s"] = utility.get_bulk_insert_state(task, using=orm)
        return st["s"].state in (utility.BulkInsertState.ImportCompleted, utility.BulkInsertState.ImportFailed)

    assert wait_until(done, 120)
    assert st["s"].state == utility.BulkInsertState.ImportCompleted, st["s"].infos
    assert st["s"].row_count == 120
    types = {"bv": DataType.BINARY_VECTOR, "f16": DataType.FLOAT16_VECTOR, "bf16": DataType.BFLOAT16_VECTOR,
             "sp": DataType.SPARSE_FLOAT_VECTOR}
    got = client.query(name, filter='id != ""', output_fields=list(types), consistency_level="Strong")
    assert len(got) == len(rows)
    by_id = {g["id"]: g for g in got}
    for r in rows:
        for k, t in types.items():
            assert values_equal(t, r[k], by_id[r["id"]][k]), (r["id"], k, r[k], by_id[r["id"]][k])
    probe = rows[17]
    hits = client.search(name, data=[probe["sp"]], anns_field="sp", limit=3, consistency_level="Strong",
                         output_fields=["sp"])
    assert probe["id"] in [h["id"] for h in hits[0]]


def test_int8_vectors_and_auto_id(server, tmp_path):
    client = server.client()
    name = create(client, vector_schema2())
    rng = np.random.default_rng(9)
    rows = [{"i8v": rng.integers(-128, 128, DIM, dtype=np.int8), "tag": i} for i in range(90)]
    files = upload(server, write_parquet(tmp_path, vector_schema2(), rows))
    job_id = bulk_import(url=rest_url(server), collection_name=name, files=files).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Completed", state
    got = client.query(name, filter="tag >= 0", output_fields=["tag", "i8v"], consistency_level="Strong")
    assert len(got) == 90 and len({g["id"] for g in got}) == 90
    by_tag = {g["tag"]: g for g in got}
    for i, r in enumerate(rows):
        assert values_equal(DataType.INT8_VECTOR, r["i8v"], by_tag[i]["i8v"])


def hand_schema():
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("w", DataType.INT64, default_value=42)
    s.add_field("x", DataType.DOUBLE)
    return s


def put_table(server, table: pa.Table, tmp: Path) -> str:
    p = tmp / f"{unique('t')}.parquet"
    pq.write_table(table, p)
    return put_object(server, f"import/{unique('h')}/{p.name}", p.read_bytes())


def test_pyarrow_files_widen_integers_fill_defaults_and_read_fixed_size_lists(server, tmp_path):
    client = server.client()
    name = create(client, hand_schema())
    vecs = np.arange(40, dtype=np.float32).reshape(10, 4) / 8
    table = pa.table({
        "id": pa.array(range(10), pa.int32()),                      # int32 -> Int64
        "v": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), 4),
        "w": pa.array([None if i % 2 else i for i in range(10)], pa.int64()),  # nulls take the default
        "x": pa.array([float(i) / 3 for i in range(10)], pa.float32()),     # float -> Double
    })
    key = put_table(server, table, tmp_path)
    job_id = bulk_import(url=rest_url(server), collection_name=name, files=[[key]]).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Completed", state
    got = {g["id"]: g for g in client.query(name, filter="id >= 0", output_fields=["v", "w", "x"],
                                            consistency_level="Strong")}
    assert sorted(got) == list(range(10))
    for i in range(10):
        assert got[i]["w"] == (42 if i % 2 else i)
        assert got[i]["x"] == float(np.float32(i / 3))
        assert np.array_equal(np.array(got[i]["v"], dtype=np.float32), vecs[i])


def fail_job(server, name: str, key: str) -> dict:
    job_id = bulk_import(url=rest_url(server), collection_name=name, files=[[key]]).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Failed", state
    assert state["importedRows"] == 0
    return state


def test_malformed_parquet_files_fail_the_job_and_leave_the_collection_unchanged(server, tmp_path):
    client = server.client()
    name = create(client, hand_schema())
    client.insert(name, [{"id": 1000 + i, "v": [0.5] * 4, "w": 1, "x": 0.0} for i in range(3)])
    base = {"id": pa.array(range(5), pa.int64()),
            "v": pa.array([[0.1, 0.2, 0.3, 0.4]] * 5, pa.list_(pa.float32())),
            "w": pa.array(range(5), pa.int64()), "x": pa.array([0.5] * 5, pa.float64())}

    def with_(**cols):
        d = dict(base)
        for k, v in cols.items():
            if v is None:
                d.pop(k)
            else:
                d[k] = v
        return pa.table(d)

    # not a parquet file at all
    bad = put_object(server, f"import/{unique('h')}/junk.parquet", b"PAR1 this is not parquet at all")
    assert "new parquet reader failed" in fail_job(server, name, bad)["reason"]
    # a truncated file
    p = tmp_path / "ok.parquet"
    pq.write_table(with_(), p)
    cut = put_object(server, f"import/{unique('h')}/cut.parquet", p.read_bytes()[: p.stat().st_size // 2])
    assert "new parquet reader failed" in fail_job(server, name, cut)["reason"]
    # a schema field missing from the file
    reason = fail_job(server, name, put_table(server, with_(x=None), tmp_path))["reason"]
    assert reason == ("schema not equal, err=field 'x' not in arrow schema: importing data failed: "
                      "importing data failed")
    # a column of the wrong type
    reason = fail_job(server, name, put_table(server, with_(v=pa.array(["a"] * 5)), tmp_path))["reason"]
    assert reason.startswith("schema not equal, err=field 'v' type mis-match, milvus data type 'FloatVector', "
                             "arrow data type get 'string'")
    # a column the schema does not have
    reason = fail_job(server, name, put_table(server, with_(extra=pa.array(range(5))), tmp_path))["reason"]
    assert reason == ("the field: extra is not in schema, if it's a dynamic field, please reformat data by "
                      "bulk_writer: importing data failed")
    # a null in a field that is neither nullable nor defaulted, deep in the file
    xs = [0.5] * 5
    xs[3] = None
    reason = fail_job(server, name, put_table(server, with_(x=pa.array(xs, pa.float64())), tmp_path))["reason"]
    assert "not nullable, but has null value" in reason and "'x'" in reason and "row 3" in reason
    # a vector of the wrong length
    vs = [[0.1, 0.2, 0.3, 0.4]] * 5
    vs[4] = [0.1, 0.2, 0.3]
    reason = fail_job(server, name, put_table(server, with_(v=pa.array(vs, pa.list_(pa.float32()))), tmp_path))["reason"]
    assert "length of vector is not aligned: expected 4 but got 3" in reason and "row 4" in reason
    # none of it landed
    assert count(client, name) == 3
    assert sorted(g["id"] for g in client.query(name, filter="id >= 0", output_fields=["id"],
                                                consistency_level="Strong")) == [1000, 1001, 1002]


HOLD_ENV = "KITE_TEST_IMPORT_HOLD_AFTER_ROWS"  # the server's test hook (rpc/import/import_jobs.cc)


@pytest.mark.parametrize("auto_id", [False, True], ids=["given_keys", "auto_id"])
def test_an_import_killed_while_writing_fails_and_its_rows_are_removed_at_restart(kite_factory, tmp_path,
                                                                                   monkeypatch, auto_id):
    # The job stops after its first batch of 8192 rows and waits; the test kills the server then.
    monkeypatch.setenv(HOLD_ENV, "8192")
    srv = kite_factory("kite-import-kill").start()
    client = srv.client()
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=auto_id)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("tag", DataType.INT64)
    name = create(client, s)
    before = [{"v": [1.0, 0.0, 0.0, float(i)], "tag": -1 - i} for i in range(5)]
    if not auto_id:
        for i, r in enumerate(before):
            r["id"] = 10**9 + i
    client.insert(name, before)
    n = 30000
    cols = {"v": pa.array(np.random.default_rng(3).random((n, 4), dtype=np.float32).tolist(), pa.list_(pa.float32())),
            "tag": pa.array(range(n), pa.int64())}
    if not auto_id:
        cols = {"id": pa.array(range(n), pa.int64()), **cols}
    key = put_table(srv, pa.table(cols), tmp_path)
    job_id = bulk_import(url=rest_url(srv), collection_name=name, files=[[key]]).json()["data"]["jobId"]
    progress = {}

    def holding():
        progress.update(bulk_progress(srv, job_id))
        return progress["state"] == "Importing" and progress["importedRows"] >= 8192

    assert wait_until(holding, 120), progress
    assert progress["importedRows"] >= 8192
    assert count(client, name) == len(before)  # rows written but not committed are invisible
    srv.kill9()
    monkeypatch.delenv(HOLD_ENV)
    srv.start()
    state = bulk_progress(srv, job_id)
    assert state["state"] == "Failed", state
    assert "interrupted by a restart while writing rows" in state["reason"] and "removed" in state["reason"]
    assert state["importedRows"] == 0
    client = srv.client()
    client.load_collection(name)
    got = client.query(name, filter="tag < 0", output_fields=["tag"], consistency_level="Strong")
    assert sorted(g["tag"] for g in got) == sorted(r["tag"] for r in before)
    assert count(client, name) == len(before)
    # a second restart leaves it so, and the same file imports in full afterwards
    srv.restart()
    client = srv.client()
    client.load_collection(name)
    assert bulk_progress(srv, job_id)["state"] == "Failed"
    assert count(client, name) == len(before)
    job2 = bulk_import(url=rest_url(srv), collection_name=name, files=[[key]]).json()["data"]["jobId"]
    assert wait_rest_job(srv, job2)["state"] == "Completed"
    assert count(client, name) == len(before) + n


def bulk_progress(server, job_id: str) -> dict:
    from pymilvus.bulk_writer import get_import_progress
    return get_import_progress(url=rest_url(server), job_id=job_id).json()["data"]


def test_sparse_vectors_as_structs_and_an_all_null_column(server, tmp_path):
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("sp", DataType.SPARSE_FLOAT_VECTOR)
    s.add_field("note", DataType.VARCHAR, max_length=8, nullable=True)
    client = server.client()
    name = create(client, s)
    rows = [{3: 0.5, 70: 1.25}, {1: 2.0}, {9: 0.75, 2: 0.25, 400: 1.0}]  # indices out of order in the last
    sp = pa.array([{"indices": list(r), "values": list(r.values())} for r in rows],
                  pa.struct([("indices", pa.list_(pa.uint32())), ("values", pa.list_(pa.float32()))]))
    table = pa.table({"id": pa.array([0, 1, 2], pa.int64()), "sp": sp, "note": pa.nulls(3)})
    assert table.schema.field("note").type == pa.null()
    job_id = bulk_import(url=rest_url(server), collection_name=name,
                         files=[[put_table(server, table, tmp_path)]]).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Completed", state
    got = {g["id"]: g for g in client.query(name, filter="id >= 0", output_fields=["sp", "note"],
                                            consistency_level="Strong")}
    for i, r in enumerate(rows):
        assert got[i]["note"] is None
        assert values_equal(DataType.SPARSE_FLOAT_VECTOR, r, got[i]["sp"]), (r, got[i]["sp"])


def test_parquet_import_reads_from_s3_object_storage(kite_factory, tmp_path):
    from s3_server import VersityS3
    s3 = VersityS3(tmp_path / "s3").start()
    try:
        cfg = tmp_path / "kite-s3.yaml"
        cfg.write_text(s3.kite_config())
        server = kite_factory("kite-s3-parquet", extra_args=["--config", str(cfg)]).start()
        client = server.client()
        name = create(client, scalar_schema())
        rows = scalar_rows(150)
        # the posix gateway serves the files under <data>/<bucket>/<rootPath>/<key> as objects
        root = s3.data / s3.bucket / s3.root_path
        [[local]] = write_parquet(tmp_path, scalar_schema(), rows)
        key = f"import/s3/{Path(local).name}"
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(Path(local).read_bytes())
        job_id = bulk_import(url=rest_url(server), collection_name=name, files=[[key]]).json()["data"]["jobId"]
        state = wait_rest_job(server, job_id)
        assert state["state"] == "Completed", state
        check_scalar_rows(client, name, rows)
        assert not (Path(server.data_dir) / "objects").exists()  # nothing came from the local store
    finally:
        s3.stop()
