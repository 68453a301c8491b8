"""Deterministic datasets with cached exact ground truth.

A dataset lives in bench/.cache/datasets/<name>-s<seed>/ as .npy files:
  base.npy    float32 [n, d]   vectors (row i has primary key i)
  queries.npy float32 [nq, d]  query vectors (never in base)
  u.npy       int64 [n]        a uniform integer in [0, 10000) per row, for filtered search
  gt.npy      int64 [nq, 100]  exact top-100 ids, and gt_p<pct>.npy for each filter pass rate
  meta.json   what was generated and how (a different spec regenerates)

Ground truth is brute force in numpy, chunked over the base so memory stays bounded, with float64
accumulation of the norms. COSINE data is normalised, so COSINE ranks as inner product.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Callable, Dict, List, Optional

import numpy as np

from .config import DatasetSpec

GT_K = 100
U_RANGE = 10_000
CHUNK_ROWS = 65_536


def filter_expr(pass_rate: float) -> str:
    """Milvus filter that lets `pass_rate` of the rows through (u is uniform in [0, 10000))."""
    return f"u < {int(round(pass_rate * U_RANGE))}"


def gt_name(pass_rate: Optional[float]) -> str:
    return "gt" if pass_rate is None else f"gt_p{pass_rate * 100:g}"


class Dataset:
    def __init__(self, spec: DatasetSpec, path: str):
        self.spec = spec
        self.path = path
        self.meta = json.load(open(os.path.join(path, "meta.json")))

    def _load(self, name: str) -> np.ndarray:
        return np.load(os.path.join(self.path, name + ".npy"), mmap_mode="r")

    @property
    def base(self) -> np.ndarray:
        return self._load("base")

    @property
    def queries(self) -> np.ndarray:
        return np.ascontiguousarray(self._load("queries"))

    @property
    def u(self) -> np.ndarray:
        return self._load("u")

    def gt(self, pass_rate: Optional[float] = None) -> np.ndarray:
        return np.ascontiguousarray(self._load(gt_name(pass_rate)))

    def file(self, name: str) -> str:
        return os.path.join(self.path, name + ".npy")

    @property
    def rows(self) -> int:
        return int(self.meta["rows"])

    @property
    def dim(self) -> int:
        return self.spec.dim


def _gaussian(spec: DatasetSpec, n: int, stream: int, centres: np.ndarray) -> np.ndarray:
    """n points around `centres`, generated chunk by chunk from (seed, stream)."""
    rng = np.random.default_rng([spec.seed, stream])
    out = np.empty((n, spec.dim), dtype=np.float32)
    for lo in range(0, n, CHUNK_ROWS):
        hi = min(n, lo + CHUNK_ROWS)
        which = rng.integers(0, len(centres), hi - lo)
        out[lo:hi] = centres[which] + rng.standard_normal((hi - lo, spec.dim), dtype=np.float32) * 0.6
    return out


def _normalise(x: np.ndarray) -> None:
    for lo in range(0, len(x), CHUNK_ROWS):
        blk = x[lo:lo + CHUNK_ROWS]
        blk /= np.maximum(np.linalg.norm(blk, axis=1, keepdims=True), 1e-12)


def exact_topk(base: np.ndarray, queries: np.ndarray, metric: str, masks: Dict[str, Optional[np.ndarray]],
               k: int = GT_K, tick: Optional[Callable[[float], None]] = None) -> Dict[str, np.ndarray]:
    """Exact top-k ids of each query for each named row mask (None: every row), one pass over base."""
    nq = len(queries)
    q = queries.astype(np.float32)
    best_d = {name: np.full((nq, 0), np.inf, dtype=np.float32) for name in masks}
    best_i = {name: np.zeros((nq, 0), dtype=np.int64) for name in masks}
    n = len(base)
    for lo in range(0, n, CHUNK_ROWS):
        hi = min(n, lo + CHUNK_ROWS)
        blk = np.asarray(base[lo:hi], dtype=np.float32)
        dots = q @ blk.T
        if metric == "L2":
            d = (blk.astype(np.float64) ** 2).sum(1).astype(np.float32)[None, :] - 2 * dots
        else:  # COSINE on normalised data == inner product, larger is closer
            d = -dots
        ids = np.arange(lo, hi, dtype=np.int64)
        for name, mask in masks.items():
            dd = d if mask is None else np.where(mask[lo:hi][None, :], d, np.inf)
            kk = min(k, hi - lo)
            part = np.argpartition(dd, kk - 1, axis=1)[:, :kk]
            cand_d = np.concatenate([best_d[name], np.take_along_axis(dd, part, 1)], axis=1)
            cand_i = np.concatenate([best_i[name], ids[part]], axis=1)
            order = np.argsort(cand_d, axis=1, kind="stable")[:, :k]
            best_d[name] = np.take_along_axis(cand_d, order, 1)
            best_i[name] = np.take_along_axis(cand_i, order, 1)
        if tick:
            tick((hi - lo) / n)
    out = {}
    for name in masks:
        ids = best_i[name]
        ids[~np.isfinite(best_d[name])] = -1  # fewer than k rows pass the filter
        out[name] = ids
    return out


def prepare(spec: DatasetSpec, cache_dir: str, filters: List[float], log: Callable[[str], None],
            tick: Optional[Callable[[float], None]] = None) -> Dataset:
    """Generate (or reuse from cache) the dataset and its ground truth."""
    path = os.path.join(cache_dir, "datasets", f"{spec.name}-s{spec.seed}")
    want = {"spec": asdict(spec), "filters": sorted(filters), "gt_k": GT_K, "version": 2}
    meta_path = os.path.join(path, "meta.json")
    if os.path.exists(meta_path):
        meta = json.load(open(meta_path))
        if {k: meta.get(k) for k in want} == want:
            return Dataset(spec, path)
    os.makedirs(path, exist_ok=True)
    extra = {}
    if spec.kind == "gaussian":
        log(f"generating {spec.name}: {spec.rows} x {spec.dim} clustered Gaussian")
        centres = np.random.default_rng([spec.seed, 0]).standard_normal((spec.clusters, spec.dim), dtype=np.float32)
        base = _gaussian(spec, spec.rows, 1, centres)
        queries = _gaussian(spec, spec.queries, 2, centres)
        if spec.metric == "COSINE":
            _normalise(base)
            _normalise(queries)
    elif spec.kind == "text":
        from . import textdata
        base, queries, extra = textdata.build(spec, cache_dir, log)
    else:
        raise ValueError(spec.kind)
    rows = len(base)
    u = np.random.default_rng([spec.seed, 3]).integers(0, U_RANGE, rows, dtype=np.int64)
    log(f"exact ground truth for {spec.name} ({len(queries)} queries x {rows} rows, {len(filters)} filters)")
    masks: Dict[str, Optional[np.ndarray]] = {gt_name(None): None}
    for f in filters:
        masks[gt_name(f)] = u < int(round(f * U_RANGE))
    gts = exact_topk(base, queries, spec.metric, masks, tick=tick)
    np.save(os.path.join(path, "base.npy"), base)
    np.save(os.path.join(path, "queries.npy"), queries)
    np.save(os.path.join(path, "u.npy"), u)
    for name, ids in gts.items():
        np.save(os.path.join(path, name + ".npy"), ids)
    meta = dict(want, rows=rows, **extra)
    with open(meta_path + ".tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(meta_path + ".tmp", meta_path)
    return Dataset(spec, path)


def recall_at(ids: np.ndarray, gt_row: np.ndarray, k: int) -> float:
    """|returned top-k ∩ true top-k| / (number of true neighbours, at most k)."""
    truth = gt_row[:k]
    truth = truth[truth >= 0]
    if len(truth) == 0:
        return 1.0
    return len(set(int(i) for i in ids[:k]) & set(int(t) for t in truth)) / len(truth)
