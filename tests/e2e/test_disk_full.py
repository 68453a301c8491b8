"""A full disk (ENOSPC), through the real binary on a small tmpfs: create_collection, insert and
flush fail with a clear error instead of aborting the process, leave nothing half-made behind
(also after a restart), and work again by themselves once space is freed.  Needs root for the
mount; skipped, with the reason, where a tmpfs cannot be mounted."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

import pytest
from pymilvus import MilvusException

DIM = 8
NO_SPACE = "No space left on device"


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for the disk-full test (needs root): "
                    f"{r.stderr.strip() or r.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(mnt: Path) -> Path:
    """Uses up every free byte of the file system; returns the filler file."""
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        chunk = 1 << 20
        while chunk >= 1:
            try:
                os.write(fd, b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                chunk //= 2
    finally:
        os.close(fd)
    st = os.statvfs(mnt)
    assert st.f_bavail == 0, f"{st.f_bavail} blocks still free"
    return filler


def rows(start: int, n: int):
    return [{"id": i, "vector": [float(i % 97)] * DIM} for i in range(start, start + n)]


def count(client, name: str) -> int:
    return client.query(name, filter="", output_fields=["count(*)"],
                        consistency_level="Strong")[0]["count(*)"]


DISK_LIMIT_EXCEEDED = 7  # merr.ErrServiceDiskLimitExceeded ("disk limit exceeded")


def expect_disk_full(fn, *args, **kwargs) -> MilvusException:
    with pytest.raises(MilvusException) as info:
        fn(*args, **kwargs)
    assert info.value.code == DISK_LIMIT_EXCEEDED, (info.value.code, info.value.message)
    assert "disk limit exceeded" in info.value.message, info.value.message
    assert NO_SPACE in info.value.message, info.value.message
    return info.value


def test_disk_full_gives_clear_errors_no_half_state_and_recovers(small_disk, kite_factory):
    # small_disk first: torn down (unmounted) after the server is stopped
    srv = kite_factory("diskfull", data_dir=small_disk / "data")
    srv.start()
    c = srv.client()
    try:
        c.create_collection("a", dimension=DIM, auto_id=False, num_shards=1)
        c.insert("a", rows(0, 100))
        c.flush("a")
        c.insert("a", rows(100, 50))  # growing, not yet flushed
        acked = 150
        # Let background work (the AUTOINDEX build of the flushed segment) settle first, so
        # that nothing frees or takes space behind the test's back once the disk is full.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            info = c.describe_index("a", "vector")
            if info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= 100:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"index of the flushed segment not built: {info}")

        filler = fill(small_disk)

        # Every kind of write fails cleanly; the process stays up.
        expect_disk_full(c.create_collection, "half_made", dimension=DIM)
        assert srv.running, "the server died on a full disk"
        big = rows(10_000, 4000)  # more than the slack of a partly used page
        expect_disk_full(c.insert, "a", big)
        expect_disk_full(c.flush, "a")
        assert srv.running
        assert "half_made" not in c.list_collections()

        # Space freed: the same calls work again, without a restart.
        filler.unlink()
        c.create_collection("b", dimension=DIM, auto_id=False, num_shards=1)
        c.insert("a", big)
        acked += len(big)
        c.flush("a")
        c.insert("b", rows(0, 10))
        assert count(c, "a") == acked
        assert count(c, "b") == 10
        assert set(c.list_collections()) == {"a", "b"}
    finally:
        c.close()

    # Nothing half-made comes back after a restart, and every acknowledged row is there.
    assert srv.stop() == 0
    srv.start()
    c = srv.client()
    try:
        assert set(c.list_collections()) == {"a", "b"}
        assert count(c, "a") == acked
        assert count(c, "b") == 10
    finally:
        c.close()
    srv.kill9()
    srv.start()
    c = srv.client()
    try:
        assert set(c.list_collections()) == {"a", "b"}
        assert count(c, "a") == acked
    finally:
        c.close()
