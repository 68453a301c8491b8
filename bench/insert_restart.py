#!/usr/bin/env python3
"""Write-path benchmark (issue: durable writes).

Measures, against a freshly started `kite standalone`:
  1. insert throughput through pymilvus (rows/s) for 128-d and 768-d float
     vectors in 10k-row batches;
  2. the time to restart and serve (first successful count(*)) with N rows
     unflushed (WAL replay) vs flushed (segments loaded from the object store).

Usage: .venv/bin/python bench/insert_restart.py [--rows 1000000] [--dims 128,768]
Writes a markdown table to stdout (and to --out if given).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
from pymilvus import DataType, MilvusClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("KITE_BIN", os.path.join(REPO, "build", "kite"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir, config=None):
        self.data_dir = data_dir
        self.config = config
        self.port = free_port()
        self.metrics_port = free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.data_dir, "..", f"kite-{self.port}.log"), "ab")
        t0 = time.perf_counter()
        cmd = [BIN, "standalone", "--data-dir", self.data_dir, "--port", str(self.port),
               "--metrics-port", str(self.metrics_port)]
        if self.config:
            cmd += ["--config", self.config]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("kite exited during start")
                time.sleep(0.01)
        return t0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.port}"


def make_collection(client, name, dim):
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="AUTOINDEX", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)


def insert_rows(client, name, dim, rows, batch=10_000, seed=0):
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for lo in range(0, rows, batch):
        n = min(batch, rows - lo)
        vecs = rng.random((n, dim), dtype=np.float32)
        client.insert(name, [{"id": lo + i, "vec": vecs[i]} for i in range(n)])
    return rows / (time.perf_counter() - start)


def time_to_serve(server, name, expect):
    t0 = server.start()
    client = MilvusClient(server.uri)
    while True:
        try:
            res = client.query(name, filter="", output_fields=["count(*)"])
            break
        except Exception:
            time.sleep(0.01)
    elapsed = time.perf_counter() - t0
    got = res[0]["count(*)"]
    client.close()
    if got != expect:
        raise RuntimeError(f"after restart count(*) = {got}, expected {expect}")
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--insert-rows", type=int, default=200_000, help="rows per dim for the throughput test")
    ap.add_argument("--dims", default="128,768")
    ap.add_argument("--out")
    args = ap.parse_args()
    lines = ["| measurement | value |", "|---|---|"]
    root = tempfile.mkdtemp(prefix="kite-bench-")
    try:
        for dim in [int(d) for d in args.dims.split(",")]:
            data = os.path.join(root, f"ins{dim}")
            os.makedirs(data)
            srv = Server(data)
            srv.start()
            c = MilvusClient(srv.uri)
            make_collection(c, "b", dim)
            rate = insert_rows(c, "b", dim, args.insert_rows)
            lines.append(f"| insert {dim}-d, 10k-row batches, {args.insert_rows} rows | {rate:,.0f} rows/s |")
            c.close()
            srv.stop()
        for flushed in (False, True):
            data = os.path.join(root, f"restart{int(flushed)}")
            os.makedirs(data)
            # Keep every row in growing segments (no size-triggered flush) for the unflushed case.
            cfg = os.path.join(root, "big-segments.yaml")
            with open(cfg, "w") as f:
                f.write("dataCoord:\n  segment:\n    maxSizeMB: 65536\n    maxIdleTimeSec: 86400\n")
            srv = Server(data, config=cfg)
            srv.start()
            c = MilvusClient(srv.uri)
            make_collection(c, "r", 128)
            insert_rows(c, "r", 128, args.rows)
            if flushed:
                c.flush("r")
            c.close()
            srv.stop()
            secs = time_to_serve(srv, "r", args.rows)
            srv.stop()
            state = "flushed" if flushed else "unflushed (WAL replay)"
            lines.append(f"| restart to first count(*), {args.rows} rows x 128-d, {state} | {secs:.2f} s |")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
