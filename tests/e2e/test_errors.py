"""Error behaviour: every bad request must come back as a server-side MilvusException with
Milvus's merr code where Milvus uses a typed error (see e2e_util docstring), a message naming
the fault, and nothing half-created.

pymilvus validates some input client-side and raises ParamError / PrimaryKeyException /
DataTypeNotSupportException without sending anything.  Where that happens the test says so and
sends the same request through pymilvus's lower layer (GrpcHandler / the generated stub with
pymilvus's own Prepare) so that Kite's validation is what gets tested.
"""

import numpy as np
import pytest
from pymilvus import CollectionSchema, DataType, FieldSchema, MilvusClient
from pymilvus.client.prepare import Prepare
from pymilvus.client.utils import check_status
from pymilvus.exceptions import ParamError, PrimaryKeyException

from e2e_util import (
    ALIAS_NAME_CONFLICT,
    ALIAS_NOT_FOUND,
    COLLECTION_NOT_FOUND,
    DATABASE_NOT_FOUND,
    INDEX_NOT_FOUND,
    PARAMETER_INVALID,
    PARTITION_NOT_FOUND,
    UNTYPED_OR_PARAM,
    assert_code,
    assert_msg,
    fields_by_name,
    make_simple,
    server_error,
    simple_schema,
    unique,
)

MAX_DIM = 32768
MAX_FIELDS = 64


def raw_create_collection(client: MilvusClient, name: str, schema: CollectionSchema) -> None:
    """CreateCollection without pymilvus's client-side checks (check_pass_param on the name,
    CollectionSchema.verify()).  The request is built by pymilvus's own Prepare, sent on the
    client's channel, and the returned Status goes through pymilvus's check_status."""
    handler = client._get_connection()
    request = Prepare.create_collection_request(name, schema)
    status = handler._stub.CreateCollection(request, timeout=10)
    check_status(status)


def assert_not_created(client: MilvusClient, name: str) -> None:
    assert name not in client.list_collections(), f"{name!r} was (half-)created"


# -- duplicates ------------------------------------------------------------------------------

def test_quick_create_same_schema_twice_is_idempotent(module_client):
    """Milvus rootcoord: an identical CreateCollection is a no-op ("make creating collection
    idempotent"); quick setup's CreateIndex/LoadCollection are idempotent too."""
    c = module_client
    name = unique("dup_same")
    c.create_collection(name, dimension=8)
    coll_id = c.describe_collection(name)["collection_id"]
    c.create_collection(name, dimension=8)
    assert c.list_collections().count(name) == 1
    assert c.describe_collection(name)["collection_id"] == coll_id
    c.drop_collection(name)


def test_duplicate_collection_different_schema(module_client):
    """Milvus: "create duplicate collection with different parameters, collection: <name>"
    (untyped error)."""
    c = module_client
    name = unique("dup_diff")
    c.create_collection(name, dimension=8)
    coll_id = c.describe_collection(name)["collection_id"]

    e = server_error(c.create_collection, name, dimension=16)
    assert_msg(e, "duplicate", "already exist", "different")

    other = simple_schema(dim=8)
    other.add_field("extra", DataType.INT32)
    e = server_error(c.create_collection, name, schema=other)
    assert_msg(e, "duplicate", "already exist", "different")

    desc = c.describe_collection(name)
    assert desc["collection_id"] == coll_id
    assert fields_by_name(desc)["vector"]["params"] == {"dim": 8}
    assert "extra" not in fields_by_name(desc)
    c.drop_collection(name)


# -- schema validation -----------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, MAX_DIM + 1])
def test_invalid_float_vector_dimension(module_client, dim):
    """Milvus validateDimension: "invalid dimension: <d>. should be in range 2 ~ 32768"."""
    c = module_client
    name = unique(f"bad_dim_{dim}")
    e = server_error(c.create_collection, name, dimension=dim)
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "dimension", "dim")
    assert_not_created(c, name)


def test_binary_vector_dimension_not_multiple_of_8(module_client):
    c = module_client
    name = unique("bad_bin_dim")
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("bv", DataType.BINARY_VECTOR, dim=12)
    e = server_error(c.create_collection, name, schema=s)
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "dimension", "dim", "multiple of 8")
    assert_not_created(c, name)


def test_dimension_bounds_are_accepted(module_client):
    c = module_client
    for dim in (2, MAX_DIM):
        name = unique(f"dim_{dim}")
        make_simple(c, name, dim=dim)
        assert fields_by_name(c.describe_collection(name))["vector"]["params"] == {"dim": dim}
        c.drop_collection(name)


def test_schema_without_primary_key(module_client):
    c = module_client
    name = unique("no_pk")
    schema = CollectionSchema(
        [FieldSchema("a", DataType.INT64), FieldSchema("v", DataType.FLOAT_VECTOR, dim=8)],
        check_fields=False,
    )
    # MilvusClient.create_collection runs schema.verify(), which refuses client-side.
    with pytest.raises(PrimaryKeyException):
        c.create_collection(name, schema=schema)
    # Milvus validatePrimaryKey: "primary key is not specified" (untyped error).
    e = server_error(raw_create_collection, c, name, schema)
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "primary")
    assert_not_created(c, name)


