"""Loads bench/.cache's gauss-20k-128 into a running Kite (collection "g": HNSW M=16 efC=200,
flushed, loaded) for callgrind_search.sh. Usage: setup_gauss.py HOST:PORT"""
import sys
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient

base = np.load(Path(__file__).resolve().parents[1] / ".cache/datasets/gauss-20k-128-s42/base.npy")
c = MilvusClient(uri=f"http://{sys.argv[1]}")
s = c.create_schema(auto_id=False)
s.add_field("id", DataType.INT64, is_primary=True)
s.add_field("u", DataType.INT64)
s.add_field("v", DataType.FLOAT_VECTOR, dim=base.shape[1])
c.create_collection("g", schema=s)
for i in range(0, len(base), 5000):
    c.insert("g", [{"id": j, "u": j % 100, "v": base[j]} for j in range(i, min(i + 5000, len(base)))])
c.flush("g")
ip = c.prepare_index_params()
ip.add_index("v", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 200})
c.create_index("g", ip)
c.load_collection("g")
