"""Python client load: a pool of worker processes, each with its own pymilvus MilvusClient.

Processes, not threads: pymilvus spends most of a request in Python, so threads would measure the
GIL. The pool is started once per run (spawning and importing pymilvus costs about a second per
process) and reused for every concurrency point: the first c workers run a point together from a
common start time (a barrier: all connected and warmed up) for a fixed duration, closed loop (each sends its next request when the last
returns), the way VectorDBBench's concurrent runner does.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from typing import Dict, List

import numpy as np


def _worker(inbox, outbox):
    import logging
    from pymilvus import MilvusClient
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    outbox.put("up")
    queries_cache: Dict[str, np.ndarray] = {}
    while True:
        task = inbox.get()
        if task is None:
            return
        if not isinstance(task, dict):  # a start time meant for a point this worker failed to join
            continue
        try:
            # A client per point, closed after it: servers are stopped and restarted between points,
            # and an idle client would keep trying to reconnect to them.
            c = MilvusClient(task["uri"], timeout=60)
            if task["queries"] not in queries_cache:
                queries_cache[task["queries"]] = np.load(task["queries"])
            q = queries_cache[task["queries"]]
            kw = dict(collection_name=task["collection"], anns_field="vec", limit=task["topk"],
                      search_params={"metric_type": task["metric"], "params": task["params"]},
                      filter=task["filter"] or "")
            c.search(data=[q[0]], **kw)  # connection and first-call warm-up, not timed
            outbox.put("ready")
            start = inbox.get()  # the common start time, sent once every worker is ready
            end = start + task["duration"]
            while time.time() < start:
                time.sleep(0.0005)
            lat: List[float] = []
            errors = 0
            first_error = ""
            i = task["offset"]
            while True:
                t0 = time.perf_counter()
                if time.time() >= end:
                    break
                try:
                    c.search(data=[q[i % len(q)]], **kw)
                except Exception as e:  # noqa: BLE001 - count and go on, as VDBB does
                    errors += 1
                    first_error = first_error or repr(e)[:300]
                    i += 1
                    continue
                if time.time() <= end:
                    lat.append((time.perf_counter() - t0) * 1000)
                i += 1
            c.close()
            outbox.put({"lat": lat, "errors": errors, "first_error": first_error})
        except Exception as e:  # noqa: BLE001
            outbox.put({"lat": [], "errors": 1, "first_error": repr(e)[:300]})


class ClientPool:
    def __init__(self, size: int):
        ctx = mp.get_context("spawn")
        self.outbox = ctx.Queue()
        self.inboxes = [ctx.Queue() for _ in range(size)]
        self.procs = [ctx.Process(target=_worker, args=(ib, self.outbox), daemon=True) for ib in self.inboxes]
        for p in self.procs:
            p.start()
        # Wait for every worker to have imported pymilvus, so the spawn cost does not land on the
        # first server's start time.
        for _ in self.procs:
            self.outbox.get(timeout=300)

    def run(self, concurrency: int, duration: float, **task) -> dict:
        """QPS over `duration` seconds with `concurrency` workers; latencies in ms."""
        nq = len(np.load(task["queries"], mmap_mode="r"))
        for w in range(concurrency):
            self.inboxes[w].put(dict(task, duration=duration, offset=(nq * w) // concurrency))
        # Barrier: every worker has connected and sent a warm-up request; then all start together.
        ready = [self.outbox.get(timeout=300) for _ in range(concurrency)]
        failed = [m for m in ready if m != "ready"]
        if failed:
            for w in range(concurrency):
                self.inboxes[w].put(0.0)
            self._drain(concurrency - len(failed), duration)
            return {"c": concurrency, "qps": 0.0, "p50_ms": None, "p99_ms": None,
                    "errors": len(failed), "first_error": failed[0]["first_error"]}
        start_at = time.time() + 0.05
        for w in range(concurrency):
            self.inboxes[w].put(start_at)
        parts = self._drain(concurrency, duration)
        lat = np.array([x for p in parts for x in p["lat"]], dtype=np.float64)
        errors = sum(p["errors"] for p in parts)
        first = next((p["first_error"] for p in parts if p["first_error"]), "")
        return {"c": concurrency, "qps": len(lat) / duration,
                "p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
                "p99_ms": float(np.percentile(lat, 99)) if len(lat) else None,
                "errors": errors, "first_error": first}

    def _drain(self, n: int, duration: float) -> List[dict]:
        return [self.outbox.get(timeout=duration + 300) for _ in range(n)]

    def close(self) -> None:
        for ib in self.inboxes:
            ib.put(None)
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
