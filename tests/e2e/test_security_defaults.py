"""Safe by default, beyond Milvus: loopback-only without authorization ("protected mode"), no
cross-site writes through the REST API, no paths on the web UI for anonymous callers, and no
silently ignored security keys."""
from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from e2e_util import free_port, unique


def run_kite(kite_bin, tmp_path: Path, config_text: str, timeout=20):
    cfg = tmp_path / f"{unique('cfg')}.yaml"
    cfg.write_text(config_text)
    return subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg),
                           "--port", str(free_port()), "--metrics-port", str(free_port())],
                          capture_output=True, text=True, timeout=timeout)


def test_default_listens_on_loopback_and_says_so(module_server):
    log = module_server.log_path.read_text()
    assert f"127.0.0.1:{module_server.port}" in log
    assert "authorization is disabled: listening on 127.0.0.1 only" in log


def test_remote_listen_without_authorization_is_refused(kite_bin, tmp_path):
    p = run_kite(kite_bin, tmp_path, "proxy:\n  host: 0.0.0.0\n")
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "refusing to listen on 0.0.0.0 without authorization" in p.stderr
    assert "proxy.allowInsecureRemote" in p.stderr


def test_remote_listen_with_allow_insecure_remote_starts(kite_factory, tmp_path):
    cfg = tmp_path / "open.yaml"
    cfg.write_text("proxy:\n  host: 0.0.0.0\n  allowInsecureRemote: true\n")
    srv = kite_factory("open", extra_args=["--config", str(cfg)]).start()
    assert "lets anyone who reaches 0.0.0.0 read and drop every collection" in srv.log_path.read_text()


def test_misspelt_security_keys_stop_the_start(kite_bin, tmp_path):
    p = run_kite(kite_bin, tmp_path, "common:\n  security:\n    authorizationEnable: true\n")
    assert p.returncode == 2 and "common.security.authorizationEnable is unknown" in p.stderr, p.stderr
    p = run_kite(kite_bin, tmp_path, "tls:\n  serverPem: /x\n")
    assert p.returncode == 2 and "tls.serverPem is unknown" in p.stderr, p.stderr
    p = run_kite(kite_bin, tmp_path, "common:\n  security:\n    tlsMode: 3\n")
    assert p.returncode == 2 and "common.security.tlsMode: 3 is not one of 0, 1, 2" in p.stderr, p.stderr
    # TLS asked for but no certificate configured: no start (never a silent plain-text port).
    p = run_kite(kite_bin, tmp_path, "common:\n  security:\n    tlsMode: 1\n")
    assert p.returncode != 0 and "tls.serverPemPath is required for TLS" in p.stderr, p.stderr


def test_rest_writes_need_a_json_content_type(module_server, module_client):
    name = unique("csrf")
    url = f"{module_server.uri}/v2/vectordb/collections/create"
    body = '{"collectionName": "%s", "dimension": 4}' % name
    # What a foreign web page can send without a CORS preflight: all refused, nothing created.
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]:
        headers = {} if ct is None else {"Content-Type": ct}
        r = requests.post(url, data=body.encode(), headers=headers, timeout=10)
        j = r.json()
        assert j["code"] == 1801 and "Content-Type must be application/json" in j["message"], (ct, j)
    assert not module_client.has_collection(name)
    r = requests.post(url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}, timeout=10)
    assert r.json()["code"] == 0, r.text
    assert module_client.has_collection(name)


def test_no_cors_grant(module_server):
    url = f"{module_server.uri}/v2/vectordb/collections/list"
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type"}
    pre = requests.options(url, headers=headers, timeout=10)
    assert "Access-Control-Allow-Origin" not in pre.headers
    r = requests.post(url, json={}, headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.json()["code"] == 0 and "Access-Control-Allow-Origin" not in r.headers


def test_web_ui_config_shows_no_path_to_anonymous_callers(module_server):
    rows = requests.get(module_server.metrics_url + "/webui/api/config", timeout=10).json()["data"]
    text = str(rows)
    assert str(module_server.data_dir) not in text
