"""DDL / DML answers that Milvus's own python_client suite (tests/python_client/milvus_client:
collection, partition, alias, database, alter, insert, upsert, delete, index) asserts.

Each case checks the Milvus error code AND a piece of the message text, both taken from
Milvus 2.6's sources (internal/proxy/task*.go validateCollectionName / validatePartitionTag,
rootcoord MetaTable.CheckIfAlias*, CheckIfCollectionRenamable, alterDatabaseTask,
pkg/util/merr wrappers).  merr's wrappers put the reason first and the error after it:
"<reason>: invalid parameter", "<reason>: alias already exist[database=..][alias=..]".
"""

from __future__ import annotations

import numpy as np
import pytest
from pymilvus import MilvusClient

from e2e_util import server_error, unique

BAD_NAMES = ["12-s", "12 s", "(mn)", "中文", "%$#"]
LONG_NAME = "a" * 256


def expect(code: int, text: str, fn, *args, **kwargs):
    """The call fails on the server with exactly `code` and a message containing `text`."""
    exc = server_error(fn, *args, **kwargs)
    assert exc.code == code, f"expected code {code}, got {exc.code}: {exc.message!r}"
    assert text in exc.message, f"{text!r} not in {exc.message!r}"
    return exc


def bad_collection_name(name: str) -> str:
    return (f"Invalid collection name: {name}. the first character of a collection name must be an "
            f"underscore or letter: invalid parameter")


def long_collection_name(name: str) -> str:
    return (f"Invalid collection name: {name}. the length of a collection name must be less than 255 "
            f"characters: invalid parameter")


def rows_of(n: int, dim: int, start: int = 0):
    rng = np.random.default_rng(start + n)
    return [{"id": start + i, "vector": rng.random(dim).astype(np.float32).tolist()} for i in range(n)]


@pytest.fixture(scope="module")
def loaded(module_client: MilvusClient):
    """A quick-setup collection (indexed, loaded) shared by the read-only checks."""
    name = unique("ddl_loaded")
    module_client.create_collection(name, 8, consistency_level="Strong")
    return name


# ------------------------------------------------------------------- collection names
@pytest.mark.parametrize("bad", BAD_NAMES)
def test_malformed_collection_name_is_refused_before_lookup(module_client, bad):
    c = module_client
    msg = bad_collection_name(bad)
    for call in (lambda: c.describe_collection(bad), lambda: c.has_collection(bad),
                 lambda: c.load_collection(bad), lambda: c.release_collection(bad),
                 lambda: c.load_partitions(bad, ["p"]), lambda: c.release_partitions(bad, ["p"]),
                 lambda: c.list_partitions(bad), lambda: c.has_partition(bad, "p"),
                 lambda: c.create_partition(bad, "p"), lambda: c.drop_partition(bad, "p"),
                 lambda: c.create_alias(bad, unique("al")), lambda: c.alter_alias(bad, unique("al")),
                 lambda: c.list_aliases(bad), lambda: c.insert(bad, rows_of(2, 8))):
        expect(1100, msg, call)


def test_over_long_collection_name(module_client):
    c = module_client
    for call in (lambda: c.describe_collection(LONG_NAME), lambda: c.load_collection(LONG_NAME),
                 lambda: c.release_collection(LONG_NAME), lambda: c.create_partition(LONG_NAME, "p"),
                 lambda: c.create_collection(LONG_NAME, 8)):
        expect(1100, long_collection_name(LONG_NAME), call)


def test_blank_collection_name_counts_as_empty(module_client):
    expect(1100, "collection name should not be empty: invalid parameter",
           module_client.create_collection, "  ", 8)


def test_dropping_a_malformed_name_is_a_no_op(module_client):
    # Milvus 2.6 dropCollectionTask skips the name check and is idempotent.
    module_client.drop_collection("12-s")


def test_describe_missing_collection_text(module_client):
    name = unique("ddl_missing")
    expect(100, f"can't find collection[database=default][collection={name}]",
           module_client.describe_collection, name)
    assert module_client.has_collection(name) is False
    # pymilvus describes before inserting: the same text reaches the user.
    expect(100, f"can't find collection[database=default][collection={name}]",
           module_client.insert, name, rows_of(2, 8))


