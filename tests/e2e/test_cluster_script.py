"""scripts/cluster.sh (issue 16's one-command local cluster, as far as roles run as processes):
`up` starts etcd, Kafka, the standalone (coordinator, proxy, data node), two streaming node, two
query node and two proxy processes and prints the address (the first proxy's); `status` shows the
query view and the channel bindings; `kill querynode 0`, `kill streamingnode I` (the leader) and
`kill proxy 0` each kill one and the data stays complete and writable (through the other proxy
after the last); `down` stops every process it started."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient

from conftest import REPO_ROOT
from e2e_util import unique

SCRIPT = REPO_ROOT / "scripts" / "cluster.sh"


def run(*args, cwd_dir: Path, kite_bin) -> str:
    env = dict(os.environ, KITE_BIN=str(kite_bin))
    out = subprocess.run(["bash", str(SCRIPT), *args, "--dir", str(cwd_dir)], env=env, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_cluster_script_up_kill_down(kite_bin, tmp_path):
    d = tmp_path / "cluster"
    up = run("up", cwd_dir=d, kite_bin=kite_bin)
    try:
        uri = re.search(r"connect: (http://127\.0\.0\.1:\d+)", up).group(1)
        c = MilvusClient(uri, timeout=30)
        name = unique("cs")
        s = MilvusClient.create_schema()
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("v", DataType.FLOAT_VECTOR, dim=8)
        c.create_collection(name, schema=s)
        ip = c.prepare_index_params()
        ip.add_index("v", index_type="FLAT", metric_type="L2")
        c.create_index(name, ip)
        c.load_collection(name)
        rng = np.random.default_rng(5)
        for b in range(4):
            c.insert(name, [{"id": b * 100 + i, "v": rng.random(8).tolist()} for i in range(100)])
            c.flush(name)
        status = run("status", cwd_dir=d, kite_bin=kite_bin)
        assert status.count("querynode-") == 2 and "running" in status, status
        assert "datanode-0: running" in status and "active coordinator: standalone" in status, status
        run("kill", "querynode", "0", cwd_dir=d, kite_bin=kite_bin)
        got = c.query(name, filter="id >= 0", output_fields=["id"], limit=1000)
        assert sorted(r["id"] for r in got) == list(range(400))
        status = run("status", cwd_dir=d, kite_bin=kite_bin)
        assert "querynode-0: dead" in status and '"segments":4' in status.replace(" ", ""), status
        # kill -9 of the streaming node leading the collection: the other takes its channels
        # (replaying them from Kafka); writes and reads go on.
        assert status.count("streamingnode-") == 2, status
        cid = c.describe_collection(name)["collection_id"]
        view = re.search(r"streaming view: (.*)", status).group(1)
        leaders = [n["node_id"] for n in json.loads(view).get("data", json.loads(view))
                   if cid in n["collections"]]
        assert len(leaders) == 1, view
        # streamingnode-I registered in order: the I-th started holds the (I+2)-th server id
        # after the standalone's; find it by its log instead of assuming.
        idx = next(i for i in range(2)
                   if f"kite streamingnode {leaders[0]} serving" in (d / "logs" / f"streamingnode-{i}.log").read_text())
        run("kill", "streamingnode", str(idx), cwd_dir=d, kite_bin=kite_bin)
        c.insert(name, [{"id": 400 + i, "v": rng.random(8).tolist()} for i in range(50)])
        got = c.query(name, filter="id >= 0", output_fields=["id"], limit=1000, consistency_level="Strong")
        assert sorted(r["id"] for r in got) == list(range(450))
        c.close()
        # `connect:` is the first proxy: kill -9 it, the second serves the same cluster.
        other = re.search(r"proxy 1: (http://127\.0\.0\.1:\d+)", up).group(1)
        run("kill", "proxy", "0", cwd_dir=d, kite_bin=kite_bin)
        c2 = MilvusClient(other, timeout=30)
        c2.insert(name, [{"id": 450 + i, "v": rng.random(8).tolist()} for i in range(50)])
        got = c2.query(name, filter="id >= 0", output_fields=["id"], limit=1000, consistency_level="Strong")
        assert sorted(r["id"] for r in got) == list(range(500))
        assert "proxy-0: dead" in run("status", cwd_dir=d, kite_bin=kite_bin)
        c2.close()
    finally:
        down = run("down", cwd_dir=d, kite_bin=kite_bin)
    assert "down" in down
    status = run("status", cwd_dir=d, kite_bin=kite_bin)
    assert "running" not in status, status
