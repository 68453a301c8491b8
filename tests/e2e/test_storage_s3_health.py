"""/healthz on the metrics port while the object store cannot be written (issue 15): as Milvus's
health handler, "OK" (200) while every component is healthy, and 500 "Not all components are
healthy, <healthy>/<all>" (with Content-Type: application/json, {"state", "detail": [{"name",
"code"}]}, code = commonpb.StateCode) while one is not. With the S3 server stopped by the test,
a failed flush makes the streaming node Abnormal (code 2) until a flush succeeds again, and an
index build deferred for the same reason the data node, until a build succeeds. The object store
itself is probed too (one LIST of an empty prefix, answer reused for 3 s): while it does not
answer, the data node is Abnormal even when nothing has tried to write."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from pymilvus import MilvusClient

from e2e_util import unique
from s3_server import VersityS3
from test_storage_s3 import DIM, all_ids, index_and_load, make_collection, rows_for, start_kite_on, wait_index

HEALTHY, ABNORMAL = 1, 2  # commonpb.StateCode
COMPONENTS = {"mixcoord", "proxy", "querynode", "datanode", "streamingnode"}  # Milvus 2.6 standalone


@pytest.fixture
def s3(tmp_path):
    srv = VersityS3(tmp_path / "s3").start()
    yield srv
    srv.stop()


def healthz(server, as_json: bool):
    headers = {"Content-Type": "application/json"} if as_json else {}
    req = urllib.request.Request(server.metrics_url + "/healthz", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    return status, (json.loads(body) if as_json else body)


def test_healthz_reports_failing_flushes_while_s3_is_down(s3, kite_factory, tmp_path):
    server = start_kite_on(s3, kite_factory, tmp_path, name="kite-health")
    c = server.client()
    name = unique("s3health")
    make_collection(c, name)
    rng = np.random.default_rng(5)
    c.insert(name, rows_for(range(100), rng.random((100, DIM), dtype=np.float32), lambda i: 1))
    c.flush(name)
    index_and_load(c, name, 100)

    assert healthz(server, as_json=False) == (200, "OK")
    status, body = healthz(server, as_json=True)
    assert status == 200 and body["state"] == "OK"
    assert {d["name"]: d["code"] for d in body["detail"]} == {n: HEALTHY for n in COMPONENTS}

    s3.stop()
    c.insert(name, rows_for(range(100, 150), rng.random((50, DIM), dtype=np.float32), lambda i: 2))
    with pytest.raises(Exception):
        c.flush(name)
    # The failed flush (streaming node) at once; the object store probe (data node) once its
    # last answer, from before the stop, is older than 3 s.
    assert healthz(server, as_json=False)[0] == 500
    want_state = f"Not all components are healthy, {len(COMPONENTS) - 2}/{len(COMPONENTS)}"
    deadline = time.monotonic() + 15
    while (got := healthz(server, as_json=False)) != (500, want_state):
        assert got[0] == 500 and time.monotonic() < deadline, got
        time.sleep(0.2)
    status, body = healthz(server, as_json=True)
    assert status == 500 and body["state"] == want_state
    want = {n: HEALTHY for n in COMPONENTS}
    want["streamingnode"] = ABNORMAL
    want["datanode"] = ABNORMAL
    assert {d["name"]: d["code"] for d in body["detail"]} == want
    # The data itself is still served, from the WAL.
    assert all_ids(c, name) == list(range(150))

    s3.start()
    c.flush(name)
    wait_healthy(server)
    c.close()


def wait_healthy(server, budget_s: float = 15.0) -> None:
    """/healthz back to 200 "OK" (the probe's answer is reused for up to 3 s)."""
    deadline = time.monotonic() + budget_s
    while (got := healthz(server, as_json=False)) != (200, "OK"):
        assert time.monotonic() < deadline, f"/healthz still {got}"
        time.sleep(0.2)


def test_healthz_probes_the_object_store_itself(s3, kite_factory, tmp_path):
    """Nothing writes while the S3 server is down: /healthz still says the data node is Abnormal,
    and says OK again once the server is back."""
    server = start_kite_on(s3, kite_factory, tmp_path, name="kite-health-probe")
    assert healthz(server, as_json=False) == (200, "OK")
    s3.stop()
    want = {n: HEALTHY for n in COMPONENTS}
    want["datanode"] = ABNORMAL
    deadline = time.monotonic() + 15
    while True:
        t0 = time.monotonic()
        status, body = healthz(server, as_json=True)
        assert time.monotonic() - t0 < 5, "a /healthz with the object store down took over 5 s"
        if status == 500:
            break
        assert time.monotonic() < deadline, "/healthz never reported the stopped object store"
        time.sleep(0.2)
    assert body["state"] == f"Not all components are healthy, {len(COMPONENTS) - 1}/{len(COMPONENTS)}"
    assert {d["name"]: d["code"] for d in body["detail"]} == want
    s3.start()
    wait_healthy(server)


def test_healthz_reports_deferred_index_builds_while_s3_is_down(s3, kite_factory, tmp_path):
    server = start_kite_on(s3, kite_factory, tmp_path, name="kite-health-index")
    c = server.client()
    name = unique("s3hidx")
    make_collection(c, name)
    rng = np.random.default_rng(9)
    c.insert(name, rows_for(range(300), rng.random((300, DIM), dtype=np.float32), lambda i: 0))
    c.flush(name)
    assert healthz(server, as_json=False) == (200, "OK")
    s3.stop()
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 32})
    errors = []

    def create():  # create_index waits for the build: aside, while S3 is down
        try:
            server.client().create_index(name, ip)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    creator = threading.Thread(target=create, daemon=True)
    creator.start()
    want = {n: HEALTHY for n in COMPONENTS}
    want["datanode"] = ABNORMAL
    deadline = time.monotonic() + 60
    while True:
        status, body = healthz(server, as_json=True)
        if status == 500:
            break
        assert time.monotonic() < deadline, "/healthz never reported the deferred index build"
        time.sleep(0.2)
    assert body["state"] == f"Not all components are healthy, {len(COMPONENTS) - 1}/{len(COMPONENTS)}"
    assert {d["name"]: d["code"] for d in body["detail"]} == want

    s3.start()
    creator.join(timeout=90)
    assert not creator.is_alive() and errors == []
    wait_index(c, name, 300)
    wait_healthy(server)
    c.close()
