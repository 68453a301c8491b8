#!/usr/bin/env python3
"""Bulk import of N rows from one Parquet file (issue 18 item 6): wall time from bulk_import to Completed.

Starts `build/kite standalone` on a fresh data dir, writes one Parquet file with pyarrow in the layout
pymilvus's LocalBulkWriter(file_type=PARQUET) writes (`id` int64, `vec` list<float>, row groups of
65,536 rows: the writer's 32 MB per row group at 516 bytes a row) straight into the server's local
object store, submits one import job over REST (pymilvus.bulk_writer.bulk_import), polls
get_import_progress until it is Completed, then checks count(*), queries 1,000 rows by id and compares
their vectors with the file's, and checks that a stored vector finds its own row (FLAT search, Strong;
no index build in the timing). `--numpy` runs the same with id.npy + vec.npy instead, for a
side-by-side number on the same machine.

usage: bench/import_parquet.py [--rows 1000000] [--dim 128] [--numpy]
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pymilvus import DataType, MilvusClient
from pymilvus.bulk_writer import bulk_import, get_import_progress

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_files(objects: Path, ids: np.ndarray, vecs: np.ndarray, numpy_files: bool) -> list:
    objects.mkdir(parents=True)
    if numpy_files:
        np.save(objects / "id.npy", ids)
        np.save(objects / "vec.npy", vecs)
        return ["import/bench/id.npy", "import/bench/vec.npy"]
    n, dim = vecs.shape
    offsets = pa.array(np.arange(0, (n + 1) * dim, dim, dtype=np.int32))
    vec_col = pa.ListArray.from_arrays(offsets, pa.array(vecs.ravel()))
    pq.write_table(pa.table({"id": pa.array(ids), "vec": vec_col}), objects / "rows.parquet", row_group_size=65536)
    return ["import/bench/rows.parquet"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--numpy", action="store_true", help="import id.npy + vec.npy instead of one Parquet file")
    ap.add_argument("--kite", default=str(REPO / "build" / "kite"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        port = free_port()
        proc = subprocess.Popen([args.kite, "standalone", "--data-dir", str(base / "data"), "--port", str(port),
                                 "--metrics-port", str(free_port()), "--log-level", "warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    c = MilvusClient(f"http://127.0.0.1:{port}", timeout=30)
                    c.get_server_version()
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
            s = c.create_schema()
            s.add_field("id", DataType.INT64, is_primary=True)
            s.add_field("vec", DataType.FLOAT_VECTOR, dim=args.dim)
            ip = c.prepare_index_params()
            ip.add_index("vec", index_type="FLAT", metric_type="L2")
            c.create_collection("bench", schema=s, index_params=ip)
            rng = np.random.default_rng(1)
            ids = np.arange(args.rows, dtype=np.int64)
            vecs = rng.random((args.rows, args.dim), dtype=np.float32)
            t0 = time.time()
            files = write_files(base / "data" / "objects" / "import" / "bench", ids, vecs, args.numpy)
            t_files = time.time() - t0
            size_mb = sum((base / "data" / "objects" / f).stat().st_size for f in files) / 2**20
            url = f"http://127.0.0.1:{port}"
            t1 = time.time()
            job = bulk_import(url=url, collection_name="bench", files=[files]).json()["data"]["jobId"]
            while True:
                st = get_import_progress(url=url, job_id=job).json()["data"]
                if st["state"] in ("Completed", "Failed"):
                    break
                time.sleep(0.5)
            t_import = time.time() - t1
            assert st["state"] == "Completed", st
            t2 = time.time()
            n = c.query("bench", filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]
            t_count = time.time() - t2
            sample = rng.choice(args.rows, 1000, replace=False)
            t3 = time.time()
            got = c.query("bench", filter=f"id in {sample.tolist()}", output_fields=["vec"], consistency_level="Strong")
            t_query = time.time() - t3
            same = len(got) == 1000 and all(np.array_equal(np.array(g["vec"], dtype=np.float32), vecs[g["id"]])
                                            for g in got)
            probe = args.rows // 3
            t4 = time.time()
            hit = c.search("bench", data=[vecs[probe].tolist()], limit=1, consistency_level="Strong")[0][0]["id"]
            t_search = time.time() - t4
            print(f"format={'numpy' if args.numpy else 'parquet'} rows={args.rows} dim={args.dim} "
                  f"file_mb={size_mb:.0f} files_written_s={t_files:.1f} import_s={t_import:.1f} "
                  f"rows_per_s={args.rows / t_import:.0f} count={n} count_s={t_count:.2f} "
                  f"query_1000_by_id_s={t_query:.2f} vectors_equal={same} search_s={t_search:.2f} "
                  f"self_hit={hit == probe}")
        finally:
            proc.terminate()
            proc.wait(timeout=120)


if __name__ == "__main__":
    main()
