"""Collection operations of Milvus 2.6 that Kite answered with code 10 "not implemented"
(issue 18): truncate_collection, flush_all / get_flush_all_state, BatchDescribeCollection,
GetIndexStatistics, get_compaction_plans (GetCompactionStateWithPlans)."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import common_pb2, milvus_pb2

from e2e_util import unique

DIM = 4


def make_loaded(client: MilvusClient, name: str) -> None:
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("n", DataType.INT64)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    ip.add_index("n", index_type="STL_SORT")
    client.create_collection(name, schema=s, index_params=ip)


def rows(start: int, count: int):
    return [{"id": i, "vec": [float(i % 9), 1.0, 2.0, float(i % 4)], "n": i} for i in range(start, start + count)]


def count(client: MilvusClient, name: str) -> int:
    return client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]


def test_truncate_collection_removes_every_row_and_keeps_the_collection(server):
    client = server.client()
    name = unique("trunc")
    make_loaded(client, name)
    client.insert(name, rows(0, 50))
    client.flush(name)                          # sealed
    client.insert(name, rows(50, 20))           # growing
    client.delete(name, ids=[1, 2])
    assert count(client, name) == 68

    client.truncate_collection(name)

    assert count(client, name) == 0
    assert client.query(name, filter="id >= 0", output_fields=["id"], consistency_level="Strong") == []
    hits = client.search(name, [[1.0, 1.0, 2.0, 1.0]], anns_field="vec", limit=10, consistency_level="Strong")[0]
    assert list(hits) == []
    assert client.get_collection_stats(name)["row_count"] == 0
    assert client.get_load_state(name)["state"].name == "Loaded"
    assert sorted(i["index_name"] for i in (client.describe_index(name, f) for f in ("vec", "n"))) == ["n", "vec"]
    # the collection takes new rows, including keys it held before
    client.insert(name, rows(0, 5))
    got = client.query(name, filter="id >= 0", output_fields=["n"], consistency_level="Strong")
    assert sorted(r["id"] for r in got) == list(range(5))
    client.close()
    server.restart()
    client = server.client()
    got = client.query(name, filter="id >= 0", output_fields=["n"], consistency_level="Strong")
    assert sorted(r["id"] for r in got) == list(range(5))        # nothing truncated came back
    client.close()


def test_truncate_missing_collection_is_refused(module_client):
    with pytest.raises(Exception) as info:
        module_client.truncate_collection(unique("nope"))
    assert getattr(info.value, "code", None) == 100, info.value
    assert "collection not found" in str(info.value)


def test_flush_all_persists_every_collection(server):
    client = server.client()
    names = [unique("fa"), unique("fa")]
    for i, name in enumerate(names):
        make_loaded(client, name)
        client.insert(name, rows(i * 100, 30))
    client.flush_all(timeout=30)                 # FlushAll, then GetFlushAllState until flushed
    state = client._get_connection().get_flush_all_state(0)
    assert state is True
    for name in names:
        assert client.get_collection_stats(name)["row_count"] == 30
    client.close()
    server.restart()
    client = server.client()
    for name in names:
        assert count(client, name) == 30
    client.close()


def test_batch_describe_collection_and_index_statistics(module_client):
    a, b = unique("bd"), unique("bd")
    make_loaded(module_client, a)
    make_loaded(module_client, b)
    stub = module_client._get_connection()._stub
    resp = stub.BatchDescribeCollection(
        milvus_pb2.BatchDescribeCollectionRequest(collection_name=[a, b, "missing_" + a]), timeout=10)
    assert resp.status.code == 0
    assert [r.collection_name for r in resp.responses[:2]] == [a, b]
    assert [r.status.code for r in resp.responses] == [0, 0, 100]
    single = module_client.describe_collection(a)
    assert resp.responses[0].collectionID == single["collection_id"]
    assert [f.name for f in resp.responses[0].schema.fields] == ["id", "vec", "n"]

    stats = stub.GetIndexStatistics(milvus_pb2.GetIndexStatisticsRequest(collection_name=a), timeout=10)
    assert stats.status.code == 0
    assert sorted(d.index_name for d in stats.index_descriptions) == ["n", "vec"]
    one = stub.GetIndexStatistics(milvus_pb2.GetIndexStatisticsRequest(collection_name=a, index_name="vec"), timeout=10)
    assert [(d.index_name, d.field_name) for d in one.index_descriptions] == [("vec", "vec")]
    missing = stub.GetIndexStatistics(milvus_pb2.GetIndexStatisticsRequest(collection_name="missing_" + a), timeout=10)
    assert missing.status.code == 100


def test_compaction_plans_follow_the_compaction_job(module_client):
    name = unique("plans")
    make_loaded(module_client, name)
    for start in range(0, 60, 20):
        module_client.insert(name, rows(start, 20))
        module_client.flush(name)
    job = module_client.compact(name)
    plans = module_client.get_compaction_plans(job)
    state = module_client.get_compaction_state(job)
    assert plans.state.name in ("Executing", "Completed")
    assert state in ("Executing", "Completed")


def test_persistent_and_loaded_segments(server):
    client = server.client()
    name = unique("segs")
    make_loaded(client, name)
    client.insert(name, rows(0, 40))
    client.flush(name)
    client.insert(name, rows(40, 10))           # growing
    persistent = client.list_persistent_segments(name)
    flushed = [s for s in persistent if s.state == common_pb2.SegmentState.Flushed]
    growing = [s for s in persistent if s.state == common_pb2.SegmentState.Growing]
    assert sum(s.num_rows for s in flushed) == 40
    assert sum(s.num_rows for s in growing) == 10
    desc = client.describe_collection(name)
    assert {s.collection_id for s in persistent} == {desc["collection_id"]}
    loaded = client.list_loaded_segments(name)
    assert sorted(s.segment_id for s in loaded) == sorted(s.segment_id for s in flushed)
    assert sum(s.num_rows for s in loaded) == 40
    assert all(s.state == common_pb2.SegmentState.Sealed for s in loaded)
    client.close()


def test_get_metrics_system_info_is_milvus_topology(module_client):
    """GetMetrics {"metric_type": "system_info"}: the JSON Attu reads (Milvus metricsinfo
    SystemTopology / BaseComponentInfos field names)."""
    import json
    stub = module_client._get_connection()._stub
    resp = stub.GetMetrics(milvus_pb2.GetMetricsRequest(request=json.dumps({"metric_type": "system_info"})),
                           timeout=10)
    assert resp.status.code == 0
    topo = json.loads(resp.response)
    nodes = topo["nodes_info"]
    types = [n["infos"]["type"] for n in nodes]
    assert "proxy" in types and "querynode" in types and "datanode" in types
    ids = [n["identifier"] for n in nodes]
    assert len(set(ids)) == len(ids)
    proxy = next(n for n in nodes if n["infos"]["type"] == "proxy")
    assert {e["connected_identifier"] for e in proxy["connected"]} <= set(ids)
    for n in nodes:
        infos = n["infos"]
        assert infos["has_error"] is False and infos["name"]
        hw = infos["hardware_infos"]
        assert hw["cpu_core_count"] >= 1 and hw["memory"] > 0 and 0 < hw["memory_usage"] <= hw["memory"]
        assert infos["system_info"]["deploy_mode"] == "STANDALONE"
        assert infos["system_info"]["system_version"] == module_client.get_server_version()
    # Parsed as Milvus's metricsinfo.ParseMetricType: a plain error (65535).
    bad = stub.GetMetrics(milvus_pb2.GetMetricsRequest(request="not json"), timeout=10)
    assert bad.status.code == 65535 and bad.status.reason.startswith("failed to decode the request")
    bad = stub.GetMetrics(milvus_pb2.GetMetricsRequest(request=json.dumps({"type": "system_info"})), timeout=10)
    assert bad.status.code == 65535 and bad.status.reason == "metric_type not found in request"
    # Any other metric type: merr.ErrMetricNotFound.
    for other in ("system_infos", "qc_segment_dist", "dc_import_tasks"):
        bad = stub.GetMetrics(milvus_pb2.GetMetricsRequest(request=json.dumps({"metric_type": other})), timeout=10)
        assert bad.status.code == 1200, bad.status
        assert bad.status.reason == f"metric not found[metric={other}]"
