"""Bulk import isolation (issue 18): the rows of an import job become visible all at once when
the job completes, as in Milvus (imported segments are flagged importing until the job's last
file is in). While the job writes, count, query, search and num_entities show the collection as it
was; a job that fails while writing (a file replaced between its check and its write) leaves
nothing behind, and it never touches rows that were there before, even with the same keys.

The server's test hooks (rpc/import/import_jobs.cc) hold a job once it has written
KITE_TEST_IMPORT_HOLD_AFTER_ROWS rows, until the object KITE_TEST_IMPORT_RELEASE_KEY exists.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
from pymilvus import DataType, MilvusClient
from pymilvus.bulk_writer import bulk_import

from e2e_util import unique, wait_until
from test_bulk_import import put_object, rest_url, wait_rest_job
from test_bulk_import_parquet import bulk_progress, count, put_table

DIM = 4
HOLD_ENV = "KITE_TEST_IMPORT_HOLD_AFTER_ROWS"
RELEASE_ENV = "KITE_TEST_IMPORT_RELEASE_KEY"


def schema():
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("tag", DataType.INT64)
    return s


def create(client: MilvusClient) -> str:
    name = unique("iso")
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema(), index_params=ip, num_shards=2)
    return name


def table(start: int, n: int, seed: int):
    vecs = np.random.default_rng(seed).random((n, DIM), dtype=np.float32)
    t = pa.table({"id": pa.array(range(start, start + n), pa.int64()),
                  "v": pa.array(vecs.tolist(), pa.list_(pa.float32())),
                  "tag": pa.array(range(start, start + n), pa.int64())})
    return t, vecs


def held_server(kite_factory, monkeypatch, name: str):
    release = f"import/{unique('release')}/go"
    monkeypatch.setenv(HOLD_ENV, "8192")
    monkeypatch.setenv(RELEASE_ENV, release)
    srv = kite_factory(name).start()
    return srv, release


def wait_holding(srv, job_id: str) -> dict:
    progress = {}

    def holding():
        progress.update(bulk_progress(srv, job_id))
        return progress["state"] == "Importing" and progress["importedRows"] >= 8192

    assert wait_until(holding, 120), progress
    return progress


def test_rows_become_visible_only_when_the_job_completes(kite_factory, tmp_path, monkeypatch):
    srv, release = held_server(kite_factory, monkeypatch, "kite-import-iso")
    client = srv.client()
    name = create(client)
    before = [{"id": -1 - i, "v": [9.0, 9.0, 9.0, float(i)], "tag": -1 - i} for i in range(5)]
    client.insert(name, before)
    sizes = [12000, 9000, 7000]  # three files; the job holds after its first 8192 rows
    keys, vecs, start = [], [], 0
    for i, n in enumerate(sizes):
        t, v = table(start, n, seed=i)
        keys.append([put_table(srv, t, tmp_path)])
        vecs.append(v)
        start += n
    total = sum(sizes)
    vecs = np.concatenate(vecs)
    job_id = bulk_import(url=rest_url(srv), collection_name=name, files=keys).json()["data"]["jobId"]
    wait_holding(srv, job_id)

    # The job has written rows; none of them can be seen yet.
    assert count(client, name) == len(before)
    assert client.query(name, filter="tag >= 0", output_fields=["id"], consistency_level="Strong") == []
    probe = 12000 + 4321  # a row of the second file
    hits = client.search(name, data=[vecs[probe].tolist()], limit=3, output_fields=["tag"],
                         consistency_level="Strong")[0]
    assert all(h["entity"]["tag"] < 0 for h in hits)
    assert client.get_collection_stats(name)["row_count"] == len(before)

    # Release the job and watch the count while it finishes: the old value, then the new one.
    seen = set()
    done = threading.Event()

    def sample():
        c = srv.client()
        while not done.is_set():
            seen.add(count(c, name))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        put_object(srv, release, b"go")
        state = wait_rest_job(srv, job_id)
        assert state["state"] == "Completed", state
        assert state["importedRows"] == total
    finally:
        done.set()
        sampler.join()
    assert seen <= {len(before), len(before) + total}, sorted(seen)
    assert count(client, name) == len(before) + total
    got = client.query(name, filter="tag >= 0 and tag < 30", output_fields=["id", "tag", "v"],
                       consistency_level="Strong")
    assert sorted(g["id"] for g in got) == list(range(30))
    for g in got:
        np.testing.assert_allclose(np.array(g["v"], dtype=np.float32), vecs[g["id"]])
    hits = client.search(name, data=[vecs[probe].tolist()], limit=1, consistency_level="Strong")[0]
    assert hits[0]["id"] == probe
    assert client.get_collection_stats(name)["row_count"] == len(before) + total
    # Deletes reach imported rows like any other, and they survive a restart.
    client.delete(name, filter="tag < 100 and tag >= 0")
    assert count(client, name) == len(before) + total - 100
    srv.restart()
    client = srv.client()
    client.load_collection(name)
    assert count(client, name) == len(before) + total - 100
    assert client.query(name, filter="id == 150", output_fields=["tag"], consistency_level="Strong") == [
        {"id": 150, "tag": 150}]


def test_a_job_that_fails_while_writing_leaves_nothing_and_keeps_older_rows(kite_factory, tmp_path,
                                                                              monkeypatch):
    srv, release = held_server(kite_factory, monkeypatch, "kite-import-iso-fail")
    client = srv.client()
    name = create(client)
    # Rows inserted before the job with keys the job imports too (Milvus allows duplicates).
    before = [{"id": i, "v": [9.0, 9.0, 9.0, float(i)], "tag": -1 - i} for i in range(5)]
    client.insert(name, before)
    t1, _ = table(0, 10000, seed=1)
    t2, _ = table(10000, 3000, seed=2)
    f1 = put_table(srv, t1, tmp_path)
    f2 = put_table(srv, t2, tmp_path)
    job_id = bulk_import(url=rest_url(srv), collection_name=name, files=[[f1], [f2]]).json()["data"]["jobId"]
    wait_holding(srv, job_id)
    assert count(client, name) == len(before)
    # The second file was checked already; it is damaged before the job writes it.
    p = Path(srv.data_dir) / "objects" / f2
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    put_object(srv, release, b"go")
    state = wait_rest_job(srv, job_id)
    assert state["state"] == "Failed", state
    assert "writing the imported rows failed" in state["reason"] and f2 in state["reason"], state
    assert state["importedRows"] == 0
    assert count(client, name) == len(before)
    got = client.query(name, filter="id >= 0", output_fields=["tag"], consistency_level="Strong")
    assert sorted((g["id"], g["tag"]) for g in got) == sorted((r["id"], r["tag"]) for r in before)


def test_partition_key_rows_land_in_the_partitions_an_insert_would_use(server, tmp_path):
    """Imported rows are routed to partitions by their partition key and to shards by their primary
    key exactly as inserted rows are: a filter on the key (which reads only the key's partition)
    finds imported and inserted rows alike, and a delete by key reaches the imported row."""
    client = server.client()
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("tenant", DataType.INT64, is_partition_key=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    name = unique("isopk")
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip, num_shards=2, num_partitions=8)
    n = 3000
    vecs = np.random.default_rng(4).random((n, DIM), dtype=np.float32)
    tenants = [(i * 7) % 13 for i in range(n)]
    t = pa.table({"id": pa.array(range(n), pa.int64()), "tenant": pa.array(tenants, pa.int64()),
                  "v": pa.array(vecs.tolist(), pa.list_(pa.float32()))})
    inserted = [{"id": n + i, "tenant": i % 13, "v": [0.5] * DIM} for i in range(50)]
    client.insert(name, inserted)
    job = bulk_import(url=rest_url(server), collection_name=name,
                      files=[[put_table(server, t, tmp_path)]]).json()["data"]["jobId"]
    assert wait_rest_job(server, job)["state"] == "Completed"
    for tenant in (0, 5, 12):
        got = client.query(name, filter=f"tenant == {tenant}", output_fields=["id"], consistency_level="Strong",
                           limit=16384)
        want = {i for i in range(n) if tenants[i] == tenant} | {r["id"] for r in inserted if r["tenant"] == tenant}
        assert {g["id"] for g in got} == want, tenant
    client.delete(name, filter="id in [7, 8, 9]")
    assert count(client, name) == n + len(inserted) - 3
    assert client.query(name, filter=f"tenant == {tenants[8]} and id == 8", output_fields=["id"],
                        consistency_level="Strong") == []


def test_imported_rows_carry_the_time_of_the_import_request(kite_factory, tmp_path, monkeypatch):
    # Milvus stamps every imported row with its ImportMessage's time tick, taken when the import
    # request is accepted: a delete issued after the request (here while the job holds between
    # checking its file and writing it) removes the matching rows once the job completes; one
    # issued before the request does not.
    release = f"import/{unique('release')}/go"
    monkeypatch.setenv("KITE_TEST_IMPORT_HOLD_BEFORE_WRITE", "1")
    monkeypatch.setenv(RELEASE_ENV, release)
    srv = kite_factory("kite-import-ts").start()
    client = srv.client()
    name = create(client)
    t, _ = table(0, 1000, seed=7)
    key = put_table(srv, t, tmp_path)
    client.delete(name, ids=[1, 2, 3])  # before the request
    job_id = bulk_import(url=rest_url(srv), collection_name=name, files=[[key]]).json()["data"]["jobId"]
    assert wait_until(lambda: "holding after 0 rows written" in srv.log_path.read_text(), 60), srv.log_tail()
    assert count(client, name) == 0
    client.delete(name, ids=[10, 11, 12, 999])  # after the request, before any row is written
    put_object(srv, release, b"go")
    state = wait_rest_job(srv, job_id)
    assert state["state"] == "Completed" and state["importedRows"] == 1000, state
    assert count(client, name) == 1000 - 4
    got = {r["id"] for r in client.query(name, filter="id < 15 or id > 995", output_fields=["id"],
                                         consistency_level="Strong")}
    assert got == set(range(15)) - {10, 11, 12} | {996, 997, 998}
    # A delete after the job completes applies as to any row.
    client.delete(name, ids=[1])
    assert count(client, name) == 1000 - 5