def test_schema_with_two_primary_keys(module_client):
    c = module_client
    name = unique("two_pk")
    # schema.add_field() refuses a second primary key client-side (PrimaryKeyException), so
    # build the field list directly and skip pymilvus's checks.
    schema = CollectionSchema(
        [FieldSchema("a", DataType.INT64, is_primary=True),
         FieldSchema("b", DataType.INT64, is_primary=True),
         FieldSchema("v", DataType.FLOAT_VECTOR, dim=8)],
        check_fields=False,
    )
    # Milvus: "there are more than one primary key, field name = a, b" (untyped error).
    e = server_error(raw_create_collection, c, name, schema)
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "primary")
    assert_not_created(c, name)


@pytest.mark.parametrize("bad_name", ["1abc", "a-b", "a" * 256, "   ", "a b", "$x"],
                         ids=["leading-digit", "dash", "256-chars", "blank", "space", "dollar"])
def test_invalid_collection_names(module_client, bad_name):
    """Milvus validateCollectionName -> merr ParameterInvalid (1100):
    "Invalid collection name: <n>. the first character of a collection name must be an
    underscore or letter" / "... must be less than 255 characters" /
    "collection name should not be empty".  All of these pass pymilvus's own check
    (non-empty str), so the quick-setup call reaches the server."""
    c = module_client
    e = server_error(c.create_collection, bad_name, dimension=8)
    assert_code(e, PARAMETER_INVALID)
    assert_msg(e, "name")
    assert_not_created(c, bad_name)


def test_empty_collection_name(module_client):
    c = module_client
    # pymilvus refuses "" client-side (check_pass_param -> ParamError) ...
    with pytest.raises(ParamError):
        c.create_collection("", dimension=8)
    # ... so send it through the stub: Milvus "collection name should not be empty" (1100).
    e = server_error(raw_create_collection, c, "", simple_schema())
    assert_code(e, PARAMETER_INVALID)
    assert_msg(e, "name", "empty")
    assert "" not in c.list_collections()


def test_name_of_255_chars_is_accepted(module_client):
    c = module_client
    name = ("n" + unique("") + "x" * 255)[:255]
    make_simple(c, name)
    assert name in c.list_collections()
    c.drop_collection(name)


def test_too_many_fields(module_client):
    """Milvus proxy.maxFieldNum = 64: "maximum field's number should be limited to 64"."""
    c = module_client

    def schema_with(n_fields):
        s = simple_schema(dim=4)  # 2 fields
        for i in range(n_fields - 2):
            s.add_field(f"f{i}", DataType.INT32)
        return s

    ok = unique("fields_64")
    c.create_collection(ok, schema=schema_with(MAX_FIELDS))
    assert len(c.describe_collection(ok)["fields"]) == MAX_FIELDS
    c.drop_collection(ok)

    name = unique("fields_65")
    e = server_error(c.create_collection, name, schema=schema_with(MAX_FIELDS + 1))
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "field")
    assert_not_created(c, name)


def test_varchar_without_max_length(module_client):
    """Milvus: "type param(max_length) should be specified for varChar field(<f>) of
    collection <c>" (untyped).  pymilvus does not check this client-side."""
    c = module_client
    name = unique("no_maxlen")
    s = simple_schema()
    s.add_field("text", DataType.VARCHAR)
    e = server_error(c.create_collection, name, schema=s)
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "max_length")
    assert_not_created(c, name)


def test_array_without_max_capacity(module_client):
    """Milvus: "type param(max_capacity) should be specified for array field <f> of
    collection <c>" (untyped).  pymilvus does not check this client-side."""
    c = module_client
    name = unique("no_maxcap")
    s = simple_schema()
    s.add_field("tags", DataType.ARRAY, element_type=DataType.INT64)
    e = server_error(c.create_collection, name, schema=s)
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "max_capacity")
    assert_not_created(c, name)


@pytest.mark.parametrize("dtype,value,why", [
    (DataType.INT8, 3, "python int is sent as long_data"),
    (DataType.INT8, np.int16(300), "out of int8 range"),
    (DataType.BOOL, "yes", "string for a bool field"),
], ids=["int8-python-int", "int8-out-of-range", "bool-from-string"])
def test_default_value_type_mismatch(module_client, dtype, value, why):
    """Milvus rootcoord checkDefaultValue -> merr ParameterInvalid (1100): "default value type
    mismatches field schema type" / "default value out of range"."""
    c = module_client
    name = unique("bad_default")
    s = simple_schema()
    s.add_field("x", dtype, default_value=value)
    e = server_error(c.create_collection, name, schema=s)
    assert_code(e, PARAMETER_INVALID)
    assert_msg(e, "default value")
    assert_not_created(c, name)


# -- unknown objects -------------------------------------------------------------------------

