"""Proxies as their own processes (issue 16: `kite proxy`, "of a proxy (the other serves)").

`kite proxy` serves the Milvus gRPC and REST API on its port and holds nothing: the catalog, the
TSO and the data node scheduler are the coordinator's (catalog_service.proto on rootCoord.port),
writes and reads go to the coordinator's streaming side, users and roles are read from etcd and
followed. Two proxies in front of one coordinator:

  - the pymilvus core through them, each seeing what the other did (DDL, writes, index builds,
    compaction, aliases, partitions, databases), answers exactly as the data says;
  - kill -9 of one proxy while a writer and a searcher run through the other: they never stop,
    and a client of the dead one continues on the other; every acknowledged write is there;
  - RBAC: a user and a grant made through one proxy hold on the other, and a revoke made
    through the coordinator takes effect on the proxy within seconds;
  - the coordinator restarted (kill -9) behind the proxies: the proxy answers again once it is
    back, and nothing acknowledged is lost.
"""

from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from cluster_util import answers_exactly, id_n_rows, id_n_vector_schema
from e2e_util import free_port, unique
from etcd_util import EtcdProcess
from role_process import RoleProcess

DIM = 8


def schema():
    return id_n_vector_schema(DIM)


def rows(ids, rng, mult=3):
    return id_n_rows(ids, rng, DIM, mult)


def refused(fn, *args, **kwargs) -> str:
    """The error text of a call the server refuses (PERMISSION_DENIED passes through pymilvus as
    grpc.RpcError, as with Milvus)."""
    with pytest.raises((MilvusException, grpc.RpcError)) as e:
        fn(*args, **kwargs)
    if isinstance(e.value, grpc.RpcError):
        return f"{e.value.code().name}: {e.value.details()}"
    return str(e.value)


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except (MilvusException, grpc.RpcError):
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Proxied:
    """etcd, a `kite standalone` (the coordinator, with its own streaming and query node) and two
    `kite proxy` processes."""

    def __init__(self, kite_bin, kite_factory, tmp_path, token=None):
        self.etcd = EtcdProcess(tmp_path / "etcd").start()
        self.cfg = tmp_path / "cluster.yaml"
        # With authorization every internal call carries the cluster credential.
        security = "  security:\n    authorizationEnabled: true\n" if token else ""
        secret = "kite:\n  clusterSecret: proxy-test-secret\n" if token else ""
        self.cfg.write_text(
            f"etcd:\n  endpoints: {self.etcd.endpoint}\n  rootPath: {unique('px')}\n"
            "common:\n  session:\n    ttl: 3\n" + security + secret +
            f"rootCoord:\n  port: {free_port()}\n")
        self.token = token
        self.server = kite_factory(name="coord", extra_args=["--config", str(self.cfg)], token=token)
        self.server.start()
        self.proxies = [RoleProcess(kite_bin, "proxy", self.cfg, None, tmp_path, f"proxy{i}").start()
                        for i in range(2)]

    def client(self, i, **kw):
        kw.setdefault("timeout", 10)
        if self.token and "token" not in kw:
            kw["token"] = self.token
        return MilvusClient(f"http://127.0.0.1:{self.proxies[i].port}", dedicated=True, **kw)

    def close(self):
        for p in self.proxies:
            if p.proc.poll() is None:
                p.stop()
        self.server.stop(check=False)
        self.etcd.stop(crash=True)


@pytest.fixture
def proxied(kite_bin, kite_factory, tmp_path):
    c = Proxied(kite_bin, kite_factory, tmp_path)
    yield c
    c.close()


def test_core_through_two_proxies(proxied):
    a, b = proxied.client(0), proxied.client(1)
    rng = np.random.default_rng(7)
    name = unique("px_core")
    a.create_collection(name, schema=schema())
    assert b.has_collection(name)
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    b.create_index(name, ip)
    a.load_collection(name)
    assert b.get_load_state(name)["state"].name == "Loaded"
    expected = {}
    for lo in range(0, 600, 200):
        batch = rows(range(lo, lo + 200), rng)
        (a if lo % 400 == 0 else b).insert(name, batch)
        expected.update({r["id"]: r for r in batch})
        b.flush(name)
    up = rows(range(100, 150), rng, mult=7)
    a.upsert(name, up)
    expected.update({r["id"]: r for r in up})
    b.delete(name, filter="id in [1, 2, 3, 598]")
    for k in (1, 2, 3, 598):
        expected.pop(k)
    queries = rng.random((3, DIM)).astype(np.float32)
    answers_exactly(a, name, expected, queries)
    answers_exactly(b, name, expected, queries)
    # The index was built (through the coordinator's data node) and is described alike on both.
    wait_until(lambda: a.describe_index(name, "vector")["state"] == "Finished", 60, "the index build")
    assert b.describe_index(name, "vector")["index_type"] == "HNSW"
    job = a.compact(name)
    wait_until(lambda: b.get_compaction_state(job) == "Completed", 60, "the compaction")
    answers_exactly(b, name, expected, queries)
    # Catalog changes through one proxy are what the other answers next.
    a.create_alias(name, name + "_al")
    assert b.describe_alias(name + "_al")["collection_name"] == name
    b.create_partition(name, "p1")
    assert "p1" in a.list_partitions(name)
    db = unique("pxdb")
    a.create_database(db)
    assert db in b.list_databases()
    b.drop_alias(name + "_al")
    b.release_collection(name)
    b.drop_collection(name)
    assert not a.has_collection(name)
    # A bad request gets Milvus's answer through a proxy as through the coordinator.
    with pytest.raises(MilvusException) as e:
        a.describe_collection("no_such_collection_px")
    assert e.value.code == 100 and "can't find collection" in e.value.message, e.value
    a.close()
    b.close()


