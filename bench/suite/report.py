"""Render a results dict (see __main__.py) as bench/results/<date>-<name>.md plus PNG plots."""
from __future__ import annotations

import os
from typing import Dict, List, Optional

SERVERS = [("kite", "Kite"), ("milvus", "Milvus"), ("milvus-lite", "Milvus Lite")]
KERNELS = [("hnswlib", "hnswlib"), ("faiss", "Faiss")]


def _f(v, digits=3) -> str:
    if v is None:
        return "–"
    if isinstance(v, tuple):
        return " / ".join(_f(x, digits) for x in v)
    if isinstance(v, str):
        return v
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}g}" if a >= 0.001 or v == 0 else f"{v:.2e}"


def _ratio(a, b) -> str:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return " / ".join(_ratio(x, y) for x, y in zip(a, b))
    if a is None or b is None or isinstance(a, (tuple, str)) or isinstance(b, (tuple, str)) or b == 0:
        return "–"
    x = a / b
    return f"{x:.2f}×" if x >= 0.1 else f"{x:.2g}×"


def _get(d: Optional[dict], *path):
    for p in path:
        if d is None:
            return None
        if isinstance(p, int):
            d = d[p] if isinstance(d, list) and -len(d) <= p < len(d) else None
        else:
            d = d.get(p) if isinstance(d, dict) else None
    return d


def _find(lst, key, val):
    for x in lst or []:
        if x.get(key) == val:
            return x
    return None


def _server(results, target, ds) -> Optional[dict]:
    r = _get(results, "targets", target, "datasets", ds)
    return r if r and "error" not in r else None


def _kernel(results, kernel, ds) -> Optional[dict]:
    r = _get(results, "targets", "ceiling", "datasets", ds, kernel)
    return r if r and "error" not in r else None


RECALL_TARGET = 0.95


