"""One quick workload on the embedded engines vs etcd + S3 + Kafka, as ratios (issue 15's bench).

    /work/main/.venv/bin/python bench/storage_engines.py [--rows 20000] [--dim 128] [--queries 300]
        [--out bench/results/DATE-storage-engines.md]

For each engine set, a fresh `kite standalone` (build/kite, or --kite-bin) on a fresh data dir:
  embedded    RocksDB meta store, local object store, embedded WAL (the default);
  distributed meta on etcd, segments and indexes on S3 (the Versity gateway), the WAL on Kafka,
              all three started by this script on loopback (tests/e2e's helpers).
The workload: insert --rows rows in batches of 2,000 (rows/s), flush (s), HNSW index build and
load (s), serial search one query at a time (QPS, p50 and p99 latency, ef=64, k=10), then a
graceful restart timed from the stop to the first search result (stop + start + load + search),
and the objects written per flushed segment. Ratios are distributed / embedded (for times > 1 is
slower, for rates < 1 is slower). Loopback services have no network latency: the ratios are the
cost of the protocols and of the services themselves, a floor for a real network.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from conftest import KiteServer  # noqa: E402
from etcd_util import EtcdProcess  # noqa: E402
from kafka_broker import KafkaBroker  # noqa: E402
from pymilvus import DataType, MilvusClient  # noqa: E402
from s3_server import VersityS3  # noqa: E402

BATCH = 2000


def segment_objects(root: Path) -> dict:
    out = {}
    for p in root.glob("collections/*/segments/*"):
        out[p.name] = sum(1 for f in p.rglob("*") if f.is_file())
    return out


def workload(srv: KiteServer, rows: int, dim: int, nq: int) -> dict:
    rng = np.random.default_rng(42)
    base = rng.standard_normal((rows, dim), dtype=np.float32)
    queries = rng.standard_normal((nq, dim), dtype=np.float32)
    c = srv.client()
    schema = MilvusClient.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    c.create_collection("bench", schema=schema)
    r = {}
    t0 = time.perf_counter()
    for lo in range(0, rows, BATCH):
        hi = min(rows, lo + BATCH)
        c.insert("bench", [{"id": i, "tag": i % 100, "vector": base[i]} for i in range(lo, hi)])
    r["insert_rows_per_s"] = rows / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    c.flush("bench")
    r["flush_s"] = time.perf_counter() - t0
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 100})
    t0 = time.perf_counter()
    c.create_index("bench", ip)
    deadline = time.monotonic() + 600
    while True:
        info = c.describe_index("bench", "vector")
        if info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= rows:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"index not built: {info}")
        time.sleep(0.05)
    c.load_collection("bench")
    r["index_and_load_s"] = time.perf_counter() - t0
    params = {"metric_type": "L2", "params": {"ef": 64}}
    for q in queries[:20]:  # warm-up
        c.search("bench", [q.tolist()], limit=10, search_params=params)
    lat = []
    t0 = time.perf_counter()
    for q in queries:
        t1 = time.perf_counter()
        c.search("bench", [q.tolist()], limit=10, search_params=params)
        lat.append(time.perf_counter() - t1)
    r["search_qps"] = nq / (time.perf_counter() - t0)
    lat.sort()
    r["search_p50_ms"] = statistics.median(lat) * 1000
    r["search_p99_ms"] = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000
    c.close()
    t0 = time.perf_counter()
    srv.restart()
    c = srv.client()
    c.load_collection("bench")
    c.search("bench", [queries[0].tolist()], limit=10, search_params=params)
    r["restart_to_first_result_s"] = time.perf_counter() - t0
    c.close()
    return r


def run(kind: str, base: Path, args) -> dict:
    base.mkdir(parents=True)
    services = []
    extra = []
    objects_root = None
    try:
        if kind == "distributed":
            etcd = EtcdProcess(base / "etcd").start()
            services.append(etcd)
            s3 = VersityS3(base / "s3").start()
            services.append(s3)
            (base / "kafka").mkdir()
            broker = KafkaBroker(base / "kafka").start()
            services.append(broker)
            cfg = base / "kite.yaml"
            cfg.write_text(
                f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: kite{uuid.uuid4().hex[:8]}\n"
                + s3.kite_config()
                + f"mq:\n  type: kafka\nkafka:\n  brokerList: {broker.address}\n"
                + f"msgChannel:\n  chanNamePrefix:\n    cluster: kb{uuid.uuid4().hex[:10]}\n")
            extra = ["--config", str(cfg)]
            objects_root = s3.data / s3.bucket / s3.root_path
        srv = KiteServer(Path(args.kite_bin), base / "data", base, name=kind, extra_args=extra).start()
        try:
            r = workload(srv, args.rows, args.dim, args.queries)
            objs = segment_objects(objects_root or srv.data_dir / "objects")
            r["objects_per_segment"] = statistics.mean(objs.values()) if objs else 0
            r["segments"] = len(objs)
        finally:
            srv.cleanup()
        return r
    finally:
        for s in reversed(services):
            s.stop()


ROWS = [  # key, label, higher is better
    ("insert_rows_per_s", "insert rate, rows/s", True),
    ("flush_s", "flush, s", False),
    ("index_and_load_s", "HNSW build + load, s", False),
    ("search_qps", "serial search QPS (ef=64, k=10)", True),
    ("search_p50_ms", "search p50, ms", False),
    ("search_p99_ms", "search p99, ms", False),
    ("restart_to_first_result_s", "restart to first result, s", False),
    ("objects_per_segment", "objects per flushed segment", False),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--kite-bin", default=str(REPO / "build" / "kite"))
    ap.add_argument("--out", default=str(REPO / "bench" / "results" /
                                         f"{datetime.date.today().isoformat()}-storage-engines.md"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = {k: run(k, Path(tmp) / k, args) for k in ("embedded", "distributed")}
    e, d = res["embedded"], res["distributed"]
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    load = open("/proc/loadavg").read().split()[:3]
    lines = [
        f"# {datetime.date.today().isoformat()}: embedded engines vs etcd + S3 + Kafka",
        "",
        f"Command: `bench/storage_engines.py --rows {args.rows} --dim {args.dim} --queries {args.queries}` "
        f"at {rev}; {platform.machine()}, load average at the end {' '.join(load)} (shared machine: "
        "expect noise). Services on loopback (etcd 3.4, the Versity S3 gateway, Kafka 4.1.1 KRaft), "
        "started by the script. Ratio = distributed / embedded.",
        "",
        "| measure | embedded | etcd + S3 + Kafka | ratio |",
        "|---|---|---|---|",
    ]
    for key, label, _ in ROWS:
        ratio = d[key] / e[key] if e[key] else float("nan")
        lines.append(f"| {label} | {e[key]:.4g} | {d[key]:.4g} | {ratio:.2f}x |")
    lines += ["", "```json", json.dumps(res, indent=1), "```", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
