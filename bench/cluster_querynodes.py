"""Query nodes as processes (issue 16's cluster bench, the part that exists): search QPS and p99
of `kite standalone` with its embedded query node vs the same data served by 1 and 2
`kite querynode` processes (kite.queryNodes: remote), and the recovery time after kill -9 of a
query node, in one run.

    /work/main/.venv/bin/python bench/cluster_querynodes.py [--rows 100000] [--dim 128]
        [--duration 10] [--concurrency 2] [--out bench/results/DATE-cluster-querynodes.md]

Every configuration gets a fresh etcd (remote ones) and data dir, the same rows (seeded), FLAT
index (L2, exact: the query nodes' work is the brute-force scan, so it is what more nodes share),
segments of at most 16 MB (so the rows make several segments to spread), and the same closed-loop
load from build/bench/kite_loadgen (nq=1, k=10). Each query node is pinned to its own core with
taskset (--pin, on by default); the standalone and the load generator are not pinned. On a
2-core machine the query nodes share those cores with the standalone and the load generator,
so the 1 -> 2 node figure is a floor of what separate machines give.

Recovery: with 2 query nodes and a count query in a loop, kill -9 of one node; the time from the
kill to the first answer that counts every row again (its segments re-read from the object store
by the survivor).

--proxy (with --streaming-nodes) runs the cluster's searches a second time through a `kite proxy`
process in front of the coordinator: the price of the proxy's own hop.

--streaming-nodes N adds a last configuration, the cluster: N `kite streamingnode` processes
leading the WAL channels on a Kafka broker started here, plus 2 query nodes (the standalone keeps
only the coordinator, proxy and data node). Its search QPS / p99 against the embedded standalone
is the price of the extra hops; ingest (rows/s of the load phase, 5000-row inserts) is compared
the same way; and kill -9 of the streaming node leading the collection is timed to the first
acknowledged insert after it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from conftest import KiteServer  # noqa: E402
from etcd_util import EtcdProcess  # noqa: E402
from e2e_util import free_port  # noqa: E402
from pymilvus import DataType, MilvusClient  # noqa: E402

COLLECTION = "bench_qn"


def start_role(kite: Path, role: str, cfg: Path, data_dir: Path | None, log_dir: Path, cpu: int | None):
    port = free_port()
    log = log_dir / f"{role}-{port}.log"
    data = [] if data_dir is None else ["--data-dir", str(data_dir)]  # a proxy stores nothing
    cmd = [str(kite), role, "--config", str(cfg), *data, "--port", str(port)]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    fh = open(log, "ab", buffering=0)
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while "serving on" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{role} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    proc.log = log
    proc.port = port
    return proc


def kill_streaming_leader(srv: KiteServer, client: MilvusClient, sprocs, n: int) -> float:
    """kill -9 of the streaming node leading the collection; seconds to the next acknowledged insert."""
    import urllib.request
    cid = client.describe_collection(COLLECTION)["collection_id"]
    view = json.loads(urllib.request.urlopen(f"{srv.metrics_url}/webui/api/streaming_nodes", timeout=5).read())
    leader = next(v["node_id"] for v in view.get("data", view) if cid in v["collections"])
    victim = next(p for p in sprocs if f"kite streamingnode {leader} serving" in p.log.read_text(errors="replace"))
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    t0 = time.monotonic()
    while True:
        try:
            client.insert(COLLECTION, [{"id": n + 1, "vec": np.zeros(srv_dim(client), np.float32).tolist()}])
            return time.monotonic() - t0
        except Exception:  # noqa: BLE001 - writes fail or wait while the channels move
            if time.monotonic() - t0 > 120:
                raise RuntimeError("no acknowledged insert 120 s after the kill")


def srv_dim(client: MilvusClient) -> int:
    for f in client.describe_collection(COLLECTION)["fields"]:
        if f["name"] == "vec":
            return int(f["params"]["dim"])
    raise RuntimeError("no vec field")


def load_data(client: MilvusClient, vectors: np.ndarray) -> None:
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
    client.create_collection(COLLECTION, schema=s)
    ip = MilvusClient.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_index(COLLECTION, ip)
    client.load_collection(COLLECTION)
    n = len(vectors)
    per_flush = max(1, n // 4)
    for a in range(0, n, 5000):
        b = min(n, a + 5000)
        client.insert(COLLECTION, [{"id": i, "vec": vectors[i].tolist()} for i in range(a, b)])
        if b % per_flush < 5000 or b == n:
            client.flush(COLLECTION)
    while client.query(COLLECTION, filter="", output_fields=["count(*)"])[0]["count(*)"] != n:
        time.sleep(0.1)
    # Wait until every segment is indexed (the index state is Finished).
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        d = client.describe_index(COLLECTION, "vec")
        if d.get("pending_index_rows", 0) == 0 and d.get("indexed_rows", 0) >= n:
            return
        time.sleep(0.2)


def loadgen(port: int, queries: Path, args) -> dict:
    out = subprocess.run([str(args.loadgen), "--address", f"127.0.0.1:{port}",
                          "--collection", COLLECTION, "--field", "vec", "--metric", "L2", "--queries",
                          str(queries), "--topk", "10", "--concurrency", str(args.concurrency), "--duration",
                          str(args.duration), "--warmup", "2"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run_config(nodes: int, base: Path, vectors: np.ndarray, queries: Path, args, streaming: int = 0,
               kafka=None) -> dict:
    base.mkdir(parents=True)
    data = base / "data"
    text = "dataCoord:\n  segment:\n    maxSize: 16\n"
    etcd = None
    procs = []
    if nodes > 0:
        etcd = EtcdProcess(base / "etcd").start()
        text += (f"etcd:\n  endpoints: {etcd.endpoint}\n  rootPath: bench{uuid.uuid4().hex[:8]}\n"
                 "common:\n  session:\n    ttl: 3\nkite:\n  queryNodes: remote\n")
    if streaming > 0:
        text += ("  streamingNodes: remote\n"
                 f"rootCoord:\n  port: {free_port()}\nmq:\n  type: kafka\n"
                 f"kafka:\n  brokerList: {kafka.address}\n"
                 f"msgChannel:\n  chanNamePrefix:\n    cluster: b{uuid.uuid4().hex[:10]}\n")
    cfg = base / "kite.yaml"
    cfg.write_text(text)
    data.mkdir()
    for i in range(nodes):
        cpu = (i % os.cpu_count()) if args.pin else None
        procs.append(start_role(args.kite_bin, "querynode", cfg, data, base, cpu))
    srv = KiteServer(args.kite_bin, data_dir=data, log_dir=base, name=f"kite-{nodes}qn",
                     extra_args=["--config", str(cfg)])
    srv.start()
    sprocs = [start_role(args.kite_bin, "streamingnode", cfg, data, base, None) for _ in range(streaming)]
    procs += sprocs
    result: dict = {"query_nodes": nodes, "streaming_nodes": streaming}
    try:
        client = srv.client()
        t0 = time.monotonic()
        load_data(client, vectors)
        result["ingest_rows_s"] = len(vectors) / (time.monotonic() - t0)
        result["load"] = loadgen(srv.port, queries, args)
        if streaming > 0 and args.proxy:
            # The same searches through a `kite proxy` process in front of the coordinator.
            proxy = start_role(args.kite_bin, "proxy", cfg, None, base, None)
            procs.append(proxy)
            result["proxy_load"] = loadgen(proxy.port, queries, args)
        if streaming >= 2:
            result["sn_recovery_s"] = kill_streaming_leader(srv, client, sprocs, len(vectors))
        if nodes == 2 and streaming == 0:
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait()
            t0 = time.monotonic()
            while True:
                try:
                    got = client.query(COLLECTION, filter="id >= 0", output_fields=["count(*)"])
                    if got[0]["count(*)"] == len(vectors):
                        break
                except Exception:  # noqa: BLE001 - reads fail or wait while the node is replaced
                    pass
                if time.monotonic() - t0 > 120:
                    raise RuntimeError("no complete answer 120 s after the kill")
            result["recovery_s"] = time.monotonic() - t0
        client.close()
    finally:
        srv.stop(check=False)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(30)
        if etcd:
            etcd.stop(crash=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--no-pin", dest="pin", action="store_false")
    ap.add_argument("--streaming-nodes", type=int, default=0)
    ap.add_argument("--proxy", action="store_true",
                    help="with --streaming-nodes: the cluster's searches again through a `kite proxy` process")
    ap.add_argument("--kite-bin", type=Path, default=REPO / "build" / "kite")
    ap.add_argument("--loadgen", type=Path, default=REPO / "build" / "bench" / "kite_loadgen")
    ap.add_argument("--out", type=Path,
                    default=REPO / "bench" / "results" / f"{datetime.date.today()}-cluster-querynodes.md")
    args = ap.parse_args()
    rng = np.random.default_rng(42)
    vectors = rng.random((args.rows, args.dim), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="kite-qn-bench-") as tmp:
        q = Path(tmp) / "queries.npy"
        np.save(q, rng.random((200, args.dim), dtype=np.float32))
        results = [run_config(n, Path(tmp) / f"n{n}", vectors, q, args) for n in (0, 1, 2)]
        if args.streaming_nodes > 0:
            from kafka_broker import KafkaBroker  # noqa: E402
            (Path(tmp) / "kafka").mkdir()
            kafka = KafkaBroker(Path(tmp) / "kafka").start()
            try:
                results.append(run_config(2, Path(tmp) / "cluster", vectors, q, args, args.streaming_nodes, kafka))
            finally:
                kafka.stop()
    base = results[0]["load"]
    lines = [f"# Query nodes as processes: {args.rows} x {args.dim}, FLAT L2, nq=1, k=10, "
             f"{args.concurrency} clients, {args.duration:.0f} s",
             "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores; load average at the end "
             f"{os.getloadavg()[0]:.1f}. Command: `{' '.join(sys.argv)}`. Query nodes pinned: {args.pin}.",
             "",
             "| serving | QPS | p50 ms | p99 ms | QPS / embedded | p99 / embedded | ingest rows/s | ingest / embedded |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        ld = r["load"]
        name = "standalone, embedded query node" if r["query_nodes"] == 0 else f"{r['query_nodes']} query node process(es)"
        if r["streaming_nodes"]:
            name = f"cluster: {r['streaming_nodes']} streaming + {r['query_nodes']} query node processes, Kafka WAL"
        lines.append(f"| {name} | {ld['qps']:.0f} | {ld['p50_ms']:.2f} | {ld['p99_ms']:.2f} | "
                     f"{ld['qps'] / base['qps']:.2f} | {ld['p99_ms'] / base['p99_ms']:.2f} | "
                     f"{r['ingest_rows_s']:.0f} | {r['ingest_rows_s'] / results[0]['ingest_rows_s']:.2f} |")
        if "proxy_load" in r:
            pl = r["proxy_load"]
            lines.append(f"| {name}, through a kite proxy process | {pl['qps']:.0f} | {pl['p50_ms']:.2f} | "
                         f"{pl['p99_ms']:.2f} | {pl['qps'] / base['qps']:.2f} | {pl['p99_ms'] / base['p99_ms']:.2f} | | |")
    rec = [r for r in results if "recovery_s" in r]
    if rec:
        lines += ["", f"kill -9 of one of 2 query nodes: every row counted again after "
                      f"{rec[0]['recovery_s']:.2f} s."]
    srec = [r for r in results if "sn_recovery_s" in r]
    if srec:
        lines += ["", f"kill -9 of the streaming node leading the collection: the next insert acknowledged after "
                      f"{srec[0]['sn_recovery_s']:.2f} s."]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
