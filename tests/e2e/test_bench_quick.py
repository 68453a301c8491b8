"""The benchmark suite (bench/run.sh) cannot rot: run it end to end in its tiny mode and check the
report it writes. Speed is never asserted — only that every workload produced numbers.

Targets: Kite and the in-process ceilings (hnswlib, Faiss). Milvus and Milvus Lite are left out on
purpose: they are large optional packages (a bundled server binary, a Python engine) that CI may
not have, and a Milvus start/restart alone costs about a minute; the suite reports a peer that
cannot run as "unavailable" instead of failing, and bench/run.sh --quick exercises them.

The first run creates bench/.venv (pip install of bench/requirements.txt), which takes a minute or
so; later runs reuse it and take about 30 seconds.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_tiny_mode_writes_report(kite_bin, tmp_path):
    out = tmp_path / "results"
    cmd = ["bash", str(REPO / "bench" / "run.sh"), "--tiny", "--no-build", "--targets", "kite,ceiling",
           "--name", "pytest-tiny", "--out-dir", str(out), "--cache-dir", str(tmp_path / "cache"),
           "--kite-bin", str(kite_bin)]
    env = dict(os.environ, KITE_BENCH_TMP=str(tmp_path))
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"bench/run.sh failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"

    md = list(out.glob("*-pytest-tiny.md"))
    assert len(md) == 1, f"expected one report in {out}: {list(out.iterdir())}"
    text = md[0].read_text()
    for heading in ("## Targets", "## Dataset `gauss-3k-32`", "| figure | Kite | Milvus | Milvus Lite | hnswlib | Faiss |"):
        assert heading in text, f"report lacks {heading!r}"
    # The headline recall row has numbers for Kite and both kernels, each in [0, 1].
    row = next(line for line in text.splitlines() if line.startswith("| recall@10, ef="))
    cells = [c.strip() for c in row.strip("|").split("|")]
    for col in (1, 4, 5):  # Kite, hnswlib, Faiss
        assert re.fullmatch(r"[0-9.]+", cells[col]), f"non-numeric recall in {row!r}"
        assert 0.0 <= float(cells[col]) <= 1.0
    for png in re.findall(r"\]\(([^)]+\.png)\)", text):
        assert (out / png).stat().st_size > 0

    res = json.loads(md[0].with_suffix(".json").read_text())
    assert res["targets"]["kite"]["status"] == "ok", res["targets"]["kite"]
    kite = res["targets"]["kite"]["datasets"]["gauss-3k-32"]
    for point in kite["sweep"] + kite["filtered"]:
        assert 0.0 <= point["recall"] <= 1.0
    assert kite["insert_rows_per_s"] > 0 and kite["peak_rss_mb"] > 0
    assert all(p["errors"] == 0 for p in kite["conc_python"] + kite["conc_native"]), kite["conc_native"]
    assert "restart_error" not in kite, kite.get("restart_error")
    for kernel in ("hnswlib", "faiss"):
        k = res["targets"]["ceiling"]["datasets"]["gauss-3k-32"][kernel]
        assert "error" not in k, k
        assert all(0.0 <= p["recall"] <= 1.0 for p in k["sweep"])
