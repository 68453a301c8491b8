"""Server targets, each a child process with a pid (for RSS) that can be stopped and restarted:

  kite         build/kite standalone on a fresh data dir
  milvus       Milvus standalone from the `milvus` package (its bundled server binary, embedded etcd,
               local storage, RocksMQ), started the way `milvus.MilvusServer` starts it
  milvus-lite  the `milvus-lite` package's own gRPC server (`milvus-lite server`). milvus-lite 3.x is
               pure Python and by default runs in the client's process (MilvusClient("x.db")); it is
               run here as its own process so the client does not share its interpreter and its
               memory can be measured

All three are driven through the same pymilvus code (driver.py) on a 127.0.0.1 port.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _tree_pids(pid: int) -> List[int]:
    try:
        import psutil
        p = psutil.Process(pid)
        return [pid] + [c.pid for c in p.children(recursive=True)]
    except Exception:  # noqa: BLE001 - process gone
        return [pid]


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """Base: subclasses set self.cmd/self.env and the port; start() waits until GetVersion answers."""
    name = "server"

    def __init__(self, workdir: str):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(workdir, f"{self.name}.log")
        self.peak_rss_kb = 0      # max over this server's lifetimes of the sum of VmHWM over its processes
        self.version = "?"

    def command(self) -> List[str]:
        raise NotImplementedError

    def env(self) -> dict:
        return dict(os.environ)

    def cwd(self) -> str:
        return self.workdir

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, deadline_s: float = 300) -> float:
        """Start and wait until it answers; returns seconds from spawn to ready."""
        log = open(self.log_path, "ab")
        log.write(f"\n===== start: {' '.join(self.command())}\n".encode())
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env(), cwd=self.cwd(), start_new_session=True)
        log.close()
        from pymilvus import MilvusClient
        last = "port never opened"
        while time.perf_counter() - t0 < deadline_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode} during start; "
                                   f"log tail:\n{self.log_tail()}")
            if port_open(self.port):
                try:
                    c = MilvusClient(self.uri, timeout=5)
                    self.version = c.get_server_version()
                    c.close()
                    return time.perf_counter() - t0
                except Exception as e:  # noqa: BLE001 - keep polling
                    last = repr(e)
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready in {deadline_s}s ({last}); log tail:\n{self.log_tail()}")

    def cpu_s(self):
        """User + system CPU seconds of the server's process tree so far (None when not running)."""
        if not self.proc or self.proc.poll() is not None:
            return None
        total = 0.0
        for p in _tree_pids(self.proc.pid):
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass
        return total

    def rss_kb(self) -> int:
        if not self.proc:
            return 0
        return sum(_status_kb(p, "VmRSS") for p in _tree_pids(self.proc.pid))

    def _sample_peak(self) -> None:
        if self.proc and self.proc.poll() is None:
            hwm = sum(_status_kb(p, "VmHWM") for p in _tree_pids(self.proc.pid))
            self.peak_rss_kb = max(self.peak_rss_kb, hwm)

    def stop(self, timeout: float = 60) -> None:
        if not self.proc:
            return
        self._sample_peak()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(open(self.log_path, errors="replace").read().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cleanup(self) -> None:
        try:
            self.stop(timeout=15)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


class KiteServer(Server):
    name = "kite"

    def __init__(self, workdir: str, binary: str):
        self.binary = binary
        super().__init__(workdir)
        self.metrics_port = free_port()

    def command(self) -> List[str]:
        return [self.binary, "standalone", "--data-dir", os.path.join(self.workdir, "data"),
                "--port", str(self.port), "--metrics-port", str(self.metrics_port), "--log-level", "warn"]


GRACEFUL_STOP_S = 10


class MilvusServer(Server):
    """Milvus standalone from the `milvus` package (a Python launcher around a bundled binary)."""
    name = "milvus"

    def __init__(self, workdir: str):
        super().__init__(workdir)
        import milvus
        self.package_version = milvus.__version__
        cfg = milvus.MilvusServerConfig(data_dir=os.path.join(workdir, "milvus"), proxy_port=self.port)
        # Standalone's query node waits for another node to take its segments on SIGTERM, up to
        # common.gracefulStopTimeout (1800 s by default): with no other node, cap the wait.
        cfg.set("common.gracefulStopTimeout", GRACEFUL_STOP_S)
        self._launcher = milvus.MilvusServer(cfg)
        # Unpack the binaries and write milvus.yaml exactly as the package does; we spawn and wait
        # ourselves so we own the pid, the log and a graceful stop.
        cfg.resolve()
        milvus._initialize_data_files(cfg.base_data_dir)
        self._base = cfg.base_data_dir
        self._exe = self._launcher.get_milvus_executable_path()
        self.metrics_port = free_port()

    def command(self) -> List[str]:
        return [self._exe, "run", "standalone"]

    def cwd(self) -> str:
        return self._base

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({"DEPLOY_MODE": "STANDALONE", "METRICS_PORT": str(self.metrics_port),
                    "MILVUS_RUN_DIR": os.path.join(self._base, "run"),
                    "LD_LIBRARY_PATH": os.path.dirname(self._exe) + ":" + env.get("LD_LIBRARY_PATH", "")})
        return env


class MilvusLiteServer(Server):
    name = "milvus-lite"

    def __init__(self, workdir: str):
        super().__init__(workdir)
        from importlib.metadata import version
        self.package_version = version("milvus-lite")

    def command(self) -> List[str]:
        exe = os.path.join(os.path.dirname(sys.executable), "milvus-lite")
        return [exe, "server", "--data-dir", os.path.join(self.workdir, "lite.db"), "--port", str(self.port)]
