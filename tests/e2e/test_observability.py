"""Observability end to end: Prometheus /metrics, /healthz and the web UI on the metrics port
(Milvus: 9091), request ids and logfmt logs, --log-level.

Milvus facts relied on (milvus pkg/metrics/proxy_metrics.go, metrics.go, rootcoord_metrics.go,
datacoord_metrics.go):
* milvus_proxy_req_count{node_id, function_name, status, db_name, collection_name} counts every
  request once with status="total" and once with "success" or "fail"; function_name is the RPC
  name ("Insert", "Search", ...).
* milvus_proxy_req_latency{node_id, function_name} is a histogram in milliseconds with buckets
  1, 2, 4, ..., 131072.
* milvus_proxy_insert_vectors_count / _delete_vectors_count / _search_vectors_count
  {node_id, db_name, collection_name} count rows and search vectors of successful requests.
* milvus_rootcoord_collection_num{db_name}; milvus_datacoord_segment_num{segment_state}.
* /metrics answers the Prometheus text format (Content-Type text/plain; version=0.0.4).
Kite-only metrics carry a kite_ prefix.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
from pymilvus import MilvusClient
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

from e2e_util import unique

CHROMIUM = "/usr/bin/chromium"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(server) -> dict:
    """GET /metrics parsed into {(name, frozenset(labels.items())): value}; checks the format."""
    r = requests.get(f"{server.metrics_url}/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    out = {}
    for line in r.text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        assert m, f"malformed exposition line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples: dict, name: str, **labels) -> float:
    """The sample with exactly these labels (0 when absent, as Prometheus treats a new series)."""
    return samples.get((name, frozenset((k, str(v)) for k, v in labels.items())), 0.0)


def req_count(samples, function, status, collection, db="default") -> float:
    return value(samples, "milvus_proxy_req_count", node_id=1, function_name=function, status=status,
                 db_name=db, collection_name=collection)


def rows(n: int, dim: int = 4, start: int = 0):
    rng = np.random.default_rng(start)
    return [{"id": start + i, "vector": rng.random(dim).tolist()} for i in range(n)]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kite.yaml"
    path.write_text(text)
    return path


# -- /metrics ----------------------------------------------------------------------------------

def test_healthz_and_metrics_format(module_server):
    assert requests.get(f"{module_server.metrics_url}/healthz", timeout=5).text == "OK"
    samples = scrape(module_server)
    assert value(samples, "process_resident_memory_bytes") > 0
    assert value(samples, "kite_uptime_seconds") > 0


def test_grpc_requests_counted_with_milvus_labels(module_server, module_client):
    c = module_client
    name = unique("obs_grpc")
    c.create_collection(name, dimension=4)
    before = scrape(module_server)
    c.insert(name, rows(10))
    c.search(name, data=[[0.1] * 4, [0.2] * 4, [0.3] * 4], limit=2)
    c.delete(name, ids=[1, 2])
    mid = scrape(module_server)
    c.insert(name, rows(5, start=100))
    after = scrape(module_server)

    assert req_count(before, "Insert", "success", name) == 0
    assert req_count(mid, "Insert", "total", name) == 1
    assert req_count(mid, "Insert", "success", name) == 1
    assert req_count(after, "Insert", "success", name) == 2
    assert req_count(mid, "Search", "success", name) == 1
    assert req_count(mid, "Delete", "success", name) == 1
    assert req_count(after, "CreateCollection", "success", name) == 1
    lat = "milvus_proxy_req_latency_count"
    assert value(after, lat, node_id=1, function_name="Insert") > value(before, lat, node_id=1,
                                                                           function_name="Insert")
    assert value(after, "milvus_proxy_req_latency_bucket", node_id=1, function_name="Insert",
                 le="+Inf") == value(after, lat, node_id=1, function_name="Insert")
    labels = dict(node_id=1, db_name="default", collection_name=name)
    assert value(mid, "milvus_proxy_insert_vectors_count", **labels) == 10
    assert value(after, "milvus_proxy_insert_vectors_count", **labels) == 15
    assert value(mid, "milvus_proxy_search_vectors_count", **labels) == 3
    assert value(mid, "milvus_proxy_delete_vectors_count", **labels) == 2


def test_failed_requests_counted_as_fail(module_server, module_client):
    missing = unique("obs_missing")
    with pytest.raises(Exception):
        module_client.describe_collection(missing)
    s = scrape(module_server)
    assert req_count(s, "DescribeCollection", "fail", missing) >= 1
    assert req_count(s, "DescribeCollection", "success", missing) == 0


def test_rest_requests_counted_and_request_id_echoed(module_server):
    base = f"http://{module_server.host}:{module_server.port}/v2/vectordb"
    name = unique("obs_rest")
    r = requests.post(f"{base}/collections/create", json={"collectionName": name, "dimension": 4},
                      timeout=10)
    assert r.json()["code"] == 0, r.text
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-Id"]), r.headers
    r = requests.post(f"{base}/entities/insert", json={"collectionName": name, "data": rows(3)},
                      headers={"X-Request-Id": "rest-req-42"}, timeout=10)
    assert r.json()["code"] == 0, r.text
    assert r.headers["X-Request-Id"] == "rest-req-42"
    r = requests.post(f"{base}/entities/search",
                      json={"collectionName": name, "data": [[0.1] * 4, [0.5] * 4], "limit": 2},
                      timeout=10)
    assert r.json()["code"] == 0, r.text
    requests.post(f"{base}/no/such/endpoint", json={}, timeout=10)

    s = scrape(module_server)
    assert req_count(s, "Insert", "success", name) == 1
    assert req_count(s, "Search", "success", name) == 1
    assert req_count(s, "CreateCollection", "success", name) == 1
    labels = dict(node_id=1, db_name="default", collection_name=name)
    assert value(s, "milvus_proxy_insert_vectors_count", **labels) == 3
    assert value(s, "milvus_proxy_search_vectors_count", **labels) == 2
    assert value(s, "milvus_proxy_restful_api_req_count", node_id=1,
                 path="/v2/vectordb/entities/insert") >= 1
    # Unknown paths share one label value instead of growing the metric per junk path.
    assert value(s, "milvus_proxy_restful_api_req_count", node_id=1, path="unknown") >= 1
    assert not any(k[0] == "milvus_proxy_restful_api_req_count" and ("path", "/v2/vectordb/no/such/endpoint") in k[1]
                   for k in s)


def test_collection_and_segment_gauges(module_server, module_client):
    c = module_client
    name = unique("obs_seg")
    c.create_collection(name, dimension=4)
    c.insert(name, rows(20))
    c.flush(name)
    wait_indexed(c, name, 20)
    c.insert(name, rows(7, start=50))
    s = scrape(module_server)
    n_collections = len(c.list_collections())
    assert value(s, "milvus_rootcoord_collection_num", db_name="default") == n_collections
    assert value(s, "milvus_datacoord_segment_num", segment_state="Flushed") >= 1
    assert value(s, "milvus_datacoord_segment_num", segment_state="Growing") >= 1
    seg = dict(db_name="default", collection_name=name)
    assert value(s, "kite_segment_num", state="Flushed", indexed="true", **seg) == 1
    assert value(s, "kite_segment_num", state="Growing", indexed="false", **seg) == 1
    assert value(s, "kite_segment_rows", db_name="default", collection_name=name, state="Flushed") == 20
    assert value(s, "milvus_rootcoord_entity_num", db_name="default", collection_name=name,
                 status="all") == 27
    assert any(k[0] == "kite_wal_bytes" for k in s)


# -- errors on the metrics port ----------------------------------------------------------------

def test_bad_requests_on_metrics_port_get_json_errors(module_server):
    url = module_server.metrics_url
    for method, path in [("GET", "/nope"), ("GET", "/webui/api/nope"), ("POST", "/metrics"),
                         ("DELETE", "/healthz"), ("GET", "/metrics/../../etc/passwd")]:
        r = requests.request(method, url + path, data=b"x" if method == "POST" else None, timeout=5)
        assert r.status_code in (400, 404), (method, path, r.status_code)
        assert r.headers["Content-Type"].startswith("application/json"), (method, path, r.headers)
        body = r.json()
        assert body["code"] != 0 and body["message"], body
    r = requests.get(url + "/nope", timeout=5)
    assert r.status_code == 404 and "404 page not found" in r.json()["message"]

    r = requests.post(url + "/metrics", data=b"a" * (2 << 20), timeout=10)
    assert r.status_code == 413 and r.json()["code"] != 0

    # Not HTTP at all, and a header that never ends: the server answers or closes, never dies.
    for junk in (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"A" * 100_000):
        with socket.create_connection((module_server.host, module_server.metrics_port), timeout=5) as sock:
            try:
                sock.sendall(junk)
                sock.shutdown(socket.SHUT_WR)
                sock.recv(4096)
            except OSError:
                pass
    assert requests.get(url + "/healthz", timeout=5).text == "OK"
    assert module_server.running


# -- web UI --------------------------------------------------------------------------------------

def test_webui_json_api(module_server, module_client):
    c = module_client
    name = unique("obs_api")
    c.create_collection(name, dimension=4)
    c.insert(name, rows(4))
    url = module_server.metrics_url + "/webui/api"
    cols = requests.get(url + "/collections", timeout=10).json()["data"]
    mine = [x for x in cols if x["name"] == name]
    assert len(mine) == 1 and mine[0]["db"] == "default" and mine[0]["load_state"] == "Loaded"
    assert mine[0]["rows"] == 4 and mine[0]["vector_fields"] == ["vector"]
    segs = [x for x in requests.get(url + "/segments", timeout=10).json()["data"] if x["collection"] == name]
    assert [(s["state"], s["rows"], s["indexed"]) for s in segs] == [("Growing", 4, False)]
    idx = [x for x in requests.get(url + "/indexes", timeout=10).json()["data"] if x["collection"] == name]
    assert len(idx) == 1 and idx[0]["field"] == "vector" and idx[0]["metric_type"] == "COSINE"
    cfg = {x["key"]: x["value"] for x in requests.get(url + "/config", timeout=10).json()["data"]}
    assert cfg["proxy.port"] == str(module_server.port)
    assert cfg["metrics.port"] == str(module_server.metrics_port)
    slow = requests.get(url + "/slow_requests", timeout=10).json()
    assert slow["threshold_ms"] == 5000 and isinstance(slow["data"], list)
    page = requests.get(module_server.metrics_url + "/webui", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<script>" in page.text and "http://" not in page.text and "https://" not in page.text


def dump_dom(url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="kite-chromium-") as profile:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url],
            capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout.decode(errors="replace")


def wait_indexed(c, name: str, rows: int, timeout: float = 30.0) -> None:
    """Waits until the collection's vector index covers `rows` flushed rows."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = c.describe_index(name, "vector")
        if info and info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= rows:
            return
        time.sleep(0.1)
    raise AssertionError(f"index of {name} not built: {c.describe_index(name, 'vector')}")


