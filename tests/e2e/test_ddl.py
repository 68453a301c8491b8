"""DDL round trips through pymilvus MilvusClient: collections, partitions, aliases, databases,
index metadata, load/release.

All tests share one server (module_client) and use unique object names.
Out of scope here (future features): insert/upsert/delete, search, query, flush, compaction.
"""

from pymilvus import DataType, MilvusClient
from pymilvus.client.types import LoadState

from e2e_util import (
    ALIAS_NAME_CONFLICT,
    ALIAS_EXISTS,
    ALIAS_NOT_FOUND,
    ALL_TYPES_A_EXPECTED,
    ALL_TYPES_B_EXPECTED,
    DATABASE_NOT_FOUND,
    all_types_schema_a,
    all_types_schema_b,
    assert_code,
    assert_msg,
    check_fields,
    fields_by_name,
    index_param,
    make_simple,
    server_error,
    unique,
    UNTYPED_OR_PARAM,
)


def load_state(client, name, partition=""):
    return client.get_load_state(name, partition_name=partition)["state"]


def test_server_version(module_client):
    version = module_client.get_server_version()
    assert isinstance(version, str) and version.strip(), f"bad version {version!r}"


def test_quick_setup(module_client):
    c = module_client
    name = unique("quick")
    c.create_collection(name, dimension=8)

    assert c.has_collection(name) is True
    assert name in c.list_collections()

    desc = c.describe_collection(name)
    assert desc["collection_name"] == name
    # The dynamic field ($meta) is hidden by DescribeCollection in Milvus (proxy
    # describeCollectionTask skips IsDynamic fields); only the two user fields show.
    fields = fields_by_name(desc)
    assert list(fields) == ["id", "vector"], desc["fields"]
    assert fields["id"]["type"] == DataType.INT64
    assert fields["id"].get("is_primary") is True
    assert not fields["id"].get("auto_id", False)
    assert fields["vector"]["type"] == DataType.FLOAT_VECTOR
    assert fields["vector"]["params"] == {"dim": 8}
    assert desc["enable_dynamic_field"] is True
    assert desc["auto_id"] is False
    assert desc["num_shards"] == 1  # Milvus default shards_num when the request sends 0
    assert desc["consistency_level_name"] == "Bounded"  # pymilvus quick-setup default
    assert desc["collection_id"] > 0
    # rootcoord: NumPartitions = len(collection partitions), i.e. 1 (`_default`) here; the
    # Milvus test helper check_describe_collection_property asserts num_partitions == 1.
    assert desc["num_partitions"] == 1
    assert desc["aliases"] == []

    # Quick setup creates one AUTOINDEX/COSINE index named after the field ("vector"):
    # datacoord names an unnamed index after its field (Milvus tests assert
    # list_indexes(...) == ['vector'] after quick setup).
    assert c.list_indexes(name) == ["vector"]
    assert c.list_indexes(name, field_name="vector") == ["vector"]
    idx = c.describe_index(name, "vector")
    assert idx is not None, "describe_index returned None (server said index not found)"
    assert idx["field_name"] == "vector"
    assert idx["index_name"] == "vector"
    assert index_param(idx, "index_type") in ("AUTOINDEX", "HNSW"), idx
    assert index_param(idx, "metric_type") == "COSINE", idx
    assert idx["state"] == "Finished", idx

    assert load_state(c, name) == LoadState.Loaded
    c.drop_collection(name)
    assert c.has_collection(name) is False


