"""Coordinator active-standby (issue 16: "several coordinators may run; exactly one is active, the
others take over within seconds when it dies, and an old active that wakes up after losing its
lease can change nothing").

Two `kite standalone` processes with `mixCoord.enableActiveStandby: true` over one etcd, one S3
object store (the Versity gateway) and one Kafka broker, with `kite.streamingNodes: remote` and a
`kite streamingnode` process. Each candidate registers session/mixcoord-<id>; the one that wins
session/mixcoord serves (Milvus port, coordinator services on rootCoord.port); the other serves
nothing until it wins. The streaming node follows session/mixcoord to whichever is active.

  - kill -9 of the active: the stand-by serves within the session TTL plus a margin, with every
    acknowledged row, delete and index, and takes writes and DDL; the streaming node followed it;
  - SIGTERM of the active hands over at once (the election is resigned, no TTL wait);
  - a paused active (SIGSTOP past its TTL) is replaced; when it resumes it exits (code 80)
    without serving, and the catalog is the successor's.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
import uuid

import numpy as np
import pytest
from pymilvus import MilvusClient

from cluster_util import answers_exactly as check_exact, id_n_rows, id_n_vector_schema
from e2e_util import free_port, unique
from etcd_util import EtcdProcess
from role_process import RoleProcess
from s3_server import VersityS3

DIM = 8
TTL_S = 3
# Expiry is seen within the TTL (plus etcd's expiry check and a watch hop); then the new active
# opens the catalog and the collections (loads on a loaded 2-core machine).
TAKEOVER_BUDGET_S = TTL_S + 20.0


def schema():
    return id_n_vector_schema(DIM)


def rows(ids, rng):
    return id_n_rows(ids, rng, DIM, mult=7)


def answers_exactly(client, name, expected, queries):
    check_exact(client, name, expected, queries, ef=256)


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def log_of(server) -> str:
    return server.log_path.read_text(errors="replace")


class Cluster:
    def __init__(self, kite_bin, kite_factory, tmp_path, kafka_broker):
        self.etcd = EtcdProcess(tmp_path / "etcd").start()
        self.s3 = VersityS3(tmp_path / "s3").start()
        self.root = unique("ha")
        self.prefix = f"ha{uuid.uuid4().hex[:10]}"
        self.kafka = kafka_broker
        self.tmp = tmp_path
        self.kite_bin = kite_bin
        self.factory = kite_factory
        self.coordinators = []
        self.nodes = []

    def config(self, name: str):
        cfg = self.tmp / f"{name}.yaml"
        minio = self.s3.kite_config().replace("common:\n  storageType: remote\n", "")
        cfg.write_text(
            f"etcd:\n  endpoints: {self.etcd.endpoint}\n  rootPath: {self.root}\n"
            f"common:\n  storageType: remote\n  session:\n    ttl: {TTL_S}\n"
            + minio
            + f"rootCoord:\n  port: {free_port()}\n"
            "mixCoord:\n  enableActiveStandby: true\n"
            "kite:\n  streamingNodes: remote\n"
            "mq:\n  type: kafka\n"
            f"kafka:\n  brokerList: {self.kafka.address}\n  readTimeout: 5\n"
            f"msgChannel:\n  chanNamePrefix:\n    cluster: {self.prefix}\n")
        return cfg

    def coordinator(self, name: str, wait: bool):
        srv = self.factory(name=name, extra_args=["--config", str(self.config(name))])
        if wait:
            srv.start()
        else:
            srv.launch()
        self.coordinators.append(srv)
        return srv

    def streaming_node(self):
        data = self.tmp / f"sn{len(self.nodes)}"
        data.mkdir()
        node = RoleProcess(self.kite_bin, "streamingnode", self.config(f"sn{len(self.nodes)}"), data, self.tmp,
                           f"streamingnode{len(self.nodes)}").start()
        self.nodes.append(node)
        return node

    def close(self):
        for c in self.coordinators:
            c.stop(check=False)
        for n in self.nodes:
            n.stop()
        self.s3.stop()
        self.etcd.stop(crash=True)


@pytest.fixture
def cluster(kite_bin, kite_factory, tmp_path, kafka_broker):
    c = Cluster(kite_bin, kite_factory, tmp_path, kafka_broker)
    yield c
    c.close()


def standing_by(srv) -> bool:
    return "standing by as coordinator" in log_of(srv)


def fill(client, name, rng, expected):
    """A collection with flushed rows, deletes and growing rows; `expected` gets what it holds."""
    client.create_collection(name, schema=schema())
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_index(name, ip)
    client.load_collection(name)
    first = rows(range(0, 300), rng)
    client.insert(name, first)
    client.flush(name)
    client.delete(name, ids=list(range(0, 300, 10)))
    growing = rows(range(300, 400), rng)
    client.insert(name, growing)
    for r in first + growing:
        expected[r["id"]] = r
    for i in range(0, 300, 10):
        expected.pop(i)


class Failover:
    """Calls whichever coordinator serves now, as a load balancer in front of them would."""

    def __init__(self, servers):
        self.servers = servers
        self.clients = {}

    def call(self, fn):
        last = RuntimeError("no coordinator serving")
        for s in self.servers:
            if not s.running or not s._port_open():
                continue
            try:
                c = self.clients.get(id(s))
                if c is None:
                    c = self.clients[id(s)] = s.client(timeout=5)
                return fn(c)
            except Exception as e:  # noqa: BLE001 - the other may serve; the caller records it
                last = e
                self.clients.pop(id(s), None)
        raise last

    def close(self):
        for c in self.clients.values():
            c.close()


def test_standby_takes_over_after_kill9_with_every_acknowledged_write(cluster):
    a = cluster.coordinator("coordA", wait=True)
    node = cluster.streaming_node()
    b = cluster.coordinator("coordB", wait=False)
    wait_until(lambda: standing_by(b), 30, "coordB to stand by")
    assert not b._port_open(), "a stand-by must not serve the Milvus port"

    rng = np.random.default_rng(11)
    client = a.client()
    name = unique("ha_kill")
    expected = {}
    fill(client, name, rng, expected)
    queries = rng.random((3, DIM)).astype(np.float32)
    answers_exactly(client, name, expected, queries)
    client.close()

    # A writer and a searcher run across the kill, each through whichever coordinator serves.
    stop = threading.Event()
    acked, unknown = {}, set()   # rows acknowledged; ids of batches whose answer was lost
    write_ok_at, search_ok_at, bad_hits = [], [], []
    writer_rng = np.random.default_rng(12)

    def writer():
        f = Failover([a, b])
        next_id = 10_000
        while not stop.is_set():
            batch = rows(range(next_id, next_id + 10), writer_rng)
            next_id += 10  # never retried with the same ids: a lost answer cannot make duplicates
            try:
                f.call(lambda c: c.insert(name, batch))
            except Exception:  # noqa: BLE001
                unknown.update(r["id"] for r in batch)
                time.sleep(0.05)  # pacing between attempts, not synchronisation
                continue
            acked.update({r["id"]: r for r in batch})
            write_ok_at.append(time.monotonic())
        f.close()

    def searcher():
        f = Failover([a, b])
        while not stop.is_set():
            try:
                res = f.call(lambda c: c.search(name, [queries[0].tolist()], limit=5,
                                                search_params={"metric_type": "L2", "params": {"ef": 64}}))
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
                continue
            search_ok_at.append(time.monotonic())
            bad_hits.extend(h["id"] for h in res[0] if h["id"] not in expected and h["id"] < 10_000)
        f.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=searcher)]
    for t in threads:
        t.start()
    wait_until(lambda: len(write_ok_at) >= 5 and len(search_ok_at) >= 5, 30, "the writer and searcher to run")
    t0 = time.monotonic()
    a.kill9()
    b.wait_ready(TAKEOVER_BUDGET_S)
    wait_until(lambda: any(t > t0 for t in write_ok_at) and any(t > t0 for t in search_ok_at), 30,
               "writes and searches through the new active")
    stop.set()
    for t in threads:
        t.join(60)
    writes_back = min(t for t in write_ok_at if t > t0) - t0
    searches_back = min(t for t in search_ok_at if t > t0) - t0
    print(f"kill -9 of the active coordinator (session ttl {TTL_S} s): writes acknowledged again after "
          f"{writes_back:.2f} s, searches answered again after {searches_back:.2f} s")
    assert writes_back < 10 and searches_back < 10
    assert "active coordinator now" in log_of(b)
    assert not bad_hits, bad_hits[:10]
    # The new active's web UI lists the sessions: it holds the active key; the old one is gone.
    sessions = json.loads(urllib.request.urlopen(f"{b.metrics_url}/webui/api/sessions", timeout=5).read())["data"]
    active = [s for s in sessions if s["state"] == "active"]
    assert len(active) == 1 and active[0]["role"] == "mixcoord", sessions
    mine = [s for s in sessions if s["key"].startswith("session/mixcoord-")]
    assert [s["server_id"] for s in mine] == [active[0]["server_id"]], sessions
    assert any(s["role"] == "streamingnode" for s in sessions), sessions

    client = b.client()
    # Every acknowledged row is there; a row whose answer was lost may or may not be; no other.
    got = client.query(name, filter="id >= 10000", output_fields=["id", "n"], limit=16384,
                       consistency_level="Strong")
    got_ids = {r["id"] for r in got}
    assert set(acked) <= got_ids, sorted(set(acked) - got_ids)[:10]
    assert got_ids <= set(acked) | unknown, sorted(got_ids - set(acked) - unknown)[:10]
    for r in got:
        expected[r["id"]] = acked.get(r["id"], {"id": r["id"], "n": r["id"] * 7,
                                                "vector": None})
    # The vectors of rows whose answer was lost are read back for the exact check.
    lost = [pk for pk in got_ids if pk not in acked]
    if lost:
        for r in client.get(name, ids=lost, output_fields=["id", "n", "vector"]):
            expected[r["id"]] = {"id": r["id"], "n": r["n"], "vector": list(r["vector"])}
    answers_exactly(client, name, expected, queries)  # flushed, deleted, growing and new rows
    more = rows(range(400, 450), rng)
    client.insert(name, more)
    client.delete(name, ids=[301, 302])
    client.flush(name)
    for r in more:
        expected[r["id"]] = r
    expected.pop(301)
    expected.pop(302)
    answers_exactly(client, name, expected, queries)
    other = unique("ha_new")
    client.create_collection(other, dimension=DIM)
    assert other in client.list_collections()
    client.close()
    # The streaming node followed the new active coordinator (its flush above went there).
    assert "the active coordinator moved" in node.log_path.read_text(errors="replace")


def test_graceful_stop_hands_over_at_once_and_a_resumed_old_active_exits(cluster):
    a = cluster.coordinator("coordA", wait=True)
    cluster.streaming_node()
    b = cluster.coordinator("coordB", wait=False)
    wait_until(lambda: standing_by(b), 30, "coordB to stand by")
    rng = np.random.default_rng(5)
    client = a.client()
    name = unique("ha_stop")
    expected = {}
    fill(client, name, rng, expected)
    client.close()

    # SIGTERM: the active resigns on its way out; the stand-by needs no TTL to notice.
    t0 = time.monotonic()
    assert a.stop() == 0
    b.wait_ready(TAKEOVER_BUDGET_S)
    handover = time.monotonic() - t0
    print(f"hand-over after SIGTERM of the active: {handover:.2f} s")
    queries = rng.random((2, DIM)).astype(np.float32)
    client = b.client()
    answers_exactly(client, name, expected, queries)
    client.close()

    # A third candidate stands by; then the active (b) is paused past its TTL: c takes over.
    c = cluster.coordinator("coordC", wait=False)
    wait_until(lambda: standing_by(c), 30, "coordC to stand by")
    b_pid = b.proc.pid
    os.kill(b_pid, signal.SIGSTOP)
    try:
        c.wait_ready(TAKEOVER_BUDGET_S)
    finally:
        os.kill(b_pid, signal.SIGCONT)
    # b learns it lost the key and exits without serving another request.
    rc = b.proc.wait(timeout=30)
    assert rc == 80, rc
    assert "lost the active coordinator key" in log_of(b)
    client = c.client()
    answers_exactly(client, name, expected, queries)
    name2 = unique("ha_after")
    client.create_collection(name2, dimension=DIM)
    assert set(client.list_collections()) >= {name, name2}
    client.close()

