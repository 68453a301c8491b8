"""Data nodes as their own processes (issue 16: "index builds are tasks the coordinator hands to
data nodes and reassigns if a data node dies; results commit through the coordinator").

`kite standalone` with `kite.dataNodes: remote` keeps the scheduler (what to build, compaction)
and hands each index build — the segment's files and the index definition — to a `kite datanode`
process found through its session in etcd. The data node writes the index file to the shared
object store; the coordinator commits it and hands it to the query node.

  - every segment's index is built by a data node process (their /metrics count the builds) and
    the collection answers searches exactly as the data says; a manual compaction runs on one too;
  - kill -9 of the data node building an index: the build finishes on the other one;
  - with no data node, an index stays InProgress (never Failed) and is built once one joins.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.request

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import unique
from etcd_util import EtcdProcess
from role_process import RoleProcess

DIM = 32


def schema():
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    return s


def hnsw(ef_construction=64):
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_name="vector", index_type="HNSW", metric_type="L2",
                 params={"M": 16, "efConstruction": ef_construction})
    return ip


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def index_state(client, name):
    return client.describe_index(name, "vector")


def wait_index(client, name, rows, timeout=120.0):
    info = {}

    def done():
        nonlocal info
        info = index_state(client, name)
        assert info.get("state") != "Failed", info
        return info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= rows

    wait_until(done, timeout, f"the index of {name} ({info})")
    return info


def metric_of(node: RoleProcess, metric: str) -> int:
    text = urllib.request.urlopen(f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(metric + "{"):
            return int(float(line.rsplit(" ", 1)[1]))
    raise AssertionError(f"no {metric} on the data node's /metrics")


def builds_of(node: RoleProcess) -> int:
    return metric_of(node, "kite_datanode_index_builds_total")


def log_of(p) -> str:
    return p.log_path.read_text(errors="replace")


@pytest.fixture
def cluster(kite_bin, kite_factory, tmp_path, request):
    """etcd, the coordinator (standalone with kite.dataNodes: remote) sharing its data dir's
    objects/ with the data node processes the test starts. Parameter (indirect): a segment size
    cap in MB (dataCoord.segment.maxSize), so that a test gets several segments to build."""
    etcd = EtcdProcess(tmp_path / "etcd").start()
    cfg = tmp_path / "cluster.yaml"
    segment_mb = getattr(request, "param", None)
    cfg.write_text(
        f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: {unique('dn')}\n"
        "common:\n  session:\n    ttl: 3\n"
        "kite:\n  dataNodes: remote\n"
        + (f"dataCoord:\n  segment:\n    maxSize: {segment_mb}\n" if segment_mb else ""))
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    server = kite_factory(name="coord", data_dir=data_dir, extra_args=["--config", str(cfg)])
    server.start()
    nodes = []

    def data_node():
        n = RoleProcess(kite_bin, "datanode", cfg, data_dir, tmp_path, f"datanode{len(nodes)}").start()
        nodes.append(n)
        return n

    yield server, data_node
    server.stop(check=False)
    for n in nodes:
        n.stop()
    etcd.stop(crash=True)


def check_search(client, name, vectors, queries):
    res = client.search(name, [q.tolist() for q in queries], limit=5, consistency_level="Strong",
                        search_params={"metric_type": "L2", "params": {"ef": 256}})
    for q, hits in zip(queries, res):
        d = np.sum((vectors - q) ** 2, axis=1)
        assert [h["id"] for h in hits] == [int(i) for i in np.argsort(d, kind="stable")[:5]]


@pytest.mark.parametrize("cluster", [1], indirect=True)  # 1 MB segments: several builds at once
def test_index_builds_run_on_data_node_processes(cluster):
    server, data_node = cluster
    nodes = [data_node(), data_node()]
    client = server.client()
    rng = np.random.default_rng(1)
    name = unique("dn_builds")
    client.create_collection(name, schema=schema())
    total = 24000  # 3 MB of vectors: three or more 1 MB segments to build
    vectors = rng.random((total, DIM), dtype=np.float32)
    for start in range(0, total, 4000):
        client.insert(name, [{"id": i, "vector": vectors[i].tolist()} for i in range(start, start + 4000)])
    client.flush(name)
    client.create_index(name, hnsw())
    client.load_collection(name)
    wait_index(client, name, total)
    built = [builds_of(n) for n in nodes]
    assert all(b >= 1 for b in built), built  # the builds were spread over both data nodes
    # Every build the coordinator committed ran on a data node process (small unindexed segments
    # may be merged first, so there may be fewer builds than flushes).
    committed = log_of(server).count("index built:")
    remote = len(re.findall(r"the build of index \S+ of segment \d+ done on data node", log_of(server)))
    assert committed >= 1 and remote == committed, (committed, remote)
    assert sum(built) == committed, (built, committed)
    check_search(client, name, vectors, rng.random((3, DIM), dtype=np.float32))

    # A new segment after the index exists is built by a data node too.
    more = rng.random((500, DIM), dtype=np.float32)
    client.insert(name, [{"id": total + i, "vector": more[i].tolist()} for i in range(500)])
    client.flush(name)
    wait_index(client, name, total + 500)
    assert sum(builds_of(n) for n in nodes) > sum(built)
    every = np.vstack([vectors, more])
    check_search(client, name, every, rng.random((3, DIM), dtype=np.float32))

    # A manual compaction (deleted rows purged) also runs on a data node process.
    gone = list(range(0, total, 97))
    client.delete(name, ids=gone)
    client.flush(name)  # compaction purges the deletes persisted in the channel's delete logs
    job = client.compact(name)
    wait_until(lambda: client.get_compaction_state(job) == "Completed", 120, "the compaction")
    assert sum(metric_of(n, "kite_datanode_compactions_total") for n in nodes) >= 1
    assert "compacted:" in log_of(server) and "done on data node" in log_of(server)
    count = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]
    assert count == total + 500 - len(gone)
    got = client.query(name, filter=f"id in {gone[:20]}", output_fields=["id"], consistency_level="Strong")
    assert got == []
    client.close()


def test_build_finishes_elsewhere_after_kill9_of_its_data_node(cluster):
    server, data_node = cluster
    nodes = [data_node(), data_node()]
    client = server.client()
    rng = np.random.default_rng(2)
    name = unique("dn_kill")
    client.create_collection(name, schema=schema())
    n = 30000
    vectors = rng.random((n, DIM), dtype=np.float32)
    for start in range(0, n, 5000):
        client.insert(name, [{"id": i, "vector": vectors[i].tolist()} for i in range(start, start + 5000)])
    client.flush(name)
    # pymilvus's create_index waits for the build: run it beside the test.
    creator = threading.Thread(target=lambda: server.client(timeout=300).create_index(
        name, hnsw(ef_construction=200)))  # a build that takes seconds
    creator.start()

    def started():
        return [x for x in nodes if "building index" in log_of(x)]

    wait_until(lambda: started(), 60, "a data node to start the build")
    victim = started()[0]
    other = next(x for x in nodes if x is not victim)
    t0 = time.monotonic()
    victim.kill9()
    assert "index built" not in log_of(victim), "the build ended before the kill: make it longer"
    client.load_collection(name)
    wait_index(client, name, n, timeout=180)
    creator.join(60)
    print(f"index build finished on the other data node {time.monotonic() - t0:.2f} s after kill -9 of the "
          "one building it")
    assert "index built" in log_of(other)
    assert "did not complete the build" in log_of(server)
    check_search(client, name, vectors, rng.random((3, DIM), dtype=np.float32))
    client.close()


def test_index_waits_in_progress_for_the_first_data_node(cluster):
    server, data_node = cluster
    client = server.client()
    rng = np.random.default_rng(3)
    name = unique("dn_wait")
    client.create_collection(name, schema=schema())
    vectors = rng.random((800, DIM), dtype=np.float32)
    client.insert(name, [{"id": i, "vector": vectors[i].tolist()} for i in range(800)])
    client.flush(name)
    # pymilvus's create_index waits for the build, which waits for a data node.
    creator = threading.Thread(target=lambda: server.client(timeout=300).create_index(name, hnsw()))
    creator.start()
    wait_until(lambda: "no data node available" in log_of(server), 30, "the scheduler to find no data node")
    client.load_collection(name)
    info = index_state(client, name)
    assert info["state"] == "InProgress", info  # waiting, not failed
    # Searches are answered meanwhile (the segment is searched exactly).
    check_search(client, name, vectors, rng.random((2, DIM), dtype=np.float32))
    node = data_node()
    wait_index(client, name, 800)
    creator.join(60)
    assert not creator.is_alive()
    assert builds_of(node) >= 1
    client.close()