def _figures(results, ds: str, mode: dict) -> List[tuple]:
    """(label, better, {column: value}) rows of the headline table."""
    ef = mode["ref_ef"]
    rows = []
    s = {t: _server(results, t, ds) for t, _ in SERVERS}
    k = {t: _kernel(results, t, ds) for t, _ in KERNELS}

    def srv(fn):
        return {t: (fn(v) if v else None) for t, v in s.items()}

    def ker(fn):
        return {t: (fn(v) if v else None) for t, v in k.items()}

    rows.append(("ingest, rows/s (pymilvus insert)", "higher", srv(lambda v: v.get("insert_rows_per_s"))))
    def build(v):
        # A server that reports no rows indexed built nothing: show the time, but no ratio.
        note = (v.get("index_info") or {}).get("note", "")
        return f"{_f(v.get('index_build_s'))} (no index)" if "no index" in note else v.get("index_build_s")
    rows.append(("index build, s (HNSW M=%d efC=%d)" % (mode["hnsw_m"], mode["hnsw_ef_construction"]), "lower",
                 {**srv(build), **ker(lambda v: v.get("build_s"))}))
    rows.append(("load, s (first load_collection)", "lower", srv(lambda v: v.get("load_s"))))
    rows.append(("restart to first result, s", "lower", srv(lambda v: v.get("restart_to_first_result_s"))))
    rows.append((f"recall@{mode['topk']}, ef={ef}", "higher",
                 {**srv(lambda v: _get(_find(v.get("sweep"), "ef", ef), "recall")),
                  **ker(lambda v: _get(_find(v.get("sweep"), "ef", ef), "recall"))}))
    rows.append((f"serial latency p50, ms, ef={ef}", "lower",
                 {**srv(lambda v: _get(_find(v.get("sweep"), "ef", ef), "p50_ms")),
                  **ker(lambda v: _get(_find(v.get("sweep"), "ef", ef), "p50_ms"))}))
    rows.append((f"serial latency p99, ms, ef={ef}", "lower",
                 {**srv(lambda v: _get(_find(v.get("sweep"), "ef", ef), "p99_ms")),
                  **ker(lambda v: _get(_find(v.get("sweep"), "ef", ef), "p99_ms"))}))
    rows.append(("latency p50 / p99, ms, c=1 native client", "lower",
                 {**srv(lambda v: _pair(_find(v.get("conc_native"), "c", 1), "p50_ms", "p99_ms")),
                  **ker(lambda v: _pair(_find(v.get("sweep"), "ef", ef), "p50_ms", "p99_ms"))}))
    for c in mode["concurrency"]:
        ceil = {}
        if c in (1, 2):
            ceil = ker(lambda v: _get(_find(v.get("sweep"), "ef", ef), f"qps_c{c}"))
        rows.append((f"QPS c={c}, native client", "higher", {**srv(lambda v: _get(_find(v.get("conc_native"), "c", c), "qps")), **ceil}))
        rows.append((f"QPS c={c}, pymilvus", "higher", srv(lambda v: _get(_find(v.get("conc_python"), "c", c), "qps"))))
    # Issue 5's figure: each at the smallest ef of the sweep reaching the recall target.
    def ker_at(v):
        ok = [p for p in v.get("sweep") or [] if (p.get("recall") or 0) >= RECALL_TARGET]
        return min(ok, key=lambda p: p["ef"]) if ok else None
    rows.append((f"smallest ef with recall@{mode['topk']} >= {RECALL_TARGET}", "lower",
                 {**srv(lambda v: _get(v.get("at_recall"), "ef")), **ker(lambda v: _get(ker_at(v), "ef"))}))
    rows.append((f"QPS c=2 at that ef (native client / kernel 2 threads)", "higher",
                 {**srv(lambda v: _get(v.get("at_recall"), "qps")), **ker(lambda v: _get(ker_at(v), "qps_c2"))}))
    for b in (10, 100):
        rows.append((f"QPS c=2 at that ef, nq={b} per request (native client / kernel 2 threads)", "higher",
                     {**srv(lambda v: _get(_find(_get(v.get("at_recall"), "batched"), "batch", b), "qps")),
                      **ker(lambda v: _get(ker_at(v), "qps_c2"))}))
    rows.append(("CPU ms per query at that ef (server process / kernel)", "lower",
                 {**srv(lambda v: _get(v.get("at_recall"), "server_cpu_ms_per_query")),
                  **ker(lambda v: 2000 / ker_at(v)["qps_c2"] if ker_at(v) and ker_at(v).get("qps_c2") else None)}))
    rows.append(("CPU ms per query at that ef, nq=100 per request (server process / kernel)", "lower",
                 {**srv(lambda v: _get(_find(_get(v.get("at_recall"), "batched"), "batch", 100),
                                       "server_cpu_ms_per_query")),
                  **ker(lambda v: 2000 / ker_at(v)["qps_c2"] if ker_at(v) and ker_at(v).get("qps_c2") else None)}))
    for f in mode["filters"]:
        pct = f"{f * 100:g}%"
        rows.append((f"filtered ({pct} of rows pass): recall@{mode['topk']}", "higher",
                     {**srv(lambda v: _get(_find(v.get("filtered"), "pass_rate", f), "recall")),
                      "faiss": _get(_find(_get(k["faiss"], "filtered"), "pass_rate", f), "recall")}))
        rows.append((f"filtered ({pct} pass): QPS c=2 native / Faiss 2 threads", "higher",
                     {**srv(lambda v: _get(_find(v.get("filtered"), "pass_rate", f), "native_qps_c2")),
                      "faiss": _get(_find(_get(k["faiss"], "filtered"), "pass_rate", f), "qps_c2")}))
        rows.append((f"filtered ({pct} pass): QPS c=2 native, nq=100 per request / Faiss 2 threads", "higher",
                     {**srv(lambda v: _get(_find(v.get("filtered"), "pass_rate", f), "native_qps_c2_batched")),
                      "faiss": _get(_find(_get(k["faiss"], "filtered"), "pass_rate", f), "qps_c2")}))
        rows.append((f"filtered ({pct} pass), STL_SORT index on u: QPS c=2 native / Faiss 2 threads", "higher",
                     {**srv(lambda v: _get(_find(_get(v.get("filtered_indexed"), "points"), "pass_rate", f),
                                           "native_qps_c2")),
                      "faiss": _get(_find(_get(k["faiss"], "filtered"), "pass_rate", f), "qps_c2")}))
        rows.append((f"filtered ({pct} pass): serial p99, ms", "lower",
                     {**srv(lambda v: _get(_find(v.get("filtered"), "pass_rate", f), "p99_ms")),
                      "faiss": _get(_find(_get(k["faiss"], "filtered"), "pass_rate", f), "p99_ms")}))
    rows.append(("memory, MiB: server peak RSS (VmHWM) / kernel index size", "lower",
                 {**srv(lambda v: v.get("peak_rss_mb")),
                  **ker(lambda v: v["index_bytes"] / 2**20 if v.get("index_bytes") else None)}))
    return rows


