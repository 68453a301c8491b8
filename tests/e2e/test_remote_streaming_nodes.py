"""Streaming nodes as their own processes (issue 16: role processes, channels, the streaming node
failure test).

`kite standalone` with `kite.streamingNodes: remote` runs no streaming node itself: its streaming
view binds each collection's WAL channels to one of the `kite streamingnode` processes it finds
through their sessions in etcd, and the proxy's writes, flushes and reads go to that node. The
nodes reach the coordinator's segment meta, TSO and query side on rootCoord.port (the address in
its mixcoord session). The WAL is a real Kafka broker shared by the nodes, so a channel can move.

  - the pymilvus core (create, index, load, insert, upsert, delete, flush, search, query, count,
    drop) through a streaming node process answers exactly as the data says (computed here);
    two collections are led by the two nodes (/webui/api/streaming_nodes shows the bindings);
    each node's /healthz and /metrics speak for it, under its node_id;
  - the coordinator starts before any streaming node: the collections wait unbound and the
    first node to join takes them;
  - kill -9 of the streaming node leading a collection while a writer keeps writing: within
    10 s writes are acknowledged again (by the other node, which replayed the channel from
    Kafka), and every acknowledged write is there afterwards, no delete undone.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid

import numpy as np
import pytest
import requests
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from cluster_util import answers_exactly, id_n_rows, id_n_vector_schema
from e2e_util import free_port, unique
from etcd_util import EtcdProcess
from role_process import RoleProcess

DIM = 8
RECOVERY_BUDGET_S = 10.0


def schema():
    return id_n_vector_schema(DIM)


def make_rows(ids, rng, mult=3):
    return id_n_rows(ids, rng, DIM, mult)


def webui(server, what):
    out = json.loads(urllib.request.urlopen(f"{server.metrics_url}/webui/api/{what}", timeout=5).read())
    return out.get("data", out)


def bindings(server) -> dict:
    """collection id -> streaming node id, from the coordinator's web UI."""
    out = {}
    for n in webui(server, "streaming_nodes"):
        for c in n["collections"]:
            out[c] = n["node_id"]
    return out


