"""The role APIs over gRPC (issue 16's adapters, kite.roleTransport: grpc): the read
path proxy -> delegator -> query node crosses the role services' gRPC and answers
exactly as in one process. The same workload runs on two servers, one per
transport, and every answer is compared (and checked against numpy).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import requests
from pymilvus import DataType, MilvusClient

CONFIG = Path(__file__).parent / "configs" / "role_grpc.yaml"
DIM = 16


def workload(c: MilvusClient) -> dict:
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("g", DataType.INT64)
    s.add_field("t", DataType.VARCHAR, max_length=32)
    ip = c.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    c.create_collection("rt", schema=s, index_params=ip, consistency_level="Strong", num_shards=2)
    rng = np.random.default_rng(11)
    vecs = rng.random((600, DIM), dtype=np.float32)
    rows = [{"id": i, "v": vecs[i].tolist(), "g": i % 7, "t": f"r{i}"} for i in range(600)]
    c.insert("rt", rows[:400])
    c.flush("rt")  # sealed on the query node
    c.insert("rt", rows[400:])  # growing at the delegators
    c.delete("rt", ids=list(range(0, 600, 10)))
    q = vecs[[3, 401, 599]]
    out = {
        "search": [[(h["id"], round(h["distance"], 4), h["entity"]["g"]) for h in hits]
                   for hits in c.search("rt", data=q.tolist(), limit=8, output_fields=["g"])],
        "filtered": [[h["id"] for h in hits]
                     for hits in c.search("rt", data=q.tolist(), limit=5, filter="g in [1, 2] and id > 100")],
        "grouped": [[h["entity"]["g"] for h in hits]
                    for hits in c.search("rt", data=q.tolist(), limit=4, group_by_field="g", output_fields=["g"])],
        "query": sorted((r["id"], r["t"]) for r in c.query("rt", filter="id < 50 or id >= 590", output_fields=["t"])),
        "get": sorted(r["id"] for r in c.get("rt", ids=[1, 10, 401, 410, 599])),
        "count": c.query("rt", filter="", output_fields=["count(*)"])[0]["count(*)"],
    }
    # numpy's answer for the plain search: deleted rows excluded.
    live = np.array([i for i in range(600) if i % 10 != 0])
    d = ((vecs[live][None, :, :] - q[:, None, :]) ** 2).sum(-1)
    out["expected_ids"] = [live[np.argsort(row, kind="stable")[:8]].tolist() for row in d]
    return out


def test_reads_over_the_role_grpc_services_answer_as_in_one_process(kite_factory):
    local = kite_factory("inprocess").start()
    remote = kite_factory("grpc", extra_args=["-c", str(CONFIG)]).start()
    cfg = requests.get(f"{remote.metrics_url}/webui/api/config", timeout=10).json()
    flat = str(cfg)
    assert "kite.roleTransport" in flat and "grpc" in flat, flat[:500]
    a = workload(local.client())
    b = workload(remote.client())
    assert [[h[0] for h in hits] for hits in b["search"]] == b["expected_ids"]
    assert b == a
    assert b["count"] == 540
    assert b["get"] == [1, 401, 599]
    # The answers survive a restart of the gRPC-transport server (sealed + replayed growing).
    remote.restart()
    c = remote.client()
    again = c.query("rt", filter="", output_fields=["count(*)"])[0]["count(*)"]
    assert again == 540


def test_concurrent_searches_over_grpc_all_answer(kite_factory):
    """Searches answered on gRPC's callback threads wait for the role services:
    with several in flight at once none may starve the others (a role call that
    waited for a callback on those same threads hung every search at 2 clients)."""
    srv = kite_factory("grpc", extra_args=["-c", str(CONFIG)]).start()
    c = srv.client()
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    ip = c.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    c.create_collection("cc", schema=s, index_params=ip, consistency_level="Strong")
    c.insert("cc", [{"id": i, "v": [i, 1, 2, 3]} for i in range(100)])
    errors, answered = [], []

    def searcher(k: int):
        cl = srv.client()
        try:
            for j in range(40):
                res = cl.search("cc", data=[[float((k * 40 + j) % 100), 1, 2, 3]], limit=1, timeout=20)
                answered.append(res[0][0]["id"] == (k * 40 + j) % 100)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            cl.close()

    threads = [threading.Thread(target=searcher, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "searches over the role gRPC hung"
    assert errors == []
    assert len(answered) == 240 and all(answered)


def test_a_cancelled_or_bad_search_over_grpc_keeps_milvus_errors(kite_factory):
    srv = kite_factory("grpc", extra_args=["-c", str(CONFIG)]).start()
    c = srv.client()
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    c.create_collection("e", schema=s)
    c.insert("e", [{"id": 1, "v": [0, 0, 0, 1]}])
    c.release_collection("e")
    # A refused search keeps Milvus's code and text with the role gRPC in the path.
    try:
        c.search("e", data=[[0, 0, 0, 1]], limit=1)
        raise AssertionError("search on a released collection answered")
    except Exception as e:  # pymilvus MilvusException
        assert getattr(e, "code", None) == 101, repr(e)
        assert "collection not loaded" in str(e), repr(e)
