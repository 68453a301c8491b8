"""`kite standalone` on an etcd that serves TLS only (client certificates required) and has
authentication enabled (issue 15: Milvus's etcd.ssl.* and etcd.auth.* keys).

The etcd, its certificates (openssl) and its root user (etcdctl user add / auth enable) are made by
the test (etcd_util.EtcdProcess(tls=True, auth=True)).
  - a pymilvus round trip (DDL, insert, delete, flush, index, filtered search, query, restart) runs
    with its metadata in that etcd;
  - a wrong CA, a missing client certificate, a wrong password, no credentials, an unknown
    tlsMinVersion or an unreadable file each stop the start with a message naming the key to fix,
    and the password is never printed.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import free_port, unique
from etcd_util import EtcdProcess

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

DIM = 8


@pytest.fixture(scope="module")
def secure_etcd(tmp_path_factory):
    proc = EtcdProcess(tmp_path_factory.mktemp("etcd-secure"), tls=True, auth=True).start()
    yield proc
    proc.stop(crash=True)


def start_fails(kite_bin, tmp_path, yaml_text: str) -> str:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg),
                           "--port", str(free_port()), "--metrics-port", str(free_port())],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0, proc.stdout[-2000:]
    return proc.stdout + proc.stderr


def test_round_trip_on_an_etcd_with_tls_and_auth(kite_factory, tmp_path, secure_etcd):
    root = unique("sec")
    cfg = tmp_path / "secure.yaml"
    cfg.write_text(secure_etcd.kite_yaml(root))
    srv = kite_factory(name="secure", extra_args=["--config", str(cfg)]).start()
    client = srv.client()
    name = unique("tls_etcd")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("n", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=s)
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_index(name, ip)
    client.load_collection(name)
    rng = np.random.default_rng(5)
    vectors = rng.random((100, DIM)).astype(np.float32)
    client.insert(name, [{"id": i, "n": i * 3, "vector": vectors[i].tolist()} for i in range(100)])
    client.delete(name, ids=[0, 1])
    client.flush(name)

    def check(c):
        got = c.query(name, filter="n >= 0", output_fields=["n"], limit=1000)
        assert {r["id"]: r["n"] for r in got} == {i: i * 3 for i in range(2, 100)}
        q = vectors[50]
        dist = ((vectors - q) ** 2).sum(axis=1)
        want = [int(i) for i in np.argsort(dist) if i >= 2 and i % 2 == 0][:3]
        res = c.search(name, [q.tolist()], limit=3, filter="id % 2 == 0", search_params={"metric_type": "L2"})
        assert [h["id"] for h in res[0]] == want

    check(client)
    client.close()
    keys = secure_etcd.keys_under(f"{root}/meta/")
    assert any(name.encode() in v for v in keys.values()), "the collection is not in the secure etcd"
    assert not (srv.data_dir / "meta").exists()
    log = srv.log_path.read_text(errors="replace")
    assert "kite-e2e-etcd-root" not in log, "the etcd password is in the log"

    srv.restart()
    client = srv.client()
    client.load_collection(name)
    check(client)
    client.close()


@pytest.mark.parametrize("override,needles", [
    ({"ssl_tlsCACert": "other-ca.pem"}, ["certificate verify failed", "etcd.ssl.tlsCACert"]),
    ({"ssl_tlsCert": '""', "ssl_tlsKey": '""'}, ["TLS handshake with etcd", "etcd.ssl.tlsCert"]),
    ({"ssl_tlsMinVersion": "1.4"}, ["unknown TLS version,1.4"]),
    ({"ssl_tlsCACert": "/nonexistent/ca.pem"}, ["etcd.ssl.tlsCACert: cannot read '/nonexistent/ca.pem'"]),
    ({"auth_password": "Wrong-Pass-42"}, ["authentication failed", "etcd.auth.password"]),
    ({"auth_enabled": "false"}, ["etcd has authentication enabled", "etcd.auth.enabled"]),
])
def test_bad_tls_or_credentials_stop_the_start_clearly(kite_bin, tmp_path, secure_etcd, override, needles):
    if override.get("ssl_tlsCACert") == "other-ca.pem":
        override = {"ssl_tlsCACert": secure_etcd.certs / "other-ca.pem"}
    out = start_fails(kite_bin, tmp_path, secure_etcd.kite_yaml(unique("bad"), timeout_ms=3000, **override))
    for needle in needles:
        assert needle in out, out[-3000:]
    assert "Wrong-Pass-42" not in out and "kite-e2e-etcd-root" not in out, "a password was printed"
