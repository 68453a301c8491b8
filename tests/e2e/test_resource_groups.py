"""Replicas and resource groups in standalone, answered as Milvus 2.6 standalone answers them (issue 18
item 5): one query node and one streaming node, so load(replica_number>1) is refused with Milvus's
message (utils.AssignReplica, seen by the client through the proxy's "call query coordinator ..."),
describe_replica shows one replica in its resource group, and the resource-group calls keep their
configs and the node's place in meta across a restart. Texts: internal/querycoordv2/meta/
resource_manager.go, pkg/util/merr (codes 300-305).
"""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.client.types import ResourceGroupConfig
from pymilvus.exceptions import MilvusException

from e2e_util import unique

DEFAULT_RG = "__default_resource_group"
DIM = 4


def make_collection(client: MilvusClient, load: bool = True) -> str:
    name = unique("rg")
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    if not load:
        client.release_collection(name)
    client.insert(name, [{"id": i, "vec": [float(i), 0.0, 1.0, 0.0]} for i in range(10)])
    return name


def cfg(requests: int, limits: int, **kw) -> ResourceGroupConfig:
    return ResourceGroupConfig(requests={"node_num": requests}, limits={"node_num": limits}, **kw)


def nodes_of(client: MilvusClient, rg: str) -> int:
    return client.describe_resource_group(rg).num_available_node


def test_load_more_replicas_than_nodes_is_refused_with_milvus_message(server):
    client = server.client()
    name = make_collection(client, load=False)
    with pytest.raises(MilvusException) as e:
        client.load_collection(name, replica_number=2)
    assert e.value.code == 65535
    assert e.value.message == ("call query coordinator LoadCollection: when load 2 replica count: service resource "
                               "insufficient[currentStreamingNode=1][expectedStreamingNode=2]")
    with pytest.raises(MilvusException) as e:
        client.load_partitions(name, ["_default"], replica_number=3)
    assert "when load 3 replica count: service resource insufficient[currentStreamingNode=1][expectedStreamingNode=3]" \
        in e.value.message
    assert client.get_load_state(name)["state"].name == "NotLoad"
    client.load_collection(name, replica_number=1)
    assert len(client.query(name, filter="id >= 0", consistency_level="Strong")) == 10


def test_describe_replica_of_a_loaded_collection(server):
    client = server.client()
    name = make_collection(client)
    replicas = client.describe_replica(name)
    assert len(replicas) == 1
    r = replicas[0]
    assert r.resource_group == DEFAULT_RG
    assert r.id > 0
    assert len(r.group_nodes) == 1
    desc = client.describe_collection(name)
    assert len(r.shards) == desc["num_shards"]
    again = client.describe_replica(name)
    assert again[0].id == r.id  # stable while loaded
    client.release_collection(name)
    assert client.describe_replica(name) == []


def test_default_group_holds_the_node(server):
    client = server.client()
    assert client.list_resource_groups() == [DEFAULT_RG]
    d = client.describe_resource_group(DEFAULT_RG)
    assert d.name == DEFAULT_RG
    assert d.capacity == 1000000
    assert d.num_available_node == 1
    assert d.config.requests.node_num == 0 and d.config.limits.node_num == 1000000
    assert len(d.nodes) == 1


def test_create_group_requesting_a_node_takes_it_and_update_gives_it_back(server):
    client = server.client()
    client.create_resource_group("rg_a", config=cfg(1, 1))
    assert sorted(client.list_resource_groups()) == sorted([DEFAULT_RG, "rg_a"])
    assert nodes_of(client, "rg_a") == 1 and nodes_of(client, DEFAULT_RG) == 0
    a = client.describe_resource_group("rg_a")
    assert a.capacity == 1 and a.config.requests.node_num == 1 and a.config.limits.node_num == 1
    # idempotent with the same config, refused with another
    client.create_resource_group("rg_a", config=cfg(1, 1))
    with pytest.raises(MilvusException) as e:
        client.create_resource_group("rg_a", config=cfg(0, 0))
    assert e.value.code == 301
    assert e.value.message == "resource group already exist, but create with different config[rg=rg_a]"
    client.update_resource_groups({"rg_a": cfg(0, 0)})
    assert nodes_of(client, "rg_a") == 0 and nodes_of(client, DEFAULT_RG) == 1
    client.drop_resource_group("rg_a")
    assert client.list_resource_groups() == [DEFAULT_RG]


