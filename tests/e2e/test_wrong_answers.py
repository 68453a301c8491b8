"""Answers that used to be wrong without any error (issue 20, items 1-5, 10, 11).

Each test states Milvus 2.6's behaviour (the reference) and checks Kite returns the same,
through pymilvus as a user would call it. Every one of them failed on the code before its fix.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
from pymilvus import DataType, MilvusClient

from e2e_util import assert_code, assert_msg, server_error, unique

DIM = 8
COLLECTION_NOT_LOADED = 101
PARTITION_NOT_LOADED = 202


def vec(rng, n=1):
    return rng.random((n, DIM), dtype=np.float32)


def make(client: MilvusClient, name: str, auto_id=False, nullable_field=False, index=True, load=True):
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=auto_id)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("tag", DataType.VARCHAR, max_length=32, nullable=nullable_field)
    ip = None
    if index:
        ip = client.prepare_index_params()
        ip.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    if not load:
        client.release_collection(name)


def count(client, name, **kw):
    return client.query(name, filter="", output_fields=["count(*)"], **kw)[0]["count(*)"]


# ---------------------------------------------------------------- 1. upsert with auto_id

def test_upsert_into_auto_id_collection_generates_new_keys(module_client):
    c, name = module_client, unique("auto_upsert")
    rng = np.random.default_rng(1)
    make(c, name, auto_id=True)
    ins = c.insert(name, [{"vector": v.tolist(), "tag": f"t{i}"} for i, v in enumerate(vec(rng, 3))])
    old = list(ins["ids"])
    res = c.upsert(name, [{"id": old[0], "vector": vec(rng)[0].tolist(), "tag": "new"}])
    new = list(res["ids"])
    # Milvus 2.6: the row is stored under a newly generated key (returned), the sent key is deleted.
    assert len(new) == 1 and new[0] not in old, (old, new)
    rows = c.query(name, filter="id >= 0", output_fields=["tag"])
    by_id = {r["id"]: r["tag"] for r in rows}
    assert by_id == {old[1]: "t1", old[2]: "t2", new[0]: "new"}, by_id
    # Upserting a key that does not exist just inserts under a new key.
    res2 = c.upsert(name, [{"id": 123456789, "vector": vec(rng)[0].tolist(), "tag": "x"}])
    assert res2["ids"][0] != 123456789
    assert count(c, name) == 4


def test_upsert_into_auto_id_collection_without_key_is_refused(module_client, module_server):
    # pymilvus refuses this client-side; the REST API lets it reach the server.
    c, name = module_client, unique("auto_upsert_nokey")
    make(c, name, auto_id=True)
    r = requests.post(f"{module_server.uri}/v2/vectordb/entities/upsert", timeout=10,
                      json={"collectionName": name, "data": [{"vector": [0.5] * DIM, "tag": "a"}]})
    body = r.json()
    assert body["code"] != 0 and "`id`" in body["message"], body
    assert count(c, name) == 0


def test_auto_id_upsert_across_shards_stays_deletable(module_client):
    # The new key and the old key hash to different shards: the new row must live in the
    # shard of its own key, or a later delete of that key would miss it.
    c, name = module_client, unique("auto_upsert_shards")
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    ip = c.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=s, index_params=ip, num_shards=4, consistency_level="Strong")
    rng = np.random.default_rng(3)
    old = list(c.insert(name, [{"vector": v.tolist()} for v in vec(rng, 40)])["ids"])
    new = list(c.upsert(name, [{"id": k, "vector": vec(rng)[0].tolist()} for k in old])["ids"])
    assert not set(new) & set(old)
    assert sorted(r["id"] for r in c.query(name, filter="id >= 0")) == sorted(new)
    c.delete(name, ids=new)
    assert count(c, name) == 0


# ------------------------------------------------------ 2. upsert stays in its partition

def test_upsert_replaces_only_inside_the_target_partition(module_client):
    c, name = module_client, unique("upsert_part")
    rng = np.random.default_rng(4)
    make(c, name)
    c.create_partition(name, "pa")
    c.create_partition(name, "pb")
    c.insert(name, [{"id": 1, "vector": vec(rng)[0].tolist(), "tag": "in_a"}], partition_name="pa")
    c.upsert(name, [{"id": 1, "vector": vec(rng)[0].tolist(), "tag": "in_b"}], partition_name="pb")
    # Milvus deletes the key only in the partition the upsert targets: pa's row remains.
    # (A query over both partitions returns one row per key, as Milvus's reduce does.)
    def tags(part):
        return [r["tag"] for r in c.query(name, filter="id == 1", output_fields=["tag"], partition_names=[part])]

    assert tags("pa") == ["in_a"]
    assert tags("pb") == ["in_b"]
    assert len(c.query(name, filter="id == 1")) == 1
    # ... and an upsert into pa replaces pa's row, leaving pb's.
    c.upsert(name, [{"id": 1, "vector": vec(rng)[0].tolist(), "tag": "in_a2"}], partition_name="pa")
    assert tags("pa") == ["in_a2"]
    assert tags("pb") == ["in_b"]
    c.flush(name)
    assert tags("pa") == ["in_a2"]
    assert tags("pb") == ["in_b"]


# ------------------------------------------------------------ 3. dropped partitions

@pytest.mark.parametrize("flushed", [False, True], ids=["growing", "flushed"])
def test_dropped_partition_rows_are_gone(server, client, flushed):
    c, name = client, unique("drop_part")
    rng = np.random.default_rng(5)
    make(c, name)
    c.create_partition(name, "gone")
    c.insert(name, [{"id": i, "vector": v.tolist(), "tag": "keep"} for i, v in enumerate(vec(rng, 5))])
    c.insert(name, [{"id": 100 + i, "vector": v.tolist(), "tag": "gone"} for i, v in enumerate(vec(rng, 7))],
             partition_name="gone")
    if flushed:
        c.flush(name)
    assert count(c, name) == 12
    c.release_partitions(name, ["gone"])
    c.drop_partition(name, "gone")
    assert not c.has_partition(name, "gone")

    def check():
        assert count(c, name) == 5
        assert c.get_collection_stats(name)["row_count"] == 5
        assert sorted(r["id"] for r in c.query(name, filter="id >= 0")) == list(range(5))
        hits = c.search(name, data=vec(rng, 1).tolist(), limit=20)[0]
        assert sorted(h["id"] for h in hits) == list(range(5))

    check()
    server.restart()
    c2 = server.client()
    try:
        c2.load_collection(name)
        c = c2
        check()
        # A new partition with the same name starts empty.
        c2.create_partition(name, "gone")
        c2.load_partitions(name, ["gone"])
        assert c2.query(name, filter="id >= 0", partition_names=["gone"]) == []
    finally:
        c2.close()


def test_released_partition_is_not_read(module_client):
    c, name = module_client, unique("rel_part")
    rng = np.random.default_rng(6)
    make(c, name)
    c.create_partition(name, "p2")
    c.insert(name, [{"id": 1, "vector": vec(rng)[0].tolist(), "tag": "a"}])
    c.insert(name, [{"id": 2, "vector": vec(rng)[0].tolist(), "tag": "b"}], partition_name="p2")
    c.release_partitions(name, ["p2"])
    # Milvus reads only the loaded partitions when none is named.
    assert [r["id"] for r in c.query(name, filter="id >= 0")] == [1]
    assert [h["id"] for h in c.search(name, data=vec(rng, 1).tolist(), limit=10)[0]] == [1]
    exc = server_error(c.query, name, filter="id >= 0", partition_names=["p2"])
    assert_code(exc, PARTITION_NOT_LOADED)


# --------------------------------------------------------------- 4. ignore_growing

def test_ignore_growing_on_query_count_and_search(module_client):
    c, name = module_client, unique("ignore_growing")
    rng = np.random.default_rng(7)
    make(c, name)
    c.insert(name, [{"id": i, "vector": v.tolist(), "tag": "sealed"} for i, v in enumerate(vec(rng, 4))])
    c.flush(name)
    c.insert(name, [{"id": 10 + i, "vector": v.tolist(), "tag": "growing"} for i, v in enumerate(vec(rng, 3))])
    assert count(c, name) == 7
    assert count(c, name, ignore_growing=True) == 4
    rows = c.query(name, filter="id >= 0", ignore_growing=True)
    assert sorted(r["id"] for r in rows) == [0, 1, 2, 3]
    q = vec(rng, 1).tolist()
    for kwargs in ({"search_params": {"ignore_growing": True}}, {"ignore_growing": True}):
        hits = c.search(name, data=q, limit=10, **kwargs)[0]
        assert sorted(h["id"] for h in hits) == [0, 1, 2, 3], kwargs
    assert len(c.search(name, data=q, limit=10)[0]) == 7


# ----------------------------------------------------------- 5. offset needs a limit

def test_query_offset_without_limit_is_ignored(module_client):
    c, name = module_client, unique("offset_nolimit")
    rng = np.random.default_rng(8)
    make(c, name)
    c.insert(name, [{"id": i, "vector": v.tolist(), "tag": "x"} for i, v in enumerate(vec(rng, 6))])
    # Milvus parses the offset only when a limit is given.
    rows = c.query(name, filter="id >= 0", offset=2)
    assert sorted(r["id"] for r in rows) == list(range(6))
    rows = c.query(name, filter="id >= 0", offset=2, limit=3)
    assert [r["id"] for r in rows] == [2, 3, 4]


# ------------------------------------------------ 10. "loaded only" list filters

def test_show_collections_and_partitions_in_memory(module_client):
    c = module_client
    loaded, released = unique("shown_loaded"), unique("shown_released")
    make(c, loaded)
    make(c, released, load=False)
    conn = c._get_connection()
    stub, prep = conn._stub, __import__("pymilvus.client.prepare", fromlist=["Prepare"]).Prepare
    from pymilvus.grpc_gen import milvus_pb2

    req = milvus_pb2.ShowCollectionsRequest(type=milvus_pb2.ShowType.InMemory)
    names = set(stub.ShowCollections(req).collection_names)
    assert loaded in names and released not in names
    req = milvus_pb2.ShowCollectionsRequest(type=milvus_pb2.ShowType.All)
    names = set(stub.ShowCollections(req).collection_names)
    assert {loaded, released} <= names
    # Naming a collection that is not loaded is an error (as pymilvus's has/loading checks expect).
    req = milvus_pb2.ShowCollectionsRequest(type=milvus_pb2.ShowType.InMemory, collection_names=[released])
    st = stub.ShowCollections(req).status
    assert st.code == COLLECTION_NOT_LOADED, st

    c.create_partition(loaded, "p_off")
    c.release_partitions(loaded, ["p_off"])
    req = prep.show_partitions_request(loaded, type_in_memory=True)
    parts = list(stub.ShowPartitions(req).partition_names)
    assert parts == ["_default"], parts
    req = prep.show_partitions_request(loaded, type_in_memory=False)
    assert set(stub.ShowPartitions(req).partition_names) == {"_default", "p_off"}
    req = prep.show_partitions_request(loaded, partition_names=["p_off"], type_in_memory=True)
    st = stub.ShowPartitions(req).status
    assert st.code == PARTITION_NOT_LOADED, st


# -------------------------------------------- 11. delete by filter needs a loaded collection

def test_delete_by_filter_on_released_collection(module_client):
    c, name = module_client, unique("del_released")
    rng = np.random.default_rng(9)
    make(c, name)
    c.insert(name, [{"id": i, "vector": v.tolist(), "tag": "old"} for i, v in enumerate(vec(rng, 5))])
    c.flush(name)
    c.insert(name, [{"id": 10 + i, "vector": v.tolist(), "tag": "new"} for i, v in enumerate(vec(rng, 2))])
    c.release_collection(name)
    # Milvus evaluates a filter delete on the loaded data: refused, nothing deleted.
    exc = server_error(c.delete, name, filter="tag in ['old', 'new']")
    assert_code(exc, COLLECTION_NOT_LOADED)
    # Deleting by key needs no load.
    assert c.delete(name, ids=[0])["delete_count"] == 1
    c.load_collection(name)
    assert sorted(r["id"] for r in c.query(name, filter="id >= 0")) == [1, 2, 3, 4, 10, 11]
    assert c.delete(name, filter="tag == 'old'")["delete_count"] == 4
    assert sorted(r["id"] for r in c.query(name, filter="id >= 0")) == [10, 11]


# ---------------------------------------------- 6. three-valued logic through the server

def test_null_three_valued_logic_through_query_and_search(module_client):
    c, name = module_client, unique("kleene")
    rng = np.random.default_rng(10)
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("v", DataType.INT64, nullable=True)
    ip = c.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    vals = [None, 0, 5]
    c.insert(name, [{"id": i, "vector": vec(rng)[0].tolist(), "v": v} for i, v in enumerate(vals)])
    f = "not ((v is null) and ((v is not null) or (v == 0)))"
    # v NULL: TRUE and (FALSE or UNKNOWN) = UNKNOWN; NOT UNKNOWN = UNKNOWN: not returned.
    assert sorted(r["id"] for r in c.query(name, filter=f)) == [1, 2]
    hits = c.search(name, data=vec(rng, 1).tolist(), limit=10, filter=f)[0]
    assert sorted(h["id"] for h in hits) == [1, 2]
    c.flush(name)
    assert sorted(r["id"] for r in c.query(name, filter=f)) == [1, 2]
