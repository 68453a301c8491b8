"""`kite standalone` with its meta store on a real etcd (issue 15, item 1).

The etcd is started by the test (etcd_util.EtcdProcess); the WAL and object store stay embedded.
  - a core workload (DDL, insert/upsert/delete, flush, index, filtered search, query) runs on
    etcd and survives a restart of Kite; the metadata is in etcd under rootPath/metaSubPath, not
    in the data dir;
  - etcd stopped: DDL fails within etcd.requestTimeout with Milvus's retriable code 2 ("service
    unavailable: meta store (etcd) unavailable: <endpoint>..."), search
    and query of loaded data go on; etcd back: DDL works again.
"""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient, MilvusException

from e2e_util import free_port, unique
from etcd_util import EtcdProcess

DIM = 8
SERVICE_UNAVAILABLE = 2  # merr ErrServiceUnavailable (retriable): "service unavailable: <reason>"


@pytest.fixture
def etcd(tmp_path):
    proc = EtcdProcess(tmp_path / "etcd").start()
    yield proc
    proc.stop(crash=True)


def kite_on_etcd(kite_factory, tmp_path, etcd, root: str, timeout_ms: int = 10000):
    cfg = tmp_path / f"{root}.yaml"
    cfg.write_text(f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: {root}\n"
                   f"  requestTimeout: {timeout_ms}\n")
    return kite_factory(name=root, extra_args=["--config", str(cfg)])


def schema():
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("tag", DataType.VARCHAR, max_length=16)
    s.add_field("n", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    return s


def rows(ids, rng, gen):
    return [{"id": int(i), "tag": f"g{gen}" if i % 2 else "odd", "n": int(i) * 10 + gen,
             "vector": rng.random(DIM).astype(np.float32).tolist()} for i in ids]


def create_loaded(client, name):
    client.create_collection(name, schema=schema())
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_index(name, ip)
    client.load_collection(name)


def brute_force(expected: dict, query, pred, k):
    cands = [(float(np.sum((np.asarray(r["vector"], np.float32) - query) ** 2)), pk)
             for pk, r in expected.items() if pred(r)]
    return [pk for _, pk in sorted(cands)[:k]]


def check(client, name, expected: dict, query) -> None:
    got = client.query(name, filter="id >= 0", output_fields=["id", "tag", "n"], limit=16384)
    assert {r["id"]: (r["tag"], r["n"]) for r in got} == {
        pk: (r["tag"], r["n"]) for pk, r in expected.items()}
    res = client.search(name, [query.tolist()], limit=5, filter='tag == "odd"',
                        search_params={"metric_type": "L2", "params": {"ef": 256}})
    want = brute_force(expected, query, lambda r: r["tag"] == "odd", 5)
    assert [h["id"] for h in res[0]] == want


def test_core_workload_on_etcd_survives_restart(kite_factory, tmp_path, etcd):
    root = unique("kite")
    srv = kite_on_etcd(kite_factory, tmp_path, etcd, root).start()
    client = srv.client()
    rng = np.random.default_rng(7)
    name = unique("on_etcd")
    create_loaded(client, name)
    expected = {r["id"]: r for r in rows(range(300), rng, 0)}
    client.insert(name, list(expected.values()))
    up = rows(range(250, 350), rng, 1)
    client.upsert(name, up)
    expected.update({r["id"]: r for r in up})
    client.delete(name, filter="id in [1, 2, 3, 300, 301]")
    for pk in (1, 2, 3, 300, 301):
        expected.pop(pk)
    client.flush(name)
    query = rng.random(DIM).astype(np.float32)
    check(client, name, expected, query)
    desc = client.describe_collection(name)
    client.close()

    # The metadata lives in etcd under rootPath/metaSubPath, not in the data dir.
    keys = etcd.keys_under(f"{root}/meta/")
    assert keys, "no key under rootPath/metaSubPath in etcd"
    assert any(name.encode() in v for v in keys.values()), "the collection is not in etcd"
    assert not (srv.data_dir / "meta").exists()

    srv.restart()
    client = srv.client()
    assert client.describe_collection(name) == desc
    client.load_collection(name)
    check(client, name, expected, query)
    # DDL after the restart: ids are not handed out twice.
    other = unique("after")
    client.create_collection(other, schema=schema())
    assert client.describe_collection(other)["collection_id"] != desc["collection_id"]
    client.close()


def test_etcd_down_fails_ddl_clearly_reads_go_on(kite_factory, tmp_path, etcd):
    timeout_ms = 2000
    srv = kite_on_etcd(kite_factory, tmp_path, etcd, unique("kite"), timeout_ms=timeout_ms).start()
    client = srv.client()
    rng = np.random.default_rng(11)
    name = unique("loaded")
    create_loaded(client, name)
    expected = {r["id"]: r for r in rows(range(200), rng, 0)}
    client.insert(name, list(expected.values()))
    client.flush(name)
    query = rng.random(DIM).astype(np.float32)
    check(client, name, expected, query)

    etcd.stop(crash=True)
    t0 = time.monotonic()
    with pytest.raises(MilvusException) as info:
        client.create_collection(unique("during"), schema=schema())
    took = time.monotonic() - t0
    assert info.value.code == SERVICE_UNAVAILABLE, info.value
    assert info.value.message.startswith("service unavailable: "), info.value.message
    assert "meta store (etcd) unavailable" in info.value.message and etcd.endpoint in info.value.message, \
        info.value.message
    assert took < timeout_ms / 1000 * 3 + 5, f"DDL took {took:.1f}s with etcd down"
    # Loaded data is still served.
    check(client, name, expected, query)

    etcd.start()
    again = unique("after")
    client.create_collection(again, schema=schema())
    assert again in client.list_collections()
    check(client, name, expected, query)
    client.close()


@pytest.mark.parametrize("text,needle", [
    ("metastore:\n  type: tikv\n", "metastore.type"),
    ("etcd:\n  endpoints: https://127.0.0.1:2379\n", "etcd.endpoints"),
    ("etcd:\n  endpoints: 127.0.0.1:2379\n  ssl:\n    enabled: true\n    tlsMinVersion: 1.4\n",
     "etcd.ssl.tlsMinVersion: unknown TLS version,1.4"),
    ("etcd:\n  endpoints: 127.0.0.1:2379\n  auth:\n    enabled: true\n", "etcd.auth.userName"),
    ("etcd:\n  endpoints: 127.0.0.1:2379\n  requestTimeout: 0\n", "etcd.requestTimeout"),
])
def test_unsupported_meta_store_config_is_refused(kite_bin, tmp_path, text, needle):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert needle in proc.stderr, proc.stderr


def test_unreachable_etcd_stops_the_start_clearly(kite_bin, tmp_path):
    cfg = tmp_path / "down.yaml"
    endpoint = f"127.0.0.1:{free_port()}"  # nothing listens there
    cfg.write_text(f"etcd:\n  endpoints: {endpoint}\n  requestTimeout: 1000\n")
    t0 = time.monotonic()
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg),
                           "--port", str(free_port()), "--metrics-port", str(free_port())],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "meta store (etcd) unavailable" in proc.stderr and endpoint in proc.stderr, proc.stderr
    assert time.monotonic() - t0 < 20


