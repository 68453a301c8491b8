"""Deadlines through the role calls, and refusals that are not dead nodes (issues 14 and 17).

  - A query node process that is paused (SIGSTOP: its connection stays open, nothing answers):
    a REST search with `Request-Timeout: 3` is answered HTTP 408 {"code": 10001, "message":
    "request timeout"} (Milvus's timeout middleware) and a search with pymilvus `timeout=3`
    fails, each within the 3 s (+ slack) instead of hanging, the
    coordinator's role call to that node ends at the same deadline, the node is found
    unreachable (it answers no probe either) and evicted, and the cluster serves every row again
    from the other node long before the node's session could expire (common.session.ttl is 60 s
    here), and again after the node resumes.
  - A query node started with another kite.clusterSecret than the coordinator's refuses its
    calls: the coordinator logs the refusal loudly and names it in its /healthz, gives that node
    nothing (a flush hand-over that would have gone to it lands on the good node) and evicts no
    one: the good node keeps serving every row.
  - A query node process's /healthz checks its object store (500 while the S3 server is down).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import requests
from pymilvus import MilvusClient

from etcd_util import EtcdProcess
from e2e_util import unique
from test_remote_query_nodes import QueryNodeProcess, insert_batch, nodes_of, schema

ROOT = "root:Milvus"
SECRET = "kite-e2e-deadline-secret"
SEARCH_TIMEOUT_S = 3.0
SLACK_S = 2.0
RECOVERY_BUDGET_S = 30.0  # well under the session TTL (60 s): recovery comes from the deadline


@pytest.fixture
def etcd(tmp_path):
    e = EtcdProcess(tmp_path / "etcd").start()
    yield e
    e.stop(crash=True)


def config_text(etcd, root: str, secret: str | None) -> str:
    text = (f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: {root}\n"
            "kite:\n  queryNodes: remote\n")
    if secret is not None:
        text += f"  clusterSecret: {secret}\n"
    text += "common:\n  session:\n    ttl: 60\n"
    if secret is not None:
        text += "  security:\n    authorizationEnabled: true\n"
    return text


def flat_collection(client, name):
    client.create_collection(name, schema=schema())
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_index(name, ip)
    client.load_collection(name)


def search_ids(client, name, q, limit, timeout=None):
    res = client.search(name, [q.tolist()], limit=limit, search_params={"metric_type": "L2"}, timeout=timeout)
    return [h["id"] for h in res[0]]


def nearest(expected, q, k):
    d = sorted((float(np.sum((np.asarray(r["vector"], np.float32) - q) ** 2)), pk) for pk, r in expected.items())
    return [pk for _, pk in d[:k]]


def serves_everything(client, name, expected, q, timeout) -> bool:
    try:
        got = client.query(name, filter="id >= 0", output_fields=["id"], limit=16384, timeout=timeout)
        if sorted(r["id"] for r in got) != sorted(expected):
            return False
        return search_ids(client, name, q, 5, timeout=timeout) == nearest(expected, q, 5)
    except Exception:  # noqa: BLE001 - not yet
        return False


def healthz_text(server) -> str:
    try:
        with urllib.request.urlopen(f"{server.metrics_url}/healthz", timeout=5) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        return e.read().decode()


def test_paused_query_node_times_out_the_search_and_is_evicted(kite_bin, kite_factory, tmp_path, etcd):
    cfg = tmp_path / "cluster.yaml"
    cfg.write_text(config_text(etcd, unique("dl"), None))
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    nodes = [QueryNodeProcess(kite_bin, cfg, data_dir, tmp_path, f"querynode{i}").start() for i in range(2)]
    server = kite_factory(name="coord", data_dir=data_dir, extra_args=["--config", str(cfg)])
    server.start()
    paused = None
    try:
        client = server.client()
        name = unique("paused")
        rng = np.random.default_rng(11)
        flat_collection(client, name)
        expected: dict = {}
        for b in range(4):  # four flushes: sealed segments on both query nodes
            insert_batch(client, name, expected, range(b * 100, (b + 1) * 100), rng)
            client.flush(name)
        q = rng.random(8).astype(np.float32)
        deadline = time.monotonic() + 30
        while len(nodes_of(client, name)) < 2 or not serves_everything(client, name, expected, q, 10):
            assert time.monotonic() < deadline, "the segments never spread over both query nodes"
            time.sleep(0.1)

        paused = nodes[0]
        paused.pause()
        start = time.monotonic()
        # REST with Milvus's Request-Timeout header: HTTP 408 {"code": 10001, "message": "request
        # timeout"} at the deadline, as Milvus's timeout middleware answers.
        body = {"collectionName": name, "data": [q.tolist()], "annsField": "vector", "limit": 5}
        r = requests.post(f"http://{server.host}:{server.port}/v2/vectordb/entities/search", json=body,
                          headers={"Request-Timeout": str(int(SEARCH_TIMEOUT_S))}, timeout=60)
        took = time.monotonic() - start
        assert took < SEARCH_TIMEOUT_S + SLACK_S, f"REST search took {took:.1f} s"
        assert r.status_code == 408 and r.json() == {"code": 10001, "message": "request timeout"}, r.text

        start = time.monotonic()
        with pytest.raises(Exception) as err:
            search_ids(client, name, q, 5, timeout=SEARCH_TIMEOUT_S)
        took = time.monotonic() - start
        assert took < SEARCH_TIMEOUT_S + SLACK_S, f"search took {took:.1f} s"
        text = str(err.value).lower()
        assert "deadline" in text or "timeout" in text or "timed out" in text, str(err.value)

        # The coordinator's own call ended at the deadline: the paused node, which answered no
        # probe either, is evicted and its segments served by the other node, while the paused
        # node's session still holds.
        deadline = time.monotonic() + RECOVERY_BUDGET_S
        while not serves_everything(client, name, expected, q, 5):
            assert time.monotonic() < deadline, "the cluster did not serve again with one node paused"
            time.sleep(0.2)
        assert time.monotonic() - start < 60, "recovered only after the session TTL"
        log = server.log_path.read_text(errors="replace")
        assert "role peer unavailable" in log and "lost;" in log, server.log_tail(60)

        # Resumed: the node is out of the view, the cluster keeps serving.
        paused.resume()
        paused = None
        insert_batch(client, name, expected, range(400, 450), rng)
        client.flush(name)
        deadline = time.monotonic() + RECOVERY_BUDGET_S
        while not serves_everything(client, name, expected, q, 5):
            assert time.monotonic() < deadline, "the cluster did not serve after the node resumed"
            time.sleep(0.2)
        client.close()
    finally:
        if paused is not None:
            paused.resume()
        server.stop(check=False)
        for n in nodes:
            n.stop()


def test_query_node_with_another_secret_is_refused_not_evicted(kite_bin, kite_factory, tmp_path, etcd):
    root = unique("refuse")
    good_cfg = tmp_path / "good.yaml"
    good_cfg.write_text(config_text(etcd, root, SECRET))
    bad_cfg = tmp_path / "bad.yaml"
    bad_cfg.write_text(config_text(etcd, root, "another-secret"))
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    good = QueryNodeProcess(kite_bin, good_cfg, data_dir, tmp_path, "querynode-good").start()
    server = kite_factory(name="coord", data_dir=data_dir, extra_args=["--config", str(good_cfg)], token=ROOT)
    server.start()
    bad = None
    try:
        client = server.client()
        name = unique("refused")
        rng = np.random.default_rng(5)
        flat_collection(client, name)
        expected: dict = {}
        insert_batch(client, name, expected, range(0, 100), rng)
        client.flush(name)
        q = rng.random(8).astype(np.float32)
        deadline = time.monotonic() + 30
        while not serves_everything(client, name, expected, q, 10):
            assert time.monotonic() < deadline, "the good query node never served the collection"
            time.sleep(0.1)

        bad = QueryNodeProcess(kite_bin, bad_cfg, data_dir, tmp_path, "querynode-bad").start()
        deadline = time.monotonic() + 30
        while f":{bad.port} joined" not in server.log_path.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the coordinator never saw the second query node"
            time.sleep(0.1)
        # Flushes hand their segments to the least loaded node, which is the refusing one:
        # they land on the good node instead, and every row stays served.
        for b in range(1, 3):
            insert_batch(client, name, expected, range(b * 100, (b + 1) * 100), rng)
            client.flush(name)
        deadline = time.monotonic() + 30
        while not serves_everything(client, name, expected, q, 10):
            assert time.monotonic() < deadline, "the view stopped serving after the refusing node joined"
            time.sleep(0.1)
        for _ in range(5):
            assert serves_everything(client, name, expected, q, 10)

        log = server.log_path.read_text(errors="replace")
        assert "REFUSED" in log and f":{bad.port}" in log, server.log_tail(60)
        assert "lost;" not in log, "a node was evicted for a refusal:\n" + server.log_tail(60)
        assert "wrong cluster credential" in bad.log_path.read_text(errors="replace")
        health = healthz_text(server)
        assert "refused the cluster credential" in health and f":{bad.port}" in health, health
        client.close()
    finally:
        server.stop(check=False)
        good.stop()
        if bad is not None:
            bad.stop()


def test_query_node_healthz_probes_the_object_store(kite_bin, tmp_path, etcd):
    """A query node process's /healthz checks the object store it loads segments from (as the
    standalone's does): 500 naming it while the S3 server is down, OK again once it is back."""
    from s3_server import VersityS3
    s3 = VersityS3(tmp_path / "s3").start()
    cfg = tmp_path / "qn.yaml"
    # The S3 keys of the query node's config; common.storageType goes into the common section.
    cfg.write_text(config_text(etcd, unique("qnh"), None).replace("common:\n", "common:\n  storageType: remote\n", 1)
                   + s3.kite_config().replace("common:\n  storageType: remote\n", "", 1))
    node_dir = tmp_path / "qn-data"
    node_dir.mkdir()
    node = QueryNodeProcess(kite_bin, cfg, node_dir, tmp_path, "querynode-health").start()

    def healthz():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{node.metrics_port}/healthz", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    try:
        assert healthz() == (200, "OK")
        s3.stop()
        deadline = time.monotonic() + 15
        while (got := healthz())[0] != 500:
            assert time.monotonic() < deadline, f"/healthz never reported the stopped object store: {got}"
            time.sleep(0.2)
        assert "object store unreachable" in got[1], got
        s3.start()
        deadline = time.monotonic() + 15
        while (got := healthz()) != (200, "OK"):
            assert time.monotonic() < deadline, f"/healthz still {got} with the object store back"
            time.sleep(0.2)
    finally:
        node.stop()
        s3.stop()


