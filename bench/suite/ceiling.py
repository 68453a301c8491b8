"""The ceiling: the raw HNSW kernels called in-process on the same data with the same M,
efConstruction and ef — hnswlib (the reference implementation of Malkov & Yashunin 2018, "Efficient
and robust approximate nearest neighbor search using Hierarchical Navigable Small World graphs")
and Faiss's IndexHNSWFlat. No RPC, no serialization: what a server could reach at best.

QPS at concurrency 1 and 2 are batch searches over all queries with 1 and 2 threads (the machine's
core count); latency is a per-query call. Filtered search uses Faiss with an IDSelectorBitmap.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Callable, Dict

import numpy as np

from .config import Mode
from .datasets import Dataset, U_RANGE, recall_at


def _rss_mb() -> float:
    for line in open(f"/proc/{os.getpid()}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _recall(ids: np.ndarray, gt: np.ndarray, k: int) -> float:
    return float(np.mean([recall_at(ids[i], gt[i], k) for i in range(len(ids))]))


def _sweep_point(ef: int, q: np.ndarray, gt: np.ndarray, k: int, one, batch) -> dict:
    one(q[0])
    lat = []
    for i in range(len(q)):
        t0 = time.perf_counter()
        one(q[i])
        lat.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    ids1 = batch(q, 1)
    t1 = time.perf_counter()
    batch(q, 2)
    t2 = time.perf_counter()
    lat = np.array(lat)
    return {"ef": ef, "recall": _recall(ids1, gt, k), "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "qps_serial": float(1000 / lat.mean()),
            "qps_c1": len(q) / (t1 - t0), "qps_c2": len(q) / (t2 - t1), "latencies_ms": lat.round(4).tolist()}


def run_hnswlib(ds: Dataset, mode: Mode, step: Callable[[str], None]) -> Dict:
    import hnswlib
    q = ds.queries[: mode.serial_queries or None]
    gt = ds.gt()
    space = "l2" if ds.spec.metric == "L2" else "ip"  # COSINE data is normalised
    step("hnswlib build")
    rss0 = _rss_mb()
    index = hnswlib.Index(space=space, dim=ds.dim)
    t0 = time.perf_counter()
    index.init_index(max_elements=ds.rows, M=mode.hnsw_m, ef_construction=mode.hnsw_ef_construction, random_seed=100)
    index.add_items(np.asarray(ds.base), np.arange(ds.rows), num_threads=2)
    r = {"build_s": time.perf_counter() - t0, "index_rss_mb": _rss_mb() - rss0, "sweep": []}
    with tempfile.NamedTemporaryFile(suffix=".hnsw") as f:
        index.save_index(f.name)
        r["index_bytes"] = os.path.getsize(f.name)
    for ef in mode.efs:
        step(f"hnswlib ef={ef}")
        index.set_ef(ef)
        r["sweep"].append(_sweep_point(
            ef, q, gt, mode.topk,
            lambda v: index.knn_query(v, k=mode.topk, num_threads=1),
            lambda qs, th: index.knn_query(qs, k=mode.topk, num_threads=th)[0].astype(np.int64)))
    r["version"] = getattr(hnswlib, "__version__", None) or _dist_version("hnswlib")
    del index
    return r


def run_faiss(ds: Dataset, mode: Mode, step: Callable[[str], None]) -> Dict:
    import faiss
    q = np.ascontiguousarray(ds.queries[: mode.serial_queries or None])
    metric = faiss.METRIC_L2 if ds.spec.metric == "L2" else faiss.METRIC_INNER_PRODUCT
    step("faiss build")
    rss0 = _rss_mb()
    index = faiss.IndexHNSWFlat(ds.dim, mode.hnsw_m, metric)
    index.hnsw.efConstruction = mode.hnsw_ef_construction
    faiss.omp_set_num_threads(2)
    t0 = time.perf_counter()
    for lo in range(0, ds.rows, 100_000):
        index.add(np.ascontiguousarray(ds.base[lo:lo + 100_000]))
    r = {"build_s": time.perf_counter() - t0, "index_rss_mb": _rss_mb() - rss0, "sweep": [], "filtered": [],
         "index_bytes": int(faiss.serialize_index(index).nbytes)}

    def search(qs, ef, threads, sel=None):
        faiss.omp_set_num_threads(threads)
        params = faiss.SearchParametersHNSW(efSearch=ef)
        if sel is not None:
            params.sel = sel
        return index.search(np.atleast_2d(qs), mode.topk, params=params)[1]

    for ef in mode.efs:
        step(f"faiss ef={ef}")
        r["sweep"].append(_sweep_point(ef, q, ds.gt(), mode.topk,
                                       lambda v: search(v, ef, 1), lambda qs, th: search(qs, ef, th)))
    u = np.asarray(ds.u)
    for f in mode.filters:
        step(f"faiss filtered {f * 100:g}%")
        mask = u < int(round(f * U_RANGE))
        bitmap = np.packbits(mask, bitorder="little")
        sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap))
        p = _sweep_point(mode.ref_ef, q, ds.gt(f), mode.topk,
                         lambda v: search(v, mode.ref_ef, 1, sel), lambda qs, th: search(qs, mode.ref_ef, th, sel))
        p["pass_rate"] = f
        r["filtered"].append(p)
    r["version"] = faiss.__version__
    faiss.omp_set_num_threads(2)
    del index
    return r


def _dist_version(name: str) -> str:
    from importlib.metadata import version
    try:
        return version(name)
    except Exception:  # noqa: BLE001
        return "?"