def cell_texts(html: str, section: str) -> list:
    """Rows of the table in <section id=...> as lists of cell texts (tags stripped)."""
    m = re.search(rf'<section id="{section}">(.*?)</section>', html, re.S)
    assert m, f"section {section} missing from the rendered page"
    out = []
    for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S):
        out.append([re.sub(r"<[^>]+>", "", td) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)])
    return [r for r in out if r]


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is not installed (scripts/setup.sh installs it)")
def test_webui_renders_in_headless_chromium(kite_factory, tmp_path):
    cfg = write_config(tmp_path, "proxy:\n  slowQuerySpanInSeconds: 0\n")
    srv = kite_factory("webui", extra_args=["--config", str(cfg)]).start()
    c = srv.client()
    flushed, growing = unique("webui_flushed"), unique("webui_growing")
    c.create_collection(flushed, dimension=4)
    c.insert(flushed, rows(12))
    c.flush(flushed)
    c.create_collection(growing, dimension=4)
    c.insert(growing, rows(5))
    wait_indexed(c, flushed, 12)
    c.close()

    html = dump_dom(srv.metrics_url + "/webui")
    collections = cell_texts(html, "collections")
    by_name = {r[1]: r for r in collections}
    assert set(by_name) == {flushed, growing}, collections
    assert by_name[flushed][3] == "Loaded" and by_name[flushed][4] == "12"
    assert by_name[growing][4] == "5"

    segments = cell_texts(html, "segments")
    states = {(r[1], r[3], r[4]) for r in segments}  # collection, state, indexed
    assert (flushed, "Flushed", "yes") in states, segments  # quick setup's AUTOINDEX, built in the background
    assert (growing, "Growing", "no") in states, segments
    assert re.search(r'id="segments-summary">2 segments \(1 Flushed, 1 Growing\), 1 indexed<', html), html

    indexes = cell_texts(html, "indexes")
    assert {r[1] for r in indexes} == {flushed, growing}
    assert "builds in progress" in html

    slow = cell_texts(html, "slow")
    rpcs = {r[3] for r in slow}
    assert {"CreateCollection", "Insert", "Flush"} <= rpcs, slow

    config = {r[0]: r[1] for r in cell_texts(html, "config")}
    assert config["proxy.slowQuerySpanInSeconds"] == "0"
    assert config["proxy.port"] == str(srv.port)
    # Anonymous callers (authorization off) see no filesystem path.
    assert str(srv.data_dir) not in config["localStorage.path"]
    assert "version" in html  # the overview line was filled in