def test_full_schema_all_types_round_trip(module_client):
    c = module_client
    name = unique("alltypes_a")
    props = {"collection.ttl.seconds": "3600", "collection.autocompaction.enabled": "true"}
    c.create_collection(name, schema=all_types_schema_a(), num_shards=2,
                        consistency_level="Strong", properties=props)
    desc = c.describe_collection(name)
    assert desc["collection_name"] == name
    assert desc["description"] == "all types, part A"
    assert desc["auto_id"] is True
    assert desc["num_shards"] == 2
    assert desc["consistency_level_name"] == "Strong"
    assert desc["enable_dynamic_field"] is True
    for k, v in props.items():
        assert desc["properties"].get(k) == v, desc["properties"]
    check_fields(desc, ALL_TYPES_A_EXPECTED)
    pk = fields_by_name(desc)["pk"]
    assert pk.get("is_primary") is True and pk.get("auto_id") is True
    assert sum(1 for f in desc["fields"] if f.get("is_primary")) == 1
    # No index was requested: nothing indexed, nothing loaded.
    assert c.list_indexes(name) == []
    assert load_state(c, name) == LoadState.NotLoad

    name_b = unique("alltypes_b")
    c.create_collection(name_b, schema=all_types_schema_b())
    desc_b = c.describe_collection(name_b)
    assert desc_b["description"] == "all types, part B"
    assert desc_b["auto_id"] is False
    assert desc_b["enable_dynamic_field"] is False
    assert desc_b["num_shards"] == 1
    assert desc_b["consistency_level_name"] == "Bounded"
    check_fields(desc_b, ALL_TYPES_B_EXPECTED)
    vpk = fields_by_name(desc_b)["vpk"]
    assert vpk.get("is_primary") is True and not vpk.get("auto_id", False)

    c.drop_collection(name)
    c.drop_collection(name_b)
    assert not ({name, name_b} & set(c.list_collections()))


def test_list_rename_drop_stats_properties(module_client):
    c = module_client
    a, b = unique("coll_a"), unique("coll_b")
    make_simple(c, a)
    make_simple(c, b, dim=4)
    listed = c.list_collections()
    assert a in listed and b in listed

    assert c.get_collection_stats(a) == {"row_count": 0}

    coll_id = c.describe_collection(a)["collection_id"]
    a2 = unique("coll_a_renamed")
    c.rename_collection(a, a2)
    listed = c.list_collections()
    assert a2 in listed and a not in listed
    assert c.has_collection(a) is False
    renamed = c.describe_collection(a2)
    assert renamed["collection_name"] == a2
    assert renamed["collection_id"] == coll_id
    assert fields_by_name(renamed)["vector"]["params"] == {"dim": 8}

    c.alter_collection_properties(a2, {"collection.ttl.seconds": 120})
    assert c.describe_collection(a2)["properties"].get("collection.ttl.seconds") == "120"
    c.alter_collection_properties(a2, {"collection.ttl.seconds": 60})
    assert c.describe_collection(a2)["properties"].get("collection.ttl.seconds") == "60"
    c.drop_collection_properties(a2, ["collection.ttl.seconds"])
    assert "collection.ttl.seconds" not in c.describe_collection(a2)["properties"]

    c.drop_collection(a2)
    c.drop_collection(b)
    listed = c.list_collections()
    assert a2 not in listed and b not in listed
    # Milvus: dropping a collection that does not exist succeeds (dropCollectionTask makes
    # DropCollection idempotent; Milvus test test_milvus_client_drop_collection_not_existed).
    c.drop_collection(unique("never_existed"))


def test_partitions(module_client):
    c = module_client
    name = unique("parts")
    make_simple(c, name)
    assert c.list_partitions(name) == ["_default"]
    assert c.has_partition(name, "_default") is True
    assert c.has_partition(name, "p_missing") is False

    c.create_partition(name, "p1")
    c.create_partition(name, "p2")
    parts = c.list_partitions(name)
    assert set(parts) == {"_default", "p1", "p2"} and len(parts) == 3
    assert c.has_partition(name, "p1") is True
    assert c.get_partition_stats(name, "p1") == {"row_count": 0}
    assert c.get_partition_stats(name, "_default") == {"row_count": 0}
    assert c.describe_collection(name)["num_partitions"] == 3

    # Creating an existing partition again is a no-op in Milvus (rootcoord returns success).
    c.create_partition(name, "p1")
    assert len(c.list_partitions(name)) == 3

    c.drop_partition(name, "p1")
    assert c.has_partition(name, "p1") is False
    assert set(c.list_partitions(name)) == {"_default", "p2"}
    assert c.describe_collection(name)["num_partitions"] == 2
    # Dropping a partition that does not exist succeeds in Milvus
    # (test_milvus_client_drop_partition_not_exist_partition).
    c.drop_partition(name, "p_missing")

    # Milvus: "default partition cannot be deleted" (untyped error -> code 65535).
    e = server_error(c.drop_partition, name, "_default")
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "default partition", "_default")
    assert c.has_partition(name, "_default") is True
    c.drop_collection(name)


