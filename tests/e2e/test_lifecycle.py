"""Process lifecycle: persistence across clean restart and kill -9, data-dir lock, SIGTERM,
/healthz, and how an unimplemented RPC is answered.  Each test gets its own server."""

import subprocess
import time
import urllib.request

from pymilvus import MilvusClient, MilvusException
from pymilvus.client.types import LoadState

from e2e_util import (
    UNIMPLEMENTED,
    all_types_schema_a,
    free_port,
    index_param,
    make_simple,
    simple_schema,
)

DB = "lc_db"


def populate(server, client) -> dict:
    """Create one of every kind of metadata object.  Returns describe_collection snapshots."""
    client.create_database(DB, properties={"database.replica.number": 1})
    in_db = server.client(db_name=DB)
    try:
        make_simple(in_db, "in_db", dim=4)
        in_db.create_partition("in_db", "db_part")
    finally:
        in_db.close()

    # quick setup: AUTOINDEX index named "vector", loaded
    client.create_collection("quick", dimension=8)
    client.create_alias("quick", "quick_alias")

    # all field types, properties, partitions, an HNSW index, not loaded
    client.create_collection("rich", schema=all_types_schema_a(), num_shards=2,
                             consistency_level="Strong",
                             properties={"collection.ttl.seconds": "3600"})
    client.create_partition("rich", "p1")
    client.create_partition("rich", "p2")
    ip = MilvusClient.prepare_index_params()
    ip.add_index("fvec", index_type="HNSW", index_name="rich_idx", metric_type="IP",
                 params={"M": 8, "efConstruction": 64})
    client.create_index("rich", ip)
    client.alter_collection_properties("rich", {"collection.ttl.seconds": 600})

    # loaded, then released: must come back NotLoad
    client.create_collection("released", dimension=4)
    client.release_collection("released")

    # renamed and dropped objects must stay renamed / dropped
    make_simple(client, "before_rename")
    client.rename_collection("before_rename", "after_rename")
    make_simple(client, "dropped")
    client.create_partition("after_rename", "gone_part")
    client.drop_partition("after_rename", "gone_part")
    client.drop_collection("dropped")
    client.create_database("dropped_db")
    client.drop_database("dropped_db")

    return {n: client.describe_collection(n) for n in ("quick", "rich", "released", "after_rename")}


def verify(server, client, snapshot: dict) -> None:
    assert set(client.list_collections()) == set(snapshot), client.list_collections()
    for name, before in snapshot.items():
        after = client.describe_collection(name)
        assert after == before, f"describe_collection({name!r}) changed across restart"

    dbs = client.list_databases()
    assert DB in dbs and "default" in dbs and "dropped_db" not in dbs
    assert client.describe_database(DB).get("database.replica.number") == "1"
    in_db = server.client(db_name=DB)
    try:
        assert in_db.list_collections() == ["in_db"]
        assert set(in_db.list_partitions("in_db")) == {"_default", "db_part"}
    finally:
        in_db.close()

    assert set(client.list_partitions("rich")) == {"_default", "p1", "p2"}
    assert client.list_partitions("after_rename") == ["_default"]
    assert client.describe_collection("rich")["properties"].get("collection.ttl.seconds") == "600"

    assert client.describe_alias("quick_alias")["collection_name"] == "quick"
    assert client.list_aliases("quick")["aliases"] == ["quick_alias"]

    assert client.list_indexes("quick") == ["vector"]
    assert client.list_indexes("rich") == ["rich_idx"]
    info = client.describe_index("rich", "rich_idx")
    assert info["field_name"] == "fvec"
    assert index_param(info, "index_type") == "HNSW"
    assert index_param(info, "metric_type") == "IP"
    assert index_param(info, "M") == "8"
    assert index_param(info, "efConstruction") == "64"

    assert client.get_load_state("quick")["state"] == LoadState.Loaded
    assert client.get_load_state("released")["state"] == LoadState.NotLoad
    assert client.get_load_state("rich")["state"] == LoadState.NotLoad

    # The id allocator must not hand out ids again after a restart.
    make_simple(client, "post_restart")
    new_id = client.describe_collection("post_restart")["collection_id"]
    assert new_id not in {d["collection_id"] for d in snapshot.values()}
    client.create_partition("rich", "p3")
    assert "p3" in client.list_partitions("rich")


