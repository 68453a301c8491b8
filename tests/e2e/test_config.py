"""The server's YAML config as a user sets it: segment sealing by size and by
idle time (with recovery after kill -9), the WAL sync policy, and a bad value
refused with a message naming the key."""
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

DIM = 32


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kite.yaml"
    path.write_text(text)
    return path


def make_collection(client: MilvusClient, name: str) -> None:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("vec", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


def segment_files(data_dir: Path) -> list:
    return sorted((data_dir / "objects").glob("collections/*/segments/*/ts.bin"))


def test_segments_seal_by_size_and_survive_kill9(kite_factory, tmp_path):
    cfg = write_config(tmp_path, "dataCoord:\n  segment:\n    maxSizeMB: 1\n")
    srv = kite_factory("bysize", extra_args=["--config", str(cfg)]).start()
    client = MilvusClient(srv.uri, dedicated=True)
    make_collection(client, "c")
    rng = np.random.default_rng(3)
    vecs = rng.random((20_000, DIM), dtype=np.float32)
    for lo in range(0, 20_000, 2_000):
        client.insert("c", [{"id": i, "vec": vecs[i]} for i in range(lo, lo + 2_000)])
    client.delete("c", ids=list(range(0, 20_000, 10)))
    # 20k rows x 32 floats is ~2.6 MB of vectors: at 1 MB per segment, several seals ran
    # inside the write path without any flush() call.
    assert len(segment_files(srv.data_dir)) >= 2
    assert client.get_collection_stats("c")["row_count"] == 20_000
    client.close()

    srv.kill9()
    srv.start()
    client = MilvusClient(srv.uri, dedicated=True)
    assert client.query("c", filter="", output_fields=["count(*)"])[0]["count(*)"] == 18_000
    got = client.get("c", ids=[1, 10, 19_999], output_fields=["vec"])
    assert [r["id"] for r in got] == [1, 19_999]
    np.testing.assert_allclose(got[1]["vec"], vecs[19_999], rtol=1e-6)
    client.close()


def test_idle_shard_is_flushed_without_a_flush_call(kite_factory, tmp_path):
    cfg = write_config(tmp_path, "dataCoord:\n  segment:\n    maxIdleTimeSec: 1\n")
    srv = kite_factory("idle", extra_args=["--config", str(cfg)]).start()
    client = MilvusClient(srv.uri, dedicated=True)
    make_collection(client, "c")
    client.insert("c", [{"id": i, "vec": [float(i)] * DIM} for i in range(100)])
    assert segment_files(srv.data_dir) == []
    deadline = time.monotonic() + 10
    while not segment_files(srv.data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(segment_files(srv.data_dir)) == 1
    assert client.query("c", filter="", output_fields=["count(*)"])[0]["count(*)"] == 100
    client.close()


def test_wal_sync_none_is_accepted(kite_factory, tmp_path):
    cfg = write_config(tmp_path, "wal:\n  sync: none\n")
    srv = kite_factory("nosync", extra_args=["--config", str(cfg)]).start()
    client = MilvusClient(srv.uri, dedicated=True)
    make_collection(client, "c")
    client.insert("c", [{"id": 1, "vec": [0.5] * DIM}])
    assert client.get("c", ids=[1])[0]["id"] == 1
    client.close()


@pytest.mark.parametrize("text,key,value", [
    ("wal:\n  sync: sometimes\n", "wal.sync", "sometimes"),
    ("dataCoord:\n  segment:\n    sealProportion: 1.5\n", "dataCoord.segment.sealProportion", "1.5"),
    ("dataCoord:\n  segment:\n    maxSize: 0\n", "dataCoord.segment.maxSize", "0"),
    ("quotaAndLimits:\n  limits:\n    maxGroupSize: 0\n", "quotaAndLimits.limits.maxGroupSize", "0"),
])
def test_bad_config_value_is_refused_with_the_key(kite_bin, tmp_path, text, key, value):
    cfg = write_config(tmp_path, text)
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert key in proc.stderr and value in proc.stderr


def test_segments_seal_at_the_seal_proportion_and_merge_before_indexing(kite_factory, tmp_path):
    # Sealed at 0.125 x 4 MB = 0.5 MB (Milvus: maxSize x sealProportion); the periodic compaction
    # check is pushed out of the test's way, so only the merge-before-index rule can merge them.
    cfg = write_config(tmp_path, "dataCoord:\n  segment:\n    maxSize: 4\n    sealProportion: 0.125\n"
                                 "  compaction:\n    mix:\n      triggerInterval: 3600\n")
    srv = kite_factory("sealprop", extra_args=["--config", str(cfg), "--log-level", "info"]).start()
    client = MilvusClient(srv.uri, dedicated=True)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection("c", schema=schema, consistency_level="Strong")
    rng = np.random.default_rng(5)
    n = 12_000
    vecs = rng.random((n, DIM), dtype=np.float32)
    for lo in range(0, n, 1_000):
        client.insert("c", [{"id": i, "vec": vecs[i]} for i in range(lo, lo + 1_000)])
    client.flush("c")
    inputs = set(segment_files(srv.data_dir))
    sealed = len(inputs)
    # ~1.8 MB of rows at 0.5 MB per segment, without any flush() until the last.
    assert sealed >= 3

    index = client.prepare_index_params()
    index.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_index("c", index)
    deadline = time.time() + 120
    while True:
        d = client.describe_index("c", "vec")
        if d["state"] == "Finished" and d["indexed_rows"] == n:
            break
        assert time.time() < deadline, d
        time.sleep(0.2)
    # All inputs were small: merged into one segment (under maxSize), indexed once. The inputs'
    # files stay until dataCoord.gc.dropTolerance (3 h): readers may still hold them.
    after = set(segment_files(srv.data_dir))
    assert len(after - inputs) == 1 and inputs <= after, after
    assert srv.log_path.read_text().count("index built:") == 1
    client.load_collection("c")
    assert client.query("c", filter="", output_fields=["count(*)"])[0]["count(*)"] == n
    hits = client.search("c", data=[vecs[4321].tolist()], limit=1, search_params={"ef": 64})
    assert hits[0][0]["id"] == 4321
    client.close()


def test_max_group_size_is_the_configured_limit(kite_factory, tmp_path):
    # Milvus's quotaAndLimits.limits.maxGroupSize (default 10) bounds group_size.
    cfg = write_config(tmp_path, "quotaAndLimits:\n  limits:\n    maxGroupSize: 3\n")
    srv = kite_factory("groupsize", extra_args=["--config", str(cfg)]).start()
    client = srv.client()
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("g", DataType.INT64)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("vec", metric_type="L2")
    client.create_collection("c", schema=schema, index_params=index, consistency_level="Strong")
    rng = np.random.default_rng(3)
    client.insert("c", [{"id": i, "g": i % 2, "vec": rng.random(DIM, dtype=np.float32)} for i in range(40)])
    q = rng.random((1, DIM), dtype=np.float32).tolist()
    with pytest.raises(Exception) as e:
        client.search("c", q, limit=2, group_by_field="g", group_size=4)
    assert e.value.code == 1100, e.value
    assert "input group size:4 exceeds configured max group size:3" in e.value.message
    hits = client.search("c", q, limit=2, group_by_field="g", group_size=3, strict_group_size=True,
                         output_fields=["g"])[0]
    assert len(hits) == 6 and sorted(h["entity"]["g"] for h in hits) == [0, 0, 0, 1, 1, 1]
    client.close()