def test_aliases(module_client):
    c = module_client
    c1, c2 = unique("alias_target1"), unique("alias_target2")
    make_simple(c, c1)
    make_simple(c, c2, dim=4)
    a = unique("alias")

    c.create_alias(c1, a)
    d = c.describe_alias(a)
    assert d["alias"] == a and d["collection_name"] == c1, d
    assert d.get("db_name", "default") == "default", d
    assert c.list_aliases(c1)["aliases"] == [a]
    assert a in c.list_aliases()["aliases"]
    assert c.list_aliases(c2)["aliases"] == []

    # An alias resolves wherever a collection name is accepted.
    via_alias = c.describe_collection(a)
    assert via_alias["collection_name"] == c1
    assert via_alias["collection_id"] == c.describe_collection(c1)["collection_id"]
    assert a in c.describe_collection(c1)["aliases"]
    assert c.has_collection(a) is True
    assert c.list_partitions(a) == ["_default"]

    c.alter_alias(c2, a)
    assert c.describe_alias(a)["collection_name"] == c2
    assert c.describe_collection(a)["collection_name"] == c2
    assert c.list_aliases(c1)["aliases"] == []
    assert c.list_aliases(c2)["aliases"] == [a]

    # Alias equal to an existing collection name: merr AliasCollectionNameConflict (1601),
    # "alias and collection name conflict[database=default][alias=...]".
    e = server_error(c.create_alias, c2, c1)
    assert_code(e, ALIAS_NAME_CONFLICT)
    assert_msg(e, "conflict", c1)
    # Alias already bound to another collection: merr AliasExist (1602).
    e = server_error(c.create_alias, c1, a)
    assert_code(e, ALIAS_EXISTS)
    assert_msg(e, "alias")
    assert c.describe_alias(a)["collection_name"] == c2

    c.drop_alias(a)
    e = server_error(c.describe_alias, a)
    assert_code(e, ALIAS_NOT_FOUND)
    assert_msg(e, a, "alias not found")
    assert c.list_aliases(c2)["aliases"] == []
    # Milvus: dropping a missing alias succeeds (test_milvus_client_drop_alias_not_existed).
    c.drop_alias(a)
    c.drop_collection(c1)
    c.drop_collection(c2)