def test_rest_request_timeout_header(server):
    """Milvus 2.6's REST `Request-Timeout`: whole seconds; a value that does not parse falls back
    to the 30 s default (the request is served); one that leaves no time is answered HTTP 408
    {"code": 10001, "message": "request timeout"}."""
    client = server.client()
    name = unique("rto")
    flat_collection(client, name)
    rng = np.random.default_rng(2)
    expected: dict = {}
    insert_batch(client, name, expected, range(0, 20), rng)
    q = rng.random(8).astype(np.float32)
    url = f"http://{server.host}:{server.port}/v2/vectordb/entities/search"
    body = {"collectionName": name, "data": [q.tolist()], "annsField": "vector", "limit": 3,
            "consistencyLevel": "Strong"}
    for header in ("10", "abc", "1.5"):
        r = requests.post(url, json=body, headers={"Request-Timeout": header}, timeout=60)
        assert r.status_code == 200, (header, r.text)
        j = r.json()
        assert j["code"] == 0, (header, j)
        assert [h["id"] for h in j["data"]] == nearest(expected, q, 3), (header, j)
    r = requests.post(url, json=body, headers={"Request-Timeout": "0"}, timeout=60)
    assert r.status_code == 408 and r.json() == {"code": 10001, "message": "request timeout"}, r.text
    client.close()
