"""`kite standalone` on all three distributed engines at once (issue 15): meta store on etcd, segment
and index files on S3 (the Versity gateway), the WAL on Kafka. Nothing of the data lives in the data
directory: the core of the suite (DDL, insert / upsert / delete, filtered search, index, compaction,
query) and a restart that recovers from the three services.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import unique, wait_until
from etcd_util import EtcdProcess
from s3_server import VersityS3

DIM = 8


@pytest.fixture
def services(tmp_path, kafka_broker):
    etcd = EtcdProcess(tmp_path / "etcd").start()
    s3 = VersityS3(tmp_path / "s3").start()
    yield etcd, s3, kafka_broker
    s3.stop()
    etcd.stop()


def config(tmp_path, etcd, s3, broker) -> str:
    path = tmp_path / "kite-all.yaml"
    path.write_text(
        f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: kite{uuid.uuid4().hex[:8]}\n"
        + s3.kite_config()
        + f"mq:\n  type: kafka\nkafka:\n  brokerList: {broker.address}\n  readTimeout: 5\n"
        + f"msgChannel:\n  chanNamePrefix:\n    cluster: kt{uuid.uuid4().hex[:10]}\n"
        + "dataCoord:\n  compaction:\n    mix:\n      triggerInterval: 1\n")
    return str(path)


def test_core_on_etcd_s3_and_kafka_survives_restart(kite_factory, tmp_path, services):
    etcd, s3, broker = services
    srv = kite_factory("all", extra_args=["--config", config(tmp_path, etcd, s3, broker)]).start()
    c = srv.client()
    name = unique("all_engines")
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("tag", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    c.create_collection(name, schema=s, num_shards=2, consistency_level="Strong")
    rng = np.random.default_rng(5)
    vecs = {}

    def put(ids, tag_of, upsert=False):
        rows = []
        for i in ids:
            vecs[i] = rng.random(DIM).astype(np.float32)
            rows.append({"id": int(i), "tag": int(tag_of(i)), "vector": vecs[i].tolist()})
        (c.upsert if upsert else c.insert)(name, rows)

    expected = {}
    for start in (0, 200):  # two flushed segments: something to compact
        put(range(start, start + 200), lambda i: i % 5)
        expected.update({i: i % 5 for i in range(start, start + 200)})
        c.flush(name)
    put(range(0, 30), lambda i: 100 + i, upsert=True)
    expected.update({i: 100 + i for i in range(0, 30)})
    c.delete(name, filter="id in [40, 41, 42]")
    for i in (40, 41, 42):
        expected.pop(i)
    ip = c.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    c.create_index(name, ip)
    c.load_collection(name)
    put(range(400, 450), lambda i: i % 5)  # only in the WAL (Kafka) until the next flush
    expected.update({i: i % 5 for i in range(400, 450)})

    def check(client):
        got = client.query(name, filter="id >= 0", output_fields=["tag"], limit=16384)
        assert {r["id"]: r["tag"] for r in got} == expected
        q = rng.random(DIM).astype(np.float32)
        hits = client.search(name, data=[q.tolist()], limit=5, filter="tag == 3", output_fields=["tag"],
                             search_params={"metric_type": "L2", "params": {"ef": 400}})[0]
        want = sorted((float(((vecs[i] - q) ** 2).sum()), i) for i, t in expected.items() if t == 3)[:5]
        assert [h["id"] for h in hits] == [i for _, i in want]

    check(c)
    job = c.compact(name)
    assert wait_until(lambda: str(c.get_compaction_state(job)) == "Completed", timeout_s=120), "compaction"
    check(c)
    # Nothing of the data is in the data directory: no meta store, no WAL channel, no object.
    assert not (srv.data_dir / "meta").exists()
    wal = srv.data_dir / "wal"
    assert not wal.exists() or not any(wal.iterdir())
    objects = srv.data_dir / "objects"
    assert not objects.exists() or not any(p.is_file() for p in objects.rglob("*"))
    assert s3.object_files(), "no object reached S3"
    c.close()

    srv.restart()
    c = srv.client()
    c.load_collection(name)
    check(c)
    c.close()
