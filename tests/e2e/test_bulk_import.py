"""Bulk import (Milvus 2.6 import jobs, issue 18 item 6) through pymilvus: the v1 gRPC API
(utility.do_bulk_insert / get_bulk_insert_state / list_bulk_insert_tasks) and the REST jobs/import
API (pymilvus.bulk_writer.bulk_import / get_import_progress / list_import_jobs), with files written
by pymilvus's LocalBulkWriter (JSON, NumPy, CSV) and copied into the server's local object store.

Imported rows are checked value by value against what was written (query, count, search), survive
kill -9 once the job reports Completed, and a job holding a bad file fails with a reason and
imports nothing. Parquet files: test_bulk_import_parquet.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import requests
from pymilvus import DataType, MilvusClient, connections, utility
from pymilvus.bulk_writer import (BulkFileType, LocalBulkWriter, bulk_import, get_import_progress,
                                  list_import_jobs)
from pymilvus.exceptions import MilvusException

from e2e_util import unique, wait_until

DIM = 8


def schema(dynamic: bool = False):
    s = MilvusClient.create_schema(enable_dynamic_field=dynamic)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("name", DataType.VARCHAR, max_length=64)
    s.add_field("score", DataType.DOUBLE)
    s.add_field("doc", DataType.JSON)
    return s


def make_rows(n: int, start: int = 0, dynamic: bool = False) -> List[dict]:
    rng = np.random.default_rng(start + 7)
    rows = []
    for i in range(start, start + n):
        r = {"id": i, "vec": rng.random(DIM, dtype=np.float32).tolist(), "name": f"n{i}",
             "score": i * 0.5, "doc": {"k": i % 5, "s": f"v{i}"}}
        if dynamic:
            r["color"] = ["red", "green", "blue"][i % 3]
        rows.append(r)
    return rows


def create(client: MilvusClient, dynamic: bool = False) -> str:
    name = unique("imp")
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema(dynamic), index_params=ip)
    return name


def write_files(tmp: Path, rows: List[dict], file_type: BulkFileType, dynamic: bool = False) -> List[List[str]]:
    w = LocalBulkWriter(schema=schema(dynamic), local_path=str(tmp / unique("bw")), file_type=file_type)
    for r in rows:
        w.append_row(r)
    w.commit()
    return w.batch_files


def upload(server, batch_files: List[List[str]]) -> List[List[str]]:
    """Copies the writer's files into the server's object store; their keys, grouped as written."""
    prefix = f"import/{unique('u')}"
    root = Path(server.data_dir) / "objects"
    out = []
    for group in batch_files:
        keys = []
        for f in group:
            p = Path(f)
            key = f"{prefix}/{p.parent.name}/{p.name}"
            dest = root / key
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
            keys.append(key)
        out.append(keys)
    return out


def put_object(server, key: str, data: bytes) -> str:
    dest = Path(server.data_dir) / "objects" / key
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return key


def rest_url(server) -> str:
    return f"http://{server.host}:{server.port}"


def wait_rest_job(server, job_id: str, timeout_s: float = 120) -> dict:
    state = {}

    def done():
        state.update(get_import_progress(url=rest_url(server), job_id=job_id).json()["data"])
        return state["state"] in ("Completed", "Failed")

    assert wait_until(done, timeout_s), f"import job {job_id} did not finish: {state}"
    return state


def check_rows(client: MilvusClient, name: str, rows: List[dict], dynamic: bool = False):
    fields = ["id", "vec", "name", "score", "doc"] + (["color"] if dynamic else [])
    got = client.query(name, filter="id >= 0", output_fields=fields, consistency_level="Strong")
    assert len(got) == len(rows)
    by_id: Dict[int, dict] = {r["id"]: r for r in got}
    for r in rows:
        g = by_id[r["id"]]
        assert g["name"] == r["name"] and g["score"] == r["score"] and g["doc"] == r["doc"]
        np.testing.assert_allclose(np.array(g["vec"], dtype=np.float32), np.array(r["vec"], dtype=np.float32))
        if dynamic:
            assert g["color"] == r["color"]
    cnt = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    assert cnt[0]["count(*)"] == len(rows)
    # the nearest neighbour of a stored vector is its own row
    probe = rows[len(rows) // 2]
    hits = client.search(name, data=[probe["vec"]], limit=1, consistency_level="Strong")
    assert hits[0][0]["id"] == probe["id"]


@pytest.fixture
def orm(server):
    alias = unique("orm")
    connections.connect(alias=alias, uri=server.uri)
    yield alias
    connections.disconnect(alias)


def test_json_import_over_grpc_survives_kill9(server, tmp_path, orm):
    client = server.client()
    name = create(client, dynamic=True)
    rows = make_rows(300, dynamic=True)
    files = upload(server, write_files(tmp_path, rows, BulkFileType.JSON, dynamic=True))
    assert len(files) == 1 and files[0][0].endswith(".json")
    task = utility.do_bulk_insert(name, files=files[0], using=orm)
    state = {}

    def done():
        s = utility.get_bulk_insert_state(task, using=orm)
        state["s"] = s
        return s.state in (utility.BulkInsertState.ImportCompleted, utility.BulkInsertState.ImportFailed)

    assert wait_until(done, 120)
    s = state["s"]
    assert s.state == utility.BulkInsertState.ImportCompleted, s.infos
    assert s.row_count == 300
    assert s.infos["collection"] == name and s.infos["progress_percent"] == "100"
    tasks = utility.list_bulk_insert_tasks(collection_name=name, using=orm)
    assert [t.task_id for t in tasks] == [task]
    check_rows(client, name, rows, dynamic=True)
    server.kill9()
    server.start()
    client = server.client()
    client.load_collection(name)
    check_rows(client, name, rows, dynamic=True)
    assert utility.get_bulk_insert_state(task, using=orm).state == utility.BulkInsertState.ImportCompleted


def test_numpy_import_over_rest(server, tmp_path):
    client = server.client()
    name = create(client)
    rows = make_rows(500)
    files = upload(server, write_files(tmp_path, rows, BulkFileType.NUMPY))
    assert sorted(Path(k).name for k in files[0]) == ["doc.npy", "id.npy", "name.npy", "score.npy", "vec.npy"]
    resp = bulk_import(url=rest_url(server), collection_name=name, files=files).json()
    assert resp["code"] == 0
    job_id = resp["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Completed", state
    assert state["importedRows"] == 500 and state["totalRows"] == 500 and state["progress"] == 100
    assert state["collectionName"] == name and len(state["details"]) == 1
    assert state["details"][0]["fileSize"] == sum((Path(server.data_dir) / "objects" / k).stat().st_size
                                                  for k in files[0])
    records = list_import_jobs(url=rest_url(server), collection_name=name).json()["data"]["records"]
    assert [(r["jobId"], r["state"]) for r in records] == [(job_id, "Completed")]
    check_rows(client, name, rows)


def test_csv_import_over_rest(server, tmp_path):
    client = server.client()
    name = create(client)
    rows = make_rows(200)
    files = upload(server, write_files(tmp_path, rows, BulkFileType.CSV))
    assert files[0][0].endswith(".csv")
    job_id = bulk_import(url=rest_url(server), collection_name=name, files=files).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Completed", state
    check_rows(client, name, rows)


def test_several_files_in_one_job_and_a_partition(server, tmp_path):
    client = server.client()
    name = create(client)
    client.create_partition(name, "p1")
    a, b = make_rows(100), make_rows(150, start=100)
    files = upload(server, write_files(tmp_path, a, BulkFileType.JSON)) + \
        upload(server, write_files(tmp_path, b, BulkFileType.NUMPY))
    job_id = bulk_import(url=rest_url(server), collection_name=name, partition_name="p1",
                         files=files).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Completed", state
    assert [d["importedRows"] for d in state["details"]] == [100, 150]
    check_rows(client, name, a + b)
    assert client.get_partition_stats(name, "p1")["row_count"] == 250
    assert client.query(name, filter="id >= 0", partition_names=["_default"], output_fields=["count(*)"],
                        consistency_level="Strong")[0]["count(*)"] == 0


def test_a_bad_file_fails_the_job_and_imports_nothing(server, tmp_path):
    client = server.client()
    name = create(client)
    good = upload(server, write_files(tmp_path, make_rows(100), BulkFileType.JSON))
    bad_rows = make_rows(50, start=1000)
    bad_rows[37]["vec"] = bad_rows[37]["vec"][:DIM - 1]  # one short vector deep in the file
    bad = put_object(server, f"import/{unique('bad')}/rows.json", json.dumps({"rows": bad_rows}).encode())
    job_id = bulk_import(url=rest_url(server), collection_name=name, files=good + [[bad]]).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Failed"
    assert bad in state["reason"] and "row 37" in state["reason"] and "vec" in state["reason"]
    assert state["importedRows"] == 0
    assert client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"] == 0
    # a truncated npy file fails too
    files = upload(server, write_files(tmp_path, make_rows(40), BulkFileType.NUMPY))
    vec = next(k for k in files[0] if k.endswith("vec.npy"))
    p = Path(server.data_dir) / "objects" / vec
    p.write_bytes(p.read_bytes()[:-16])
    job_id = bulk_import(url=rest_url(server), collection_name=name, files=files).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Failed" and "truncated" in state["reason"] and vec in state["reason"]
    assert client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"] == 0
    # a missing file
    job_id = bulk_import(url=rest_url(server), collection_name=name,
                         files=[["import/none/missing.json"]]).json()["data"]["jobId"]
    state = wait_rest_job(server, job_id)
    assert state["state"] == "Failed" and "import/none/missing.json" in state["reason"]


def test_requests_refused_before_a_job_starts(server, orm):
    client = server.client()
    name = create(client)
    with pytest.raises(MilvusException) as e:
        utility.do_bulk_insert(name, files=["import/a.txt"], using=orm)
    assert e.value.code == 2100
    assert e.value.message == "unexpected file type, files=[import/a.txt]: importing data failed"
    # mixed types in one import file are refused (raw REST, to read the envelope)
    def post_create(files, coll=name):
        r = requests.post(rest_url(server) + "/v2/vectordb/jobs/import/create",
                          json={"collectionName": coll, "files": files}, timeout=30)
        return r.json()

    r = post_create([["a/x.npy", "a/y.json"]])
    assert r["code"] == 2100
    assert r["message"] == "inconsistency in file types, (a/x.npy) vs (a/y.json): importing data failed"
    r = post_create([["a/x.json", "a/y.json"]])
    assert r["code"] == 2100 and r["message"] == "for JSON or parquet import, accepts only one file: importing data failed"
    r = post_create([["a/x.parquet", "a/y.parquet"]])
    assert r["code"] == 2100 and r["message"] == "for JSON or parquet import, accepts only one file: importing data failed"
    r = post_create([])
    assert r["code"] == 1100 and r["message"] == "import request is empty: invalid parameter"
    r = post_create([["a/x.json"]], coll=unique("none"))
    assert r["code"] == 100
    # pymilvus's helper raises on a refused request
    with pytest.raises(MilvusException) as e:
        bulk_import(url=rest_url(server), collection_name=name, files=[["a/x.txt"]])
    assert "unexpected file type, files=[a/x.txt]: importing data failed" in str(e.value)
    with pytest.raises(MilvusException) as e:
        get_import_progress(url=rest_url(server), job_id="12345")
    assert "import job does not exist, jobID=12345" in str(e.value)


def test_jobs_survive_restart(server, tmp_path):
    client = server.client()
    name = create(client)
    files = upload(server, write_files(tmp_path, make_rows(60), BulkFileType.JSON))
    job_id = bulk_import(url=rest_url(server), collection_name=name, files=files).json()["data"]["jobId"]
    assert wait_rest_job(server, job_id)["state"] == "Completed"
    server.restart()
    state = get_import_progress(url=rest_url(server), job_id=job_id).json()["data"]
    assert state["state"] == "Completed" and state["importedRows"] == 60
    assert [r["jobId"] for r in list_import_jobs(url=rest_url(server), collection_name=name).json()["data"]["records"]] \
        == [job_id]


def test_import_reads_from_s3_object_storage(kite_factory, tmp_path):
    from s3_server import VersityS3
    s3 = VersityS3(tmp_path / "s3").start()
    try:
        cfg = tmp_path / "kite-s3.yaml"
        cfg.write_text(s3.kite_config())
        server = kite_factory("kite-s3-import", extra_args=["--config", str(cfg)]).start()
        client = server.client()
        name = create(client)
        rows = make_rows(120)
        keys = []
        # the posix gateway serves the files under <data>/<bucket>/<rootPath>/<key> as objects
        root = s3.data / s3.bucket / s3.root_path
        for group in write_files(tmp_path, rows, BulkFileType.NUMPY):
            for f in group:
                key = f"import/s3/{Path(f).name}"
                (root / key).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, root / key)
                keys.append(key)
        job_id = bulk_import(url=rest_url(server), collection_name=name, files=[keys]).json()["data"]["jobId"]
        state = wait_rest_job(server, job_id)
        assert state["state"] == "Completed", state
        check_rows(client, name, rows)
        assert not (Path(server.data_dir) / "objects").exists()  # nothing came from the local store
    finally:
        s3.stop()
