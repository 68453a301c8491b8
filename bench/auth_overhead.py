#!/usr/bin/env python3
"""Search QPS with authorization on vs off, in one run (issue 17: the check must cost < 5 %).

Starts `build/kite standalone` twice on fresh data dirs (common.security.authorizationEnabled false,
then true), loads the same collection (N x DIM float vectors, HNSW M=16 efConstruction=100) and
drives Search with `build/kite_loadgen` (C threads, one query per request; with --token root:Milvus
for the authorized server, so every request carries pymilvus's `authorization` metadata and goes
through authentication and the privilege check). Rounds alternate off/on to spread drift; the
result is the median QPS of each side.

usage: bench/auth_overhead.py [--rows 20000] [--dim 64] [--concurrency 2] [--seconds 5] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kite: Path, base: Path, auth: bool):
    cfg = base / "kite.yaml"
    cfg.write_text(f"common:\n  security:\n    authorizationEnabled: {'true' if auth else 'false'}\n")
    port = free_port()
    proc = subprocess.Popen([str(kite), "standalone", "--data-dir", str(base / "data"), "--config", str(cfg),
                             "--port", str(port), "--metrics-port", str(free_port()), "--log-level", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    token = "root:Milvus" if auth else ""
    deadline = time.time() + 30
    while True:
        try:
            c = MilvusClient(f"http://127.0.0.1:{port}", token=token, timeout=2)
            c.get_server_version()
            return proc, port, c
        except Exception:  # noqa: BLE001 - not up yet
            if time.time() > deadline:
                proc.kill()
                raise
            time.sleep(0.2)


def load(c: MilvusClient, vecs: np.ndarray) -> None:
    schema = c.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=vecs.shape[1])
    idx = c.prepare_index_params()
    idx.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 100})
    c.create_collection("bench", schema=schema, index_params=idx)
    for i in range(0, len(vecs), 5000):
        c.insert("bench", [{"id": j, "vec": vecs[j].tolist()} for j in range(i, min(i + 5000, len(vecs)))])
    c.flush("bench")
    while True:
        info = c.describe_index("bench", "vec")
        if int(info.get("indexed_rows", 0)) >= len(vecs):
            break
        time.sleep(0.5)
    c.load_collection("bench")


def run_loadgen(loadgen: Path, port: int, queries: Path, args, token: str) -> dict:
    cmd = [str(loadgen), "--address", f"127.0.0.1:{port}", "--collection", "bench", "--queries", str(queries),
           "--params", '{"ef":64}', "--concurrency", str(args.concurrency), "--duration", str(args.seconds)]
    if token:
        cmd += ["--token", token]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--build", default=str(REPO / "build"))
    args = ap.parse_args()
    kite, loadgen = Path(args.build) / "kite", Path(args.build) / "bench" / "kite_loadgen"
    rng = np.random.default_rng(1)
    vecs = rng.random((args.rows, args.dim), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="kite-auth-bench-") as tmp:
        queries = Path(tmp) / "q.npy"
        np.save(queries, rng.random((1000, args.dim), dtype=np.float32))
        servers = {}
        for auth in (False, True):
            base = Path(tmp) / ("on" if auth else "off")
            base.mkdir()
            proc, port, c = start(kite, base, auth)
            load(c, vecs)
            servers[auth] = (proc, port, c)
        qps = {False: [], True: []}
        errors = {False: 0, True: 0}
        try:
            for _ in range(args.rounds):
                for auth in (False, True):
                    r = run_loadgen(loadgen, servers[auth][1], queries, args, "root:Milvus" if auth else "")
                    qps[auth].append(r["qps"])
                    errors[auth] += r["errors"]
        finally:
            for proc, _, c in servers.values():
                c.close()
                proc.terminate()
                proc.wait(timeout=15)
    off, on = statistics.median(qps[False]), statistics.median(qps[True])
    result = {"rows": args.rows, "dim": args.dim, "concurrency": args.concurrency, "seconds": args.seconds,
              "qps_auth_off": qps[False], "qps_auth_on": qps[True], "median_off": off, "median_on": on,
              "overhead_pct": round(100 * (off - on) / off, 2), "errors": errors}
    print(json.dumps(result))
    sys.exit(1 if errors[True] or errors[False] else 0)


if __name__ == "__main__":
    main()