# -- logs ----------------------------------------------------------------------------------------

def wait_for_log(srv, needle: str, timeout: float = 5) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = srv.log_path.read_text(errors="replace")
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_debug_level_logs_every_request_with_its_id(kite_factory):
    srv = kite_factory("debuglog", extra_args=["--log-level", "debug"]).start()
    name = unique("obs_log")
    base = f"http://{srv.host}:{srv.port}/v2/vectordb"
    requests.post(f"{base}/collections/create", json={"collectionName": name, "dimension": 4}, timeout=10)
    requests.post(f"{base}/entities/insert", json={"collectionName": name, "data": rows(2)},
                  headers={"X-Request-Id": "e2e-rest-1"}, timeout=10)
    # gRPC: the id travels as x-request-id metadata and comes back in the initial metadata.
    with grpc.insecure_channel(f"{srv.host}:{srv.port}") as ch:
        stub = milvus_pb2_grpc.MilvusServiceStub(ch)
        resp, call = stub.HasCollection.with_call(milvus_pb2.HasCollectionRequest(collection_name=name),
                                                  metadata=[("x-request-id", "e2e-grpc-1")], timeout=10)
        assert resp.value is True
        assert ("x-request-id", "e2e-grpc-1") in call.initial_metadata()

    text = wait_for_log(srv, "request_id=e2e-grpc-1")
    rest_line = next(l for l in text.splitlines() if "request_id=e2e-rest-1" in l)
    assert re.match(r"ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d level=debug tid=\d+ msg=request ", rest_line), rest_line
    for kv in ("protocol=rest", "rpc=Insert", f"collection={name}", "status=success", "code=0", "inserted=2"):
        assert kv in rest_line.split(), (kv, rest_line)
    grpc_line = next(l for l in text.splitlines() if "request_id=e2e-grpc-1" in l)
    for kv in ("protocol=grpc", "rpc=HasCollection", f"collection={name}", "status=success"):
        assert kv in grpc_line.split(), (kv, grpc_line)
    # Every line is logfmt.
    for line in text.splitlines():
        if line.startswith("ts="):
            assert re.match(r"ts=\S+ level=(trace|debug|info|warning|error|critical) tid=\d+ msg=", line), line


