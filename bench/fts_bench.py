"""Full-text (BM25) search bench: Kite vs an in-process BM25 as the ceiling.

Corpus: the stdlib docstring paragraphs of bench/suite/textdata.py (no download); every 20th
paragraph is held out, its first 6 words are a query. Kite gets the rest through pymilvus
(BM25 function, SPARSE_INVERTED_INDEX, metric BM25), one flush, index built; queries run one at a
time from one client (latency) and from 8 threads (throughput). The ceiling is a BM25 over the
same tokens in this process (term -> postings dicts, scores summed per query): what a search costs
with no RPC, no server and no storage.

    KITE_BIN=build/kite .venv/bin/python bench/fts_bench.py
"""
from __future__ import annotations

import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))

from pymilvus import DataType, Function, FunctionType, MilvusClient  # noqa: E402

from e2e_util import free_port  # noqa: E402
from suite.textdata import corpus  # noqa: E402

K = 10


def tokens(text):
    return [t.lower() for t in re.findall(r"[^\W_]+", text)]


class RefBm25:
    def __init__(self, docs, k1=1.2, b=0.75):
        self.k1, self.b = k1, b
        self.post = defaultdict(list)
        self.len = {}
        for i, t in docs.items():
            c = Counter(tokens(t))
            self.len[i] = sum(c.values())
            for w, tf in c.items():
                self.post[w].append((i, tf))
        self.n = len(docs)
        self.avgdl = sum(self.len.values()) / self.n

    def search(self, q, k=K):
        acc = defaultdict(float)
        for w, qtf in Counter(tokens(q)).items():
            p = self.post.get(w)
            if not p:
                continue
            idf = math.log(1 + (self.n - len(p) + 0.5) / (len(p) + 0.5))
            for i, tf in p:
                acc[i] += qtf * idf * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self.len[i] / self.avgdl))
        return sorted(acc.items(), key=lambda kv: -kv[1])[:k]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main():
    texts = corpus()
    queries = [" ".join(t.split()[:6]) for t in texts[::20]]
    docs = {i: t for i, t in enumerate(texts) if i % 20}
    binary = os.environ.get("KITE_BIN", "build/kite")
    port, mport = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="fts_bench_")
    proc = subprocess.Popen([binary, "standalone", "--data-dir", data, "--port", str(port),
                             "--metrics-port", str(mport)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                c = MilvusClient(f"http://127.0.0.1:{port}")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        s = MilvusClient.create_schema()
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("text", DataType.VARCHAR, max_length=4096, enable_analyzer=True)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                output_field_names=["sparse"]))
        c.create_collection("fts", schema=s)
        ip = c.prepare_index_params()
        ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        c.create_index("fts", ip)
        c.load_collection("fts")
        rows = [{"id": i, "text": t} for i, t in docs.items()]
        t0 = time.time()
        for j in range(0, len(rows), 1000):
            c.insert("fts", rows[j:j + 1000])
        insert_s = time.time() - t0
        c.flush("fts")
        deadline = time.time() + 120
        while time.time() < deadline:
            info = c.describe_index("fts", "sparse")
            if info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= len(rows):
                break
            time.sleep(0.2)
        sp = {"metric_type": "BM25"}
        for q in queries[:20]:  # warm-up
            c.search("fts", data=[q], anns_field="sparse", limit=K, search_params=sp)
        lat = []
        t0 = time.time()
        for q in queries:
            s0 = time.perf_counter()
            c.search("fts", data=[q], anns_field="sparse", limit=K, search_params=sp)
            lat.append((time.perf_counter() - s0) * 1000)
        serial_qps = len(queries) / (time.time() - t0)

        def one(q):
            return c.search("fts", data=[q], anns_field="sparse", limit=K, search_params=sp)

        with ThreadPoolExecutor(8) as ex:
            t0 = time.time()
            list(ex.map(one, queries * 3))
            par_qps = 3 * len(queries) / (time.time() - t0)
        ref = RefBm25(docs)
        rl = []
        for q in queries:
            s0 = time.perf_counter()
            ref.search(q)
            rl.append((time.perf_counter() - s0) * 1000)
        # Agreement of the top-10 id sets with the reference.
        agree = 0
        for q in queries[:100]:
            got = [h["id"] for h in one(q)[0]]
            want = [i for i, _ in ref.search(q)]
            agree += len(set(got) & set(want)) / max(1, len(want))
        print(f"corpus: {len(docs)} docstring paragraphs, {len(queries)} queries, top-{K}")
        print(f"insert: {insert_s:.1f} s ({len(docs) / insert_s:.0f} rows/s, BM25 output computed by Kite)")
        print(f"kite  : 1 client p50 {statistics.median(lat):.2f} ms p99 {pct(lat, 99):.2f} ms, {serial_qps:.0f} QPS; "
              f"8 clients {par_qps:.0f} QPS")
        print(f"ref   : in-process Python BM25 p50 {statistics.median(rl):.2f} ms p99 {pct(rl, 99):.2f} ms, "
              f"{1000 / statistics.mean(rl):.0f} QPS")
        print(f"top-10 overlap with the reference (100 queries): {agree / 100:.3f}")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    main()
