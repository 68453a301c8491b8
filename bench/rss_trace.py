"""Memory of a bulk load, traced: starts `kite standalone` on a fresh data dir, loads one of the
benchmark datasets through pymilvus (insert, flush, HNSW M=16 efConstruction=200, load) and samples
the server's VmRSS every --interval seconds, then prints one JSON line: the peak, the phase it
happened in, the RSS after each phase and the phase times.

    bench/.venv/bin/python bench/rss_trace.py --dataset gauss-1m-128-s42 [--load-first]

--load-first creates the index and loads the collection before inserting (what MilvusClient's
quick setup does), so sealed segments live in the query node while they are merged and indexed.
Datasets are the ones bench/run.sh generates under bench/.cache/datasets (1M x 128: --full mode).
Not a pass/fail check: it is how the peak-RSS figures of the 2026-12-02 notes were measured.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RssSampler(threading.Thread):
    """VmRSS of `pid` every `interval` seconds, tagged with the phase running at the time."""

    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.phase = "start"
        self.samples = []  # (seconds, phase, MiB)
        self.stop = threading.Event()
        self.t0 = time.perf_counter()

    def rss_mib(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.samples.append((time.perf_counter() - self.t0, self.phase, self.rss_mib()))
            except OSError:
                return
            self.stop.wait(self.interval)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="gauss-1m-128-s42", help="directory under bench/.cache/datasets")
    ap.add_argument("--binary", default=str(ROOT / "build" / "kite"))
    ap.add_argument("--load-first", action="store_true", help="index and load before inserting")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between RSS samples")
    ap.add_argument("--batch", type=int, default=20000, help="rows per insert call")
    args = ap.parse_args()

    ds = ROOT / "bench" / ".cache" / "datasets" / args.dataset
    if not (ds / "base.npy").exists():
        print(f"no dataset at {ds}: run bench/run.sh (--full for gauss-1m-128) first", file=sys.stderr)
        return 2
    base = np.load(ds / "base.npy", mmap_mode="r")
    meta = json.loads((ds / "meta.json").read_text())
    metric = meta.get("spec", {}).get("metric", "L2")

    with tempfile.TemporaryDirectory(prefix="kite-rss-") as tmp:
        port = free_port()
        log = open(os.path.join(tmp, "server.log"), "w")
        proc = subprocess.Popen([args.binary, "standalone", "--data-dir", os.path.join(tmp, "data"), "--port",
                                 str(port), "--metrics-port", str(free_port()), "--log-level", "info"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        sampler = RssSampler(proc.pid, args.interval)
        sampler.start()
        times = {}
        after = {}

        def phase(name: str, fn) -> None:
            sampler.phase = name
            t0 = time.perf_counter()
            fn()
            times[name] = round(time.perf_counter() - t0, 2)
            after[name] = round(sampler.rss_mib(), 1)

        try:
            deadline = time.time() + 30
            while True:
                try:
                    c = MilvusClient(f"http://127.0.0.1:{port}", timeout=600)
                    break
                except Exception:
                    if time.time() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.1)
            schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=int(base.shape[1]))
            schema.add_field("u", DataType.INT64)
            c.create_collection("b", schema=schema, consistency_level="Bounded")
            ip = c.prepare_index_params()
            ip.add_index(field_name="vec", index_type="HNSW", metric_type=metric,
                         params={"M": 16, "efConstruction": 200})

            def insert() -> None:
                for lo in range(0, len(base), args.batch):
                    v = np.asarray(base[lo:lo + args.batch])
                    c.insert("b", [{"id": lo + i, "vec": v[i], "u": (lo + i) % 10000} for i in range(len(v))])

            def wait_index() -> None:
                while True:
                    d = c.describe_index("b", "vec")
                    if d.get("state") == "Failed":
                        raise RuntimeError(f"index build failed: {d}")
                    if int(d.get("pending_index_rows", 1)) == 0 and int(d.get("indexed_rows", 0)) >= len(base):
                        return
                    time.sleep(0.5)

            if args.load_first:
                phase("create index + load", lambda: (c.create_index("b", ip), c.load_collection("b")))
            phase("insert", insert)
            phase("flush", lambda: c.flush("b"))
            if not args.load_first:
                phase("create index", lambda: c.create_index("b", ip))
            phase("wait for index", wait_index)
            if not args.load_first:
                phase("load", lambda: c.load_collection("b"))
            sampler.phase = "idle"
            time.sleep(2)
        finally:
            sampler.stop.set()
            sampler.join()
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
        peak = max(sampler.samples, key=lambda s: s[2])
        print(json.dumps({
            "dataset": args.dataset, "rows": int(len(base)), "load_first": args.load_first,
            "binary": args.binary, "peak_rss_mib": round(peak[2], 1), "peak_phase": peak[1],
            "peak_at_s": round(peak[0], 1), "rss_after_phase_mib": after, "phase_s": times,
            "samples": len(sampler.samples)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