def _pair(d, a, b):
    return (d.get(a), d.get(b)) if d else None


def _ceiling_ref(vals: dict):
    """The ceiling column: hnswlib where it has the figure, else Faiss."""
    return vals.get("hnswlib") if vals.get("hnswlib") is not None else vals.get("faiss")


def write(results: dict, base: str, plots: bool = True) -> str:
    mode = results["mode_config"]
    L: List[str] = []
    m = results["machine"]
    v = results["versions"]
    L.append(f"# {results['date']}: Kite vs Milvus vs raw kernels ({results['mode']} mode)\n")
    L.append(f"Command: `bash bench/run.sh --{results['mode']} --targets {','.join(results['targets_requested'])}`"
             f" — wall time {results['wall_s'] / 60:.1f} min.\n")
    L.append(f"Machine: {m['cpu']}, {m['cores']} cores ({m['simd']}), {m['memory_gib']} GiB, {m['os']}. "
             f"Load average at start {m['load_avg_at_start']} (the box is shared: expect noise; "
             f"client, load generator and server share the same {m['cores']} cores).\n")
    L.append(f"Versions: Kite {v.get('kite')}; pymilvus {v.get('pymilvus')}; milvus package {v.get('milvus')}; "
             f"milvus-lite {v.get('milvus-lite')}; hnswlib {v.get('hnswlib')}; faiss-cpu {v.get('faiss-cpu')}; "
             f"numpy {v.get('numpy')}; Python {m['python']}.\n")
    L.append("How to read: every figure is measured in this run on this machine; the ratio columns divide "
             "Kite's figure by the peer's (for times and memory < 1 is better for Kite, for rates and recall "
             "> 1 is better). *Ceiling* = hnswlib in-process (Faiss where hnswlib has no such figure: filtered "
             "search); its QPS at c=1/c=2 are batch searches on 1/2 threads, its latency a single in-process call. "
             "Native client = `kite_loadgen` (C++ gRPC, C threads); pymilvus = C Python processes. "
             "Filters: a uniform int field `u` in [0, 10000), `u < 100` lets 1% of rows pass, `u < 9900` 99%.\n")

    L.append("## Targets\n")
    L.append("| target | status | version | note |\n|---|---|---|---|")
    for t in results["targets_requested"]:
        r = results["targets"].get(t, {})
        ver = r.get("server_version") or r.get("package_version") or ""
        if t == "ceiling":
            ver = f"hnswlib {v.get('hnswlib')}, faiss-cpu {v.get('faiss-cpu')}"
        if t == "milvus" and r.get("package_version"):
            ver = f"`milvus` {r['package_version']} (server {r.get('server_version', '?')})"
        if t == "milvus-lite" and r.get("package_version"):
            ver = f"`milvus-lite` {r['package_version']}"
        note = r.get("error", "")
        fails = [f"{ds}: {d['error']}" for ds, d in (r.get("datasets") or {}).items() if isinstance(d, dict) and "error" in d]
        fails += [f"{ds}: restart failed: {d['restart_error']}" for ds, d in (r.get("datasets") or {}).items()
                  if isinstance(d, dict) and d.get("restart_error")]
        note = "; ".join([note] + fails if note else fails)
        L.append(f"| {t} | {r.get('status', 'not run')} | {ver} | {note.replace('|', '/').replace(chr(10), ' ')[:400]} |")
    L.append("")

    for ds, meta in results["datasets"].items():
        L.append(f"## Dataset `{ds}`\n")
        if "error" in meta:
            L.append(f"Not available: {meta['error']}\n")
            continue
        desc = (f"{meta['rows']:,} x {meta['dim']} {meta['metric']}, {meta['queries']} queries, exact ground truth (numpy brute force).")
        if meta.get("kind") == "text":
            desc += f" Text: {meta.get('corpus')} ({meta.get('corpus_paragraphs')} paragraphs), model {meta.get('model')}."
        else:
            desc += " Clustered Gaussian from a fixed seed."
        L.append(desc + "\n")
        rows = _figures(results, ds, mode)
        L.append("| figure | Kite | Milvus | Milvus Lite | hnswlib | Faiss | Kite / Milvus | Kite / ceiling |")
        L.append("|---|---|---|---|---|---|---|---|")
        for label, _better, vals in rows:
            kite = vals.get("kite")
            L.append(f"| {label} | {_f(kite)} | {_f(vals.get('milvus'))} | {_f(vals.get('milvus-lite'))} | "
                     f"{_f(vals.get('hnswlib'))} | {_f(vals.get('faiss'))} | {_ratio(kite, vals.get('milvus'))} | "
                     f"{_ratio(kite, _ceiling_ref(vals))} |")
        L.append("")
        # Recall vs QPS (serial, c=1)
        L.append(f"Recall@{mode['topk']} / serial QPS (one query at a time, pymilvus for servers) per ef:\n")
        cols = [(t, n) for t, n in SERVERS if _server(results, t, ds)] + [(t, n) for t, n in KERNELS if _kernel(results, t, ds)]
        L.append("| ef | " + " | ".join(n for _, n in cols) + " |")
        L.append("|---|" + "---|" * len(cols))
        for ef in mode["efs"]:
            cells = []
            for t, _ in cols:
                src = _server(results, t, ds) or _kernel(results, t, ds)
                p = _find(src["sweep"], "ef", ef)
                cells.append(f"{_f(p['recall'])} / {_f(p['qps_serial'])}" if p else "–")
            L.append(f"| {ef} | " + " | ".join(cells) + " |")
        L.append("")
        srv_cols = [(t, n) for t, n in SERVERS if _server(results, t, ds)]
        if srv_cols:
            L.append(f"QPS and p99 (ms) by concurrency at ef={mode['ref_ef']}, native client | pymilvus:\n")
            L.append("| c | " + " | ".join(n for _, n in srv_cols) + " |")
            L.append("|---|" + "---|" * len(srv_cols))
            for c in mode["concurrency"]:
                cells = []
                for t, _ in srv_cols:
                    s = _server(results, t, ds)
                    nat = _find(s["conc_native"], "c", c)
                    py = _find(s["conc_python"], "c", c)
                    a = f"{_f(nat['qps'])} ({_f(nat['p99_ms'])})" if nat else "–"
                    b = f"{_f(py['qps'])} ({_f(py['p99_ms'])})" if py else "–"
                    err = sum((x or {}).get("errors", 0) for x in (nat, py))
                    cells.append(f"{a} \\| {b}" + (f" [{err} errors]" if err else ""))
                L.append(f"| {c} | " + " | ".join(cells) + " |")
            L.append("")
            L.append("Times (s) and memory: " + "; ".join(
                f"{n}: start {_f(s.get('start_s'))}, insert {_f(s.get('insert_s'))}, flush {_f(s.get('flush_s'))}, "
                f"graceful stop {_f(s.get('stop_s'))}, restart to ready {_f(s.get('restart_ready_s'))}, reload "
                f"{_f(s.get('reload_s'))}, first search after restart {_f(s.get('first_search_after_restart_s'))}; "
                f"RSS growth while loading this dataset {_f(s.get('rss_growth_mb'))} MiB, peak RSS scope: "
                f"{s.get('peak_rss_scope', '?')}"
                for t, n in srv_cols for s in [_server(results, t, ds)]) + ".\n")
            notes = [f"{n}: {s['index_info']['note']}" for t, n in srv_cols for s in [_server(results, t, ds)]
                     if s.get("index_info", {}).get("note")]
            if notes:
                L.append("Index build notes: " + "; ".join(notes) + ".\n")
        if plots:
            for png, title in _plots(results, ds, base):
                L.append(f"![{title}]({os.path.basename(png)})\n")

    errs = [(t, ds, d) for t, r in results["targets"].items() for ds, d in (r.get("datasets") or {}).items()
            if isinstance(d, dict) and "error" in d and "log_tail" in d]
    if errs:
        L.append("## Failures\n")
        for t, ds, d in errs:
            L.append(f"### {t} on {ds}\n\n{d['error']}\n\n```\n{d.get('log_tail', '')[-3000:]}\n```\n")
    path = base + ".md"
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    return path


