"""Helpers shared by the end-to-end tests (no pytest fixtures here; see conftest.py).

Facts about Milvus behaviour that several tests rely on are collected here with their source,
so a failing assertion can be traced back to evidence:

* Error codes are merr codes (milvus `pkg/util/merr/errors.go`; table in
  shared/reference/milvus-compat.md section 7): 100 collection not found, 200 partition not
  found, 700 index not found, 800 database not found, 802 invalid database name, 1100 invalid
  parameter, 1600 alias not found, 1601 alias/collection name conflict, 1602 alias exists.
* Many proxy/rootcoord validations in Milvus return *untyped* Go errors (`fmt.Errorf`,
  `errors.New`); `merr.Code()` maps those to 65535 ("unexpected error").  Examples: invalid
  dimension, missing max_length / max_capacity, missing or duplicate primary key, too many
  fields, dropping `_default`, dropping an index of a loaded collection.  Milvus's own pymilvus
  test-suite (tests/python_client/milvus_client/*) expects 65535 for these.  Kite may reasonably
  answer with the typed parameter family instead (1100 invalid, 1101 missing, 1102 too large;
  newer merr maps all three to legacy IllegalArgument), so those tests accept any of them
  (UNTYPED_OR_PARAM).  pymilvus does not branch on any of these codes.
"""

from __future__ import annotations

import socket
import uuid
from typing import Callable, Optional

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient, MilvusException
from pymilvus.exceptions import DescribeCollectionException

# merr codes (see module docstring)
COLLECTION_NOT_FOUND = 100
PARTITION_NOT_FOUND = 200
INDEX_NOT_FOUND = 700
DATABASE_NOT_FOUND = 800
PARAMETER_INVALID = 1100
PARAMETER_MISSING = 1101
PARAMETER_TOO_LARGE = 1102
ALIAS_NOT_FOUND = 1600
ALIAS_NAME_CONFLICT = 1601
ALIAS_EXISTS = 1602
UNIMPLEMENTED = 10
UNEXPECTED = 65535
UNTYPED_OR_PARAM = (UNEXPECTED, PARAMETER_INVALID, PARAMETER_MISSING, PARAMETER_TOO_LARGE)

