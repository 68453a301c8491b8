"""A real etcd (Debian etcd-server, installed by scripts/setup.sh) for the e2e tests.

EtcdProcess starts etcd on free loopback ports in a temp dir, waits until its JSON gateway answers
(polling), and stops it (SIGKILL: a crash, or SIGTERM).  start() after stop() brings it back on
the same ports and data.  A missing binary fails the test with a message naming scripts/setup.sh.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Dict, Optional

import pytest

from e2e_util import free_port

# etcd refuses transactions with more operations than this (its default is 128); see
# ARCHITECTURE.md, "Meta store on etcd".
MAX_TXN_OPS = 1024


def etcd_binary() -> str:
    path = os.environ.get("ETCD_BIN") or shutil.which("etcd")
    if not path:
        pytest.fail("etcd not found (neither $ETCD_BIN nor etcd on the PATH): run scripts/setup.sh",
                    pytrace=False)
    return path


class EtcdProcess:
    def __init__(self, base: Path):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.client_port = free_port()
        self.peer_port = free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self.proc: Optional[subprocess.Popen] = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def start(self, deadline_s: float = 30.0) -> "EtcdProcess":
        assert self.proc is None or self.proc.poll() is not None
        client = f"http://{self.endpoint}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        cmd = [etcd_binary(), "--name=kite-e2e", f"--data-dir={self.base / 'data'}",
               f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
               f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
               f"--initial-cluster=kite-e2e={peer}", f"--max-txn-ops={MAX_TXN_OPS}",
               "--logger=zap", f"--log-outputs={self.base / 'etcd.log'}"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + deadline_s
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"etcd exited with {self.proc.returncode}; see {self.base / 'etcd.log'}",
                            pytrace=False)
            try:
                self.call("/v3/maintenance/status", {}, timeout=1)
                return self
            except OSError as e:
                last = e
            time.sleep(0.05)
        pytest.fail(f"etcd not ready within {deadline_s}s: {last!r}", pytrace=False)

    def stop(self, crash: bool = True) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGKILL if crash else signal.SIGTERM)
        self.proc.wait(timeout=30)

    def call(self, path: str, body: dict, timeout: float = 5) -> dict:
        req = urllib.request.Request(f"http://{self.endpoint}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def keys_under(self, prefix: str) -> Dict[str, bytes]:
        """Every key under prefix (all of them: no limit) with its raw stored value."""
        p = prefix.encode()
        end = p[:-1] + bytes([p[-1] + 1])
        r = self.call("/v3/kv/range", {"key": base64.b64encode(p).decode(),
                                       "range_end": base64.b64encode(end).decode()})
        return {base64.b64decode(kv["key"]).decode(errors="replace"): base64.b64decode(kv.get("value", ""))
                for kv in r.get("kvs", [])}