def test_metadata_survives_clean_restart(server, client):
    snapshot = populate(server, client)
    client.close()
    rc = server.stop()
    assert rc == 0, f"SIGTERM exit code {rc}"
    server.start()
    c2 = server.client()
    try:
        verify(server, c2, snapshot)
    finally:
        c2.close()


def test_metadata_survives_kill9(server, client):
    snapshot = populate(server, client)
    client.close()
    # No grace period: every acknowledged DDL must already be durable.
    server.kill9()
    server.start()
    c2 = server.client()
    try:
        verify(server, c2, snapshot)
        # and once more, after a second crash with new state in between
        c2.create_collection("after_crash", schema=simple_schema(dim=4))
        snapshot["after_crash"] = c2.describe_collection("after_crash")
        snapshot["post_restart"] = c2.describe_collection("post_restart")
    finally:
        c2.close()
    server.kill9()
    server.start()
    c3 = server.client()
    try:
        assert set(c3.list_collections()) == set(snapshot)
        assert c3.describe_collection("after_crash") == snapshot["after_crash"]
        assert "p3" in c3.list_partitions("rich")
    finally:
        c3.close()


def test_second_instance_on_same_data_dir_is_refused(server, client, kite_bin):
    make_simple(client, "mine")
    cmd = [str(kite_bin), "standalone", "--data-dir", str(server.data_dir),
           "--port", str(free_port()), "--metrics-port", str(free_port())]
    started = time.monotonic()
    try:
        second = subprocess.run(cmd, capture_output=True, timeout=15,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(
            f"second instance on a locked data dir kept running for 15 s; "
            f"stderr so far: {e.stderr!r}") from None
    elapsed = time.monotonic() - started
    stderr = second.stderr.decode(errors="replace")
    assert second.returncode != 0, f"second instance exited 0; stderr: {stderr!r}"
    assert "in use" in stderr, f"stderr does not say 'in use': {stderr!r}"
    assert elapsed < 10, f"took {elapsed:.1f}s to give up"
    # The running instance is unaffected.
    assert server.running
    assert "mine" in client.list_collections()
    assert client.get_server_version()


def test_sigterm_exits_zero(server, client):
    make_simple(client, "before_term")
    client.close()
    started = time.monotonic()
    rc = server.stop(timeout=10)
    assert rc == 0, f"exit code after SIGTERM: {rc}"
    assert time.monotonic() - started < 10


def test_healthz(server):
    with urllib.request.urlopen(f"{server.metrics_url}/healthz", timeout=5) as resp:
        assert resp.status == 200
        body = resp.read().decode(errors="replace")
    assert body.strip() == "OK", body


def test_unimplemented_rpc_fails_fast(client):
    """An RPC the foundation server does not implement must come back quickly as a
    MilvusException (a Status with code 10 / "not implemented"), not hang and not as a raw
    gRPC UNIMPLEMENTED error (which pymilvus surfaces as grpc.RpcError, not MilvusException).
    GetReplicateConfiguration (Milvus 2.6 CDC) is used because Kite has no replication
    (ListResourceGroups was, until resource groups came; RunAnalyzer before that)."""
    started = time.monotonic()
    try:
        client.get_replicate_configuration(timeout=10)
    except MilvusException as e:
        elapsed = time.monotonic() - started
        assert e.code == UNIMPLEMENTED or any(
            s in (e.message or "").lower() for s in ("not implemented", "unimplemented")
        ), f"unexpected error code={e.code} message={e.message!r}"
    except Exception as e:  # noqa: BLE001
        raise AssertionError(
            f"expected MilvusException, got {type(e).__module__}.{type(e).__name__}: {e}"
        ) from e
    else:
        raise AssertionError("get_replicate_configuration succeeded; pick an RPC Kite does not implement yet")
    assert elapsed < 5, f"took {elapsed:.1f}s"
