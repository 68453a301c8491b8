#!/usr/bin/env python3
"""Long crash-and-verify run outside CI: the workload of tests/e2e/crash_workload.py for N kill -9
cycles against the real binary, then a figure: cycles, acknowledged operations, interrupted
operations, violations.  Exit status 1 when any violation was found.

  /work/main/.venv/bin/python tests/soak/crash_verify.py --cycles 500 [--seed S] [--bin build/kite]
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from conftest import KiteServer  # noqa: E402
from crash_workload import CrashVerifier  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=500)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--bin", default=os.environ.get("KITE_BIN") or str(REPO / "build" / "kite"))
    ap.add_argument("--work-dir", default=None, help="data dir and server log go here (default: a temp dir)")
    ap.add_argument("--max-keys", type=int, default=5000)
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop after the cycle that passes this wall time (the figure says how many ran)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="kite_crash_verify_"))
    work.mkdir(parents=True, exist_ok=True)
    srv = KiteServer(Path(args.bin), data_dir=work / "data", log_dir=work, name="crashv")
    srv.start()
    v = CrashVerifier(lambda: srv.client(timeout=10), seed, max_keys=args.max_keys)
    v.setup()
    started = time.monotonic()
    try:
        for cycle in range(args.cycles):
            v.run_until_killed(srv.kill9, v.rng.uniform(0.1, 2.0))
            srv.start()
            for p in v.verify(cycle):
                print(p, flush=True)
            if (cycle + 1) % 25 == 0:
                print(f"[{time.monotonic() - started:.0f} s] {v.stats.summary()}", flush=True)
            if args.max_seconds is not None and time.monotonic() - started > args.max_seconds:
                print(f"stopping after {cycle + 1} of {args.cycles} cycles: --max-seconds {args.max_seconds:.0f}",
                      flush=True)
                break
    finally:
        srv.cleanup()
    print(f"crash-verify seed {seed}: {v.stats.summary()} in {time.monotonic() - started:.0f} s; "
          f"live keys {len(v.model.live)}; data in {work}")
    return 1 if v.stats.violations else 0


if __name__ == "__main__":
    sys.exit(main())
