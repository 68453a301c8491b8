"""Flush on the local object store vs on S3 (the Versity gateway on loopback): flush time and
objects written per flushed segment.

    /work/main/.venv/bin/python bench/storage_s3.py [--rows 20000] [--dim 128] [--segments 5]

For each store, a fresh `kite standalone` (build/kite, or $KITE_BIN) gets `--segments` rounds of
`--rows / --segments` rows, each round followed by flush(); the script reports the median flush
time, the objects written per flushed segment (counted in the store: files under
<data>/objects/collections/*/segments/<id>/ locally, under <bucket>/<rootPath>/... on S3) and the
S3 / local ratio. Loopback S3 has no network latency: the ratio is the cost of the S3 protocol
path itself (signing, HTTP, the gateway's own fsync), a floor for a real network.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from conftest import KiteServer  # noqa: E402
from pymilvus import DataType, MilvusClient  # noqa: E402
from s3_server import VersityS3  # noqa: E402


def segment_objects(root: Path) -> dict:
    """segment id -> number of objects, under <root>/collections/*/segments/<id>/."""
    out = {}
    for p in root.glob("collections/*/segments/*"):
        out[p.name] = sum(1 for f in p.rglob("*") if f.is_file())
    return out


def run(kind: str, base: Path, rows: int, dim: int, segments: int, kite_bin: Path) -> dict:
    base.mkdir(parents=True)
    extra = []
    s3 = None
    if kind == "s3":
        s3 = VersityS3(base / "s3").start()
        cfg = base / "kite.yaml"
        cfg.write_text(s3.kite_config())
        extra = ["--config", str(cfg)]
    srv = KiteServer(kite_bin, base / "data", base, name=kind, extra_args=extra).start()
    try:
        c = srv.client()
        schema = MilvusClient.create_schema(enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("tag", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        c.create_collection("bench", schema=schema)
        rng = np.random.default_rng(1)
        per = rows // segments
        flush_s = []
        for r in range(segments):
            vecs = rng.random((per, dim), dtype=np.float32)
            batch = [{"id": r * per + i, "tag": i % 100, "vector": vecs[i]} for i in range(per)]
            for lo in range(0, per, 5000):
                c.insert("bench", batch[lo:lo + 5000])
            t0 = time.perf_counter()
            c.flush("bench")
            flush_s.append(time.perf_counter() - t0)
        c.close()
        root = (s3.data / s3.bucket / s3.root_path) if s3 else (srv.data_dir / "objects")
        objs = segment_objects(root)
        return {
            "store": kind,
            "flush_median_ms": statistics.median(flush_s) * 1000,
            "flush_ms": [round(x * 1000, 1) for x in flush_s],
            "segments": len(objs),
            "objects_per_segment": statistics.mean(objs.values()) if objs else 0,
        }
    finally:
        srv.cleanup()
        if s3:
            s3.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--segments", type=int, default=5)
    ap.add_argument("--kite-bin", default=str(REPO / "build" / "kite"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = [run(k, Path(tmp) / k, a.rows, a.dim, a.segments, Path(a.kite_bin)) for k in ("local", "s3")]
    local, s3 = res
    print(json.dumps(res, indent=2))
    print(f"\n{a.rows} rows x {a.dim}-d in {a.segments} flushes")
    print(f"{'store':<6} {'flush median ms':>16} {'objects/segment':>16}")
    for r in res:
        print(f"{r['store']:<6} {r['flush_median_ms']:>16.1f} {r['objects_per_segment']:>16.1f}")
    print(f"flush time S3 / local: {s3['flush_median_ms'] / local['flush_median_ms']:.2f}x")


if __name__ == "__main__":
    main()
