"""A real S3 server for end-to-end tests: the Versity S3 gateway serving a temp directory.

scripts/setup.sh installs it into <repo>/.cache/go-bin/versitygw ($KITE_VERSITYGW overrides).
A missing binary fails the test with a message saying to run scripts/setup.sh (never a skip).

    s3 = VersityS3(tmp_path / "s3").start()   # free loopback port, waits until it listens
    s3.stop()                                 # SIGKILL (a crash) and wait
    s3.start()                                # same port, same directory, same objects
    s3.kite_config()                          # YAML keys that put `kite standalone` on it
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional

import pytest

from e2e_util import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCESS_KEY = "kiteaccess"
SECRET_KEY = "kite-e2e-secret-do-not-log"
READY_DEADLINE_S = 30.0


def versitygw_bin() -> Path:
    path = Path(os.environ.get("KITE_VERSITYGW") or REPO_ROOT / ".cache" / "go-bin" / "versitygw")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"the S3 test server {path} is missing: run scripts/setup.sh", pytrace=False)
    return path


class VersityS3:
    def __init__(self, base: Path, bucket: str = "kite-e2e", root_path: str = "files"):
        self.binary = versitygw_bin()
        self.base = Path(base)
        self.data = self.base / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.bucket = bucket
        self.root_path = root_path
        self.log_path = self.base / "versitygw.log"
        self.proc: Optional[subprocess.Popen] = None

    def command(self) -> List[str]:
        return [str(self.binary), "--access", ACCESS_KEY, "--secret", SECRET_KEY,
                "--port", f"127.0.0.1:{self.port}", "posix", str(self.data)]

    def start(self) -> "VersityS3":
        assert self.proc is None, "already running"
        log = open(self.log_path, "ab", buffering=0)
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                pytest.fail(f"versitygw exited with {rc} at start; see {self.log_path}", pytrace=False)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        pytest.fail(f"versitygw did not listen on {self.port} within {READY_DEADLINE_S:.0f}s", pytrace=False)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def kite_config(self) -> str:
        return (
            "common:\n  storageType: remote\n"
            "minio:\n"
            "  address: 127.0.0.1\n"
            f"  port: {self.port}\n"
            f"  accessKeyID: {ACCESS_KEY}\n"
            f"  secretAccessKey: {SECRET_KEY}\n"
            "  useSSL: false\n"
            f"  bucketName: {self.bucket}\n"
            f"  rootPath: {self.root_path}\n"
            "  requestTimeoutMs: 3000\n"
        )

    def object_files(self) -> List[Path]:
        """The objects the server holds under the bucket's root path (its posix files)."""
        root = self.data / self.bucket / self.root_path
        if not root.exists():
            return []
        return [p for p in root.rglob("*") if p.is_file() and ".sgwtmp" not in p.parts]