def test_info_level_logs_only_slow_requests(kite_factory, tmp_path):
    cfg = write_config(tmp_path, "proxy:\n  slowQuerySpanInSeconds: 0\n")
    srv = kite_factory("slowlog", extra_args=["--config", str(cfg)]).start()
    c = srv.client()
    name = unique("obs_slow")
    c.create_collection(name, dimension=4)
    c.close()
    text = wait_for_log(srv, f"rpc=CreateCollection")
    slow = [l for l in text.splitlines() if 'msg="slow request"' in l]
    assert any(f"collection={name}" in l and "rpc=CreateCollection" in l and "level=warning" in l for l in slow), text
    assert "msg=request " not in text  # the per-request debug lines are off at info

    srv2 = kite_factory("quiet").start()  # default threshold (5 s): nothing is slow
    c = srv2.client()
    c.create_collection(unique("obs_quiet"), dimension=4)
    c.close()
    assert "msg=request" not in srv2.log_path.read_text(errors="replace")


def test_bad_log_level_is_refused(kite_bin, tmp_path):
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--log-level", "chatty"],
                          capture_output=True, timeout=30)
    assert proc.returncode == 2
    assert b"log level 'chatty'" in proc.stderr
    cfg = write_config(tmp_path, "log:\n  level: loud\n")
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg)],
                          capture_output=True, timeout=30)
    assert proc.returncode == 2 and b"log level 'loud'" in proc.stderr
