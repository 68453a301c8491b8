"""/healthz on the metrics port while the object store cannot be written (issue 15): as Milvus's
health handler, "OK" (200) while every component is healthy, and 500 "Not all components are
healthy, <healthy>/<all>" (with Content-Type: application/json, {"state", "detail": [{"name",
"code"}]}, code = commonpb.StateCode) while one is not. With the S3 server stopped by the test,
a failed flush makes the streaming node Abnormal (code 2) until a flush succeeds again."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pytest

from e2e_util import unique
from s3_server import VersityS3
from test_storage_s3 import DIM, all_ids, index_and_load, make_collection, rows_for, start_kite_on

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
    want_state = f"Not all components are healthy, {len(COMPONENTS) - 1}/{len(COMPONENTS)}"
    assert healthz(server, as_json=False) == (500, want_state)
    status, body = healthz(server, as_json=True)
    assert status == 500 and body["state"] == want_state
    want = {n: HEALTHY for n in COMPONENTS}
    want["streamingnode"] = ABNORMAL
    assert {d["name"]: d["code"] for d in body["detail"]} == want
    # The data itself is still served, from the WAL.
    assert all_ids(c, name) == list(range(150))

    s3.start()
    c.flush(name)
    assert healthz(server, as_json=False) == (200, "OK")
    c.close()