def _plots(results: dict, ds: str, base: str) -> List[tuple]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    mode = results["mode_config"]
    out = []
    series = [(n, _server(results, t, ds)) for t, n in SERVERS] + [(n, _kernel(results, t, ds)) for t, n in KERNELS]
    series = [(n, s) for n, s in series if s]
    if not series:
        return out
    # Recall vs QPS
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for n, s in series:
        pts = sorted((p["recall"], p["qps_serial"]) for p in s["sweep"])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=n)
    ax.set_xlabel(f"recall@{mode['topk']}")
    ax.set_ylabel("QPS, serial (1 / mean latency)")
    ax.set_yscale("log")
    ax.set_title(f"{ds}: recall vs QPS (ef sweep {mode['efs']})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    png = f"{base}-{ds}-recall-qps.png"
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)
    out.append((png, f"{ds} recall vs QPS"))
    # Latency distribution at the reference ef
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for n, s in series:
        p = _find(s["sweep"], "ef", mode["ref_ef"])
        if p and p.get("latencies_ms"):
            lat = np.sort(np.array(p["latencies_ms"]))
            ax.plot(lat, np.arange(1, len(lat) + 1) / len(lat), label=n)
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (serial, nq=1)")
    ax.set_ylabel("fraction of queries")
    ax.set_title(f"{ds}: latency CDF at ef={mode['ref_ef']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    png = f"{base}-{ds}-latency.png"
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)
    out.append((png, f"{ds} latency distribution"))
    # QPS vs concurrency
    srv = [(n, s) for n, s in series if "conc_python" in s]
    colour = {n: f"C{i}" for i, (n, _) in enumerate(series)}
    if srv:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for n, s in srv:
            for key, style, lab in (("conc_native", "-", "native"), ("conc_python", "--", "pymilvus")):
                pts = [(p["c"], p["qps"]) for p in s.get(key, [])]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", color=colour[n],
                            label=f"{n} ({lab})")
        for n, s in series:
            if "conc_python" not in s:
                p = _find(s["sweep"], "ef", mode["ref_ef"])
                if p:
                    ax.plot([1, 2], [p["qps_c1"], p["qps_c2"]], ":", marker="s", color=colour[n],
                            label=f"{n} (in-process)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("concurrency")
        ax.set_ylabel("QPS")
        ax.set_title(f"{ds}: QPS vs concurrency at ef={mode['ref_ef']}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        png = f"{base}-{ds}-concurrency.png"
        fig.tight_layout()
        fig.savefig(png, dpi=90)
        plt.close(fig)
        out.append((png, f"{ds} QPS vs concurrency"))
    return out
