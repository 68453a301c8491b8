"""Crash-and-verify in CI: >= 20 kill -9 cycles of a mixed writer (inserts, upserts, deletes by
key and by filter, flushes, an HNSW index, compactions) against the real binary; after every
restart each acknowledged operation is checked against the writer's own record (no loss, no
resurrection, no phantom, identical values).  See crash_workload.py; a longer run is
tests/soak/crash_verify.py.  KITE_CRASH_SEED / KITE_CRASH_CYCLES reproduce or lengthen a run."""

import os
import random
import time

from crash_workload import CrashVerifier


def test_crash_and_verify_kill9_cycles(kite_factory):
    seed = int(os.environ.get("KITE_CRASH_SEED") or random.randrange(1 << 30))
    cycles = int(os.environ.get("KITE_CRASH_CYCLES") or 30)
    srv = kite_factory("crashv")
    srv.start()
    v = CrashVerifier(lambda: srv.client(timeout=10), seed)
    v.setup()
    started = time.monotonic()
    for cycle in range(cycles):
        v.run_until_killed(srv.kill9, v.rng.uniform(0.1, 2.0))
        srv.start()
        problems = v.verify(cycle)
        assert not problems, f"seed {seed}, cycle {cycle}:\n" + "\n".join(problems[:30])
    elapsed = time.monotonic() - started
    print(f"crash-verify seed {seed}: {v.stats.summary()} in {elapsed:.0f} s")
    assert v.stats.cycles == cycles
    assert v.stats.ops >= cycles, v.stats.summary()