# Exception classes pymilvus raises for an error *status returned by the server*.
# Every other MilvusException subclass (ParamError, PrimaryKeyException, ...) is raised by
# client-side validation before anything is sent.
SERVER_EXCEPTION_TYPES = (MilvusException, DescribeCollectionException)


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str) -> str:
    """Unique, Milvus-valid object name (letters, digits, underscore)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def server_error(fn: Callable, *args, **kwargs) -> MilvusException:
    """Call fn, require that it raises a MilvusException that came from the server.

    Client-side validation errors are subclasses of MilvusException too (ParamError, ...);
    those mean the request never reached Kite and the test is wrong, so they fail loudly.
    """
    with pytest.raises(MilvusException) as info:
        fn(*args, **kwargs)
    exc = info.value
    assert type(exc) in SERVER_EXCEPTION_TYPES, (
        f"expected a server-side error, got client-side {type(exc).__name__}: {exc}"
    )
    return exc


def server_error_containing(fn: Callable, *needles: str) -> MilvusException:
    """Call fn, require a server-side error whose message contains every needle, case and all
    (Milvus's own suites match a piece of its message text this way)."""
    exc = server_error(fn)
    for needle in needles:
        assert needle in exc.message, f"{needle!r} not in {exc.message!r} (code {exc.code})"
    return exc


expect_texts = server_error_containing  # the name the retrieval suite file uses


def random_vectors(n: int, dim: int = 8, seed: int = 3):
    return np.random.default_rng(seed).random((n, dim), dtype=np.float32).tolist()


def assert_code(exc: MilvusException, expected) -> None:
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert exc.code in allowed, f"expected code in {allowed}, got {exc.code}: {exc.message!r}"


def assert_msg(exc: MilvusException, *needles: str) -> None:
    """The error message must mention at least one of the needles (case-insensitive)."""
    msg = (exc.message or "").lower()
    assert any(n.lower() in msg for n in needles), (
        f"message {exc.message!r} mentions none of {needles!r} (code={exc.code})"
    )


def simple_schema(dim: int = 8, enable_dynamic_field: bool = False, **kwargs):
    schema = MilvusClient.create_schema(enable_dynamic_field=enable_dynamic_field, **kwargs)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return schema


def make_simple(client: MilvusClient, name: str, dim: int = 8, **kwargs) -> None:
    """Collection with id INT64 pk + FLOAT_VECTOR, created without an index (no load, no wait)."""
    client.create_collection(name, schema=simple_schema(dim), **kwargs)


def fields_by_name(desc: dict) -> dict:
    return {f["name"]: f for f in desc["fields"]}


def default_value(field: dict):
    """(oneof-kind, value) of a described field's default_value, or None."""
    dv = field.get("default_value")
    if dv is None:
        return None
    kind = dv.WhichOneof("data")
    return kind, getattr(dv, kind)


def index_param(info: dict, key: str) -> Optional[str]:
    """Index build parameter from describe_index(): flattened KV (2.4+ style) or inside the
    JSON-decoded `params` dict (older style).  Returned as a string."""
    if key in info:
        return str(info[key])
    params = info.get("params")
    if isinstance(params, dict) and key in params:
        return str(params[key])
    return None


# -- schemas covering every field type ------------------------------------------------------
# Milvus allows at most 4 vector fields per collection by default (proxy.maxVectorFieldNum),
# so the vector types are split over two collections.

def all_types_schema_a():
    """INT64 auto_id pk, four dense vector types, every scalar type, nullable + defaults.

    Default values for INT8/INT16/INT32 fields must be numpy scalars: pymilvus encodes a plain
    Python int as ValueField.long_data, which Milvus rejects for those types ("default value
    type mismatches field schema type", rootcoord checkDefaultValue); np.int8/np.int32 are
    encoded as int_data."""
    s = MilvusClient.create_schema(enable_dynamic_field=True, description="all types, part A")
    s.add_field("pk", DataType.INT64, is_primary=True, auto_id=True, description="primary key")
    s.add_field("fvec", DataType.FLOAT_VECTOR, dim=16, description="float vector")
    s.add_field("bvec", DataType.BINARY_VECTOR, dim=64)
    s.add_field("f16vec", DataType.FLOAT16_VECTOR, dim=8)
    s.add_field("bf16vec", DataType.BFLOAT16_VECTOR, dim=8)
    s.add_field("b", DataType.BOOL, default_value=True)
    s.add_field("i8", DataType.INT8, default_value=np.int8(3), description="an int8")
    s.add_field("i16", DataType.INT16, nullable=True)
    s.add_field("i32", DataType.INT32, nullable=True, default_value=np.int32(7))
    s.add_field("i64", DataType.INT64, default_value=-42)
    s.add_field("f", DataType.FLOAT, default_value=1.5)
    s.add_field("d", DataType.DOUBLE, nullable=True, default_value=2.25)
    s.add_field("s", DataType.VARCHAR, max_length=128, default_value="hello")
    s.add_field("j", DataType.JSON, nullable=True, description="json doc")
    s.add_field("arr", DataType.ARRAY, element_type=DataType.INT64, max_capacity=16, nullable=True)
    s.add_field("sarr", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=32)
    return s


# name -> (type, params, element_type, nullable, default (kind, value) or None, description)
ALL_TYPES_A_EXPECTED = {
    "pk": (DataType.INT64, {}, None, False, None, "primary key"),
    "fvec": (DataType.FLOAT_VECTOR, {"dim": 16}, None, False, None, "float vector"),
    "bvec": (DataType.BINARY_VECTOR, {"dim": 64}, None, False, None, ""),
    "f16vec": (DataType.FLOAT16_VECTOR, {"dim": 8}, None, False, None, ""),
    "bf16vec": (DataType.BFLOAT16_VECTOR, {"dim": 8}, None, False, None, ""),
    "b": (DataType.BOOL, {}, None, False, ("bool_data", True), ""),
    "i8": (DataType.INT8, {}, None, False, ("int_data", 3), "an int8"),
    "i16": (DataType.INT16, {}, None, True, None, ""),
    "i32": (DataType.INT32, {}, None, True, ("int_data", 7), ""),
    "i64": (DataType.INT64, {}, None, False, ("long_data", -42), ""),
    "f": (DataType.FLOAT, {}, None, False, ("float_data", 1.5), ""),
    "d": (DataType.DOUBLE, {}, None, True, ("double_data", 2.25), ""),
    "s": (DataType.VARCHAR, {"max_length": 128}, None, False, ("string_data", "hello"), ""),
    "j": (DataType.JSON, {}, None, True, None, "json doc"),
    "arr": (DataType.ARRAY, {"max_capacity": 16}, DataType.INT64, True, None, ""),
    "sarr": (DataType.ARRAY, {"max_capacity": 4, "max_length": 32}, DataType.VARCHAR, False, None,
             ""),
}


def all_types_schema_b():
    """VARCHAR pk (no auto_id), INT8 and SPARSE vectors."""
    s = MilvusClient.create_schema(enable_dynamic_field=False, description="all types, part B")
    s.add_field("vpk", DataType.VARCHAR, is_primary=True, max_length=64)
    s.add_field("i8vec", DataType.INT8_VECTOR, dim=32)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR, description="sparse vector")
    return s


ALL_TYPES_B_EXPECTED = {
    "vpk": (DataType.VARCHAR, {"max_length": 64}, None, False, None, ""),
    "i8vec": (DataType.INT8_VECTOR, {"dim": 32}, None, False, None, ""),
    "sparse": (DataType.SPARSE_FLOAT_VECTOR, {}, None, False, None, "sparse vector"),
}


def check_fields(desc: dict, expected: dict) -> None:
    """Field-by-field round trip check of describe_collection() output."""
    got_names = [f["name"] for f in desc["fields"]]
    assert got_names == list(expected), "field order/name mismatch"
    ids = [f["field_id"] for f in desc["fields"]]
    assert len(set(ids)) == len(ids), f"duplicate field ids {ids}"
    assert all(i >= 100 for i in ids), f"user field ids start at 100 in Milvus, got {ids}"
    for f in desc["fields"]:
        dtype, params, elem, nullable, dflt, description = expected[f["name"]]
        where = f"field {f['name']!r}: {f}"
        assert f["type"] == dtype, where
        assert f.get("params", {}) == params, where
        assert f.get("element_type") == elem, where
        assert bool(f.get("nullable", False)) == nullable, where
        assert default_value(f) == dflt, where
        assert f["description"] == description, where


def wait_until(cond, timeout_s: float = 60.0) -> bool:
    """Polls `cond` (every 0.1 s) until it holds or `timeout_s` passed; returns its last value."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return bool(cond())
