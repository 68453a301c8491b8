"""Object lifetime as a user sees it (issue 14 item 4): drop_collection leaves
its files to the garbage collector, which deletes them after
dataCoord.gc.dropTolerance; the gc keys are read from the YAML config."""
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import wait_until

DIM = 8


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kite.yaml"
    path.write_text(text)
    return path


def collection_dirs(data_dir: Path) -> list:
    return sorted(p for p in (data_dir / "objects" / "collections").glob("*") if p.is_dir())


def test_dropped_collection_files_stay_for_the_drop_tolerance_then_go(kite_factory, tmp_path):
    tolerance_s = 6
    cfg = write_config(tmp_path, f"dataCoord:\n  gc:\n    interval: 1\n    dropTolerance: {tolerance_s}\n")
    srv = kite_factory("gc", extra_args=["--config", str(cfg)]).start()
    client = srv.client()
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection("doomed", schema=schema)
    rng = np.random.default_rng(7)
    client.insert("doomed", [{"id": i, "vec": rng.random(DIM).tolist()} for i in range(100)])
    client.flush("doomed")
    dirs = collection_dirs(srv.data_dir)
    assert len(dirs) == 1 and any(dirs[0].rglob("*.bin")), "the flush wrote segment files"

    dropped_at = time.monotonic()
    client.drop_collection("doomed")
    assert not client.has_collection("doomed")
    still_there = any(dirs[0].rglob("*.bin"))
    if time.monotonic() - dropped_at < tolerance_s - 1:
        assert still_there, "drop_collection deleted the files a slower reader may still read"
    def gone() -> bool:
        try:
            return not dirs[0].exists() or not any(dirs[0].rglob("*"))
        except FileNotFoundError:  # the collector is deleting the directory right now
            return False

    assert wait_until(gone, timeout_s=60), \
        "the garbage collector never deleted the dropped collection's files"
    assert time.monotonic() - dropped_at >= tolerance_s - 1, "collected before dataCoord.gc.dropTolerance"
    srv.stop()


@pytest.mark.parametrize("text,key,value", [
    ("dataCoord:\n  gc:\n    interval: 0\n", "dataCoord.gc.interval", "0"),
    ("dataCoord:\n  gc:\n    dropTolerance: -5\n", "dataCoord.gc.dropTolerance", "-5"),
    ("dataCoord:\n  gc:\n    missingTolerance: soon\n", "dataCoord.gc.missingTolerance", "soon"),
])
def test_bad_gc_config_value_is_refused_with_the_key(kite_bin, tmp_path, text, key, value):
    cfg = write_config(tmp_path, text)
    proc = subprocess.run([str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert key in proc.stderr and value in proc.stderr
