"""`kite standalone` with its object storage on a real S3 server (Versity gateway, s3_server.py):
common.storageType remote + the minio.* keys, WAL and meta embedded.

- the core (DDL, insert/upsert/delete, flush, index, filtered search, query) works and survives
  a restart, with every segment and index file in the bucket and none in the data directory;
- the S3 server stopped during a flush, an index build and a compaction: writes are still
  acknowledged (they are in the WAL), the work fails or waits instead of giving up, and
  completes once the server is back; nothing is lost, across a restart too.

Expected answers are computed here from the rows the test wrote (numpy brute force), never
read back from Kite.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient, MilvusException

from e2e_util import free_port, unique
from s3_server import SECRET_KEY, VersityS3

DIM = 8


def start_kite_on(s3: VersityS3, kite_factory, tmp_path: Path, name: str = "kite-s3", extra_yaml: str = ""):
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(s3.kite_config() + extra_yaml)
    return kite_factory(name, extra_args=["--config", str(cfg)]).start()


@pytest.fixture
def s3(tmp_path):
    srv = VersityS3(tmp_path / "s3").start()
    yield srv
    srv.stop()


def make_collection(c: MilvusClient, name: str) -> None:
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    c.create_collection(name, schema=schema)


def rows_for(ids, vectors, tag_of):
    return [{"id": int(i), "tag": int(tag_of(int(i))), "vector": vectors[k].tolist()} for k, i in enumerate(ids)]


def all_ids(c: MilvusClient, name: str) -> list:
    return sorted(r["id"] for r in c.query(name, filter="id >= 0", output_fields=["id"], limit=16384))


def segment_objects(s3: VersityS3) -> set:
    """Segment directories (collections/<c>/segments/<s>) the bucket holds."""
    root = s3.data / s3.bucket / s3.root_path
    return {p.relative_to(root).parts[:4] for p in s3.object_files() if "segments" in p.parts}


def wait_for_log(server, needle: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in server.log_path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"'{needle}' never appeared in the kite log:\n{server.log_tail()}")


def wait_index(c: MilvusClient, name: str, rows: int, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    info = None
    while time.monotonic() < deadline:
        info = c.describe_index(name, "vector")
        assert info.get("state") != "Failed", info
        if info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= rows:
            return info
        time.sleep(0.1)
    raise AssertionError(f"index not built in {timeout}s: {info}")


def index_and_load(c: MilvusClient, name: str, rows: int) -> None:
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_index(name, ip)
    wait_index(c, name, rows)
    c.load_collection(name)


def brute_force_ids(vectors: dict, query: np.ndarray, k: int, keep) -> list:
    ids = sorted(i for i in vectors if keep(i))
    d = np.array([float(np.sum((vectors[i] - query) ** 2)) for i in ids])
    return [ids[j] for j in np.argsort(d, kind="stable")[:k]]


def test_core_on_s3_and_restart(s3, kite_factory, tmp_path):
    server = start_kite_on(s3, kite_factory, tmp_path)
    c = server.client()
    name = unique("s3core")
    make_collection(c, name)
    rng = np.random.default_rng(5)
    vectors = {i: v for i, v in enumerate(rng.random((500, DIM), dtype=np.float32))}
    tags = {i: i % 10 for i in vectors}
    c.insert(name, rows_for(list(vectors), np.array(list(vectors.values())), lambda i: tags[i]))
    # Upsert 0..49 with new vectors and tag 100; delete 450..499.
    new = rng.random((50, DIM), dtype=np.float32)
    c.upsert(name, rows_for(range(50), new, lambda i: 100))
    for i in range(50):
        vectors[i], tags[i] = new[i], 100
    c.delete(name, ids=list(range(450, 500)))
    for i in range(450, 500):
        del vectors[i], tags[i]
    c.flush(name)
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_index(name, ip)
    wait_index(c, name, 1)
    c.load_collection(name)

    query = rng.random(DIM, dtype=np.float32)

    def check(client):
        assert all_ids(client, name) == sorted(vectors)
        got = client.query(name, filter="tag == 100", output_fields=["id"], limit=1000)
        assert sorted(r["id"] for r in got) == list(range(50))
        res = client.search(name, [query.tolist()], limit=5, filter="tag == 3", output_fields=["tag"],
                            search_params={"metric_type": "L2"})
        assert [h["id"] for h in res[0]] == brute_force_ids(vectors, query, 5, lambda i: tags[i] == 3)
        assert all(h["entity"]["tag"] == 3 for h in res[0])

    check(c)
    # Every segment and index file went to the bucket; none to the data directory.
    assert segment_objects(s3), "no segment files in the bucket"
    assert any("indexes" in p.parts for p in s3.object_files()), "no index file in the bucket"
    local = [p for p in (server.data_dir / "objects").rglob("*") if p.is_file()]
    assert local == [], local
    # The secret never reaches the log.
    assert SECRET_KEY not in server.log_path.read_text(errors="replace")
    c.close()
    server.restart()
    c = server.client()
    c.load_collection(name)
    check(c)
    c.close()


def test_s3_down_during_flush_keeps_writes_and_flushes_later(s3, kite_factory, tmp_path):
    server = start_kite_on(s3, kite_factory, tmp_path)
    c = server.client()
    name = unique("s3flush")
    make_collection(c, name)
    rng = np.random.default_rng(7)
    c.insert(name, rows_for(range(200), rng.random((200, DIM), dtype=np.float32), lambda i: 1))
    c.flush(name)
    index_and_load(c, name, 200)
    s3.stop()
    # Writes are acknowledged from the WAL while S3 is down, and are visible.
    c.insert(name, rows_for(range(200, 400), rng.random((200, DIM), dtype=np.float32), lambda i: 2))
    c.delete(name, ids=[0, 1, 2])
    expected = sorted(set(range(400)) - {0, 1, 2})
    assert all_ids(c, name) == expected
    with pytest.raises(MilvusException):
        c.flush(name)
    assert all_ids(c, name) == expected
    s3.start()
    c.flush(name)  # the flush is redone in full
    assert all_ids(c, name) == expected
    c.close()
    server.restart()
    c = server.client()
    c.load_collection(name)
    assert all_ids(c, name) == expected
    c.close()


def test_s3_down_during_index_build_resumes_when_back(s3, kite_factory, tmp_path):
    server = start_kite_on(s3, kite_factory, tmp_path)
    c = server.client()
    name = unique("s3index")
    make_collection(c, name)
    rng = np.random.default_rng(9)
    c.insert(name, rows_for(range(300), rng.random((300, DIM), dtype=np.float32), lambda i: 0))
    c.flush(name)
    s3.stop()
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 32})
    # create_index waits for the build: run it aside while S3 is down.
    errors = []

    def create():
        try:
            server.client().create_index(name, ip)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    creator = threading.Thread(target=create, daemon=True)
    creator.start()
    wait_for_log(server, "index build deferred")
    # Not given up: the index is still pending, not failed.
    info = c.describe_index(name, "vector")
    assert info.get("state") != "Failed", info
    # Inserts still acknowledged.
    c.insert(name, rows_for(range(300, 310), rng.random((10, DIM), dtype=np.float32), lambda i: 0))
    s3.start()
    creator.join(timeout=90)
    assert not creator.is_alive(), "create_index did not return after S3 came back"
    assert errors == []
    wait_index(c, name, 300)
    c.load_collection(name)
    assert all_ids(c, name) == list(range(310))
    c.close()
    server.restart()
    c = server.client()
    info = c.describe_index(name, "vector")
    assert info.get("state") == "Finished", info
    c.load_collection(name)
    assert all_ids(c, name) == list(range(310))
    c.close()


def test_s3_down_during_compaction_resumes_when_back(s3, kite_factory, tmp_path):
    # Automatic compaction off, so that only the manual job merges; the inputs' objects are
    # garbage collected at the first pass after the merge (dropTolerance 0).
    server = start_kite_on(s3, kite_factory, tmp_path,
                           extra_yaml="dataCoord:\n  compaction:\n    enableAutoCompaction: false\n"
                                      "  gc:\n    interval: 1\n    dropTolerance: 0\n")
    c = server.client()
    name = unique("s3compact")
    make_collection(c, name)
    rng = np.random.default_rng(11)
    for part in range(3):
        ids = range(part * 100, (part + 1) * 100)
        c.insert(name, rows_for(ids, rng.random((100, DIM), dtype=np.float32), lambda i: part))
        c.flush(name)
    deleted = list(range(0, 300, 3))
    c.delete(name, ids=deleted)
    c.flush(name)
    index_and_load(c, name, 200)
    assert len(segment_objects(s3)) == 3
    s3.stop()
    job = c.compact(name)
    wait_for_log(server, f"compaction of {name} deferred")
    assert str(c.get_compaction_state(job)) != "Completed"
    alive = sorted(set(range(300)) - set(deleted))
    assert all_ids(c, name) == alive  # reads of loaded data go on
    s3.start()
    deadline = time.monotonic() + 60
    while str(c.get_compaction_state(job)) != "Completed" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert str(c.get_compaction_state(job)) == "Completed"
    while len(segment_objects(s3)) != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(segment_objects(s3)) == 1, segment_objects(s3)
    assert all_ids(c, name) == alive
    c.close()
    server.restart()
    c = server.client()
    c.load_collection(name)
    assert all_ids(c, name) == alive
    c.close()


@pytest.mark.parametrize("yaml_text,key,value", [
    ("common:\n  storageType: opendal\n", "common.storageType", "opendal"),
    ("common:\n  storageType: remote\nminio:\n  cloudProvider: azure\n", "minio.cloudProvider", "azure"),
    ("common:\n  storageType: remote\nminio:\n  useIAM: true\n", "minio.useIAM", "true"),
    ("common:\n  storageType: remote\nminio:\n  address: http://host\n", "minio.address", "http://host"),
])
def test_bad_object_storage_config_is_refused_with_the_key(kite_bin, tmp_path, yaml_text, key, value):
    cfg = tmp_path / "kite.yaml"
    cfg.write_text(yaml_text)
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert key in proc.stderr and value in proc.stderr, proc.stderr


def test_unreachable_s3_fails_the_start_clearly_without_the_secret(kite_bin, tmp_path):
    port = free_port()  # nothing listens there
    cfg = tmp_path / "kite.yaml"
    cfg.write_text("common:\n  storageType: remote\nminio:\n  address: 127.0.0.1\n"
                   f"  port: {port}\n  accessKeyID: someone\n  secretAccessKey: {SECRET_KEY}\n")
    t0 = time.monotonic()
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert time.monotonic() - t0 < 30  # bounded retries, no hang
    out = proc.stdout + proc.stderr
    assert "cannot open the S3 object store" in out and f"127.0.0.1:{port}" in out, out
    assert SECRET_KEY not in out


def metric_value(server, name: str) -> float:
    import urllib.request
    body = urllib.request.urlopen(server.metrics_url + "/metrics", timeout=10).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_s3_down_full_segment_writes_back_off_the_flush_then_are_bounded(s3, kite_factory, tmp_path):
    """S3 down while writes fill a segment: the failed flush backs off (the writes after it do not
    each wait for the object store's retries), /metrics says so, the unflushed data is bounded
    (rows are refused with Milvus's retriable code 2 beyond it), and all of it flushes once S3
    is back."""
    server = start_kite_on(s3, kite_factory, tmp_path, extra_yaml=(
        "dataCoord:\n  segment:\n    maxSize: 1\n    sealProportion: 0.05\n"))  # seal at ~52 KB
    c = server.client()
    name = unique("s3full")
    make_collection(c, name)
    rng = np.random.default_rng(3)
    acked = set(range(100))
    c.insert(name, rows_for(range(100), rng.random((100, DIM), dtype=np.float32), lambda i: 1))
    c.flush(name)
    index_and_load(c, name, 100)
    assert metric_value(server, "kite_streaming_flush_failing_channels") == 0
    s3.stop()
    next_id = 100

    def insert(n):
        nonlocal next_id
        ids = range(next_id, next_id + n)
        t0 = time.monotonic()
        c.insert(name, rows_for(ids, rng.random((n, DIM), dtype=np.float32), lambda i: 2))
        acked.update(ids)
        next_id += n
        return time.monotonic() - t0

    # Fill the segment until a flush has failed.
    deadline = time.monotonic() + 60
    while metric_value(server, "kite_streaming_flush_failing_channels") == 0:
        assert time.monotonic() < deadline, "no flush failed with S3 down"
        insert(200)
    # Every write now lands on a full segment; the failed flush is not retried by each.
    took = [insert(20) for _ in range(20)]
    slow = [t for t in took if t > 0.3]
    assert len(slow) <= 2, f"writes waited for the flush: {['%.2f' % t for t in took]}"
    assert metric_value(server, "kite_streaming_flush_failing_channels") == 1
    # Bounded: rows are refused (retriable) once the unflushed data reaches its bound.
    refused = None
    for _ in range(100):
        try:
            insert(500)
        except MilvusException as e:
            refused = e
            break
    assert refused is not None, f"{next_id} rows accepted with S3 down"
    assert refused.code == 2 and refused.message.startswith("service unavailable: "), refused
    assert "cannot be flushed" in refused.message, refused.message
    assert all_ids(c, name) == sorted(acked)
    s3.start()
    c.flush(name)
    assert metric_value(server, "kite_streaming_flush_failing_channels") == 0
    insert(50)
    assert all_ids(c, name) == sorted(acked)
    c.close()
    server.restart()
    c = server.client()
    c.load_collection(name)
    assert all_ids(c, name) == sorted(acked)
    c.close()
