"""Query nodes as their own processes (issue 16: role processes, query views, the query node
failure test).

`kite standalone` with `kite.queryNodes: remote` runs no query node itself: its query view
spreads the sealed segments of loaded collections over the `kite querynode` processes it finds
through their sessions in etcd, hands them each flush, compaction result, built index and delete
as messages naming the files in the object store they share, and routes every search and query
to the nodes holding the shard's segments.

  - segments handed over by flushes and by load land on both query nodes (get_query_segment_info
    names them); query, search and deletes (before and after a flush) answer exactly as the data
    says, computed here by brute force;
  - kill -9 of one query node while a reader keeps reading: within 10 s every query and search
    answers completely again (no row missing, none twice, no delete undone), with the lost node's
    segments loaded on the other one; writes and flushes go on;
  - a restart of the standalone loads the collection onto the query nodes again.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import free_port, unique
from etcd_util import EtcdProcess
from role_process import RoleProcess

DIM = 8
RECOVERY_BUDGET_S = 10.0


def QueryNodeProcess(binary, config, data_dir, log_dir, name) -> RoleProcess:
    """`kite querynode` on a free port, sharing the standalone's data dir (its objects/)."""
    return RoleProcess(binary, "querynode", config, data_dir, log_dir, name)


@pytest.fixture(params=["local", "s3"])
def cluster(request, kite_bin, kite_factory, tmp_path):
    """etcd, two query node processes, then the standalone; the object store is the data dir's
    objects/ shared on this machine ("local"), or an S3 server, each process with its own data
    dir ("s3": the query nodes reach the segments only through the bucket)."""
    etcd = EtcdProcess(tmp_path / "etcd").start()
    s3 = None
    text = (f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: {unique('qn')}\n"
            "kite:\n  queryNodes: remote\n")
    if request.param == "s3":
        from s3_server import VersityS3
        s3 = VersityS3(tmp_path / "s3").start()
        text += s3.kite_config().replace("common:\n  storageType: remote\n", "")
        text += "common:\n  storageType: remote\n  session:\n    ttl: 3\n"
    else:
        text += "common:\n  session:\n    ttl: 3\n"
    cfg = tmp_path / "cluster.yaml"
    cfg.write_text(text)
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    nodes = []
    for i in range(2):
        node_dir = data_dir if s3 is None else tmp_path / f"qn{i}-data"
        node_dir.mkdir(exist_ok=True)
        nodes.append(QueryNodeProcess(kite_bin, cfg, node_dir, tmp_path, f"querynode{i}").start())
    server = kite_factory(name="coord", data_dir=data_dir, extra_args=["--config", str(cfg)])
    server.start()
    yield server, nodes
    server.stop(check=False)
    for n in nodes:
        n.stop()
    if s3 is not None:
        s3.stop()
    etcd.stop(crash=True)