# ------------------------------------------------------------------- partition names
@pytest.mark.parametrize("bad,why", [
    ("12 s", "Partition name can only contain numbers, letters and underscores."),
    ("(mn)", "The first character of a partition name must be an underscore or letter."),
    ("%$#", "The first character of a partition name must be an underscore or letter."),
])
def test_malformed_partition_name(module_client, loaded, bad, why):
    c = module_client
    msg = f"Invalid partition name: {bad}. {why}: invalid parameter"
    for call in (lambda: c.has_partition(loaded, bad), lambda: c.drop_partition(loaded, bad),
                 lambda: c.create_partition(loaded, bad),
                 lambda: c.insert(loaded, rows_of(2, 8), partition_name=bad),
                 lambda: c.upsert(loaded, rows_of(2, 8), partition_name=bad),
                 lambda: c.delete(loaded, ids=[1], partition_name=bad)):
        expect(1100, msg, call)


def test_blank_partition_name_is_empty(module_client, loaded):
    expect(1100, "Invalid partition name: . Partition name should not be empty.",
           module_client.insert, loaded, rows_of(2, 8), partition_name=" ")


def test_over_long_partition_name(module_client, loaded):
    expect(1100, f"Invalid partition name: {LONG_NAME}. The length of a partition name must be less than 255 "
                 f"characters.", module_client.has_partition, loaded, LONG_NAME)


def test_partition_name_checks_leave_valid_names_alone(module_client, loaded):
    c = module_client
    assert c.has_partition(loaded, "no_such_partition") is False
    c.drop_partition(loaded, "no_such_partition")  # dropping a missing partition succeeds
    expect(200, "partition not found[partition=no_such_partition]",
           c.insert, loaded, rows_of(2, 8), partition_name="no_such_partition")


# ------------------------------------------------------------------------- aliases
@pytest.mark.parametrize("bad", ["12-s", "(mn)"])
def test_malformed_alias(module_client, bad):
    msg = (f"Invalid collection alias: {bad}. the first character of a collection alias must be an "
           f"underscore or letter: invalid parameter")
    expect(1100, msg, module_client.drop_alias, bad)
    expect(1100, msg, module_client.describe_alias, bad)


def test_alias_conflicts(module_client):
    c = module_client
    first, second, alias = unique("ddl_c1"), unique("ddl_c2"), unique("ddl_al")
    c.create_collection(first, 8)
    c.create_collection(second, 8)
    c.create_alias(first, alias)
    c.create_alias(first, alias)  # the same alias again is a no-op
    expect(1602, f"{alias} is alias to another collection: {first}: alias already exist"
                 f"[database=default][alias={alias}]", c.create_alias, second, alias)
    # an alias named like a collection
    expect(1601, f"alias and collection name conflict[database=default][alias={second}]",
           c.alter_alias, first, second)
    missing = unique("ddl_gone")
    expect(100, f"collection not found[collection={missing}]", c.alter_alias, missing, alias)
    # rename onto a collection or an alias
    expect(1100, f"duplicated new collection name default:{second} with other collection name or alias",
           c.rename_collection, first, second)
    expect(1601, f"alias and collection name conflict[database=default][alias={alias}]",
           c.rename_collection, second, alias)
    c.drop_alias(alias)
    c.drop_collection(first)
    c.drop_collection(second)


# ------------------------------------------------------------------------ databases
@pytest.mark.parametrize("bad", ["12-s", "(mn)", "  "])
def test_malformed_database_name(module_client, bad):
    msg = f"the first character of a database name must be an underscore or letter: invalid database name[database={bad}]"
    expect(802, msg, module_client.create_database, bad)
    expect(802, msg, module_client.drop_database, bad)


def test_over_long_database_name(module_client):
    expect(802, f"the length of a database name must be less than 255 characters: invalid database name"
                f"[database={LONG_NAME}]", module_client.create_database, LONG_NAME)


@pytest.mark.parametrize("keys", ["", [], {}])
def test_alter_database_with_nothing_to_change(module_client, keys):
    db = unique("ddl_db")
    module_client.create_database(db)
    expect(65535, "alter database requires either properties or deletekeys to modify or delete keys, both "
                  "cannot be empty", module_client.drop_database_properties, db, property_keys=keys)
    module_client.drop_database(db)


