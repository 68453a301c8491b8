"""Internal RPCs authenticate their callers (issue 17, item 7).

The role services (`kite querynode`, standalone's kite.roleTransport: grpc) serve only the
processes of their cluster:
  - with common.security.authorizationEnabled, every internal call carries a credential derived
    from kite.clusterSecret (HMAC-SHA256(secret, "kite internal rpc v1"), hex, in the
    `kite-cluster-credential` metadata entry); a query node process answers calls without it,
    or with one made from another secret, UNAUTHENTICATED, while the standalone that shares the
    secret loads, searches and queries through it;
  - with common.security.internaltlsEnabled (Milvus's internaltls.* keys) the query node serves
    TLS only: a plaintext client and a TLS client that does not trust internaltls.caPemPath both
    fail, a client with the CA gets through;
  - a query node with authorization on and no kite.clusterSecret refuses to start.

The raw client here is grpcio with a hand-built (empty) SegmentsRequest, as an attacker on the
network would send it.
"""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from e2e_util import free_port, unique
from etcd_util import EtcdProcess, make_certs
from test_remote_query_nodes import QueryNodeProcess, schema

ROOT = "root:Milvus"
SECRET = "kite-e2e-cluster-secret"
LIST_SEGMENTS = "/kite.rolepb.QueryNodeService/ListSegments"
DIM = 8


def credential(secret: str) -> str:
    return hmac.new(secret.encode(), b"kite internal rpc v1", hashlib.sha256).hexdigest()


def call_list_segments(channel: grpc.Channel, secret: str | None):
    """ListSegments with an empty request (collection 0); returns the gRPC status code."""
    call = channel.unary_unary(LIST_SEGMENTS, request_serializer=None, response_deserializer=None)
    md = [("kite-cluster-credential", credential(secret))] if secret is not None else []
    try:
        call(b"", metadata=md, timeout=10)
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details()


def make_config(tmp_path: Path, etcd, tls_dir: Path | None, secret: str | None = SECRET) -> Path:
    text = (f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: {unique('auth')}\n"
            "kite:\n  queryNodes: remote\n")
    if secret is not None:
        text += f"  clusterSecret: {secret}\n"
    text += ("common:\n  session:\n    ttl: 3\n  security:\n    authorizationEnabled: true\n")
    if tls_dir is not None:
        text += ("    internaltlsEnabled: true\n"
                 f"internaltls:\n  serverPemPath: {tls_dir / 'server.pem'}\n"
                 f"  serverKeyPath: {tls_dir / 'server.key'}\n  caPemPath: {tls_dir / 'ca.pem'}\n"
                 "  sni: localhost\n")
    cfg = tmp_path / f"cluster-{unique('c')}.yaml"
    cfg.write_text(text)
    return cfg


@pytest.fixture
def etcd(tmp_path):
    e = EtcdProcess(tmp_path / "etcd").start()
    yield e
    e.stop(crash=True)


def start_cluster(kite_bin, kite_factory, tmp_path, etcd, tls_dir):
    cfg = make_config(tmp_path, etcd, tls_dir)
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    node = QueryNodeProcess(kite_bin, cfg, data_dir, tmp_path, "querynode").start()
    server = kite_factory(name="coord", data_dir=data_dir, extra_args=["--config", str(cfg)], token=ROOT)
    server.start()
    return server, node


def search_through_the_query_node(server) -> None:
    """A flushed, loaded collection: its sealed segment is served by the query node process."""
    c = server.client()
    name = unique("rauth")
    rng = np.random.default_rng(3)
    c.create_collection(name, schema=schema())
    from pymilvus import MilvusClient
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_index(name, ip)
    c.load_collection(name)
    vecs = rng.random((50, DIM)).astype(np.float32)
    c.insert(name, [{"id": i, "n": i * 3, "vector": vecs[i].tolist()} for i in range(50)])
    c.flush(name)
    q = rng.random(DIM).astype(np.float32)
    want = [int(i) for i in np.argsort(((vecs - q) ** 2).sum(axis=1))[:5]]
    deadline = time.monotonic() + 30
    while True:  # the flushed segment reaches the query node asynchronously
        segs = c._get_connection().get_query_segment_info(name)
        if segs:
            break
        assert time.monotonic() < deadline, "the flushed segment never reached the query node"
        time.sleep(0.1)
    res = c.search(name, [q.tolist()], limit=5, search_params={"metric_type": "L2"})
    assert [h["id"] for h in res[0]] == want
    got = c.query(name, filter="id >= 0", output_fields=["n"], limit=100)
    assert sorted((r["id"], r["n"]) for r in got) == [(i, i * 3) for i in range(50)]
    c.close()


def test_query_node_refuses_callers_without_the_cluster_credential(kite_bin, kite_factory, tmp_path, etcd):
    server, node = start_cluster(kite_bin, kite_factory, tmp_path, etcd, tls_dir=None)
    try:
        search_through_the_query_node(server)
        with grpc.insecure_channel(f"127.0.0.1:{node.port}") as ch:
            code, details = call_list_segments(ch, None)
            assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)
            assert "no cluster credential" in details
            code, details = call_list_segments(ch, "another-secret")
            assert code == grpc.StatusCode.UNAUTHENTICATED, (code, details)
            assert "wrong cluster credential" in details
            # The same call with the credential computed here from the shared secret passes.
            assert call_list_segments(ch, SECRET)[0] == grpc.StatusCode.OK
    finally:
        server.stop(check=False)
        node.stop()


