"""A column whose row count is not the request's num_rows, answered with Milvus's texts.

The Node SDK (2.6) builds each column from the rows that carry the field: a row without its
vector makes the vector column one vector short, with no valid_data (vector columns never get
one). Milvus's proxy answers such requests in checkAligned with
"the num_rows (N) of field (F) is not equal to passed num_rows (M)" (ErrParameterInvalid:
": invalid parameter[expected=M][actual=N]"), and a payload that is not a whole number of
vectors with funcutil's "the length(L) of float data should divide the dim(D)" (and its
binary / float16 / bfloat16 forms), to which Kite adds the field's name (", field name: F"),
as its messages name the field. Requests are built by hand on pymilvus's own stub, because
pymilvus checks row counts itself. Nothing of a refused request is stored.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient, MilvusException
from pymilvus.client.utils import check_status
from pymilvus.grpc_gen import milvus_pb2, schema_pb2

from e2e_util import unique

DIM = 8


def send_insert(client: MilvusClient, name: str, n: int, fields) -> None:
    req = milvus_pb2.InsertRequest(collection_name=name, fields_data=fields, num_rows=n)
    check_status(client._get_connection()._stub.Insert(req, timeout=10).status)


def pk(ids):
    return schema_pb2.FieldData(type=DataType.INT64, field_name="id",
                                scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=ids)))


def make(client: MilvusClient, vec_type: DataType) -> str:
    name = unique("rowcount")
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", vec_type, dim=DIM)
    s.add_field("n", DataType.INT32)
    idx = client.prepare_index_params()
    metric = "HAMMING" if vec_type == DataType.BINARY_VECTOR else "L2"
    idx.add_index("vec", index_type="FLAT" if vec_type != DataType.BINARY_VECTOR else "BIN_FLAT", metric_type=metric)
    client.create_collection(name, schema=s, index_params=idx)
    return name


def ints(n_values):
    return schema_pb2.FieldData(type=DataType.INT32, field_name="n",
                                scalars=schema_pb2.ScalarField(int_data=schema_pb2.IntArray(data=list(range(n_values)))))


def vec(vec_type: DataType, payload):
    v = schema_pb2.VectorField(dim=DIM)
    if vec_type == DataType.FLOAT_VECTOR:
        v.float_vector.data.extend(payload)
    elif vec_type == DataType.BINARY_VECTOR:
        v.binary_vector = payload
    elif vec_type == DataType.FLOAT16_VECTOR:
        v.float16_vector = payload
    else:
        v.bfloat16_vector = payload
    return schema_pb2.FieldData(type=vec_type, field_name="vec", vectors=v)


# per type: (payload of k whole vectors, payload that is not a whole number, the divide text)
def payloads(vec_type: DataType, k: int):
    if vec_type == DataType.FLOAT_VECTOR:
        return [0.5] * (DIM * k), [0.5] * (DIM * k + 3), f"the length({DIM * k + 3}) of float data should divide the dim({DIM}), field name: vec"
    if vec_type == DataType.BINARY_VECTOR:
        # DIM bits = 1 byte per vector; 8 * bytes bits is always a multiple of 8 = DIM
        return b"\x01" * k, None, None
    half = np.zeros(DIM * k, dtype=np.float16).tobytes()
    bad = half + b"\x00" * 3
    word = "float16" if vec_type == DataType.FLOAT16_VECTOR else "bfloat"
    return half, bad, f"the length({len(bad)}) of {word} data should divide the dim({DIM}), field name: vec"


@pytest.mark.parametrize("vec_type", [DataType.FLOAT_VECTOR, DataType.BINARY_VECTOR,
                                      DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR])
def test_vector_column_one_row_short_is_milvus_num_rows_error(module_client, vec_type):
    c = module_client
    name = make(c, vec_type)
    n = 3
    short, not_whole, divide_text = payloads(vec_type, n - 1)
    with pytest.raises(MilvusException) as e:
        send_insert(c, name, n, [pk([1, 2, 3]), vec(vec_type, short), ints(n)])
    assert e.value.code == 1100
    assert e.value.message == ("the num_rows (2) of field (vec) is not equal to passed num_rows (3): "
                               "invalid parameter[expected=3][actual=2]")
    if not_whole is not None:
        with pytest.raises(MilvusException) as e:
            send_insert(c, name, n, [pk([1, 2, 3]), vec(vec_type, not_whole), ints(n)])
        assert e.value.message == divide_text
    # nothing was stored; a whole request goes through
    assert c.query(name, filter="id > 0", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"] == 0
    whole, _, _ = payloads(vec_type, n)
    send_insert(c, name, n, [pk([1, 2, 3]), vec(vec_type, whole), ints(n)])
    assert c.query(name, filter="id > 0", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"] == n


def test_scalar_and_sparse_columns_short_are_milvus_num_rows_error(module_client):
    c = module_client
    name = make(c, DataType.FLOAT_VECTOR)
    with pytest.raises(MilvusException) as e:
        send_insert(c, name, 3, [pk([1, 2, 3]), vec(DataType.FLOAT_VECTOR, [0.5] * (DIM * 3)), ints(2)])
    assert e.value.message == ("the num_rows (2) of field (n) is not equal to passed num_rows (3): "
                               "invalid parameter[expected=3][actual=2]")

    sname = unique("rowcount_sparse")
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("sp", DataType.SPARSE_FLOAT_VECTOR)
    idx = c.prepare_index_params()
    idx.add_index("sp", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    c.create_collection(sname, schema=s, index_params=idx)
    one = np.array([1], dtype=np.uint32).tobytes() + np.array([0.5], dtype=np.float32).tobytes()
    sp = schema_pb2.FieldData(type=DataType.SPARSE_FLOAT_VECTOR, field_name="sp", vectors=schema_pb2.VectorField(
        dim=2, sparse_float_vector=schema_pb2.SparseFloatArray(dim=2, contents=[one])))
    with pytest.raises(MilvusException) as e:
        send_insert(c, sname, 2, [pk([1, 2]), sp])
    assert e.value.message == ("the num_rows (1) of field (sp) is not equal to passed num_rows (2): "
                               "invalid parameter[expected=2][actual=1]")