# ------------------------------------------------------------- alter collection props
def test_mmap_and_lazyload_need_a_released_collection(module_client):
    c = module_client
    name = unique("ddl_mmap")
    c.create_collection(name, 8)
    for key in ("mmap.enabled", "lazyload.enabled"):
        expect(104, f"can not alter mmap properties if collection loaded: collection already loaded"
                    f"[collection={name}]", c.alter_collection_properties, name, properties={key: True})
        expect(104, f"can not delete mmap properties if collection loaded: collection already loaded"
                    f"[collection={name}]", c.drop_collection_properties, name, property_keys=[key])
    c.drop_collection_properties(name, property_keys=["collection.ttl.seconds"])  # not guarded
    c.release_collection(name)
    c.alter_collection_properties(name, properties={"mmap.enabled": True, "lazyload.enabled": True})
    props = c.describe_collection(name)["properties"]
    assert props.get("mmap.enabled") == "True" and props.get("lazyload.enabled") == "True"
    c.drop_collection_properties(name, property_keys=["mmap.enabled", "lazyload.enabled"])
    assert c.describe_collection(name)["properties"] == {}
    c.drop_collection(name)


# ------------------------------------------------------------------ vector dimension
def test_vector_length_not_a_multiple_of_dim(module_client, loaded):
    # 10 rows of 9 floats: 90 values do not split into rows of 8.
    expect(1100, "the length(90) of float data should divide the dim(8)",
           module_client.insert, loaded, rows_of(10, 9))


def test_vector_dim_differs_from_schema(module_client, loaded):
    # 8 rows of 9 floats: 72 values split into rows of 8, but the data says dim 9.
    expect(1100, "the dim (9) of field data(vector) is not equal to schema dim (8): invalid parameter"
                 "[expected=8][actual=9]", module_client.insert, loaded, rows_of(8, 9))


# ------------------------------------------------------------------------- upsert
def test_upsert_refuses_a_key_twice_in_one_batch(module_client, loaded):
    c = module_client
    rows = rows_of(3, 8, start=500)
    rows[2]["id"] = rows[0]["id"]
    expect(1100, "duplicate primary keys are not allowed in the same batch: invalid parameter",
           c.upsert, loaded, rows)
    # nothing of the refused batch was written
    assert c.query(loaded, filter="id >= 500 and id < 510", output_fields=["id"]) == []
    # an insert may still repeat a key (Milvus keeps both rows until compaction)
    c.insert(loaded, rows)


# ------------------------------------------------------------ dropping loaded partitions
def test_loaded_partition_cannot_be_dropped(module_client):
    # Milvus dropPartitionTask.PreExecute refuses a loaded partition (a plain error, 65535)
    # before rootcoord's default-partition check; a released one drops.
    c = module_client
    name = unique("ddl_drop_loaded")
    c.create_collection(name, 8, consistency_level="Strong")  # indexed and loaded
    c.create_partition(name, "p1")  # a partition of a loaded collection is loaded with it
    loaded_msg = "partition cannot be dropped, partition is loaded, please release it first"
    expect(65535, loaded_msg, c.drop_partition, name, "p1")
    expect(65535, loaded_msg, c.drop_partition, name, "_default")
    assert c.has_partition(name, "p1")
    c.release_partitions(name, ["p1"])
    c.drop_partition(name, "p1")
    assert not c.has_partition(name, "p1")
    c.release_collection(name)
    expect(65535, "default partition cannot be deleted", c.drop_partition, name, "_default")
    c.drop_collection(name)


