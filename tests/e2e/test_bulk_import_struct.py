"""Array of Structs fields in bulk import (issue 18): a Parquet column list<struct<sub-field, ...>>
(a vector sub-field a list of floats), as pymilvus's bulk writer lays it out, written here with
pyarrow, and JSON rows {"clips": [{...}, ...]}; both through pymilvus's do_bulk_insert (gRPC) and
bulk_import (REST), read back struct by struct and searched. A file whose struct column is
malformed fails its job with a reason naming the field and leaves the collection unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pymilvus import connections, utility
from pymilvus.bulk_writer import bulk_import

from e2e_util import unique, wait_until
from test_bulk_import import put_object, rest_url, wait_rest_job
from test_struct_array import CAP, DIM, SUB_DIM, check_rows, make_collection, make_rows

SUB_TYPE = pa.struct([("text", pa.string()), ("score", pa.float32()), ("n", pa.int32()), ("flag", pa.bool_()),
                      ("emb", pa.list_(pa.float32()))])


def parquet_table(rows, clips_type=pa.list_(SUB_TYPE), clips=None) -> pa.Table:
    return pa.table({
        "id": pa.array([r["id"] for r in rows], pa.int64()),
        "vec": pa.array([r["vec"] for r in rows], pa.list_(pa.float32())),
        "clips": pa.array(clips if clips is not None else [r["clips"] for r in rows], clips_type),
    })


def put_parquet(server, table: pa.Table, tmp: Path) -> str:
    p = tmp / f"{unique('st')}.parquet"
    pq.write_table(table, p)
    return put_object(server, f"import/{unique('s')}/{p.name}", p.read_bytes())


def put_json(server, rows, tmp: Path) -> str:
    p = tmp / f"{unique('st')}.json"
    p.write_text(json.dumps({"rows": rows}))
    return put_object(server, f"import/{unique('s')}/{p.name}", p.read_bytes())


def grpc_import(server, name: str, key: str):
    alias = unique("orm")
    connections.connect(alias=alias, uri=server.uri)
    try:
        task = utility.do_bulk_insert(name, files=[key], using=alias)
        st = {}

        def done():
            st["s"] = utility.get_bulk_insert_state(task, using=alias)
            return st["s"].state in (utility.BulkInsertState.ImportCompleted, utility.BulkInsertState.ImportFailed)

        assert wait_until(done, 120)
        return st["s"]
    finally:
        connections.disconnect(alias)


def count(client, name: str) -> int:
    return client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]


def test_parquet_struct_column_over_grpc(server, tmp_path):
    client = server.client()
    name = unique("stpq")
    make_collection(client, name)
    rng = np.random.default_rng(21)
    rows = make_rows(rng, 0, 150)
    st = grpc_import(server, name, put_parquet(server, parquet_table(rows), tmp_path))
    assert st.state == utility.BulkInsertState.ImportCompleted, st.infos
    assert st.row_count == 150
    client.load_collection(name)
    check_rows(client, name, rows, ["clips"])
    # the imported sub-vectors are searchable as embedding lists
    from pymilvus.client.embedding_list import EmbeddingList
    probe = next(r for r in rows if len(r["clips"]) >= 2)
    el = EmbeddingList()
    for s in probe["clips"]:
        el.add(np.array(s["emb"], dtype=np.float32))
    hits = client.search(name, data=[el], anns_field="clips[emb]", limit=3, consistency_level="Strong",
                         search_params={"metric_type": "MAX_SIM_COSINE"})
    assert hits[0][0]["id"] == probe["id"]
    assert hits[0][0]["distance"] == pytest.approx(len(probe["clips"]), rel=1e-4)


def test_json_rows_with_structs_over_rest(server, tmp_path):
    client = server.client()
    name = unique("stjs")
    make_collection(client, name)
    rng = np.random.default_rng(22)
    rows = make_rows(rng, 0, 80)
    job = bulk_import(url=rest_url(server), collection_name=name, files=[[put_json(server, rows, tmp_path)]])
    state = wait_rest_job(server, job.json()["data"]["jobId"])
    assert state["state"] == "Completed", state
    assert state["importedRows"] == 80
    client.load_collection(name)
    check_rows(client, name, rows, ["clips"])


def test_malformed_struct_files_fail_and_import_nothing(server, tmp_path):
    client = server.client()
    name = unique("stbad")
    make_collection(client, name)
    rng = np.random.default_rng(23)
    base = make_rows(rng, 1000, 3)
    client.insert(name, base)
    client.load_collection(name)
    rows = make_rows(rng, 0, 10)
    rows[0]["clips"] = [dict(text="x", score=0.5, n=1, flag=True, emb=[0.0, 1.0, 0.0])] * 2

    def fails(key: str) -> str:
        job = bulk_import(url=rest_url(server), collection_name=name, files=[[key]])
        state = wait_rest_job(server, job.json()["data"]["jobId"])
        assert state["state"] == "Failed", state
        assert state["importedRows"] == 0
        assert count(client, name) == 3
        return state["reason"]

    # a struct without one of its sub-fields
    no_emb = pa.struct([("text", pa.string()), ("score", pa.float32()), ("n", pa.int32()), ("flag", pa.bool_())])
    clips = [[{k: v for k, v in s.items() if k != "emb"} for s in r["clips"]] for r in rows]
    reason = fails(put_parquet(server, parquet_table(rows, pa.list_(no_emb), clips), tmp_path))
    assert "emb" in reason and "clips" in reason, reason
    # a struct column that is not a list of structs
    reason = fails(put_parquet(server, parquet_table(rows, pa.list_(pa.int64()), [[1, 2]] * len(rows)), tmp_path))
    assert "schema not equal, err=field 'clips' type mis-match, milvus data type 'ArrayOfStruct'" in reason, reason
    # a sub-vector of the wrong dim
    bad = [dict(r) for r in rows]
    bad[4] = dict(bad[4], clips=[dict(text="y", score=0.0, n=0, flag=False, emb=[1.0] * (SUB_DIM + 1))])
    reason = fails(put_parquet(server, parquet_table(bad), tmp_path))
    assert f"sub-field emb vector dim mismatch: expect {SUB_DIM}, got {SUB_DIM + 1}" in reason, reason
    # more structs than max_capacity
    over = [dict(r) for r in rows]
    over[2] = dict(over[2], clips=[dict(text="z", score=0.0, n=0, flag=False, emb=[1.0] * SUB_DIM)] * (CAP + 1))
    reason = fails(put_parquet(server, parquet_table(over), tmp_path))
    assert "clips" in reason, reason
    # JSON rows: an element missing a sub-field
    js = [dict(r) for r in rows]
    js[1] = dict(js[1], clips=[{"text": "t", "score": 0.1, "n": 2, "flag": True}])
    reason = fails(put_json(server, js, tmp_path))
    assert "struct array field clips element #0 missing sub-field emb" in reason, reason
    assert DIM > 0  # the collection keeps its three rows (checked by fails())


@pytest.mark.parametrize("file_type", ["PARQUET", "JSON"])
def test_local_bulk_writer_files_with_structs(server, tmp_path, file_type):
    """The files pymilvus's LocalBulkWriter writes for a schema with an Array of Structs field."""
    from pymilvus import DataType, MilvusClient
    from pymilvus.bulk_writer import BulkFileType, LocalBulkWriter

    from test_bulk_import import upload
    from test_struct_array import struct_schema

    client = server.client()
    name = unique("stbw")
    make_collection(client, name)
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("clips", DataType.ARRAY, element_type=DataType.STRUCT, struct_schema=struct_schema(client),
                     max_capacity=CAP)
    rows = make_rows(np.random.default_rng(24), 0, 60)
    w = LocalBulkWriter(schema=schema, local_path=str(tmp_path / unique("bw")), file_type=getattr(BulkFileType, file_type))
    for r in rows:
        w.append_row(r)
    w.commit()
    files = upload(server, w.batch_files)
    st = grpc_import(server, name, files[0][0])
    assert st.state == utility.BulkInsertState.ImportCompleted, st.infos
    client.load_collection(name)
    check_rows(client, name, rows, ["clips"])
