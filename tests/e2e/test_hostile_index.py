"""create_index under a continuous insert-and-flush load (issue 20 #19): the wait for the
index (pymilvus's create_index waits by default) finishes once the segments that existed
when it was called are indexed, as Milvus's index state does (datacoord completeIndexInfo
counts segments up to the DescribeIndex timestamp), instead of chasing every new segment."""

from __future__ import annotations

import threading
import time

import numpy as np
from pymilvus import DataType, MilvusClient

from e2e_util import unique

DIM = 16


def test_create_index_finishes_under_continuous_insert_and_flush(client, server):
    name = unique("idx_load")
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=schema)
    rng = np.random.default_rng(5)
    next_id = [0]

    def insert_batch(n):
        vecs = rng.random((n, DIM), dtype=np.float32)
        client.insert(name, [{"id": next_id[0] + i, "vec": vecs[i]} for i in range(n)])
        next_id[0] += n

    insert_batch(3000)
    client.flush(name)
    stop = threading.Event()
    flushes = [0]
    writer_client = MilvusClient(uri=server.uri)

    def writer():
        wrng = np.random.default_rng(6)
        base = 1_000_000
        while not stop.is_set():
            vecs = wrng.random((300, DIM), dtype=np.float32)
            writer_client.insert(name, [{"id": base + i, "vec": vecs[i]} for i in range(300)])
            base += 300
            writer_client.flush(name)
            flushes[0] += 1

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    while flushes[0] < 2:  # the load is running before create_index is called
        time.sleep(0.05)
    done = threading.Event()
    errors = []

    def create():
        try:
            ip = MilvusClient.prepare_index_params()
            ip.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 32})
            client.create_index(name, ip)  # waits for the index state
        except Exception as e:
            errors.append(e)
        finally:
            done.set()

    c = threading.Thread(target=create, daemon=True)
    t0 = time.monotonic()
    c.start()
    finished = done.wait(timeout=120)
    took = time.monotonic() - t0
    flushes_during = flushes[0]
    stop.set()
    w.join(timeout=30)
    assert finished, f"create_index did not return within 120 s under load ({flushes_during} flushes)"
    assert not errors, errors
    info = client.describe_index(name, "vec")
    assert info["state"] == "Finished", info
    # the rows that existed when it was called are indexed
    assert int(info["indexed_rows"]) >= 3000, info
    writer_client.close()
    print(f"create_index returned in {took:.1f} s while {flushes_during} flushes ran")
