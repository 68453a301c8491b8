"""A single-role Kite process (`kite querynode`, `kite streamingnode`, `kite proxy`, ...) on free ports, for the
cluster tests: started, waited for ("serving on" in its log), paused, killed, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from e2e_util import free_port

READY_S = 60  # a streaming node waits for the coordinator's session; Kafka topics take a moment


class RoleProcess:
    def __init__(self, binary: Path, role: str, config: Path, data_dir: Path, log_dir: Path, name: str):
        self.binary, self.role, self.config, self.data_dir = Path(binary), role, config, data_dir
        self.port = free_port()
        self.metrics_port = free_port()
        self.log_path = Path(log_dir) / f"{name}-{self.port}.log"
        self.proc = None

    def start(self) -> "RoleProcess":
        log = open(self.log_path, "ab", buffering=0)
        data_dir = [] if self.data_dir is None else ["--data-dir", str(self.data_dir)]  # a proxy has none
        self.proc = subprocess.Popen(
            [str(self.binary), self.role, "--config", str(self.config), *data_dir,
             "--port", str(self.port), "--metrics-port", str(self.metrics_port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"kite {self.role} exited: {self.log_tail()}"
            if "serving on" in self.log_path.read_text(errors="replace"):
                return self
            time.sleep(0.05)
        raise AssertionError(f"kite {self.role} not ready: {self.log_tail()}")

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def pause(self) -> None:
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError(f"kite {self.role} ignored SIGTERM: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])
        except OSError:
            return ""
