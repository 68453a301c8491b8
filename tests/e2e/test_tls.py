"""TLS on the shared gRPC/REST port (common.security.tlsMode 1 one-way, 2 mutual), as pymilvus
connects with server_pem_path / client_pem_path / client_key_path / ca_pem_path. Certificates are
generated here with the openssl command line (a throwaway CA, a server certificate for localhost /
127.0.0.1, a client certificate), never committed."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
import requests
from pymilvus import MilvusClient, MilvusException

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kite-test-ca",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, cn in (("server", "localhost"), ("client", "kite-client")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", "san.ext", "-out", f"{name}.pem", cwd=d)
    # A self-signed client certificate from no known CA: mode 2 must refuse it.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=stranger",
            "-keyout", "stranger.key", "-out", "stranger.pem", cwd=d)
    return d


def tls_server(kite_factory, tmp_path, certs, mode: int, extra: str = ""):
    cfg = tmp_path / f"tls{mode}.yaml"
    cfg.write_text(f"common:\n  security:\n    tlsMode: {mode}\n"
                   f"tls:\n  serverPemPath: {certs / 'server.pem'}\n  serverKeyPath: {certs / 'server.key'}\n"
                   f"  caPemPath: {certs / 'ca.pem'}\n" + extra)
    srv = kite_factory(f"tls{mode}", extra_args=["--config", str(cfg)])
    return srv


def start_tls(srv, **client_kwargs):
    """Starts `srv` (whose readiness probe cannot speak TLS) and waits for a TLS client to connect."""
    import time
    srv.proc = None
    srv.starts += 1
    srv._log_fh = open(srv.log_path, "ab", buffering=0)
    srv.proc = subprocess.Popen(srv.command(), stdout=srv._log_fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        assert srv.proc.poll() is None, srv.log_tail()
        try:
            c = MilvusClient(f"https://localhost:{srv.port}", timeout=3, dedicated=True, **client_kwargs)
            return c
        except MilvusException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_one_way_tls_serves_grpc_and_rest(kite_factory, tmp_path, certs):
    srv = tls_server(kite_factory, tmp_path, certs, 1)
    c = start_tls(srv, server_pem_path=str(certs / "server.pem"), server_name="localhost")
    c.create_collection("t", dimension=4)
    c.insert("t", [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}])
    assert c.query("t", filter="id == 1", consistency_level="Strong")[0]["id"] == 1
    c.close()
    r = requests.post(f"https://localhost:{srv.port}/v2/vectordb/collections/list", json={},
                      verify=str(certs / "ca.pem"), timeout=10)
    assert r.json() == {"code": 0, "data": ["t"]}
    # Plain text on a TLS port gets nothing.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://localhost:{srv.port}/v2/vectordb/collections/list", json={}, timeout=5)
    assert "TLS (one-way)" in srv.log_path.read_text()
    # The metrics port speaks TLS too.
    assert requests.get(f"https://localhost:{srv.metrics_port}/healthz", verify=str(certs / "ca.pem"),
                        timeout=5).text == "OK"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://localhost:{srv.metrics_port}/healthz", timeout=5)


def test_mutual_tls_requires_a_client_certificate(kite_factory, tmp_path, certs):
    srv = tls_server(kite_factory, tmp_path, certs, 2)
    c = start_tls(srv, client_pem_path=str(certs / "client.pem"), client_key_path=str(certs / "client.key"),
                  ca_pem_path=str(certs / "ca.pem"), server_name="localhost")
    assert c.list_collections() == []
    c.close()
    # No client certificate: the handshake is refused.
    with pytest.raises(MilvusException):
        MilvusClient(f"https://localhost:{srv.port}", timeout=3, dedicated=True,
                     server_pem_path=str(certs / "server.pem"), server_name="localhost")
    creds = grpc.ssl_channel_credentials(root_certificates=(certs / "ca.pem").read_bytes())
    with grpc.secure_channel(f"localhost:{srv.port}", creds) as ch:
        with pytest.raises(grpc.FutureTimeoutError):
            grpc.channel_ready_future(ch).result(timeout=3)
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(f"https://localhost:{srv.port}/v2/vectordb/collections/list", json={},
                      verify=str(certs / "ca.pem"), timeout=5)
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(f"https://localhost:{srv.port}/v2/vectordb/collections/list", json={},
                      verify=str(certs / "ca.pem"), cert=(str(certs / "stranger.pem"), str(certs / "stranger.key")),
                      timeout=5)
    r_ok = requests.post(f"https://localhost:{srv.port}/v2/vectordb/collections/list", json={},
                         verify=str(certs / "ca.pem"), cert=(str(certs / "client.pem"), str(certs / "client.key")),
                         timeout=10)
    assert r_ok.json()["code"] == 0
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://localhost:{srv.metrics_port}/healthz", verify=str(certs / "ca.pem"), timeout=5)
    assert requests.get(f"https://localhost:{srv.metrics_port}/healthz", verify=str(certs / "ca.pem"),
                        cert=(str(certs / "client.pem"), str(certs / "client.key")), timeout=5).text == "OK"


def test_tls_with_authorization(kite_factory, tmp_path, certs):
    srv = tls_server(kite_factory, tmp_path, certs, 1)
    cfg = tmp_path / "tls1.yaml"
    cfg.write_text(cfg.read_text().replace("    tlsMode: 1\n", "    tlsMode: 1\n    authorizationEnabled: true\n"))
    c = start_tls(srv, server_pem_path=str(certs / "server.pem"), server_name="localhost", token="root:Milvus")
    assert "root" in c.list_users()
    c.close()
    # Over TLS the REST side still sees the client's address (failed logins are counted per host).
    r = requests.post(f"https://localhost:{srv.port}/v2/vectordb/collections/list", json={},
                      headers={"Authorization": "Bearer root:wrong"}, verify=str(certs / "ca.pem"), timeout=10)
    assert r.status_code == 401 and r.json()["code"] == 1800
    assert "authentication failed for user 'root' from ipv4:127.0.0.1" in srv.log_path.read_text()
    # gRPC does its own handshake, so it too knows the client's address.
    with pytest.raises(MilvusException):
        MilvusClient(f"https://localhost:{srv.port}", timeout=3, dedicated=True, token="grpcuser:wrong",
                     server_pem_path=str(certs / "server.pem"), server_name="localhost")
    assert "authentication failed for user 'grpcuser' from ipv4:127.0.0.1" in srv.log_path.read_text()


def test_missing_or_bad_tls_files_stop_the_start(kite_bin, tmp_path, certs):
    from e2e_util import free_port
    for tls_keys, needle in [
        (f"  serverPemPath: {tmp_path / 'missing.pem'}\n  serverKeyPath: {certs / 'server.key'}\n",
         "tls.serverPemPath: cannot read"),
        (f"  serverPemPath: {certs / 'server.pem'}\n  serverKeyPath: {certs / 'client.key'}\n",
         "tls.serverKeyPath"),
        (f"  serverPemPath: {certs / 'server.pem'}\n  serverKeyPath: {certs / 'server.key'}\n",
         "tls.caPemPath is required"),
    ]:
        cfg = tmp_path / "bad.yaml"
        mode = 2 if needle.endswith("required") else 1
        cfg.write_text(f"common:\n  security:\n    tlsMode: {mode}\ntls:\n{tls_keys}")
        p = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg),
                            "--port", str(free_port()), "--metrics-port", str(free_port())],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and needle in p.stderr, (needle, p.returncode, p.stderr)
