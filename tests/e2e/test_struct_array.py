"""Array of Structs fields (Milvus 2.6) through pymilvus: schema create / describe, insert and
query returning the structs (growing, sealed, after a restart), the embedding-list index on a
struct's vector sub-field and EmbeddingList search with the MAX_SIM metrics, and Milvus's
refusals (capacity, index types and metrics, load without the embedding-list index).

Expected search answers are computed here with numpy from the inserted data:
score(query list Q, row list V) = sum over q in Q of the best similarity of q among V
(largest cosine / inner product, smallest squared L2).
"""

from __future__ import annotations

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient, MilvusException
from pymilvus.client.embedding_list import EmbeddingList

DIM = 4
SUB_DIM = 3
CAP = 5


def struct_schema(c: MilvusClient):
    st = c.create_struct_field_schema()
    st.add_field("text", DataType.VARCHAR, max_length=32)
    st.add_field("score", DataType.FLOAT)
    st.add_field("n", DataType.INT32)
    st.add_field("flag", DataType.BOOL)
    st.add_field("emb", DataType.FLOAT_VECTOR, dim=SUB_DIM)
    return st


def make_collection(c: MilvusClient, name: str, metric="MAX_SIM_COSINE", index=True):
    schema = c.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("clips", DataType.ARRAY, element_type=DataType.STRUCT, struct_schema=struct_schema(c),
                     max_capacity=CAP)
    idx = c.prepare_index_params()
    idx.add_index("vec", index_type="FLAT", metric_type="L2")
    if index:
        idx.add_index("clips[emb]", index_type="HNSW", metric_type=metric, params={"M": 8, "efConstruction": 64})
    c.create_collection(name, schema=schema, index_params=idx)


def make_rows(rng: np.random.Generator, start: int, count: int):
    rows = []
    for i in range(start, start + count):
        n = int(rng.integers(1, CAP + 1)) if i % 7 else 0  # every 7th row: no structs at all
        clips = []
        for j in range(n):
            clips.append({
                "text": f"clip-{i}-{j}",
                "score": float(np.float32(rng.random())),
                "n": int(rng.integers(-1000, 1000)),
                "flag": bool((i + j) % 2),
                "emb": [float(x) for x in rng.standard_normal(SUB_DIM).astype(np.float32)],
            })
        rows.append({"id": i, "vec": [float(x) for x in rng.random(DIM).astype(np.float32)], "clips": clips})
    return rows


def norm_clips(clips):
    out = []
    for s in clips:
        out.append({
            "text": s["text"],
            "score": float(np.float32(s["score"])),
            "n": int(s["n"]),
            "flag": bool(s["flag"]),
            "emb": [float(np.float32(x)) for x in s["emb"]],
        })
    return out


def check_rows(c: MilvusClient, name: str, rows, output_fields):
    got = c.query(name, filter="id >= 0", output_fields=output_fields, limit=len(rows) + 10)
    assert len(got) == len(rows)
    by_id = {r["id"]: r for r in got}
    for r in rows:
        g = by_id[r["id"]]
        assert norm_clips(g["clips"]) == norm_clips(r["clips"]), r["id"]


def max_sim(query: np.ndarray, row_vectors: np.ndarray, metric: str):
    if len(row_vectors) == 0:
        return None
    if metric in ("MAX_SIM", "MAX_SIM_COSINE"):
        qn = query / np.linalg.norm(query, axis=1, keepdims=True)
        rn = row_vectors / np.linalg.norm(row_vectors, axis=1, keepdims=True)
        return float((qn @ rn.T).max(axis=1).sum())
    if metric == "MAX_SIM_IP":
        return float((query @ row_vectors.T).max(axis=1).sum())
    d = ((query[:, None, :] - row_vectors[None, :, :]) ** 2).sum(axis=2)
    return float(d.min(axis=1).sum())


def expected_hits(rows, query: np.ndarray, metric: str, k: int):
    scored = []
    for r in rows:
        vecs = np.array([s["emb"] for s in r["clips"]], dtype=np.float64).reshape(-1, SUB_DIM)
        s = max_sim(query.astype(np.float64), vecs, metric)
        if s is not None:
            scored.append((s, r["id"]))
    lower = metric == "MAX_SIM_L2"
    scored.sort(key=lambda x: (x[0] if lower else -x[0], x[1]))
    return scored[:k]


