#!/usr/bin/env python3
"""JSON path index benchmark (issue 18): filter latency on a JSON path, indexed vs scanned.

Against a freshly started `kite standalone`: one collection of --rows rows (flushed: sealed
segments only), each with a JSON field {"a": int, "s": "k<n>", "tags": [...], "pad": "..."}.
Each filter below is run as count(*) queries --repeat times without a JSON path index, then
after `create_index` with json_path / json_cast_type has been built for every segment; the
answers must be the same, and the table gives median latencies and the ratio.

With --flat, one index with json_cast_type JSON on the whole field (a flat index over every
key below it) replaces the three typed ones; the array filter then scans.

Usage: KITE_BIN=build/kite .venv/bin/python bench/json_index_bench.py [--rows 200000] [--flat]
Writes a markdown table to stdout (and to --out if given).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

from pymilvus import DataType, MilvusClient

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from insert_restart import Server  # noqa: E402

FILTERS = [
    ('meta["a"] == 123457', "DOUBLE =="),
    ('meta["a"] in [5, 77, 9001, 123457]', "DOUBLE in"),
    ('1000 <= meta["a"] < 2000', "DOUBLE 0.5% range"),
    ('meta["a"] > 1000', "DOUBLE 99.5% range"),
    ('meta["s"] == "k4242"', "VARCHAR =="),
    ('meta["s"] like "k42%"', "VARCHAR prefix"),
    ('json_contains(meta["tags"], "t17")', "ARRAY_VARCHAR contains"),
]
INDEXES = [("a", 'meta["a"]', "DOUBLE"), ("s", 'meta["s"]', "VARCHAR"), ("tags", 'meta["tags"]', "ARRAY_VARCHAR")]


def count(client, name, flt):
    return client.query(name, filter=flt, output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]


def measure(client, name, repeat):
    out = {}
    for flt, _ in FILTERS:
        count(client, name, flt)  # warm
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            n = count(client, name, flt)
            times.append((time.perf_counter() - t0) * 1000)
        out[flt] = (n, statistics.median(times))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--out")
    ap.add_argument("--flat", action="store_true", help="one json_cast_type JSON index on meta")
    args = ap.parse_args()
    indexes = [("all", "meta", "JSON")] if args.flat else INDEXES
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        server = Server(data)
        server.start()
        try:
            client = MilvusClient(server.uri)
            name = "jsonbench"
            s = MilvusClient.create_schema(enable_dynamic_field=False)
            s.add_field("id", DataType.INT64, is_primary=True)
            s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
            s.add_field("meta", DataType.JSON)
            ip = client.prepare_index_params()
            ip.add_index("vec", index_type="FLAT", metric_type="L2")
            client.create_collection(name, schema=s, index_params=ip)
            batch = 10_000
            for lo in range(0, args.rows, batch):
                client.insert(name, [{"id": i, "vec": [1.0, float(i % 7)],
                                      "meta": {"a": (i * 7919) % args.rows, "s": f"k{i % 50000}",
                                               "tags": [f"t{i % 97}", f"t{i % 13}"], "pad": "p" * 24}}
                                     for i in range(lo, min(lo + batch, args.rows))])
            client.flush(name)
            scan = measure(client, name, args.repeat)

            client.release_collection(name)
            ip = client.prepare_index_params()
            for index_name, path, cast in indexes:
                ip.add_index("meta", index_type="INVERTED", index_name=index_name,
                             params={"json_path": path, "json_cast_type": cast})
            t0 = time.perf_counter()
            client.create_index(name, ip)
            while True:
                done = all(client.describe_index(name, n)["pending_index_rows"] == 0 and
                           client.describe_index(name, n)["indexed_rows"] == args.rows for n, _, _ in indexes)
                if done:
                    break
                time.sleep(0.2)
            build_s = time.perf_counter() - t0
            client.load_collection(name)
            indexed = measure(client, name, args.repeat)
        finally:
            server.stop()
    lines = [f"JSON path index vs scan, {args.rows} rows, all sealed, count(*) per filter, "
             f"median of {args.repeat}; {'the flat index' if args.flat else 'the three indexes'} built in {build_s:.1f} s",
             "", "| filter | rows | scan ms | indexed ms | speed-up |", "|---|---|---|---|---|"]
    for flt, label in FILTERS:
        n0, t_scan = scan[flt]
        n1, t_idx = indexed[flt]
        assert n0 == n1, (flt, n0, n1)
        lines.append(f"| `{flt}` ({label}) | {n0} | {t_scan:.2f} | {t_idx:.2f} | {t_scan / t_idx:.1f}x |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