def test_partition_key_collection_refuses_drop_partition(module_client):
    from pymilvus import DataType
    schema = module_client.create_schema(auto_id=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.INT64, is_partition_key=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    name = unique("ddl_pkey_drop")
    module_client.create_collection(name, schema=schema, num_partitions=4)
    expect(65535, "disable drop partition if partition key mode is used",
           module_client.drop_partition, name, module_client.list_partitions(name)[0])
    module_client.drop_collection(name)


# -------------------------------------------------------------------- partition key
def test_num_partitions_needs_a_partition_key(module_client):
    from pymilvus import DataType
    schema = module_client.create_schema(auto_id=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    name = unique("ddl_nopk")
    expect(65535, "num_partitions should only be specified with partition key field enabled",
           module_client.create_collection, name, schema=schema, num_partitions=200)
    assert not module_client.has_collection(name)


# --------------------------------------------------------- empty partition lists
def test_empty_partition_lists(module_client, loaded):
    expect(65535, "failed to load partition, due to no partition specified",
           module_client.load_partitions, loaded, [])
    expect(1100, "invalid parameter[expected=any partition][actual=empty partition list]",
           module_client.release_partitions, loaded, [])
    # the collection is checked first
    missing = unique("ddl_nocoll")
    expect(100, missing, module_client.release_partitions, missing, [])


# ---------------------------------------------------------------- load without index
def test_load_without_any_index(module_client):
    c = module_client
    name = unique("ddl_noidx")
    c.create_collection(name, 8)
    c.release_collection(name)
    c.drop_index(name, "vector")
    expect(700, f"index not found[collection={name}]", c.load_collection, name)
    c.create_partition(name, "p1")
    expect(700, f"index not found[collection={name}]", c.load_partitions, name, ["p1"])
    c.drop_collection(name)


# ------------------------------------------------------------------------- add field
def test_add_field_refusals(module_client):
    from pymilvus import DataType
    c = module_client
    name = unique("ddl_addf")
    schema = c.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    schema.add_field("varchar", DataType.VARCHAR, max_length=64, is_clustering_key=True)
    c.create_collection(name, schema=schema)
    new = "field_new"
    expect(1100, f"added field must be nullable, please check it, field name = {new}: invalid parameter",
           c.add_collection_field, name, field_name=new, data_type=DataType.INT64, nullable=False)
    expect(1100, f"not support to add partition key field, field name  = {new}: invalid parameter",
           c.add_collection_field, name, field_name=new, data_type=DataType.INT64, nullable=True,
           is_partition_key=True)
    expect(1100, f"the maximum length specified for the field({new}) should be in (0, 65535], but got 65536 "
                 f"instead: invalid parameter",
           c.add_collection_field, name, field_name=new, data_type=DataType.VARCHAR, nullable=True,
           max_length=65536)
    expect(1100, f"already has another clutering key field, field name: {new}: invalid parameter",
           c.add_collection_field, name, field_name=new, data_type=DataType.INT64, nullable=True,
           is_clustering_key=True)
    expect(1100, "duplicate field name: varchar: invalid parameter",
           c.add_collection_field, name, field_name="varchar", data_type=DataType.VARCHAR, nullable=True,
           max_length=64)
    c.drop_collection(name)


def test_add_field_limit_ignores_the_dynamic_field(module_client):
    from pymilvus import DataType
    c = module_client
    name = unique("ddl_addmax")
    c.create_collection(name, 8)  # id, vector and the dynamic field
    # 2 fields + 62 added = 64, the most a collection holds ($meta not counted)
    for i in range(62):
        c.add_collection_field(name, field_name=f"extra_{i}", data_type=DataType.VARCHAR, nullable=True,
                               max_length=8)
    expect(1100, "The number of fields has reached the maximum value 64: invalid parameter",
           c.add_collection_field, name, field_name="extra", data_type=DataType.VARCHAR, nullable=True,
           max_length=8)
    c.drop_collection(name)


# ---------------------------------------------------------------------- alter index
def test_alter_index_refuses_unconfigurable_keys(module_client):
    c = module_client
    name = unique("ddl_altidx")
    c.create_collection(name, 8)
    c.release_collection(name)
    for key in ("index_type", "metric_type", "M"):
        expect(1100, f"{key} is not a configable index proptery: invalid parameter",
               c.alter_index_properties, name, "vector", properties={key: "x"})
    expect(1100, "efConstruction is not a configable index proptery: invalid parameter",
           c.drop_index_properties, name, "vector", property_keys=["efConstruction"])
    c.drop_collection(name)


def test_existing_database(module_client):
    expect(65535, "database already exist: default", module_client.create_database, "default")


# ------------------------------------------------------------------- partial update
def test_partial_update_of_a_new_key_needs_every_required_field(module_client, loaded):
    c = module_client
    expect(1100, "fieldSchema(vector) has no corresponding fieldData pass in: invalid parameter",
           c.upsert, loaded, [{"id": 90001}], partial_update=True)
    assert c.query(loaded, filter="id == 90001", output_fields=["id"]) == []


def test_alias_is_not_a_handle_for_drop_and_list(module_client):
    c = module_client
    name, alias = unique("ddl_alc"), unique("ddl_ala")
    c.create_collection(name, 8)
    c.create_alias(name, alias)
    expect(65535, f"cannot drop the collection via alias = {alias}", c.drop_collection, alias)
    missing = unique("ddl_nolist")
    expect(100, f"collection not found[collection={missing}]", c.list_aliases, missing)
    assert c.list_aliases(name)["aliases"] == [alias]
    c.drop_alias(alias)
    c.drop_collection(name)


# --------------------------------------------------------------------------- indexes
def test_index_calls_check_the_collection_name(module_client, loaded):
    c = module_client
    expect(1100, bad_collection_name("12-s"), c.describe_index, "12-s", "vector")
    expect(1100, bad_collection_name("12-s"), c.drop_index, "12-s", "vector")
    expect(65535, "index cannot be dropped, collection is loaded, please release it first",
           c.drop_index, loaded, "vector")
