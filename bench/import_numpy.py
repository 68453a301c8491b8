#!/usr/bin/env python3
"""Bulk import of N rows from NumPy files (issue 18 item 6): wall time from bulk_import to Completed.

Starts `build/kite standalone` on a fresh data dir, writes `id.npy` (int64) and `vec.npy` (N x DIM
float32) with numpy (what LocalBulkWriter writes for these fields) straight into the server's local
object store, submits one import job over REST (pymilvus.bulk_writer.bulk_import), polls
get_import_progress until it is Completed, then checks count(*) and that a stored vector finds its
own row (FLAT search on the growing/sealed data, no index build in the timing).

usage: bench/import_numpy.py [--rows 1000000] [--dim 128]
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient
from pymilvus.bulk_writer import bulk_import, get_import_progress

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
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
                    c = MilvusClient(f"http://127.0.0.1:{port}", timeout=5)
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
            t0 = time.time()
            objects = base / "data" / "objects" / "import" / "bench"
            objects.mkdir(parents=True)
            rng = np.random.default_rng(1)
            np.save(objects / "id.npy", np.arange(args.rows, dtype=np.int64))
            vecs = rng.random((args.rows, args.dim), dtype=np.float32)
            np.save(objects / "vec.npy", vecs)
            t_files = time.time() - t0
            url = f"http://127.0.0.1:{port}"
            t1 = time.time()
            resp = bulk_import(url=url, collection_name="bench",
                               files=[["import/bench/id.npy", "import/bench/vec.npy"]]).json()
            job = resp["data"]["jobId"]
            while True:
                st = get_import_progress(url=url, job_id=job).json()["data"]
                if st["state"] in ("Completed", "Failed"):
                    break
                time.sleep(0.5)
            t_import = time.time() - t1
            assert st["state"] == "Completed", st
            n = c.query("bench", filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]
            probe = args.rows // 3
            hit = c.search("bench", data=[vecs[probe].tolist()], limit=1, consistency_level="Strong")[0][0]["id"]
            print(f"rows={args.rows} dim={args.dim} files_written_s={t_files:.1f} "
                  f"import_s={t_import:.1f} rows_per_s={args.rows / t_import:.0f} count={n} self_hit={hit == probe}")
        finally:
            proc.terminate()
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