def test_illegal_configs_and_undroppable_groups(server):
    client = server.client()
    with pytest.raises(MilvusException) as e:
        client.create_resource_group("rg_bad", config=cfg(2, 1))
    assert e.value.code == 303
    assert e.value.message.startswith(
        "limits node num should not less than requests node num: resource group illegal config[rg=rg_bad]")
    with pytest.raises(MilvusException) as e:
        client.create_resource_group("rg_bad", config=cfg(0, 1, transfer_from=[{"resource_group": "nope"}]))
    assert e.value.code == 303 and "resource group in `TransferFrom` nope not exist" in e.value.message
    assert "rg_bad" not in client.list_resource_groups()
    with pytest.raises(MilvusException) as e:
        client.update_resource_groups({"nope": cfg(0, 0)})
    assert e.value.code == 300 and e.value.message == "resource group not found[rg=nope]"
    with pytest.raises(MilvusException) as e:
        client.drop_resource_group(DEFAULT_RG)
    assert e.value.code == 1100
    assert e.value.message == ("default resource group is not deletable: invalid parameter[expected=not default "
                               "resource group][actual=__default_resource_group]")
    client.create_resource_group("rg_b", config=cfg(0, 1))
    with pytest.raises(MilvusException) as e:
        client.drop_resource_group("rg_b")
    assert e.value.message == ("resource group's limits node num is not 0: invalid parameter[expected=not empty "
                               "resource group][actual=rg_b]")
    client.drop_resource_group("no_such_group")  # idempotent
    with pytest.raises(MilvusException) as e:
        client.describe_resource_group("no_such_group")
    assert e.value.code == 300 and e.value.message == "resource group not found[rg=no_such_group]"


def test_load_into_a_group_and_transfer_replica(server):
    client = server.client()
    name = make_collection(client, load=False)
    client.create_resource_group("rg_empty", config=cfg(0, 0))
    with pytest.raises(MilvusException) as e:
        client.load_collection(name, resource_groups=["rg_empty"])
    assert e.value.message == ("call query coordinator LoadCollection: resource group node not "
                               "enough[rg=rg_empty][currentNodeNum=0][expectedNodeNum=1]")
    with pytest.raises(MilvusException) as e:
        client.load_collection(name, resource_groups=["rg_none"])
    assert e.value.message == "call query coordinator LoadCollection: resource group not found[rg=rg_none]"
    client.create_resource_group("rg_q", config=cfg(1, 1))
    client.load_collection(name, resource_groups=["rg_q"])
    assert client.describe_replica(name)[0].resource_group == "rg_q"
    assert dict(client.describe_resource_group("rg_q").num_loaded_replica) == {name: 1}
    with pytest.raises(MilvusException) as e:
        client.drop_resource_group("rg_q")
    assert e.value.message.startswith("some replicas still loaded in resource group[rg_q], release it first")
    with pytest.raises(MilvusException) as e:
        client.transfer_replica("rg_q", DEFAULT_RG, name, 2)
    assert "only found [1] replicas of collection" in e.value.message
    client.transfer_replica("rg_q", DEFAULT_RG, name, 1)
    assert client.describe_replica(name)[0].resource_group == DEFAULT_RG
    assert dict(client.describe_resource_group(DEFAULT_RG).num_loaded_replica) == {name: 1}
    assert len(client.query(name, filter="id >= 0", consistency_level="Strong")) == 10


