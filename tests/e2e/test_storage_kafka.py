"""`kite standalone` with its WAL on a real Apache Kafka broker (mq.type: kafka; meta store and
object store embedded): the core of the suite, a restart that replays the log from Kafka, the
broker stopped and started under writes, and two servers given the same channels (fencing).

The broker is one per session (conftest.py `kafka_broker`); every server gets its own topic
prefix (msgChannel.chanNamePrefix.cluster) so tests never see each other's topics.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient, MilvusException

from e2e_util import unique

DIM = 8
SERVICE_UNAVAILABLE = 2  # merr ErrServiceUnavailable (retriable)
CHANNEL_NOT_AVAILABLE = 503  # merr ErrChannelNotAvailable
READ_TIMEOUT_S = 3  # kafka.readTimeout for these servers: how long an append may wait


def kafka_config(tmp_path: Path, broker, prefix: str) -> Path:
    path = tmp_path / f"kite-{prefix}.yaml"
    path.write_text(
        "mq:\n  type: kafka\n"
        f"kafka:\n  brokerList: {broker.address}\n  readTimeout: {READ_TIMEOUT_S}\n"
        f"msgChannel:\n  chanNamePrefix:\n    cluster: {prefix}\n")
    return path


def new_kafka_server(kite_factory, tmp_path, broker, name: str, prefix: str | None = None, data_dir=None):
    prefix = prefix or f"kt{uuid.uuid4().hex[:10]}"
    cfg = kafka_config(tmp_path, broker, prefix)
    return kite_factory(name, data_dir=data_dir, extra_args=["--config", str(cfg)])


def schema():
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("tag", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    return s


def rows(ids, tag_of, rng):
    return [{"id": int(i), "tag": int(tag_of(i)), "vector": rng.random(DIM).astype(np.float32).tolist()}
            for i in ids]


def tags_by_id(client, name, expr="id >= 0"):
    got = client.query(name, filter=expr, output_fields=["tag"], consistency_level="Strong", limit=16384)
    return {r["id"]: r["tag"] for r in got}


def wal_dir_channels(server) -> list:
    wal = server.data_dir / "wal"
    return sorted(p.name for p in wal.iterdir()) if wal.is_dir() else []


def test_core_on_kafka_survives_restart(kite_factory, tmp_path, kafka_broker):
    rng = np.random.default_rng(7)
    srv = new_kafka_server(kite_factory, tmp_path, kafka_broker, "core").start()
    c = srv.client()
    name = unique("kafka_core")
    c.create_collection(name, schema=schema(), num_shards=2)

    expected = {}
    c.insert(name, rows(range(0, 300), lambda i: i % 7, rng))
    expected.update({i: i % 7 for i in range(0, 300)})
    c.upsert(name, rows(range(0, 20), lambda i: 100 + i, rng))
    expected.update({i: 100 + i for i in range(0, 20)})
    c.delete(name, filter="id in [20, 21, 22, 23, 24]")
    for i in range(20, 25):
        expected.pop(i)
    c.flush(name)

    index = c.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    c.create_index(name, index)
    c.load_collection(name)

    # Written after the flush: only in the WAL (Kafka) until the next flush.
    c.insert(name, rows(range(300, 400), lambda i: i % 7, rng))
    expected.update({i: i % 7 for i in range(300, 400)})
    c.delete(name, filter="id in [300, 301]")
    expected.pop(300)
    expected.pop(301)

    def check(client):
        assert tags_by_id(client, name) == expected
        probe = rng.random(DIM).astype(np.float32).tolist()
        hits = client.search(name, data=[probe], limit=10, filter="tag == 3", output_fields=["tag"],
                             search_params={"metric_type": "L2", "params": {"ef": 64}},
                             consistency_level="Strong")[0]
        want = sum(1 for t in expected.values() if t == 3)
        assert len(hits) == min(10, want)
        assert all(h["entity"]["tag"] == 3 for h in hits)

    check(c)
    # The WAL is not on local disk: no channel directory under <data>/wal.
    assert wal_dir_channels(srv) == []
    c.close()

    srv.restart()
    c = srv.client()
    c.load_collection(name)
    check(c)
    c.drop_collection(name)
    c.close()


def test_kafka_down_writes_fail_retriably_and_recover_without_loss(kite_factory, tmp_path, kafka_broker):
    rng = np.random.default_rng(11)
    srv = new_kafka_server(kite_factory, tmp_path, kafka_broker, "outage").start()
    c = srv.client()
    name = unique("kafka_outage")
    c.create_collection(name, schema=schema(), num_shards=1)
    index = c.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_index(name, index)
    c.load_collection(name)
    c.insert(name, rows(range(0, 50), lambda i: 1, rng))
    acked = set(range(0, 50))

    kafka_broker.stop()
    try:
        start = time.monotonic()
        with pytest.raises(MilvusException) as info:
            c.insert(name, rows(range(50, 60), lambda i: 2, rng), timeout=60)
        waited = time.monotonic() - start
        assert info.value.code == SERVICE_UNAVAILABLE, (info.value.code, info.value.message)
        assert "service unavailable" in info.value.message
        assert "kafka" in info.value.message.lower()
        # Bounded by kafka.readTimeout (and the retries of the client), never a hang.
        assert waited < 10 * READ_TIMEOUT_S, waited
        # Reads of what was written go on.
        assert len(tags_by_id(c, name)) >= 50
    finally:
        kafka_broker.start()

    # Writes work again once Kafka is back (the client reconnects within a few seconds).
    deadline = time.monotonic() + 60
    while True:
        try:
            c.insert(name, rows(range(60, 70), lambda i: 3, rng))
            break
        except MilvusException as e:
            assert e.code == SERVICE_UNAVAILABLE, (e.code, e.message)
            assert time.monotonic() < deadline, f"writes still failing after Kafka came back: {e.message}"
    acked.update(range(60, 70))
    c.close()

    # No acknowledged write lost: everything acked is there after a restart (replayed from Kafka).
    srv.restart()
    c = srv.client()
    c.load_collection(name)
    got = tags_by_id(c, name)
    assert acked <= set(got), sorted(acked - set(got))
    # The failed batch (ids 50..59) had an unknown outcome: all of it or none of it.
    failed = {i for i in got if 50 <= i < 60}
    assert failed in (set(), set(range(50, 60)))
    c.drop_collection(name)
    c.close()


def test_second_server_on_the_same_channels_fences_the_first(kite_factory, tmp_path, kafka_broker):
    """Two Kite processes given the same channels (same topics, a copy of the same metadata):
    the one that opened them last owns them; the other's writes fail and are never replayed."""
    import shutil

    rng = np.random.default_rng(5)
    prefix = f"kf{uuid.uuid4().hex[:10]}"
    a = new_kafka_server(kite_factory, tmp_path, kafka_broker, "a", prefix=prefix).start()
    ca = a.client()
    name = unique("kafka_fence")
    ca.create_collection(name, schema=schema(), num_shards=1)
    index = ca.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    ca.create_index(name, index)
    ca.load_collection(name)
    ca.insert(name, rows(range(0, 10), lambda i: 1, rng))
    ca.close()
    a.stop()
    # B gets a copy of A's metadata: the same collection, the same channels.
    b_dir = tmp_path / "b-data"
    shutil.copytree(a.data_dir, b_dir, ignore=shutil.ignore_patterns("LOCK"))
    b = new_kafka_server(kite_factory, tmp_path, kafka_broker, "b", prefix=prefix, data_dir=b_dir)

    a.start()  # A owns the channels again (a newer term than its first start)
    ca = a.client()
    ca.insert(name, rows(range(10, 20), lambda i: 2, rng))

    # B takes the channels over: its copied term counter is behind A's, so its first open meets
    # A's term and refuses; its next start has a newer term than A and wins.
    b_started = False
    for _ in range(3):
        try:
            b.start(deadline_s=60)
            b_started = True
            break
        except BaseException:  # noqa: BLE001 - pytest.fail from wait_ready: B refused the channel
            b.stop(check=False)
    assert b_started, b.log_tail()
    cb = b.client()
    cb.load_collection(name)
    assert set(tags_by_id(cb, name)) == set(range(0, 20))

    # A is fenced: its appends fail and nothing of them reaches B.
    with pytest.raises(MilvusException) as info:
        ca.insert(name, rows(range(100, 110), lambda i: 9, rng))
    assert info.value.code == CHANNEL_NOT_AVAILABLE, (info.value.code, info.value.message)
    cb.insert(name, rows(range(20, 30), lambda i: 3, rng))
    ca.close()
    a.stop()
    b.restart()
    cb = b.client()
    cb.load_collection(name)
    assert set(tags_by_id(cb, name)) == set(range(0, 30))
    cb.drop_collection(name)
    cb.close()
