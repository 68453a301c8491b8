"""Command line: python -m suite [--tiny|--quick|--full] [--targets kite,milvus,milvus-lite,ceiling] ...

Normally started by bench/run.sh, which builds Kite and kite_loadgen and prepares the venv first.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

from .config import MODES
from .progress import Bar

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
ALL_TARGETS = ["kite", "milvus", "milvus-lite", "ceiling"]
SERVER_TARGETS = ["kite", "milvus", "milvus-lite"]


def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    osname = platform.platform()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"') + f", kernel {platform.release()}"
    except OSError:
        pass
    flags = ""
    try:
        txt = open("/proc/cpuinfo").read()
        flags = ", ".join(f for f in ("avx2", "avx512f") if f" {f} " in txt)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "simd": flags, "memory_gib": round(mem_gib, 1), "os": osname,
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version()}


def versions() -> dict:
    from importlib.metadata import version
    out = {}
    for pkg in ("pymilvus", "numpy", "milvus", "milvus-lite", "hnswlib", "faiss-cpu"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - not installed
            out[pkg] = None
    try:
        sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        out["kite"] = sha + ("-dirty" if dirty else "")
    except OSError:
        out["kite"] = "?"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--tiny", dest="mode", action="store_const", const="tiny", help="CI smoke size (seconds)")
    g.add_argument("--quick", dest="mode", action="store_const", const="quick", help="< 3 min on 2 cores")
    g.add_argument("--medium", dest="mode", action="store_const", const="medium", help="200k/50k rows, ~20 min")
    g.add_argument("--full", dest="mode", action="store_const", const="full", help="the issue's sizes, < 45 min")
    ap.add_argument("--targets", default=",".join(ALL_TARGETS), help="comma list of " + ",".join(ALL_TARGETS))
    ap.add_argument("--datasets", default="", help="comma list of dataset names to keep (default: all of the mode)")
    ap.add_argument("--name", default="", help="results file name part (default: the mode)")
    ap.add_argument("--out-dir", default=os.path.join(BENCH, "results"))
    ap.add_argument("--cache-dir", default=os.path.join(BENCH, ".cache"))
    ap.add_argument("--kite-bin", default=os.environ.get("KITE_BIN", os.path.join(REPO, "build", "kite")))
    ap.add_argument("--loadgen-bin", default=os.path.join(REPO, "build", "bench", "kite_loadgen"))
    ap.add_argument("--no-plots", action="store_true")
    ap.set_defaults(mode="quick")
    args = ap.parse_args(argv)

    mode = MODES[args.mode]
    import logging
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # reconnect chatter while servers restart
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    bad = [t for t in targets if t not in ALL_TARGETS]
    if bad:
        ap.error(f"unknown targets {bad}; choose from {ALL_TARGETS}")
    specs = mode.datasets
    if args.datasets:
        keep = set(args.datasets.split(","))
        specs = [s for s in specs if s.name in keep]
    loadgen = args.loadgen_bin if os.access(args.loadgen_bin, os.X_OK) else None
    t_start = time.perf_counter()
    date = datetime.date.today().isoformat()
    name = args.name or args.mode
    os.makedirs(args.out_dir, exist_ok=True)
    results = {"mode": args.mode, "mode_config": _mode_dict(mode), "date": date, "name": name,
               "machine": machine(), "versions": versions(), "targets_requested": targets,
               "loadgen": bool(loadgen), "datasets": {}, "targets": {}}

    # Steps for the progress bar: one per workload point.
    from .driver import BATCHES
    n_srv = len([t for t in targets if t in SERVER_TARGETS])
    per_srv = (3 + len(mode.efs) + len(mode.concurrency) * (2 if loadgen else 1) + len(mode.filters)
               + bool(loadgen) * (1 + len(BATCHES) + (1 + len(mode.filters) if mode.filters else 0)))
    lifetimes = len(specs) if mode.server_per_dataset else 1
    per_ceiling = 2 + 2 * len(mode.efs) + len(mode.filters)
    total = (len(specs) + n_srv * (len(specs) * per_srv + 2 * lifetimes)
             + ("ceiling" in targets) * len(specs) * per_ceiling)
    bar = Bar(total, "datasets")

    from . import datasets as dsmod
    data = {}
    for spec in specs:
        bar.set_label(f"dataset {spec.name}")
        try:
            data[spec.name] = dsmod.prepare(spec, args.cache_dir, mode.filters, bar.log)
            results["datasets"][spec.name] = {k: v for k, v in data[spec.name].meta.items() if k != "spec"}
            results["datasets"][spec.name].update(dim=spec.dim, metric=spec.metric, queries=spec.queries, kind=spec.kind)
        except Exception as e:  # noqa: BLE001 - e.g. the text model package missing: skip that dataset
            bar.log(f"dataset {spec.name} unavailable: {e!r}")
            results["datasets"][spec.name] = {"error": f"{type(e).__name__}: {e}", "kind": spec.kind}
        bar.advance(1)

    pool = None
    if n_srv:
        from .pool import ClientPool
        pool = ClientPool(max(mode.concurrency))
    try:
        for target in targets:
            results["targets"][target] = run_target(target, data, mode, args, loadgen, pool, bar)
    finally:
        if pool:
            pool.close()
    bar.close()
    results["wall_s"] = time.perf_counter() - t_start

    from . import report
    base = os.path.join(args.out_dir, f"{date}-{name}")
    with open(base + ".json", "w") as f:
        json.dump(results, f, indent=1)
    md = report.write(results, base, plots=not args.no_plots)
    sys.stderr.write(f"wrote {md} ({results['wall_s']:.0f} s)\n")
    print(md)
    return 0


def _mode_dict(mode) -> dict:
    d = dict(mode.__dict__)
    d["datasets"] = [s.__dict__ for s in mode.datasets]
    return d


def run_target(target, data, mode, args, loadgen, pool, bar) -> dict:
    from . import ceiling, driver, servers
    out = {"status": "ok", "datasets": {}}
    workroot = tempfile.mkdtemp(prefix=f"kite-bench-{target}-", dir=os.environ.get("KITE_BENCH_TMP"))

    def step(label):
        bar.advance(1, f"{target} {cur[0]}: {label}")

    cur = [""]
    try:
        if target == "ceiling":
            for name, ds in data.items():
                cur[0] = name
                res = {}
                for kernel, fn in (("hnswlib", ceiling.run_hnswlib), ("faiss", ceiling.run_faiss)):
                    try:
                        res[kernel] = fn(ds, mode, step)
                    except Exception as e:  # noqa: BLE001
                        res[kernel] = {"error": f"{type(e).__name__}: {e}"}
                        bar.log(f"ceiling {kernel} on {name} failed: {e!r}")
                out["datasets"][name] = res
            return out
        groups = [[n] for n in data] if mode.server_per_dataset else [list(data)]
        for gi, group in enumerate(groups):
            cur[0] = group[0] if len(group) == 1 else "all datasets"
            try:
                srv = make_server(target, os.path.join(workroot, f"life{gi}"), args)
                out["package_version"] = getattr(srv, "package_version", None)
            except Exception as e:  # noqa: BLE001 - package missing or unusable: the whole target is out
                out.update(status="unavailable", error=f"{type(e).__name__}: {e}")
                bar.log(f"{target} unavailable: {e!r}")
                return out
            try:
                run_lifetime(srv, target, group, data, mode, loadgen, pool, step, cur, out, args, bar)
            finally:
                srv.cleanup()
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    return out


def make_server(target, workdir, args):
    from . import servers
    if target == "kite":
        if not os.access(args.kite_bin, os.X_OK):
            raise FileNotFoundError(f"Kite binary not found: {args.kite_bin}")
        return servers.KiteServer(workdir, args.kite_bin)
    if target == "milvus":
        return servers.MilvusServer(workdir)
    return servers.MilvusLiteServer(workdir)


def run_lifetime(srv, target, group, data, mode, loadgen, pool, step, cur, out, args, bar):
    """One server lifetime: start, every dataset of `group`, graceful restart, reload each."""
    from . import driver

    def fail(name, e):
        out["datasets"][name] = {"error": f"{type(e).__name__}: {str(e)[:1500]}", "log_tail": srv.log_tail(),
                                 "traceback": traceback.format_exc()[-2000:]}
        out["status"] = "partial"
        keep = os.path.join(args.cache_dir, "logs", f"{target}-{name}.log")
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        if os.path.exists(srv.log_path):
            shutil.copyfile(srv.log_path, keep)
        out["datasets"][name]["full_log"] = keep
        bar.log(f"{target} on {name} failed: {str(e)[:300]} (full server log: {keep})")

    step("start server")
    try:
        start_s = srv.start()
    except Exception as e:  # noqa: BLE001
        for name in group:
            fail(name, e)
        return
    out["server_version"] = srv.version
    todo = []
    for name in group:
        cur[0] = name
        ds = data[name]
        coll = "b_" + "".join(ch if ch.isalnum() else "_" for ch in name)
        try:
            r = driver.measure_dataset(srv, ds, coll, mode, loadgen, pool, step)
            r["start_s"] = start_s
            out["datasets"][name] = r
            todo.append((ds, coll, r))
        except Exception as e:  # noqa: BLE001 - record and go on with the next dataset
            fail(name, e)
    cur[0] = "restart"
    step("graceful stop, start, reload")
    try:
        driver.restart_and_reload(srv, todo, mode)
    except Exception as e:  # noqa: BLE001
        for _, _, r in todo:
            r["restart_error"] = f"{type(e).__name__}: {str(e)[:1500]}"
    srv.stop(timeout=5)  # the data dir is discarded: no need to wait for a graceful stop
    for _, _, r in todo:
        r["peak_rss_mb"] = srv.peak_rss_kb / 1024
        r["peak_rss_scope"] = "this dataset" if len(group) == 1 else "one server for " + ", ".join(group)


if __name__ == "__main__":
    sys.exit(main())
