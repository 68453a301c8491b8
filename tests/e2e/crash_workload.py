"""Crash-and-verify: a single writer drives inserts, upserts, deletes by key and by filter,
flushes, an index and compactions against a real Kite server, which is killed with SIGKILL at a
random moment in each cycle.  After every restart the whole collection is read back (Strong) and
compared with the writer's own record of every acknowledged operation:

* loss         a key the model holds is missing, or has another value;
* resurrection a key the model says was deleted is back;
* phantom      a key that was never written is there.

The one operation in flight when the server died has an unknown outcome; each key it touched must
then hold either its value before or its value after that operation (a batch is split per
shard, so a batch may land partly), and the model adopts what is there.

Used by tests/e2e/test_crash_verify.py (CI, ~20 cycles) and tests/soak/crash_verify.py (long
runs with --cycles N)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from pymilvus import MilvusClient

NAME = "crashv"
DIM = 4
SHARDS = 2
_ABSENT = None  # model value of a deleted / never written key


def vector_of(pk: int, val: int) -> List[float]:
    # Small integers: exact in float32, so values compare exactly.
    return [float(val % 1000), float(pk % 1000), 0.5, 1.0]


@dataclass
class Stats:
    cycles: int = 0
    ops: int = 0              # acknowledged operations
    uncertain: int = 0        # operations interrupted by a kill (outcome read back)
    violations: List[str] = field(default_factory=list)
    op_counts: Dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.op_counts.items()))
        return (f"cycles {self.cycles}, acknowledged operations {self.ops} ({kinds}), "
                f"interrupted {self.uncertain}, violations {len(self.violations)}")


class Model:
    """pk -> val for every live key; `ever` holds every key ever written."""

    def __init__(self) -> None:
        self.live: Dict[int, int] = {}
        self.ever: set = set()
        self.next_pk = 0


class CrashVerifier:
    def __init__(self, make_client: Callable[[], MilvusClient], seed: int,
                 max_keys: int = 3000) -> None:
        self.make_client = make_client
        self.rng = random.Random(seed)
        self.model = Model()
        self.stats = Stats()
        self.max_keys = max_keys
        self.indexed = False

    # -- setup -------------------------------------------------------------------------
    def setup(self) -> None:
        c = self.make_client()
        try:
            schema = MilvusClient.create_schema(auto_id=False)
            from pymilvus import DataType
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
            schema.add_field("val", DataType.INT64)
            c.create_collection(NAME, schema=schema, num_shards=SHARDS, consistency_level="Strong")
            ip = MilvusClient.prepare_index_params()
            ip.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 32})
            c.create_index(NAME, ip)
            c.load_collection(NAME)
        finally:
            c.close()

    # -- operations ------------------------------------------------------------------------
    def _rows(self, kv: Dict[int, int]) -> List[dict]:
        return [{"id": k, "vec": vector_of(k, v), "val": v} for k, v in kv.items()]

    def _pick_live(self, n: int) -> List[int]:
        keys = list(self.model.live)
        return self.rng.sample(keys, min(n, len(keys)))

    def next_op(self) -> Tuple[str, Dict[int, Optional[int]], Callable[[MilvusClient], None]]:
        """(kind, after-values of touched keys, call).  Before-values come from the model."""
        rng, m = self.rng, self.model
        r = rng.random()
        live = len(m.live)
        if r < 0.30 or live < 20:
            if live >= self.max_keys:
                return self._delete_range_op()
            n = rng.randint(1, 60)
            kv = {m.next_pk + i: rng.randint(0, 10**6) for i in range(n)}
            m.next_pk += n
            return "insert", dict(kv), lambda c: c.insert(NAME, self._rows(kv))
        if r < 0.55:
            keys = self._pick_live(rng.randint(1, 30))
            fresh = rng.randint(0, 5)
            kv = {k: rng.randint(0, 10**6) for k in keys}
            for i in range(fresh):
                kv[m.next_pk + i] = rng.randint(0, 10**6)
            m.next_pk += fresh
            return "upsert", dict(kv), lambda c: c.upsert(NAME, self._rows(kv))
        if r < 0.70:
            keys = self._pick_live(rng.randint(1, 20))
            return "delete_keys", {k: _ABSENT for k in keys}, lambda c: c.delete(NAME, ids=keys)
        if r < 0.78:
            return self._delete_range_op()
        if r < 0.90:
            return "flush", {}, lambda c: c.flush(NAME)
        if r < 0.96:
            return "compact", {}, lambda c: c.compact(NAME)
        return "query", {}, lambda c: c.query(NAME, filter="id >= 0", limit=10, output_fields=["val"])

    def _delete_range_op(self):
        m = self.model
        lo = self.rng.randint(0, max(m.next_pk - 1, 0))
        hi = lo + self.rng.randint(1, 40)
        keys = [k for k in m.live if lo <= k < hi]
        expr = f"id >= {lo} and id < {hi}"
        return "delete_filter", {k: _ABSENT for k in keys}, lambda c: c.delete(NAME, filter=expr)

    def apply(self, after: Dict[int, Optional[int]]) -> None:
        for k, v in after.items():
            self.model.ever.add(k)
            if v is _ABSENT:
                self.model.live.pop(k, None)
            else:
                self.model.live[k] = v

    # -- one cycle --------------------------------------------------------------------------
    def run_until_killed(self, kill: Callable[[], None], kill_after_s: float) -> None:
        """Runs operations until the server is killed (by a timer after kill_after_s)."""
        killed = threading.Event()

        def do_kill():
            killed.set()
            kill()

        timer = threading.Timer(kill_after_s, do_kill)
        c = self.make_client()
        timer.start()
        try:
            while True:
                kind, after, call = self.next_op()
                try:
                    call(c)
                except Exception:  # noqa: BLE001 - the kill; outcome unknown
                    if not killed.is_set():
                        raise
                    self.pending = (kind, {k: self.model.live.get(k) for k in after}, after)
                    self.model.ever.update(after)
                    return
                if killed.is_set():
                    # Acknowledged before the kill landed: it counts as acknowledged.
                    pass
                self.apply(after)
                self.stats.ops += 1
                self.stats.op_counts[kind] = self.stats.op_counts.get(kind, 0) + 1
                if killed.is_set():
                    self.pending = None
                    return
        finally:
            timer.cancel()
            timer.join()
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass

    pending: Optional[Tuple[str, Dict[int, Optional[int]], Dict[int, Optional[int]]]] = None

    # -- verification -------------------------------------------------------------------------
    def read_all(self, c: MilvusClient) -> Dict[int, Tuple[int, List[float]]]:
        out: Dict[int, Tuple[int, List[float]]] = {}
        lo = -1
        while True:
            got = c.query(NAME, filter=f"id > {lo}", output_fields=["id", "val", "vec"],
                          limit=16384, consistency_level="Strong")
            for r in got:
                out[r["id"]] = (r["val"], [float(x) for x in r["vec"]])
            if len(got) < 16384:
                return out
            lo = max(r["id"] for r in got)

    def verify(self, cycle: int) -> List[str]:
        c = self.make_client()
        try:
            actual = self.read_all(c)
            n = c.query(NAME, filter="", output_fields=["count(*)"],
                        consistency_level="Strong")[0]["count(*)"]
        finally:
            c.close()
        problems: List[str] = []
        if self.pending is not None:
            kind, before, after = self.pending
            self.stats.uncertain += 1
            for k in after:
                got = actual[k][0] if k in actual else _ABSENT
                if got != before[k] and got != after[k]:
                    problems.append(f"cycle {cycle}: key {k} touched by the interrupted {kind} holds "
                                    f"{got}, neither its value before ({before[k]}) nor after "
                                    f"({after[k]})")
                if got is _ABSENT:
                    self.model.live.pop(k, None)
                else:
                    self.model.live[k] = got
            self.pending = None
        live = self.model.live
        for k, v in live.items():
            if k not in actual:
                problems.append(f"cycle {cycle}: LOSS: acknowledged key {k} (val {v}) is missing")
            elif actual[k][0] != v:
                problems.append(f"cycle {cycle}: LOSS: key {k} holds val {actual[k][0]}, "
                                f"acknowledged {v}")
            elif actual[k][1] != vector_of(k, v):
                problems.append(f"cycle {cycle}: key {k}: vector {actual[k][1]} != {vector_of(k, v)}")
        for k in actual:
            if k not in live:
                what = "RESURRECTION" if k in self.model.ever else "PHANTOM"
                problems.append(f"cycle {cycle}: {what}: key {k} is present (val {actual[k][0]})")
        if n != len(live):
            problems.append(f"cycle {cycle}: count(*) says {n}, the model holds {len(live)}")
        self.stats.violations.extend(problems)
        self.stats.cycles += 1
        return problems