def test_unknown_collection(module_client):
    c = module_client
    ghost = unique("ghost")
    # Milvus: code 100, reason "can't find collection[database=default][collection=<n>]".
    e = server_error(c.describe_collection, ghost)
    assert_code(e, COLLECTION_NOT_FOUND)
    assert_msg(e, ghost)
    assert c.has_collection(ghost) is False
    for call in (c.get_collection_stats, c.list_partitions, c.load_collection,
                 c.release_collection):
        e = server_error(call, ghost)
        assert_code(e, COLLECTION_NOT_FOUND)
        assert_msg(e, ghost, "collection not found")
    e = server_error(c.create_partition, ghost, "p1")
    assert_code(e, COLLECTION_NOT_FOUND)
    e = server_error(c.has_partition, ghost, "p1")
    assert_code(e, COLLECTION_NOT_FOUND)
    # DropCollection of a missing collection succeeds in Milvus (idempotent; see
    # dropCollectionTask.PreExecute and test_milvus_client_drop_collection_not_existed).
    c.drop_collection(ghost)
    assert_not_created(c, ghost)


def test_unknown_partition(module_client):
    c = module_client
    name = unique("part_err")
    c.create_collection(name, dimension=4)
    c.release_collection(name)
    # Milvus meta cache: merr.WrapErrPartitionNotFound -> 200 "partition not found[partition=x]".
    e = server_error(c.get_partition_stats, name, "nope")
    assert_code(e, PARTITION_NOT_FOUND)
    assert_msg(e, "nope")
    e = server_error(c.load_partitions, name, ["nope"])
    assert_code(e, PARTITION_NOT_FOUND)
    assert_msg(e, "nope")
    assert c.has_partition(name, "nope") is False
    c.drop_collection(name)


def test_drop_default_partition(module_client):
    c = module_client
    name = unique("drop_default")
    make_simple(c, name)
    # Milvus rootcoord: "default partition cannot be deleted" (untyped error).
    e = server_error(c.drop_partition, name, "_default")
    assert_code(e, UNTYPED_OR_PARAM)
    assert_msg(e, "default partition", "_default")
    assert c.list_partitions(name) == ["_default"]
    c.drop_collection(name)


def test_unknown_alias(module_client):
    c = module_client
    ghost = unique("ghost_alias")
    # merr ErrAliasNotFound (1600): "alias not found[database=default][alias=<a>]".
    e = server_error(c.describe_alias, ghost)
    assert_code(e, ALIAS_NOT_FOUND)
    assert_msg(e, ghost)
    name = unique("alias_err")
    make_simple(c, name)
    e = server_error(c.alter_alias, name, ghost)
    assert_code(e, ALIAS_NOT_FOUND)
    assert_msg(e, ghost)
    # An alias may not reuse a collection name: merr ErrAliasCollectionNameConflict (1601).
    e = server_error(c.create_alias, name, name)
    assert_code(e, ALIAS_NAME_CONFLICT)
    c.drop_collection(name)


def test_alias_protects_collection(module_client):
    c = module_client
    name, alias = unique("aliased"), unique("al")
    make_simple(c, name)
    c.create_alias(name, alias)
    # Milvus proxy: "cannot drop the collection via alias = <a>".
    e = server_error(c.drop_collection, alias)
    assert_msg(e, "alias")
    # Milvus rootcoord: "unable to drop the collection [<c>] because it has associated aliases
    # [<a>], please remove all aliases before dropping the collection".
    e = server_error(c.drop_collection, name)
    assert_msg(e, "alias")
    assert name in c.list_collections()
    c.drop_alias(alias)
    c.drop_collection(name)
    assert_not_created(c, name)


def test_unknown_database(module_client, module_server):
    c = module_client
    ghost = unique("ghost_db")
    # merr ErrDatabaseNotFound (800): "database not found[database=<db>]".
    e = server_error(c.describe_database, ghost)
    assert_code(e, DATABASE_NOT_FOUND)
    assert_msg(e, ghost)
    bound = module_server.client(db_name=ghost)
    try:
        e = server_error(bound.list_collections)
        assert_code(e, DATABASE_NOT_FOUND)
        name = unique("in_ghost_db")
        e = server_error(bound.create_collection, name, dimension=4)
        assert_code(e, DATABASE_NOT_FOUND)
    finally:
        bound.close()
    assert ghost not in c.list_databases()
    assert_not_created(c, name)


def test_create_existing_database(module_client):
    c = module_client
    # Milvus: "database already exist: default" (untyped).
    e = server_error(c.create_database, "default")
    assert_msg(e, "exist")
    db = unique("db_twice")
    c.create_database(db)
    e = server_error(c.create_database, db)
    assert_msg(e, "exist")
    assert c.list_databases().count(db) == 1
    c.drop_database(db)


# -- index / load ----------------------------------------------------------------------------

def test_load_without_index(module_client):
    """Milvus: LoadCollection of a collection whose vector field has no index fails with
    merr ErrIndexNotFound (700) "index not found[collection=<c>]"."""
    c = module_client
    name = unique("noindex")
    make_simple(c, name)
    e = server_error(c.load_collection, name)
    assert_code(e, INDEX_NOT_FOUND)
    assert_msg(e, "index")
    assert c.get_load_state(name)["state"].name == "NotLoad"
    c.drop_collection(name)
