"""Damaged files on disk, through the real binary: stop the server (cleanly or with kill -9),
damage a WAL file or the meta store, start it again, and check that Kite either refuses to start
naming what is damaged or recovers exactly the acknowledged state -- never starts with a silently
older state.  The policy is in ARCHITECTURE.md ("Damaged files and full disks") and
docs/formats/wal_record.md."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from e2e_util import free_port

DIM = 4
REC_MAGIC = b"KREC"
FILE_HEADER = 20
REC_HEADER = 20


# -- helpers -------------------------------------------------------------------------------

def make_collection(client, name: str) -> None:
    client.create_collection(name, dimension=DIM, primary_field_name="id", id_type="int",
                             vector_field_name="vec", auto_id=False, num_shards=1,
                             consistency_level="Strong")


def rows(ids, tag: int) -> List[dict]:
    return [{"id": i, "vec": [float(i), float(tag), 0.5, 1.0], "tag": tag} for i in ids]


def snapshot(client, name: str) -> Dict[int, Tuple[float, ...]]:
    got = client.query(name, filter="id >= 0", output_fields=["id", "vec", "tag"],
                       consistency_level="Strong", limit=16384)
    return {r["id"]: (tuple(round(x, 4) for x in r["vec"]), r["tag"]) for r in got}


def expected_state(history: List[Tuple[List[int], int]]) -> Dict[int, Tuple[float, ...]]:
    """The model: later writes of a key replace earlier ones."""
    out = {}
    for ids, tag in history:
        for r in rows(ids, tag):
            out[r["id"]] = (tuple(round(x, 4) for x in r["vec"]), tag)
    return out


def wal_files(data_dir: Path) -> List[Path]:
    return sorted((data_dir / "wal").glob("*/*.log"))


def wal_records(path: Path) -> List[Tuple[int, int, int]]:
    """(offset, length, lsn) of each record, parsed from the bytes (docs/formats/wal_record.md)."""
    data = path.read_bytes()
    out, off = [], FILE_HEADER
    while off + REC_HEADER <= len(data) and data[off:off + 4] == REC_MAGIC:
        length, lsn = struct.unpack_from("<IQ", data, off + 4)
        if off + REC_HEADER + length > len(data):
            break
        out.append((off, REC_HEADER + length, lsn))
        off += REC_HEADER + length
    return out


def start_expecting_refusal(kite_bin: Path, data_dir: Path, timeout: float = 30) -> str:
    """Runs the binary on data_dir; it must exit non-zero before serving.  Returns stderr."""
    cmd = [str(kite_bin), "standalone", "--data-dir", str(data_dir),
           "--port", str(free_port()), "--metrics-port", str(free_port())]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"kite started on a damaged data dir (still running after {timeout}s); "
                             f"output: {e.stderr!r}") from None
    out = proc.stderr.decode(errors="replace") + proc.stdout.decode(errors="replace")
    assert proc.returncode != 0, f"kite exited 0 on a damaged data dir: {out}"
    assert "cannot start" in out, out
    return out


@pytest.fixture
def history_server(server, client):
    """A one-shard collection 'd' with inserts and overwrites (upserts), all in the WAL
    (nothing flushed).  Yields (server, client, history)."""
    make_collection(client, "d")
    history = []
    for step, ids in enumerate([range(0, 20), range(10, 30), range(0, 5), range(25, 40)]):
        client.upsert("d", rows(ids, step))
        history.append((list(ids), step))
    assert snapshot(client, "d") == expected_state(history)
    yield server, client, history


# -- WAL: clean stop --------------------------------------------------------------------

def test_cut_wal_after_clean_stop_is_refused_at_every_kind_of_offset(history_server, kite_bin):
    server, client, history = history_server
    client.close()
    assert server.stop() == 0
    files = wal_files(server.data_dir)
    assert len(files) == 1, files
    wal = files[0]
    original = wal.read_bytes()
    recs = wal_records(wal)
    assert len(recs) == len(history), recs
    cuts = {
        "inside the file header": 10,
        "just after the file header": FILE_HEADER,
        "after the first record": recs[0][0] + recs[0][1],
        "inside the second record's header": recs[1][0] + 7,
        "inside the last record's payload": recs[-1][0] + recs[-1][1] - 3,
        "at the last record boundary": recs[-1][0],
    }
    for what, cut in cuts.items():
        wal.write_bytes(original[:cut])
        out = start_expecting_refusal(kite_bin, server.data_dir)
        assert wal.name in out, f"{what}: the refusal does not name the file: {out}"
        assert "offset" in out, f"{what}: the refusal does not name an offset: {out}"
        assert wal.read_bytes() == original[:cut], f"{what}: the damaged file was modified"
    # The intact file starts, with every overwrite in place.
    wal.write_bytes(original)
    server.start()
    c = server.client()
    try:
        assert snapshot(c, "d") == expected_state(history)
    finally:
        c.close()


def test_flipped_byte_in_last_wal_record_after_clean_stop_is_refused(history_server, kite_bin):
    server, client, history = history_server
    client.close()
    assert server.stop() == 0
    wal = wal_files(server.data_dir)[0]
    original = wal.read_bytes()
    off, length, _ = wal_records(wal)[-1]
    damaged = bytearray(original)
    damaged[off + length - 1] ^= 0x01
    wal.write_bytes(bytes(damaged))
    out = start_expecting_refusal(kite_bin, server.data_dir)
    assert wal.name in out and f"offset {off}" in out, out
    assert "stopped cleanly" in out, out
    wal.write_bytes(original)
    server.start()
    c = server.client()
    try:
        assert snapshot(c, "d") == expected_state(history)
    finally:
        c.close()


# -- WAL: after kill -9 --------------------------------------------------------------------

def test_torn_tail_after_kill9_is_cut_and_every_ack_survives(history_server):
    server, client, history = history_server
    client.close()
    server.kill9()
    wal = wal_files(server.data_dir)[0]
    data = wal.read_bytes()
    # A write the crash interrupted: half a record header.
    wal.write_bytes(data + REC_MAGIC + struct.pack("<I", 1000) + b"\x07" * 5)
    server.start()
    c = server.client()
    try:
        assert snapshot(c, "d") == expected_state(history)
        c.upsert("d", rows(range(0, 3), 99))
        history.append((list(range(0, 3)), 99))
        assert snapshot(c, "d") == expected_state(history)
    finally:
        c.close()
    server.kill9()
    server.start()
    c = server.client()
    try:
        assert snapshot(c, "d") == expected_state(history)
    finally:
        c.close()


def test_wal_cut_below_flush_checkpoint_is_refused(server, client, kite_bin):
    """A log that ends below the flush checkpoint lost records it had written; appending would
    reuse LSNs the checkpoint covers and the next restart would skip (lose) them."""
    make_collection(client, "d")
    client.insert("d", rows(range(0, 10), 1))
    client.flush("d")
    client.insert("d", rows(range(10, 20), 2))
    client.close()
    server.kill9()
    wal = wal_files(server.data_dir)[0]
    recs = wal_records(wal)
    assert len(recs) == 2, recs
    wal.write_bytes(wal.read_bytes()[:FILE_HEADER])  # both records gone, below the checkpoint
    out = start_expecting_refusal(kite_bin, server.data_dir)
    assert "below its flush checkpoint" in out, out


def test_damaged_middle_wal_record_after_kill9_is_refused(history_server, kite_bin):
    server, client, history = history_server
    client.close()
    server.kill9()
    wal = wal_files(server.data_dir)[0]
    off, length, lsn = wal_records(wal)[1]
    damaged = bytearray(wal.read_bytes())
    damaged[off + REC_HEADER + 2] ^= 0x40
    wal.write_bytes(bytes(damaged))
    out = start_expecting_refusal(kite_bin, server.data_dir)
    assert wal.name in out and f"offset {off}" in out, out


# -- meta store ----------------------------------------------------------------------------

def test_flipped_byte_in_meta_log_after_kill9_is_refused(server, client, kite_bin):
    make_collection(client, "d")
    client.create_partition("d", "p1")
    client.insert("d", rows(range(0, 10), 1))
    client.flush("d")
    client.close()
    server.kill9()
    logs = sorted((server.data_dir / "meta").glob("*.log"), key=lambda p: p.stat().st_size)
    assert logs and logs[-1].stat().st_size > 200, logs
    log = logs[-1]
    damaged = bytearray(log.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    log.write_bytes(bytes(damaged))
    out = start_expecting_refusal(kite_bin, server.data_dir)
    assert "meta store" in out and "Corruption" in out, out


def test_flipped_byte_in_meta_table_after_clean_stop_is_refused(server, client, kite_bin):
    """A clean stop flushes the meta store's log into a table file; damage there is found too."""
    make_collection(client, "d")
    client.insert("d", rows(range(0, 10), 1))
    client.close()
    assert server.stop() == 0
    tables = sorted((server.data_dir / "meta").glob("*.sst"))
    assert tables, list((server.data_dir / "meta").iterdir())
    t = tables[-1]
    damaged = bytearray(t.read_bytes())
    damaged[len(damaged) // 4] ^= 0x01  # inside the data blocks
    t.write_bytes(bytes(damaged))
    out = start_expecting_refusal(kite_bin, server.data_dir)
    assert "meta store" in out, out


@pytest.mark.parametrize("how", ["meta dir removed", "meta dir emptied"])
def test_missing_meta_store_next_to_data_is_refused(server, client, kite_bin, how):
    make_collection(client, "d")
    client.insert("d", rows(range(0, 10), 1))
    client.close()
    assert server.stop() == 0
    meta = server.data_dir / "meta"
    shutil.rmtree(meta)
    if how == "meta dir emptied":
        meta.mkdir()
    out = start_expecting_refusal(kite_bin, server.data_dir)
    assert "meta store" in out and "missing" in out, out
    assert not (meta / "CURRENT").exists(), "a refused start created a new, empty meta store"


# -- segment and delta files ------------------------------------------------------------------

def object_files(data_dir: Path, suffix: str) -> List[Path]:
    return sorted(p for p in (data_dir / "objects").rglob(f"*{suffix}") if p.is_file())


@pytest.mark.parametrize("suffix,how", [(".col", "flip"), (".col", "cut"), ("ts.bin", "flip"),
                                        (".del", "flip"), (".del", "cut")])
def test_damaged_segment_or_delta_file_is_refused(server, client, kite_bin, suffix, how):
    """Segment columns and delete logs are the data (unlike index files, which are rebuilt): a
    damaged one stops the start, naming the file, instead of serving fewer or older rows."""
    make_collection(client, "d")
    client.insert("d", rows(range(0, 30), 1))
    client.flush("d")
    client.delete("d", ids=[1, 2, 3])
    client.flush("d")
    client.close()
    assert server.stop() == 0
    files = object_files(server.data_dir, suffix)
    assert files, f"no {suffix} file"
    f = files[0]
    data = bytearray(f.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0x08
    else:
        del data[len(data) - 5:]
    f.write_bytes(bytes(data))
    out = start_expecting_refusal(kite_bin, server.data_dir)
    assert f.name in out, out
