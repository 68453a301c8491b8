#!/usr/bin/env python3
"""Hybrid search benchmark (issue 19): hybrid_search over two vector fields with RRF and
weighted fusion vs the same two searches sent one after the other, against a freshly started
`kite standalone`, one client, sequential requests (latency-bound, as a RAG app calls it).

Usage: .venv/bin/python bench/hybrid_bench.py [--rows 20000] [--dim 128] [--queries 300]
Prints a markdown table (QPS and p50/p99 latency per request kind).
"""
import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time

import numpy as np
from pymilvus import AnnSearchRequest, DataType, MilvusClient, RRFRanker, WeightedRanker

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("KITE_BIN", os.path.join(REPO, "build", "kite"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--index", default="HNSW")
    args = ap.parse_args()

    data_dir = tempfile.mkdtemp(prefix="kite-hybrid-")
    port, mport = free_port(), free_port()
    log = open(os.path.join(data_dir, "kite.log"), "w")
    proc = subprocess.Popen([BIN, "standalone", "--data-dir", os.path.join(data_dir, "d"), "--port", str(port),
                             "--metrics-port", str(mport)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                c = MilvusClient(uri=f"http://127.0.0.1:{port}")
                c.list_collections()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        rng = np.random.default_rng(1)
        schema = MilvusClient.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("a", DataType.FLOAT_VECTOR, dim=args.dim)
        schema.add_field("b", DataType.FLOAT_VECTOR, dim=args.dim)
        idx = c.prepare_index_params()
        params = {"M": 16, "efConstruction": 100} if args.index == "HNSW" else {}
        idx.add_index("a", index_type=args.index, metric_type="COSINE", params=params)
        idx.add_index("b", index_type=args.index, metric_type="L2", params=params)
        c.create_collection("h", schema=schema, index_params=idx)
        batch = 5000
        for lo in range(0, args.rows, batch):
            hi = min(args.rows, lo + batch)
            a = rng.standard_normal((hi - lo, args.dim)).astype(np.float32)
            b = rng.standard_normal((hi - lo, args.dim)).astype(np.float32)
            c.insert("h", [{"id": i, "a": a[i - lo].tolist(), "b": b[i - lo].tolist()} for i in range(lo, hi)])
        c.flush("h")
        deadline = time.time() + 600
        while time.time() < deadline:
            done = all(c.describe_index("h", f).get("pending_index_rows", 0) == 0 and
                       c.describe_index("h", f).get("indexed_rows", 0) >= args.rows for f in ("a", "b"))
            if done:
                break
            time.sleep(1)
        qa = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
        qb = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
        sp = {"params": {"ef": 64}} if args.index == "HNSW" else {}

        def run(kind):
            lat = []
            for i in range(args.queries):
                t = time.perf_counter()
                if kind == "two searches":
                    c.search("h", [qa[i].tolist()], anns_field="a", limit=10, search_params=sp)
                    c.search("h", [qb[i].tolist()], anns_field="b", limit=10, search_params=sp)
                else:
                    reqs = [AnnSearchRequest([qa[i].tolist()], "a", sp, 10),
                            AnnSearchRequest([qb[i].tolist()], "b", sp, 10)]
                    ranker = RRFRanker() if kind == "hybrid RRF" else WeightedRanker(0.5, 0.5)
                    c.hybrid_search("h", reqs, ranker, limit=10)
                lat.append(time.perf_counter() - t)
            lat = np.array(lat) * 1000
            return args.queries / (lat.sum() / 1000), np.percentile(lat, 50), np.percentile(lat, 99)

        kinds = ["two searches", "hybrid RRF", "hybrid weighted"]
        for k in kinds:  # warm up
            run(k)
        print(f"{args.rows} rows x 2 fields x {args.dim}-d, {args.index}, {args.queries} sequential requests\n")
        print("| request | QPS | p50 ms | p99 ms |\n|---|---|---|---|")
        for k in kinds:
            qps, p50, p99 = run(k)
            print(f"| {k} | {qps:.0f} | {p50:.2f} | {p99:.2f} |")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
