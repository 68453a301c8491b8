"""Run modes: which datasets, how many queries, which search settings, how long each point runs.

Every number that shapes a run lives here, so a results file can quote its mode and be rerun.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass(frozen=True)
class DatasetSpec:
    name: str          # short name used in tables and cache paths
    kind: str          # "gaussian" (clustered Gaussian) or "text" (MiniLM sentence embeddings)
    rows: int          # base vectors (for "text": the most passages to embed; fewer if the corpus is smaller)
    dim: int
    metric: str        # "L2" or "COSINE"
    queries: int
    clusters: int = 0  # Gaussian centres
    seed: int = 42


@dataclass(frozen=True)
class Mode:
    name: str
    datasets: List[DatasetSpec]
    efs: List[int]                  # HNSW ef sweep (recall-vs-QPS curve)
    ref_ef: int                     # ef used for the concurrency sweep, filtered search and latency plots
    concurrency: List[int]
    point_seconds: float            # duration of each QPS point
    warmup_seconds: float
    serial_queries: Optional[int]   # queries per serial pass (None: all)
    index_timeout_s: float = 3600.0
    topk: int = 10
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    filters: List[float] = field(default_factory=lambda: [0.01, 0.99])  # share of rows that pass
    # One server lifetime per dataset (exact per-dataset peak RSS and restart time) or one per target
    # for all datasets (saves a start, a graceful stop and a restart per dataset: Milvus needs ~45 s).
    server_per_dataset: bool = False


MODES = {
    # CI smoke test: a few thousand rows, enough to exercise every code path, no speed asserted.
    "tiny": Mode(
        name="tiny",
        datasets=[DatasetSpec("gauss-3k-32", "gaussian", 3_000, 32, "L2", 50, clusters=16)],
        efs=[16, 64], ref_ef=64, concurrency=[1, 2], point_seconds=0.5, warmup_seconds=0.2,
        serial_queries=50, index_timeout_s=120),
    # About 3 minutes on 2 cores with every target once the datasets are cached (the first run
    # also generates them: ~1 min, mostly the text embeddings). Milvus alone needs ~1 min of it for
    # start, flushes, loads and its restart (its first search after a restart takes ~25 s).
    "quick": Mode(
        name="quick",
        datasets=[
            DatasetSpec("gauss-20k-128", "gaussian", 20_000, 128, "L2", 100, clusters=64),
            DatasetSpec("text-500-384", "text", 500, 384, "COSINE", 50),
        ],
        efs=[16, 32, 64, 128], ref_ef=64, concurrency=[1, 2, 4, 8, 16], point_seconds=0.5,
        warmup_seconds=0.2, serial_queries=100, index_timeout_s=600),
    # Between the two: a run that fits in about 20 minutes with every target.
    "medium": Mode(
        name="medium",
        datasets=[
            DatasetSpec("gauss-200k-128", "gaussian", 200_000, 128, "L2", 1000, clusters=256),
            DatasetSpec("gauss-50k-768", "gaussian", 50_000, 768, "COSINE", 1000, clusters=64),
            DatasetSpec("text-5k-384", "text", 5_000, 384, "COSINE", 250),
        ],
        efs=[16, 32, 64, 128, 256], ref_ef=64, concurrency=[1, 2, 4, 8, 16], point_seconds=2.0,
        warmup_seconds=0.5, serial_queries=300, index_timeout_s=1800, server_per_dataset=True),
    # The datasets. 500k x 768 is cut to 200k: see bench/README.md (time budget on 2 cores).
    "full": Mode(
        name="full",
        datasets=[
            DatasetSpec("gauss-1m-128", "gaussian", 1_000_000, 128, "L2", 1000, clusters=1000),
            DatasetSpec("gauss-200k-768", "gaussian", 200_000, 768, "COSINE", 1000, clusters=200),
            DatasetSpec("text-11k-384", "text", 11_000, 384, "COSINE", 500),
        ],
        efs=[16, 32, 48, 64, 96, 128, 256], ref_ef=64, concurrency=[1, 2, 4, 8, 16], point_seconds=3.0,
        warmup_seconds=1.0, serial_queries=500, index_timeout_s=3600, server_per_dataset=True),
}