def node_id_of(node: RoleProcess) -> int:
    text = urllib.request.urlopen(f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith("kite_streaming_flush_failing_channels{"):
            return int(line.split('node_id="')[1].split('"')[0])
    raise AssertionError("no node_id on the streaming node's /metrics")


@pytest.fixture
def cluster(kite_bin, kite_factory, tmp_path, kafka_broker):
    """etcd, the coordinator (standalone with kite.streamingNodes: remote) and then two streaming
    node processes sharing the data dir's objects/ and one Kafka broker."""
    etcd = EtcdProcess(tmp_path / "etcd").start()
    prefix = f"ks{uuid.uuid4().hex[:10]}"
    coord_port = free_port()
    cfg = tmp_path / "cluster.yaml"
    cfg.write_text(
        f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: {unique('sn')}\n"
        "common:\n  session:\n    ttl: 3\n"
        f"rootCoord:\n  port: {coord_port}\n"
        "kite:\n  streamingNodes: remote\n"
        "mq:\n  type: kafka\n"
        f"kafka:\n  brokerList: {kafka_broker.address}\n  readTimeout: 5\n"
        f"msgChannel:\n  chanNamePrefix:\n    cluster: {prefix}\n")
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    server = kite_factory(name="coord", data_dir=data_dir, extra_args=["--config", str(cfg)])
    server.start()
    nodes = [RoleProcess(kite_bin, "streamingnode", cfg, data_dir, tmp_path, f"streamingnode{i}").start()
             for i in range(2)]
    yield server, nodes
    server.stop(check=False)
    for n in nodes:
        n.stop()
    etcd.stop(crash=True)


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_core_through_streaming_node_processes(cluster):
    server, nodes = cluster
    client = server.client()
    rng = np.random.default_rng(3)
    names = [unique("sn_core"), unique("sn_core")]
    expected = {n: {} for n in names}
    for name in names:
        client.create_collection(name, schema=schema())
        ip = MilvusClient.prepare_index_params()
        ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
        client.create_index(name, ip)
        client.load_collection(name)
    for name in names:
        exp = expected[name]
        for b in range(3):
            batch = make_rows(range(b * 200, (b + 1) * 200), rng)
            assert client.insert(name, batch)["insert_count"] == len(batch)
            exp.update({r["id"]: r for r in batch})
            if b < 2:
                client.flush(name)  # sealed segments written by the streaming node, loaded by the query side
        up = make_rows(range(100, 150), rng, mult=7)
        client.upsert(name, up)
        exp.update({r["id"]: r for r in up})
        client.delete(name, ids=list(range(0, 30)))  # flushed rows
        client.delete(name, filter="id >= 580")       # growing rows
        for i in list(exp):
            if i < 30 or i >= 580:
                exp.pop(i)
        answers_exactly(client, name, exp, rng.random((3, DIM)).astype(np.float32))

    # The two collections are led by the two streaming nodes, as the web UI shows.
    ids = {client.describe_collection(n)["collection_id"]: n for n in names}
    bound = bindings(server)
    assert set(bound) >= set(ids), bound
    node_ids = {node_id_of(n) for n in nodes}
    assert {bound[c] for c in ids} == node_ids, (bound, node_ids)
    health = urllib.request.urlopen(f"{server.metrics_url}/healthz", timeout=5)
    assert health.status == 200 and health.read() == b"OK"
    # The web UI page renders the topology: both streaming node processes and what they lead.
    # (chromium comes from scripts/setup.sh, as for test_observability's page tests)
    from test_observability import dump_dom
    html = dump_dom(server.metrics_url + "/webui")
    assert "2 streaming node processes" in html, html[-3000:]
    for nid in node_ids:
        assert f"<td class=\"num\">{nid}</td>" in html
    for n in nodes:
        assert urllib.request.urlopen(f"http://127.0.0.1:{n.metrics_port}/healthz", timeout=5).read() == b"OK"

    # Persistent segments come from the streaming node that leads the channels.
    segs = client._get_connection().get_persistent_segment_infos(names[0])
    assert sum(s.num_rows for s in segs) >= 400
    client.drop_collection(names[1])
    assert names[1] not in client.list_collections()
    assert client.query(names[0], filter="id >= 0", output_fields=["count(*)"],
                        consistency_level="Strong")[0]["count(*)"] == len(expected[names[0]])


def test_collections_wait_for_the_first_streaming_node(kite_bin, kite_factory, tmp_path, kafka_broker, cluster):
    """A restart of the coordinator with no streaming node alive: calls on the collection fail
    clearly (never answer without its data) until a node joins and takes its channels, replaying
    them from Kafka."""
    server, nodes = cluster
    client = server.client()
    rng = np.random.default_rng(5)
    name = new_loaded(client, "sn_wait")
    exp = {r["id"]: r for r in make_rows(range(300), rng)}
    client.insert(name, list(exp.values()))  # growing only: in Kafka, not flushed
    server.stop()
    for n in nodes:
        n.stop()
    server.start()
    client = server.client()
    with pytest.raises(MilvusException) as err:
        client.query(name, filter="id >= 0", output_fields=["id"], limit=10, consistency_level="Strong")
    assert "no streaming node available" in err.value.message
    # The streamingnode component is abnormal while a collection has no leader.
    try:
        urllib.request.urlopen(f"{server.metrics_url}/healthz", timeout=5)
        raise AssertionError("/healthz answered OK with a collection led by no streaming node")
    except urllib.error.HTTPError as e:
        assert e.code == 500 and b"Not all components are healthy" in e.read()
    joined = RoleProcess(kite_bin, "streamingnode", nodes[0].config, nodes[0].data_dir, tmp_path, "late").start()
    nodes.append(joined)
    wait_until(lambda: bindings(server).get(client.describe_collection(name)["collection_id"]) == node_id_of(joined),
               RECOVERY_BUDGET_S, "the late streaming node to take the collection")
    answers_exactly(client, name, exp, rng.random((2, DIM)).astype(np.float32))


def new_loaded(client, prefix: str) -> str:
    """A loaded collection of schema() with a FLAT index."""
    name = unique(prefix)
    client.create_collection(name, schema=schema())
    client.create_index(name, _flat_index())
    client.load_collection(name)
    return name


def leader_and_other(server, client, nodes, name):
    """The streaming node process leading the collection's channels, and one that does not."""
    leader = bindings(server)[client.describe_collection(name)["collection_id"]]
    victim = next(n for n in nodes if node_id_of(n) == leader)
    return victim, next(n for n in nodes if n is not victim)


def _flat_index():
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    return ip


def test_deletes_of_growing_rows_hold_after_their_flush(cluster):
    """A delete of rows still growing on the streaming node, then a flush: the query side in the
    coordinator's process reads the sealed segment from the object store, and must apply the
    flush's delta file to it (the segment files hold no deletes). It used to bring them back."""
    server, _ = cluster
    client = server.client()
    rng = np.random.default_rng(21)
    name = new_loaded(client, "sn_gdel")
    expected = {r["id"]: r for r in make_rows(range(0, 120), rng)}
    client.insert(name, list(expected.values()))
    client.flush(name)
    growing = make_rows(range(120, 200), rng)
    client.insert(name, growing)
    expected.update({r["id"]: r for r in growing})
    gone = [121, 150, 199, 5]  # three growing rows and one already sealed
    client.delete(name, ids=gone)
    for pk in gone:
        expected.pop(pk)
    queries = rng.random((2, DIM)).astype(np.float32)
    answers_exactly(client, name, expected, queries)
    client.flush(name)
    answers_exactly(client, name, expected, queries)
    client.close()


def test_kill9_of_the_leading_streaming_node_loses_no_acknowledged_write(cluster):
    server, nodes = cluster
    client = server.client()
    rng = np.random.default_rng(11)
    name = new_loaded(client, "sn_kill")
    exp = {r["id"]: r for r in make_rows(range(400), rng)}
    client.insert(name, list(exp.values()))
    client.flush(name)
    client.delete(name, ids=list(range(0, 50)))
    for i in range(50):
        exp.pop(i)

    cid = client.describe_collection(name)["collection_id"]
    victim, survivor = leader_and_other(server, client, nodes, name)

    acked: dict = {}
    attempted: list = []
    failures = []
    stop = threading.Event()
    kill_at = [0.0]
    first_ack_after_kill = [0.0]
    writer_client = server.client()

    def writer():
        next_id = 10_000
        wrng = np.random.default_rng(99)
        while not stop.is_set():
            batch = make_rows(range(next_id, next_id + 10), wrng)
            attempted.extend(r["id"] for r in batch)
            try:
                writer_client.insert(name, batch)
            except MilvusException as e:
                failures.append(e.message)
                next_id += 10  # the failed batch may have landed: never reuse its keys
                time.sleep(0.02)  # retry backoff
                continue
            now = time.monotonic()
            if kill_at[0] and not first_ack_after_kill[0]:
                first_ack_after_kill[0] = now
            acked.update({r["id"]: r for r in batch})
            next_id += 10

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    wait_until(lambda: len(acked) >= 200, 30, "acknowledged writes before the kill")
    kill_at[0] = time.monotonic()
    victim.kill9()
    wait_until(lambda: first_ack_after_kill[0] > 0, 30, "a write acknowledged after the kill")
    recovery = first_ack_after_kill[0] - kill_at[0]
    wait_until(lambda: len(acked) >= 400 + 200, 30, "more writes after the recovery")
    stop.set()
    t.join(10)
    print(f"streaming node kill -9: writes acknowledged again after {recovery:.2f} s "
          f"({len(failures)} failed attempts meanwhile)")
    assert recovery <= RECOVERY_BUDGET_S, f"writes resumed only after {recovery:.1f} s: {failures[-3:]}"
    assert bindings(server)[cid] == node_id_of(survivor)
    exp.update(acked)
    # Every acknowledged write is there with its value, no delete is undone; a write whose answer
    # was lost with the node may have landed (at-least-once, as Milvus's retried appends).
    got = client.query(name, filter="id >= 0", output_fields=["id", "n"], limit=16384, consistency_level="Strong")
    got_n = {r["id"]: r["n"] for r in got}
    missing = sorted(set(exp) - set(got_n))
    assert not missing, f"acknowledged rows lost: {missing[:10]}"
    assert all(got_n[i] == r["n"] for i, r in exp.items())
    assert not (set(got_n) & set(range(50))), "a delete was undone"
    assert set(got_n) - set(exp) <= set(attempted), "rows nobody wrote"


def test_paused_streaming_node_cannot_acknowledge_after_its_channels_moved(cluster):
    """Split brain: the leader is paused (SIGSTOP) with a write in flight; its session expires,
    the view moves its channels to the other node (a new WAL term); writes go on there. When the
    paused node resumes, the write it then tries to append meets the newer term in Kafka and is
    refused (never acknowledged by it); the view runs it once on the new leader. The resumed node
    learns it lost its session and exits. Afterwards — and after a restart that replays the WAL —
    every acknowledged write is there exactly once."""
    server, nodes = cluster
    client = server.client()
    rng = np.random.default_rng(17)
    name = new_loaded(client, "sn_split")
    exp = {r["id"]: r for r in make_rows(range(100), rng)}
    client.insert(name, list(exp.values()))
    cid = client.describe_collection(name)["collection_id"]
    victim, survivor = leader_and_other(server, client, nodes, name)
    survivor_id = node_id_of(survivor)

    victim.pause()
    in_flight = make_rows(range(5000, 5010), rng)
    outcome = {}

    def blocked_write():
        try:
            outcome["result"] = server.client().insert(name, in_flight)
        except MilvusException as e:
            outcome["error"] = e.message

    t = threading.Thread(target=blocked_write, daemon=True)
    t.start()
    # The view moves the channels once the paused node's session lapses (ttl 3 s).
    wait_until(lambda: bindings(server).get(cid) == survivor_id, 20, "the channels to move to the other node")
    after = make_rows(range(6000, 6010), rng)
    client.insert(name, after)  # acknowledged by the new leader
    exp.update({r["id"]: r for r in after})
    victim.resume()
    t.join(30)
    assert not t.is_alive(), "the write sent to the paused node never finished"
    print(f"write in flight to the paused node: {outcome}")
    if "result" in outcome:
        exp.update({r["id"]: r for r in in_flight})  # acknowledged: by the new leader, after the fence
    # The resumed node lost its session: it stops by itself.
    wait_until(lambda: victim.proc.poll() is not None, 20, "the resumed streaming node to exit")
    assert "session lease lost" in victim.log_path.read_text(errors="replace")

    def check():
        got = client.query(name, filter="id >= 0", output_fields=["id", "n"], limit=16384,
                           consistency_level="Strong")
        ids = [r["id"] for r in got]
        assert len(ids) == len(set(ids)), "a row applied twice"
        extra = set(ids) - set(exp)
        assert set(exp) <= set(ids), sorted(set(exp) - set(ids))[:10]
        # A failed in-flight write may not have landed; nothing else may appear.
        assert extra <= {r["id"] for r in in_flight}, sorted(extra)[:10]
        if "result" in outcome:
            assert not extra

    check()
    # The fenced record is skipped by every replay: a restart of the coordinator and the
    # surviving node (which replays the channel from Kafka) answers the same.
    server.stop()
    survivor.stop()
    server.start()
    client = server.client()
    restarted = RoleProcess(survivor.binary, "streamingnode", survivor.config, survivor.data_dir,
                            survivor.log_path.parent, "restarted").start()
    nodes.append(restarted)
    wait_until(lambda: bindings(server).get(cid) == node_id_of(restarted), 20, "the restarted node to lead")
    check()


def test_bulk_import_commits_through_the_leading_streaming_node(cluster, tmp_path):
    """A bulk import's segments are registered and handed to the query side by the streaming node
    process that leads the collection (StreamingNodeApi::CommitImport over the role gRPC): the
    imported rows appear with the job's completion, next to rows written through the WAL."""
    import pyarrow as pa
    from test_bulk_import import wait_rest_job
    from test_bulk_import_parquet import put_table
    from pymilvus.bulk_writer import bulk_import
    server, nodes = cluster
    client = server.client()
    name = new_loaded(client, "snimp")
    rng = np.random.default_rng(5)
    before = make_rows(range(100), rng)
    client.insert(name, before)
    n = 3000
    vecs = np.random.default_rng(6).random((n, DIM), dtype=np.float32)
    ids = list(range(10_000, 10_000 + n))
    table = pa.table({"id": pa.array(ids, pa.int64()), "n": pa.array([i * 3 for i in ids], pa.int64()),
                      "vector": pa.array(vecs.tolist(), pa.list_(pa.float32()))})
    key = put_table(server, table, tmp_path)
    job = bulk_import(url=f"http://{server.host}:{server.port}", collection_name=name,
                      files=[[key]]).json()["data"]["jobId"]
    state = wait_rest_job(server, job)
    assert state["state"] == "Completed", state
    got = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    assert got[0]["count(*)"] == len(before) + n
    got = client.query(name, filter="id >= 10000 and id < 10010", output_fields=["n"], consistency_level="Strong")
    assert sorted((g["id"], g["n"]) for g in got) == [(i, i * 3) for i in range(10_000, 10_010)]
    hits = client.search(name, [vecs[1234].tolist()], limit=1, consistency_level="Strong")[0]
    assert hits[0]["id"] == ids[1234]


def test_get_metrics_lists_the_streaming_node_processes(cluster):
    """GetMetrics system_info lists each streaming node process by its server id, managed by the
    coordinator (rootcoord), instead of an embedded streaming node."""
    from pymilvus.grpc_gen import milvus_pb2
    server, nodes = cluster
    client = server.client()
    want = {node_id_of(n) for n in nodes}
    wait_until(lambda: {n["node_id"] for n in webui(server, "streaming_nodes")} == want, 30, "both streaming nodes")
    resp = client._get_connection()._stub.GetMetrics(
        milvus_pb2.GetMetricsRequest(request=json.dumps({"metric_type": "system_info"})), timeout=10)
    assert resp.status.code == 0, resp.status
    listed = json.loads(resp.response)["nodes_info"]
    sns = [n for n in listed if n["infos"]["type"] == "streamingnode"]
    assert {n["infos"]["id"] for n in sns} == want
    rc = next(n for n in listed if n["infos"]["type"] == "rootcoord")
    assert {e["connected_identifier"] for e in rc["connected"] if e["type"] == "manage"} == {
        n["identifier"] for n in sns}


def test_writes_to_a_paused_streaming_node_end_at_the_client_deadline(cluster):
    """Writes carry the client's request context to the streaming node process (issue 14): with
    the node leading the collection paused (SIGSTOP), a REST insert with `Request-Timeout: 1` is
    answered HTTP 408 {"code": 10001, "message": "request timeout"} (Milvus's timeout middleware)
    and a pymilvus insert with timeout=1 fails, each at the deadline (+ slack) instead of after the
    30 s per-call limit of the role call. The node resumes within its session (ttl 3 s). Nothing
    acknowledged is lost and nothing of the writes that timed out is applied, not even in part:
    the collection has two shards, and the first shard's message was queued at the paused node,
    which refuses work whose deadline passed (issue 14) or whose channel moved (the term fence)."""
    server, nodes = cluster
    client = server.client()
    rng = np.random.default_rng(23)
    name = unique("sn_deadline")
    client.create_collection(name, schema=schema(), index_params=_flat_index(), num_shards=2)
    client.load_collection(name)
    exp = {r["id"]: r for r in make_rows(range(100), rng)}
    client.insert(name, list(exp.values()))
    leader, _ = leader_and_other(server, client, nodes, name)
    timed_out: list = []
    slack_s = 2.0

    def stay_paused_past_the_deadline(start):
        # The client's deadline passes at the proxy a few ms after the client gave up: a node
        # resumed within those ms would still run the queued first shard's message in time, and
        # the proxy would then refuse to send the second shard's (its deadline passed): half a
        # write, un-acknowledged (cross-shard writes are not atomic). Resumed well after it, the
        # node refuses the queued message.
        while time.monotonic() < start + 1.5:
            time.sleep(0.02)

    rows = make_rows(range(1000, 1020), rng)
    timed_out += [r["id"] for r in rows]
    leader.pause()
    try:
        start = time.monotonic()
        r = requests.post(f"http://{server.host}:{server.port}/v2/vectordb/entities/insert",
                          json={"collectionName": name, "data": rows}, headers={"Request-Timeout": "1"},
                          timeout=60)
        took = time.monotonic() - start
        stay_paused_past_the_deadline(start)
    finally:
        leader.resume()
    assert took < 1 + slack_s, f"the REST insert took {took:.1f} s"
    assert r.status_code == 408 and r.json() == {"code": 10001, "message": "request timeout"}, r.text

    unknown: set = set()  # batches that failed otherwise: they may have landed

    def acknowledged(batch) -> bool:
        try:
            client.insert(name, batch)
        except MilvusException:
            unknown.update(row["id"] for row in batch)
            return False
        exp.update({row["id"]: row for row in batch})
        return True

    # Served again (by the same node, or another if the view moved the channels meanwhile).
    starts = iter(range(3000, 4000, 10))

    def next_batch():
        b = next(starts)
        return make_rows(range(b, b + 10), rng)

    wait_until(lambda: acknowledged(next_batch()), 20, "a write acknowledged")

    rows = make_rows(range(2000, 2020), rng)
    timed_out += [r["id"] for r in rows]
    leader, _ = leader_and_other(server, client, nodes, name)
    leader.pause()
    try:
        start = time.monotonic()
        with pytest.raises(Exception) as err:
            client.insert(name, rows, timeout=1)
        took = time.monotonic() - start
        stay_paused_past_the_deadline(start)
    finally:
        leader.resume()
    assert took < 1 + slack_s, f"the insert took {took:.1f} s"
    text = str(err.value).lower()
    assert "deadline" in text or "timeout" in text or "timed out" in text, str(err.value)
    wait_until(lambda: acknowledged(next_batch()), 20, "a write acknowledged")

    got = client.query(name, filter="id >= 0", output_fields=["id", "n"], limit=16384, consistency_level="Strong")
    ids = {g["id"] for g in got}
    assert set(exp) <= ids, sorted(set(exp) - ids)[:10]
    assert not (ids & set(timed_out)), f"rows of a write that timed out were applied: {sorted(ids & set(timed_out))}"
    assert ids - set(exp) <= unknown, sorted(ids - set(exp))[:10]