def test_kill9_during_writes_on_etcd_loses_no_acknowledged_write(kite_factory, tmp_path, etcd):
    root = unique("kite")
    srv = kite_on_etcd(kite_factory, tmp_path, etcd, root).start()
    client = srv.client()
    rng = np.random.default_rng(3)
    name = unique("crash")
    client.create_collection(name, schema=schema())
    acked = {}
    deleted = set()
    for batch in range(12):
        ids = range(batch * 50, batch * 50 + 50)
        new = rows(ids, rng, batch)
        client.insert(name, new)  # acknowledged once it returns
        acked.update({r["id"]: r for r in new})
        if batch % 3 == 2:
            gone = [batch * 50 + 1, batch * 50 + 7]
            client.delete(name, ids=gone)
            deleted.update(gone)
            client.flush(name)  # segment records and checkpoints go to etcd
    client.close()
    srv.kill9()
    assert any(k.startswith(f"{root}/meta/kite/chk/") for k in etcd.keys_under(f"{root}/meta/")), \
        "no flush checkpoint in etcd"
    assert not (srv.data_dir / "meta").exists()

    srv.start()
    client = srv.client()
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_index(name, ip)
    client.load_collection(name)
    got = client.query(name, filter="id >= 0", output_fields=["id", "n"], limit=16384)
    want = {pk: r["n"] for pk, r in acked.items() if pk not in deleted}
    assert {r["id"]: r["n"] for r in got} == want
    client.close()


def test_endpoint_list_fails_over_to_the_live_etcd(kite_factory, tmp_path, etcd):
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    root = unique("kite")
    cfg = tmp_path / "list.yaml"
    cfg.write_text(f"etcd:\n  endpoints:\n    - {dead}\n    - {etcd.endpoint}\n  rootPath: {root}\n"
                   f"  requestTimeout: 2000\n")
    srv = kite_factory(name="list", extra_args=["--config", str(cfg)]).start()
    client = srv.client()
    name = unique("failover")
    client.create_collection(name, schema=schema())
    assert name in client.list_collections()
    assert any(name.encode() in v for v in etcd.keys_under(f"{root}/meta/").values())
    client.close()


def test_a_second_kite_on_the_same_etcd_cannot_run_a_second_coordinator(kite_factory, tmp_path, etcd):
    """Sessions (issue 16): the first Kite holds session/mixcoord under its lease;
    a second one on the same etcd root is refused, naming the key, instead of
    writing the same meta; once the first stops its session is revoked and the
    second starts at once; the sessions of every role are in etcd meanwhile."""
    def on_etcd(name: str):
        cfg = tmp_path / f"{name}.yaml"
        cfg.write_text(f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: shared\n"
                       "common:\n  session:\n    ttl: 30\n    retryTimes: 2\n")
        return kite_factory(name=name, extra_args=["--config", str(cfg)])

    first = on_etcd("first").start()
    keys = etcd.keys_under("shared/meta/session/")
    names = {k.rsplit("/", 1)[-1].rstrip("0123456789").rstrip("-") for k in keys}
    assert {"mixcoord", "proxy", "streamingnode", "querynode", "datanode"} <= names, sorted(keys)
    second = on_etcd("second")
    proc = subprocess.run(second.command(), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "mixcoord" in (proc.stdout + proc.stderr), proc.stderr[-2000:]
    first.stop()  # graceful: the sessions' lease is revoked
    assert not [k for k in etcd.keys_under("shared/meta/session/") if not k.endswith("/id")], \
        etcd.keys_under("shared/meta/session/")
    second.start()
    c = second.client()
    c.create_collection(unique("after"), dimension=DIM)