def test_kill9_of_a_proxy_the_other_serves(proxied):
    setup = proxied.client(0)
    name = unique("px_kill")
    setup.create_collection(name, schema=schema())
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    setup.create_index(name, ip)
    setup.load_collection(name)
    setup.close()
    acked, lock, stop = {}, threading.Lock(), threading.Event()
    errors, searches = [], [0]

    def writer():
        c = proxied.client(1)
        rng = np.random.default_rng(11)
        i = 0
        while not stop.is_set():
            batch = rows(range(i, i + 20), rng)
            try:
                c.insert(name, batch)
            except MilvusException as e:  # the proxy it talks to stays up: no write may fail
                errors.append(e)
                return
            with lock:
                acked.update({r["id"]: r for r in batch})
            i += 20
        c.close()

    def searcher():
        c = proxied.client(1)
        q = np.random.default_rng(12).random((1, DIM)).astype(np.float32).tolist()
        while not stop.is_set():
            try:
                c.search(name, q, limit=3)
                searches[0] += 1
            except MilvusException as e:
                errors.append(e)
                return
        c.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=searcher)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= 100 and searches[0] >= 5, 30, "the first writes and searches")
    doomed = proxied.client(0)
    assert doomed.has_collection(name)
    proxied.proxies[0].kill9()
    killed_at = time.monotonic()
    searched_before = searches[0]
    with lock:
        acked_before = len(acked)
    # A client of the dead proxy fails; the same application moved to the other one serves at once.
    with pytest.raises(MilvusException):
        doomed.has_collection(name, timeout=3)
    moved = proxied.client(1)
    assert moved.has_collection(name)
    recovered_s = time.monotonic() - killed_at
    wait_until(lambda: searches[0] > searched_before + 5 and len(acked) > acked_before + 100, 30,
               "writes and searches through the surviving proxy")
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors, errors[:3]
    with lock:
        expected = dict(acked)
    answers_exactly(moved, name, expected, np.random.default_rng(5).random((2, DIM)).astype(np.float32))
    print(f"kill -9 of a proxy: the other proxy served throughout; a moved client served {recovered_s:.2f} s "
          f"after the kill (including its failed call to the dead one); {len(expected)} rows acknowledged")
    moved.close()


def test_coordinator_restart_behind_the_proxies(proxied):
    c = proxied.client(0)
    rng = np.random.default_rng(21)
    name = unique("px_restart")
    c.create_collection(name, schema=schema())
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_index(name, ip)
    c.load_collection(name)
    expected = {}
    batch = rows(range(0, 300), rng)
    c.insert(name, batch)
    expected.update({r["id"]: r for r in batch})
    proxied.server.kill9()
    with pytest.raises(MilvusException):
        c.insert(name, rows(range(1000, 1010), rng), timeout=3)  # no coordinator: refused, not hung
    proxied.server.start()
    started = time.monotonic()
    wait_until(lambda: c.has_collection(name, timeout=3), 30, "the proxy to serve again")
    served_s = time.monotonic() - started
    batch = rows(range(300, 400), rng)
    wait_until(lambda: c.insert(name, batch, timeout=5) is not None, 30, "a write through the proxy")
    expected.update({r["id"]: r for r in batch})
    answers_exactly(proxied.client(1), name, expected, rng.random((2, DIM)).astype(np.float32))
    print(f"coordinator restarted behind the proxies: the proxy answered {served_s:.2f} s after it was up")
    c.close()


def test_users_and_grants_hold_on_every_proxy(kite_bin, kite_factory, tmp_path):
    root = "root:Milvus"
    cl = Proxied(kite_bin, kite_factory, tmp_path, token=root)
    try:
        a = cl.client(0)
        name = unique("px_rbac")
        a.create_collection(name, dimension=DIM)
        a.insert(name, [{"id": i, "vector": [float(i)] * DIM} for i in range(10)])
        user, role = unique("pxu"), unique("pxr")
        a.create_user(user, "Passw0rd!")
        a.create_role(role)
        a.grant_privilege_v2(role, "CollectionReadOnly", name)
        a.grant_role(user, role)
        # The user logs in on the other proxy, reads and may not write.
        wait_until(lambda: cl.client(1, token=f"{user}:Passw0rd!").query(
            name, filter="id >= 0", output_fields=["id"], limit=100, consistency_level="Strong") is not None,
                   10, "the user and grant on the other proxy")
        u = cl.client(1, token=f"{user}:Passw0rd!")
        got = u.query(name, filter="id >= 0", output_fields=["id"], limit=100, consistency_level="Strong")
        assert sorted(r["id"] for r in got) == list(range(10))
        assert "PrivilegeInsert: permission deny" in refused(u.insert, name, [{"id": 99, "vector": [0.0] * DIM}])
        # A wrong password is refused on a proxy as on the coordinator.
        with pytest.raises((MilvusException, grpc.RpcError)):
            cl.client(1, token=f"{user}:wrong").list_collections()
        # A revoke made through the coordinator's own port holds on the proxy within seconds.
        coord = cl.server.client()
        coord.revoke_privilege_v2(role, "CollectionReadOnly", name)

        def query_refused():
            try:
                u.query(name, filter="id >= 0", output_fields=["id"], limit=1)
                return False
            except grpc.RpcError as e:
                return "PrivilegeQuery: permission deny" in e.details()
        wait_until(query_refused, 10, "the revoke to reach the proxy")
        coord.close()
        u.close()
        a.close()
    finally:
        cl.close()