def test_transfer_node_between_groups(server):
    from pymilvus import connections, utility
    client = server.client()
    client.create_resource_group("rg_t", config=cfg(0, 0))
    alias = unique("conn")
    connections.connect(alias=alias, uri=server.uri)
    try:
        utility.transfer_node(DEFAULT_RG, "rg_t", 1, using=alias)
        t = client.describe_resource_group("rg_t")
        assert t.num_available_node == 1 and t.config.requests.node_num == 1 and t.config.limits.node_num == 1
        assert nodes_of(client, DEFAULT_RG) == 0
        with pytest.raises(MilvusException) as e:
            utility.transfer_node(DEFAULT_RG, "rg_t", 1, using=alias)
        assert e.value.code == 304
        assert e.value.message == ("resource group node not enough[rg=__default_resource_group]"
                                   "[currentNodeNum=0][expectedNodeNum=1]")
        utility.transfer_node("rg_t", DEFAULT_RG, 1, using=alias)
        assert nodes_of(client, "rg_t") == 0 and nodes_of(client, DEFAULT_RG) == 1
    finally:
        connections.disconnect(alias)


def test_groups_and_replica_placement_survive_restart(server):
    client = server.client()
    name = make_collection(client, load=False)  # created (and loaded) while the default group holds the node
    client.create_resource_group("rg_keep", config=cfg(1, 2, transfer_to=[{"resource_group": DEFAULT_RG}]))
    client.load_collection(name, resource_groups=["rg_keep"])
    replica_id = client.describe_replica(name)[0].id
    server.restart()
    client = server.client()
    assert sorted(client.list_resource_groups()) == sorted([DEFAULT_RG, "rg_keep"])
    k = client.describe_resource_group("rg_keep")
    assert k.config.requests.node_num == 1 and k.config.limits.node_num == 2
    assert [t.resource_group for t in k.config.transfer_to] == [DEFAULT_RG]
    assert k.num_available_node == 1
    r = client.describe_replica(name)
    assert [(x.id, x.resource_group) for x in r] == [(replica_id, "rg_keep")]


def test_resource_groups_over_rest(server):
    import requests
    base = f"http://{server.host}:{server.port}/v2/vectordb/"

    def post(path, body):
        r = requests.post(base + path, json=body, timeout=30)
        assert r.status_code == 200
        return r.json()

    client = server.client()
    name = make_collection(client, load=False)
    assert post("resource_groups/list", {}) == {"code": 0, "data": [DEFAULT_RG]}
    assert post("resource_groups/create", {"name": "rg_r", "config": {"requests": {"node_num": 1},
                                                                       "limits": {"node_num": 1}}})["code"] == 0
    d = post("resource_groups/describe", {"name": "rg_r"})["data"]
    assert d["name"] == "rg_r" and d["numAvailableNode"] == 1 and d["capacity"] == 1
    assert d["config"]["requests"] == {"node_num": 1} and d["config"]["limits"] == {"node_num": 1}
    assert post("resource_groups/describe", {"name": DEFAULT_RG})["data"]["numAvailableNode"] == 0
    r = post("resource_groups/describe", {"name": "rg_nope"})
    assert r["code"] == 300 and r["message"] == "resource group not found[rg=rg_nope]"
    client.load_collection(name, resource_groups=["rg_r"])
    assert post("resource_groups/transfer_replica", {"sourceRgName": "rg_r", "targetRgName": DEFAULT_RG,
                                                     "collectionName": name, "replicaNum": 1})["code"] == 0
    assert client.describe_replica(name)[0].resource_group == DEFAULT_RG
    assert post("resource_groups/alter", {"resource_groups": {"rg_r": {"requests": {"node_num": 0},
                                                                       "limits": {"node_num": 0}}}})["code"] == 0
    assert post("resource_groups/describe", {"name": DEFAULT_RG})["data"]["numAvailableNode"] == 1
    assert post("resource_groups/drop", {"name": "rg_r"})["code"] == 0
    assert post("resource_groups/list", {})["data"] == [DEFAULT_RG]