def test_create_and_describe(client: MilvusClient):
    make_collection(client, "st_desc")
    d = client.describe_collection("st_desc")
    fields = {f["name"]: f for f in d["fields"]}
    # MilvusClient folds the struct array back into the field list, sub-fields under their own names
    assert set(fields) == {"id", "vec", "clips"}, d
    st = fields["clips"]
    assert st["type"] == DataType.ARRAY and st["element_type"] == DataType.STRUCT
    assert int(st["params"]["max_capacity"]) == CAP
    subs = {f["name"]: f for f in st["struct_fields"]}
    assert list(subs) == ["text", "score", "n", "flag", "emb"]
    assert subs["text"]["type"] == DataType.VARCHAR
    assert int(subs["text"]["params"]["max_length"]) == 32
    assert subs["n"]["type"] == DataType.INT32
    assert subs["emb"]["type"] == DataType.FLOAT_VECTOR
    assert int(subs["emb"]["params"]["dim"]) == SUB_DIM
    # ids: the struct after the top-level fields, then its sub-fields in order
    ids = [fields["id"]["field_id"], fields["vec"]["field_id"], st["field_id"]] + [f["field_id"] for f in subs.values()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # the index on the sub-field is named and described under its stored name
    idx = client.describe_index("st_desc", "clips[emb]")
    assert idx["metric_type"] == "MAX_SIM_COSINE" and idx["field_name"] == "clips[emb]"


def test_insert_query_growing_sealed_restart(server, client: MilvusClient):
    make_collection(client, "st_rows")
    rng = np.random.default_rng(7)
    rows = make_rows(rng, 0, 40)
    client.insert("st_rows", rows)
    client.load_collection("st_rows")
    check_rows(client, "st_rows", rows, ["clips"])
    check_rows(client, "st_rows", rows, ["*"])
    client.flush("st_rows")
    more = make_rows(rng, 40, 20)
    client.insert("st_rows", more)  # growing on top of sealed
    check_rows(client, "st_rows", rows + more, ["clips"])
    got = client.query("st_rows", filter="id == 3", output_fields=["clips"])
    assert list(got[0].keys()) == ["id", "clips"] or set(got[0].keys()) == {"id", "clips"}
    # upsert replaces the whole struct array
    new3 = dict(rows[3])
    new3["clips"] = [{"text": "replaced", "score": 0.5, "n": 1, "flag": True, "emb": [1.0, 2.0, 3.0]}]
    client.upsert("st_rows", [new3])
    all_rows = rows[:3] + [new3] + rows[4:] + more
    check_rows(client, "st_rows", all_rows, ["clips"])
    server.restart()
    c2 = server.client()
    c2.load_collection("st_rows")
    check_rows(c2, "st_rows", all_rows, ["clips"])


@pytest.mark.parametrize("metric", ["MAX_SIM_COSINE", "MAX_SIM_IP", "MAX_SIM_L2", "MAX_SIM"])
def test_embedding_list_search(client: MilvusClient, metric):
    name = "st_search_" + metric.lower()
    make_collection(client, name, metric=metric)
    rng = np.random.default_rng(11)
    sealed = make_rows(rng, 0, 50)
    client.insert(name, sealed)
    client.flush(name)
    growing = make_rows(rng, 50, 30)
    client.insert(name, growing)
    client.load_collection(name)
    rows = sealed + growing
    k = 7
    queries = [rng.standard_normal((n, SUB_DIM)).astype(np.float32) for n in (1, 3)]
    data = []
    for q in queries:
        el = EmbeddingList()
        for v in q:
            el.add(v)
        data.append(el)
    res = client.search(name, data=data, anns_field="clips[emb]", limit=k, output_fields=["clips"],
                        search_params={"metric_type": metric})
    assert len(res) == len(queries)
    for q, hits in zip(queries, res):
        want = expected_hits(rows, q, metric, k)
        assert [h["id"] for h in hits] == [i for _, i in want]
        for h, (s, _) in zip(hits, want):
            assert h["distance"] == pytest.approx(s, rel=1e-4, abs=1e-4)
        # the struct array comes back with the hit
        by_id = {r["id"]: r for r in rows}
        for h in hits:
            assert norm_clips(h["entity"]["clips"]) == norm_clips(by_id[h["id"]]["clips"])
    # a filter on the top-level fields applies
    res = client.search(name, data=data[:1], anns_field="clips[emb]", limit=k, filter="id % 2 == 0")
    want = expected_hits([r for r in rows if r["id"] % 2 == 0], queries[0], metric, k)
    assert [h["id"] for h in res[0]] == [i for _, i in want]


def test_struct_refusals(client: MilvusClient):
    make_collection(client, "st_bad")
    rng = np.random.default_rng(3)
    row = make_rows(rng, 1, 1)[0]
    row["clips"] = [
        {"text": "x", "score": 0.1, "n": 1, "flag": False, "emb": [0.1, 0.2, 0.3]} for _ in range(CAP + 1)]
    with pytest.raises(MilvusException, match="array length exceeds max capacity"):
        client.insert("st_bad", [row])
    client.load_collection("st_bad")
    assert client.query("st_bad", filter="id >= 0", output_fields=["id"]) == []  # nothing written
    # Milvus 2.6 has no filters on a struct or its sub-fields: refused, never a crash
    for expr in ("clips[n] > 0", "clips is null", "array_length(clips[n]) > 0"):
        with pytest.raises(MilvusException) as e:
            client.query("st_bad", filter=expr, output_fields=["id"])
        assert "cannot parse expression" in str(e.value)
    # a vector index on the embedding list needs a MAX_SIM metric ...
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("clips", DataType.ARRAY, element_type=DataType.STRUCT, struct_schema=struct_schema(client),
                     max_capacity=CAP)
    client.create_collection("st_noidx", schema=schema)
    idx = client.prepare_index_params()
    idx.add_index("clips[emb]", index_type="HNSW", metric_type="L2")
    with pytest.raises(MilvusException, match="metric type L2 not found or not supported"):
        client.create_index("st_noidx", idx)
    # ... a plain vector field refuses the MAX_SIM metrics ...
    idx = client.prepare_index_params()
    idx.add_index("vec", index_type="HNSW", metric_type="MAX_SIM_COSINE")
    with pytest.raises(MilvusException, match="metric type MAX_SIM_COSINE not found or not supported"):
        client.create_index("st_noidx", idx)
    # ... and loading needs the embedding-list index as every vector field needs one.
    idx = client.prepare_index_params()
    idx.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_index("st_noidx", idx)
    with pytest.raises(MilvusException, match=r"there is no vector index on field: \[clips\[emb\]\]"):
        client.load_collection("st_noidx")
    idx = client.prepare_index_params()
    idx.add_index("clips[emb]", index_type="AUTOINDEX", metric_type="MAX_SIM_IP")
    client.create_index("st_noidx", idx)
    client.load_collection("st_noidx")


def test_struct_schema_errors(client: MilvusClient):
    # Sub-fields in one struct share max_capacity; a struct may not take a top-level field's name.
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    st = client.create_struct_field_schema()
    st.add_field("n", DataType.INT64)
    schema.add_field("vec", DataType.ARRAY, element_type=DataType.STRUCT, struct_schema=st, max_capacity=CAP)
    with pytest.raises(MilvusException, match="duplicated field name vec found"):
        client.create_collection("st_dup", schema=schema)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    st = client.create_struct_field_schema()
    st.add_field("s", DataType.VARCHAR)  # no max_length
    schema.add_field("clips", DataType.ARRAY, element_type=DataType.STRUCT, struct_schema=st, max_capacity=CAP)
    with pytest.raises(MilvusException, match=r"type param\(max_length\) should be specified"):
        client.create_collection("st_nolen", schema=schema)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    st = client.create_struct_field_schema()
    st.add_field("e", DataType.FLOAT_VECTOR, dim=SUB_DIM)
    schema.add_field("clips", DataType.ARRAY, element_type=DataType.STRUCT, struct_schema=st, max_capacity=5000)
    with pytest.raises(MilvusException, match=r"the maximum capacity specified for a Array should be in \(0, 4096\]"):
        client.create_collection("st_cap", schema=schema)
    assert not client.has_collection("st_dup")
    assert not client.has_collection("st_cap")


def test_damaged_struct_column_is_refused(server, client: MilvusClient, kite_bin):
    """A struct sub-field's column file is data like any other column: a flipped byte in the
    embedding-list column stops the start, naming the file (docs/formats/segment_file.md)."""
    from test_storage_damage import start_expecting_refusal

    make_collection(client, "st_dmg")
    client.insert("st_dmg", make_rows(np.random.default_rng(5), 0, 30))
    client.flush("st_dmg")
    client.load_collection("st_dmg")
    d = client.describe_collection("st_dmg")
    clips = next(f for f in d["fields"] if f["name"] == "clips")
    emb_id = next(f["field_id"] for f in clips["struct_fields"] if f["name"] == "emb")
    client.close()
    assert server.stop() == 0
    files = sorted(p for p in (server.data_dir / "objects").rglob(f"{emb_id}.col") if p.is_file())
    assert files, "no column file for the embedding-list sub-field"
    f = files[0]
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x08
    f.write_bytes(bytes(data))
    out = start_expecting_refusal(kite_bin, server.data_dir)
    assert f.name in out, out


def test_compaction_keeps_structs_and_scores(client: MilvusClient):
    """Three flushed segments with deletes, merged by a manual compaction: the struct arrays and
    the MAX_SIM answers are those of the surviving rows, and the merged segment gets its
    embedding-list index (describe_index counts it)."""
    import time

    name = "st_compact"
    make_collection(client, name, metric="MAX_SIM_IP")
    rng = np.random.default_rng(21)
    rows = []
    for part in range(3):
        batch = make_rows(rng, part * 20, 20)
        client.insert(name, batch)
        client.flush(name)
        rows += batch
    client.load_collection(name)
    deleted = [r["id"] for r in rows if r["id"] % 4 == 1]
    client.delete(name, ids=deleted)
    client.flush(name)
    job = client.compact(name)
    deadline = time.time() + 60
    while str(client.get_compaction_state(job)) != "Completed" and time.time() < deadline:
        time.sleep(0.2)
    assert str(client.get_compaction_state(job)) == "Completed"
    alive = [r for r in rows if r["id"] not in set(deleted)]
    check_rows(client, name, alive, ["clips"])
    deadline = time.time() + 60
    while time.time() < deadline:
        info = client.describe_index(name, "clips[emb]")
        if info.get("indexed_rows") == info.get("total_rows") and info.get("state") == "Finished":
            break
        time.sleep(0.2)
    assert info.get("state") == "Finished", info
    q = rng.standard_normal((2, SUB_DIM)).astype(np.float32)
    el = EmbeddingList()
    for v in q:
        el.add(v)
    res = client.search(name, data=[el], anns_field="clips[emb]", limit=10)
    want = expected_hits(alive, q, "MAX_SIM_IP", 10)
    assert [h["id"] for h in res[0]] == [i for _, i in want]


def test_hybrid_search_fuses_an_embedding_list_request(client: MilvusClient):
    """hybrid_search with one AnnSearchRequest on the struct's vector sub-field (an EmbeddingList)
    and one on the top-level vector, fused by RRF(k=60): the ranking is recomputed here from the
    two exact lists."""
    from pymilvus import AnnSearchRequest, RRFRanker

    name = "st_hybrid"
    make_collection(client, name, metric="MAX_SIM_IP")
    rng = np.random.default_rng(33)
    rows = make_rows(rng, 0, 60)
    client.insert(name, rows)
    client.load_collection(name)
    q = rng.standard_normal((2, SUB_DIM)).astype(np.float32)
    el = EmbeddingList()
    for v in q:
        el.add(v)
    qv = rng.random(DIM).astype(np.float32)
    k = 10
    reqs = [AnnSearchRequest(data=[el], anns_field="clips[emb]", param={"metric_type": "MAX_SIM_IP"}, limit=k),
            AnnSearchRequest(data=[qv.tolist()], anns_field="vec", param={"metric_type": "L2"}, limit=k)]
    res = client.hybrid_search(name, reqs, RRFRanker(60), limit=k)
    first = [i for _, i in expected_hits(rows, q, "MAX_SIM_IP", k)]
    l2 = sorted(((float(((np.array(r["vec"], dtype=np.float64) - qv) ** 2).sum()), r["id"]) for r in rows))
    second = [i for _, i in l2[:k]]
    fused = {}
    for lst in (first, second):
        for rank, i in enumerate(lst):
            fused[i] = fused.get(i, 0.0) + 1.0 / (60 + rank + 1)
    got = [(h["id"], h["distance"]) for h in res[0]]
    assert len(got) == k
    for i, d in got:
        assert d == pytest.approx(fused[i], rel=1e-5)
    assert [d for _, d in got] == sorted((d for _, d in got), reverse=True)
    assert sorted(fused.values(), reverse=True)[:k] == pytest.approx([d for _, d in got], rel=1e-5)


def test_search_by_ids_is_refused_on_a_struct_vector(client: MilvusClient):
    """Milvus 2.6 searches by primary keys on plain vector fields only: a struct's vector
    sub-field (an embedding list per row) is refused, in its words."""
    name = "st_by_ids"
    make_collection(client, name, metric="MAX_SIM_L2")
    client.insert(name, make_rows(np.random.default_rng(44), 1, 10))
    client.load_collection(name)
    with pytest.raises(MilvusException, match="array of vector is not supported for search by IDs"):
        client.search(name, ids=[3, 4], anns_field="clips[emb]", limit=5)
    # the plain vector field still searches by ids
    assert client.search(name, ids=[3], anns_field="vec", limit=3)[0][0]["id"] == 3