def schema():
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("n", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    return s


def insert_batch(client, name, expected, ids, rng):
    batch = [{"id": int(i), "n": int(i) * 3, "vector": rng.random(DIM).astype(np.float32).tolist()} for i in ids]
    client.insert(name, batch)
    for r in batch:
        expected[r["id"]] = r


def answers_completely(client, name, expected, queries) -> bool:
    got = client.query(name, filter="id >= 0", output_fields=["id", "n"], limit=16384)
    ids = [r["id"] for r in got]
    if len(ids) != len(set(ids)) or set(ids) != set(expected):
        return False
    if any(r["n"] != expected[r["id"]]["n"] for r in got):
        return False
    res = client.search(name, [q.tolist() for q in queries], limit=5,
                        search_params={"metric_type": "L2", "params": {"ef": 512}})
    for q, hits in zip(queries, res):
        d = sorted((float(np.sum((np.asarray(r["vector"], np.float32) - q) ** 2)), pk)
                   for pk, r in expected.items())
        if [h["id"] for h in hits] != [pk for _, pk in d[:5]]:
            return False
    return True


def nodes_of(client, name):
    return {s["node_ids"][0] if isinstance(s, dict) else s.nodeIds[0]
            for s in client._get_connection().get_query_segment_info(name)}


def test_segments_spread_over_query_node_processes_and_survive_a_kill(cluster):
    server, nodes = cluster
    client = server.client()
    name = unique("spread")
    rng = np.random.default_rng(7)
    client.create_collection(name, schema=schema())
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_index(name, ip)
    client.load_collection(name)

    expected: dict = {}
    for b in range(4):  # four flushes: four sealed segments handed over
        insert_batch(client, name, expected, range(b * 300, (b + 1) * 300), rng)
        client.flush(name)
    # Deletes of sealed rows: one batch persisted by a flush, one only forwarded.
    client.delete(name, ids=list(range(0, 40)))
    for i in range(0, 40):
        expected.pop(i)
    insert_batch(client, name, expected, range(1200, 1300), rng)
    client.flush(name)
    client.delete(name, ids=list(range(300, 330)))
    for i in range(300, 330):
        expected.pop(i)
    queries = rng.random((3, DIM)).astype(np.float32)
    assert answers_completely(client, name, expected, queries)
    holders = nodes_of(client, name)
    assert len(holders) == 2, f"segments not spread over both query nodes: {holders}"
    # The web UI shows the topology: both query nodes, holding every loaded row between them.
    topo = json.loads(urllib.request.urlopen(f"{server.metrics_url}/webui/api/query_nodes", timeout=5).read())
    topo = topo.get("data", topo)
    assert {n["node_id"] for n in topo} == holders, topo
    assert sum(n["rows"] for n in topo) >= len(expected), topo  # deleted rows still count until compacted
    health = urllib.request.urlopen(f"{server.metrics_url}/healthz", timeout=5)
    assert health.status == 200 and health.read() == b"OK"
    # Each query node process says on its own /metrics what it holds, under its node_id.
    held = {}
    for n in nodes:
        assert urllib.request.urlopen(f"http://127.0.0.1:{n.metrics_port}/healthz", timeout=5).read() == b"OK"
        text = urllib.request.urlopen(f"http://127.0.0.1:{n.metrics_port}/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith("kite_querynode_rows{"):
                node_id = int(line.split('node_id="')[1].split('"')[0])
                held[node_id] = held.get(node_id, 0) + int(float(line.rsplit(" ", 1)[1]))
    assert held == {n["node_id"]: n["rows"] for n in topo}, (held, topo)

    # A fresh load (release, load) places them again from the registry's records.
    client.release_collection(name)
    client.load_collection(name)
    assert answers_completely(client, name, expected, queries)
    assert len(nodes_of(client, name)) == 2

    # A writer (insert + flush, each acknowledged id recorded) and a searcher run across the kill.
    acked: dict = {}
    stop = threading.Event()
    errors: list = []

    def writer():
        wrng = np.random.default_rng(11)
        wclient = server.client()
        next_id = 10_000
        while not stop.is_set():
            batch = [{"id": next_id + j, "n": (next_id + j) * 3,
                      "vector": wrng.random(DIM).astype(np.float32).tolist()} for j in range(20)]
            try:
                wclient.insert(name, batch)
                for r in batch:
                    acked[r["id"]] = r
                if (next_id // 20) % 5 == 0:
                    wclient.flush(name)
            except Exception as e:  # noqa: BLE001 - a refused write is not acknowledged
                errors.append(repr(e))
            next_id += 20

    searches = [0]

    def searcher():
        sclient = server.client()
        while not stop.is_set():
            try:
                sclient.search(name, [queries[0].tolist()], limit=5)
                searches[0] += 1
            except Exception:  # noqa: BLE001 - a read may fail while the node is replaced
                pass

    threads = [threading.Thread(target=writer), threading.Thread(target=searcher)]
    for t in threads:
        t.start()
    # The kill lands while both run: after some acknowledged writes and searches.
    deadline = time.monotonic() + 30
    while (len(acked) < 40 or searches[0] < 3) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(acked) >= 40 and searches[0] >= 3, (len(acked), searches, errors)
    nodes[0].kill9()
    t0 = time.monotonic()
    recovered = None
    while time.monotonic() - t0 < 30:
        try:
            got = client.query(name, filter="id < 10000", output_fields=["id", "n"], limit=16384)
            ids = [r["id"] for r in got]
            if len(ids) == len(set(ids)) and set(ids) == set(expected):
                recovered = time.monotonic() - t0
                break
        except Exception:  # noqa: BLE001 - reads may fail while the node is being replaced
            pass
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(60)
    assert recovered is not None, "queries never answered completely after the query node died"
    print(f"query node kill -9: complete answers again after {recovered:.2f} s; "
          f"{len(acked)} rows written meanwhile, {len(errors)} writes refused")
    assert recovered < RECOVERY_BUDGET_S
    # Every acknowledged write is there, once.
    expected.update(acked)
    client.flush(name)
    assert answers_completely(client, name, expected, queries)
    assert len(nodes_of(client, name)) == 1

    # Writes, deletes and flushes go on onto the surviving node.
    insert_batch(client, name, expected, range(2000, 2200), rng)
    client.delete(name, ids=[2000, 2001, 1250])
    for i in (2000, 2001, 1250):
        expected.pop(i)
    client.flush(name)
    assert answers_completely(client, name, expected, queries)

    # A query node that joins takes segments from the survivor; reads stay exact.
    joined = QueryNodeProcess(nodes[0].binary, nodes[0].config, nodes[1].data_dir, nodes[0].log_path.parent,
                              "querynode-joined").start()
    nodes.append(joined)
    deadline = time.monotonic() + 30
    while len(nodes_of(client, name)) < 2:
        assert time.monotonic() < deadline, "the joined query node took no segment"
        time.sleep(0.1)
    assert answers_completely(client, name, expected, queries)

    # A restart of the standalone loads the collection onto the query nodes again.
    server.restart()
    client = server.client()
    deadline = time.monotonic() + 30
    while not answers_completely(client, name, expected, queries):
        assert time.monotonic() < deadline, "not complete after the standalone restarted"
        time.sleep(0.1)


def test_health_says_when_no_query_node_serves_the_loaded_segments(cluster):
    """With every query node gone, reads fail (never answer without the sealed rows) and
    /healthz reports the querynode component abnormal; a node that starts takes the segments
    and both recover."""
    server, nodes = cluster
    client = server.client()
    name = unique("nonode")
    rng = np.random.default_rng(3)
    client.create_collection(name, schema=schema())
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_index(name, ip)
    client.load_collection(name)
    expected: dict = {}
    insert_batch(client, name, expected, range(0, 200), rng)
    client.flush(name)
    for n in nodes:
        n.kill9()
    with pytest.raises(Exception):
        client.query(name, filter="id >= 0", output_fields=["id"], limit=1000)

    def health():
        req = urllib.request.Request(f"{server.metrics_url}/healthz", headers={"Content-Type": "application/json"})
        try:
            resp = urllib.request.urlopen(req, timeout=5)
            return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    status, body = health()
    assert status == 500, body
    assert {d["name"]: d["code"] for d in body["detail"]}["querynode"] == 2, body
    fresh = QueryNodeProcess(nodes[1].binary, nodes[1].config, nodes[1].data_dir, nodes[1].log_path.parent,
                             "querynode-fresh").start()
    nodes.append(fresh)
    deadline = time.monotonic() + 30
    while True:
        try:
            got = client.query(name, filter="id >= 0", output_fields=["id"], limit=1000)
            if sorted(r["id"] for r in got) == sorted(expected):
                break
        except Exception:  # noqa: BLE001 - until the new node has the segments
            pass
        assert time.monotonic() < deadline, "the new query node never served the segments"
        time.sleep(0.1)
    assert health()[0] == 200


def test_get_metrics_lists_the_query_node_processes(cluster):
    """GetMetrics system_info (what Attu's system view reads) lists each query node process of
    the cluster, by its server id and address, managed by querycoord, instead of an embedded one."""
    from pymilvus.grpc_gen import milvus_pb2
    from e2e_util import wait_until
    server, nodes = cluster
    client = server.client()
    web = {}

    def both_joined():
        topo = json.loads(urllib.request.urlopen(f"{server.metrics_url}/webui/api/query_nodes", timeout=5).read())
        web["nodes"] = topo.get("data", topo)
        return len(web["nodes"]) == len(nodes)

    assert wait_until(both_joined, 30), web
    stub = client._get_connection()._stub
    resp = stub.GetMetrics(milvus_pb2.GetMetricsRequest(request=json.dumps({"metric_type": "system_info"})),
                           timeout=10)
    assert resp.status.code == 0, resp.status
    listed = json.loads(resp.response)["nodes_info"]
    qns = [n for n in listed if n["infos"]["type"] == "querynode"]
    assert {n["infos"]["id"] for n in qns} == {n["node_id"] for n in web["nodes"]}
    assert {n["infos"]["hardware_infos"]["ip"] for n in qns} == {n["address"] for n in web["nodes"]}
    assert len({n["identifier"] for n in listed}) == len(listed)
    qc = next(n for n in listed if n["infos"]["type"] == "querycoord")
    managed = {e["connected_identifier"] for e in qc["connected"] if e["type"] == "manage"}
    assert managed == {n["identifier"] for n in qns}