def test_internal_tls_needs_the_ca(kite_bin, kite_factory, tmp_path, etcd):
    certs = make_certs(tmp_path / "certs")
    server, node = start_cluster(kite_bin, kite_factory, tmp_path, etcd, tls_dir=certs)
    try:
        search_through_the_query_node(server)
        target = f"127.0.0.1:{node.port}"
        sni = (("grpc.ssl_target_name_override", "localhost"),)
        with grpc.insecure_channel(target) as ch:  # plaintext to a TLS port
            assert call_list_segments(ch, SECRET)[0] == grpc.StatusCode.UNAVAILABLE
        other = grpc.ssl_channel_credentials(root_certificates=(certs / "other-ca.pem").read_bytes())
        with grpc.secure_channel(target, other, options=sni) as ch:  # does not trust the server's CA
            assert call_list_segments(ch, SECRET)[0] == grpc.StatusCode.UNAVAILABLE
        good = grpc.ssl_channel_credentials(root_certificates=(certs / "ca.pem").read_bytes())
        with grpc.secure_channel(target, good, options=sni) as ch:
            assert call_list_segments(ch, None)[0] == grpc.StatusCode.UNAUTHENTICATED
            assert call_list_segments(ch, SECRET)[0] == grpc.StatusCode.OK
    finally:
        server.stop(check=False)
        node.stop()


@pytest.mark.parametrize("case", ["no-secret", "misspelt-internaltls-key", "unreadable-cert"])
def test_query_node_with_incomplete_internal_security_refuses_to_start(kite_bin, tmp_path, etcd, case):
    if case == "no-secret":
        cfg, want = make_config(tmp_path, etcd, tls_dir=None, secret=None), "kite.clusterSecret is not set"
    elif case == "misspelt-internaltls-key":
        cfg = make_config(tmp_path, etcd, tls_dir=None)
        cfg.write_text(cfg.read_text() + "internaltls:\n  serverPem: /nowhere.pem\n")
        want = "config key internaltls.serverPem is unknown"
    else:
        cfg, want = make_config(tmp_path, etcd, tls_dir=tmp_path / "missing"), "internaltls.serverPemPath: cannot read"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    r = subprocess.run([str(kite_bin), "querynode", "--config", str(cfg), "--data-dir", str(data_dir),
                        "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert want in r.stdout + r.stderr, r.stdout + r.stderr


@pytest.mark.parametrize("tls", [False, True])
def test_loopback_role_transport_with_authorization(kite_factory, tmp_path, tls):
    """kite.roleTransport: grpc with authorization on and no kite.clusterSecret: the role services
    use a per-process secret (and internal TLS when enabled), and reads still go through them."""
    cfg = tmp_path / "grpc-roles.yaml"
    text = "kite:\n  roleTransport: grpc\ncommon:\n  security:\n    authorizationEnabled: true\n"
    if tls:
        certs = make_certs(tmp_path / "certs")
        text += ("    internaltlsEnabled: true\n"
                 f"internaltls:\n  serverPemPath: {certs / 'server.pem'}\n"
                 f"  serverKeyPath: {certs / 'server.key'}\n  caPemPath: {certs / 'ca.pem'}\n")
    cfg.write_text(text)
    server = kite_factory(name="roles-grpc", extra_args=["--config", str(cfg)], token=ROOT)
    server.start()
    c = server.client()
    name = unique("lb")
    c.create_collection(name, dimension=4, metric_type="L2", consistency_level="Strong")
    c.insert(name, [{"id": i, "vector": [float(i), 0.0, 0.0, 0.0]} for i in range(10)])
    res = c.search(name, [[3.2, 0.0, 0.0, 0.0]], limit=2)
    assert [h["id"] for h in res[0]] == [3, 4]
    assert "role services on" in server.log_tail(400)
    c.close()
    server.stop()


def test_standalone_with_another_secret_is_refused_by_the_query_node(kite_bin, kite_factory, tmp_path, etcd):
    """A standalone whose kite.clusterSecret differs from the query node's: its calls are refused
    (the query node's log says why), so the node is not used: loading or searching fails instead
    of answering without its segments."""
    node_cfg = make_config(tmp_path, etcd, tls_dir=None)
    server_cfg = tmp_path / "server.yaml"
    server_cfg.write_text(node_cfg.read_text().replace(SECRET, "a-different-secret"))
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    node = QueryNodeProcess(kite_bin, node_cfg, data_dir, tmp_path, "querynode").start()
    server = kite_factory(name="coord", data_dir=data_dir, extra_args=["--config", str(server_cfg)], token=ROOT)
    server.start()
    try:
        c = server.client()
        name = unique("wrongsecret")
        c.create_collection(name, schema=schema())
        from pymilvus import MilvusClient
        ip = MilvusClient.prepare_index_params()
        ip.add_index("vector", index_type="FLAT", metric_type="L2")
        c.create_index(name, ip)
        with pytest.raises(Exception) as e:
            c.load_collection(name, timeout=30)
            c.insert(name, [{"id": i, "n": i, "vector": [0.1] * DIM} for i in range(10)])
            c.flush(name)
            c.search(name, [[0.1] * DIM], limit=3, search_params={"metric_type": "L2"})
        assert "query node" in str(e.value), str(e.value)
        assert "wrong cluster credential" in node.log_path.read_text(errors="replace")
        c.close()
    finally:
        server.stop(check=False)
        node.stop()