def test_databases(module_client, module_server):
    c = module_client
    db = unique("db")
    c.create_database(db, properties={"database.replica.number": 1})
    dbs = c.list_databases()
    assert "default" in dbs and db in dbs
    info = c.describe_database(db)
    assert info["name"] == db
    assert info.get("database.replica.number") == "1", info
    assert c.describe_database("default")["name"] == "default"

    only_there = unique("only_in_db")
    shared = unique("shared_name")
    in_db = module_server.client(db_name=db)
    try:
        make_simple(in_db, only_there)
        make_simple(in_db, shared, dim=4)
        make_simple(c, shared, dim=6)  # same name in another database is a different collection

        assert sorted(in_db.list_collections()) == sorted([only_there, shared])
        default_list = c.list_collections()
        assert only_there not in default_list and shared in default_list
        assert c.has_collection(only_there) is False
        d_in = in_db.describe_collection(shared)
        d_def = c.describe_collection(shared)
        assert fields_by_name(d_in)["vector"]["params"] == {"dim": 4}
        assert fields_by_name(d_def)["vector"]["params"] == {"dim": 6}
        assert d_in["collection_id"] != d_def["collection_id"]

        # Milvus refuses to drop a database that still holds collections
        # ("database:<db> not empty, must drop all collections before drop database").
        e = server_error(c.drop_database, db)
        assert_msg(e, "not empty", "collection")
        assert db in c.list_databases()

        in_db.drop_collection(only_there)
        in_db.drop_collection(shared)
        assert in_db.list_collections() == []
    finally:
        in_db.close()
    c.drop_database(db)
    assert db not in c.list_databases()
    assert shared in c.list_collections()  # default db untouched
    c.drop_collection(shared)

    # A nonexistent database: every call through a client bound to it fails with 800
    # (Connect itself carries no db in pymilvus 2.6, so the constructor succeeds).
    ghost_db = unique("no_such_db")
    ghost = module_server.client(db_name=ghost_db)
    try:
        e = server_error(ghost.list_collections)
        assert_code(e, DATABASE_NOT_FOUND)
        assert_msg(e, ghost_db, "database not found")
        e = server_error(make_simple, ghost, unique("nowhere"))
        assert_code(e, DATABASE_NOT_FOUND)
    finally:
        ghost.close()
    e = server_error(c.describe_database, ghost_db)
    assert_code(e, DATABASE_NOT_FOUND)
    # use_database validates with DescribeDatabase first.
    e = server_error(c.use_database, ghost_db)
    assert_code(e, DATABASE_NOT_FOUND)
    assert c.list_collections() is not None  # client still bound to "default"


def test_index_metadata(module_client):
    c = module_client
    name = unique("idx")
    make_simple(c, name)
    assert c.list_indexes(name) == []
    # pymilvus maps "index not found" (code 700) to None.
    assert c.describe_index(name, "nope") is None
    assert load_state(c, name) == LoadState.NotLoad

    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", index_name="vec_hnsw", metric_type="L2",
                 params={"M": 16, "efConstruction": 200})
    c.create_index(name, ip)
    assert c.list_indexes(name) == ["vec_hnsw"]
    assert c.list_indexes(name, field_name="vector") == ["vec_hnsw"]
    assert c.list_indexes(name, field_name="id") == []
    info = c.describe_index(name, "vec_hnsw")
    assert info["field_name"] == "vector" and info["index_name"] == "vec_hnsw", info
    assert index_param(info, "index_type") == "HNSW", info
    assert index_param(info, "metric_type") == "L2", info
    assert index_param(info, "M") == "16", info
    assert index_param(info, "efConstruction") == "200", info
    assert info["state"] == "Finished", info

    # Same index again with identical params: Milvus treats it as a no-op.
    c.create_index(name, ip)
    assert c.list_indexes(name) == ["vec_hnsw"]

    c.load_collection(name)
    assert load_state(c, name) == LoadState.Loaded
    # Milvus dropIndexTask.PreExecute: "index cannot be dropped, collection is loaded, please
    # release it first" (untyped error, 65535 in the Milvus tests).
    e = server_error(c.drop_index, name, "vec_hnsw")
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "release", "loaded")
    assert c.list_indexes(name) == ["vec_hnsw"]

    c.release_collection(name)
    c.drop_index(name, "vec_hnsw")
    assert c.list_indexes(name) == []
    assert c.describe_index(name, "vec_hnsw") is None
    c.drop_collection(name)


def test_load_release(module_client):
    c = module_client
    name = unique("loadrel")
    c.create_collection(name, dimension=8)
    assert load_state(c, name) == LoadState.Loaded
    c.release_collection(name)
    assert load_state(c, name) == LoadState.NotLoad
    c.release_collection(name)  # releasing twice is fine in Milvus
    assert load_state(c, name) == LoadState.NotLoad
    c.load_collection(name)
    assert load_state(c, name) == LoadState.Loaded
    c.load_collection(name)  # loading a loaded collection is a no-op
    assert load_state(c, name) == LoadState.Loaded
    c.release_collection(name)
    c.drop_collection(name)
