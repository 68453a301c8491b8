"""Fixtures for the Kite end-to-end suite: start the real binary, talk to it through pymilvus.

Binary: $KITE_BIN, else <repo>/build/kite.  A missing binary fails every test (not a skip), so a
broken build can never look like a green run.

Fixtures
  kite_bin          path of the binary (session)
  server / client   fresh server on a fresh data dir + MilvusClient, per test
  module_server / module_client
                    one server per test module, for tests that do not interfere
                    (they use unique object names)
  kite_factory      make extra KiteServer objects inside a test (cleaned up at teardown)

When a test fails, the tail of the log of every live server is attached to its report.

Environment
  KITE_E2E_CONFIG        a YAML config every server starts with (unless the test passes its own)
  KITE_E2E_QUERY_NODES=N every server runs with kite.queryNodes: remote over its own etcd and N
                         `kite querynode` processes sharing its data dir (the cluster pass of
                         scripts/test.sh); etcd and the query nodes outlive the server's restarts
  KITE_E2E_STREAMING_NODES=N  with KITE_E2E_QUERY_NODES: also kite.streamingNodes: remote, with
                         N `kite streamingnode` processes leading the WAL channels on one Kafka
                         broker shared by the run (a topic prefix per server); they start after
                         the server's first start and outlive its restarts
  KITE_E2E_PROXY=1       with KITE_E2E_QUERY_NODES: clients talk to a `kite proxy` process in
                         front of the server (the coordinator), started after its first start and
                         outliving its restarts; the server itself serves on a port of its own
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import List, Optional

import pytest
from pymilvus import MilvusClient

from e2e_util import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / "build" / "kite"
READY_DEADLINE_S = 30.0
STOP_TIMEOUT_S = 15.0


class KiteServer:
    """One Kite process: `kite standalone --data-dir DIR --port N --metrics-port M`.

    Ports are picked once and kept across restart() so the URI stays valid (clients reconnect
    the way they would to a restarted Milvus).  stdout+stderr go to `log_path` (appended, with a
    marker line per start).
    """

    live: List["KiteServer"] = []  # servers whose logs are attached to failing reports

    def __init__(self, binary: Path, data_dir: Path, log_dir: Path, name: str = "kite",
                 host: str = "127.0.0.1", extra_args: Optional[List[str]] = None,
                 token: Optional[str] = None):
        self.binary = Path(binary)
        self.token = token  # "user:password" when the server runs with authorization
        self.extra_args = list(extra_args or [])
        self.data_dir = Path(data_dir)
        self.host = host
        self.name = name
        self.port = free_port()  # what clients connect to
        self.metrics_port = free_port()
        while self.metrics_port == self.port:
            self.metrics_port = free_port()
        # KITE_E2E_PROXY: clients reach the server through a `kite proxy` on self.port.
        self.proxied = (os.environ.get("KITE_E2E_PROXY") == "1" and not self.own_config()
                        and int(os.environ.get("KITE_E2E_QUERY_NODES", "0") or 0) > 0)
        self.serve_port = self.port
        while self.proxied and self.serve_port in (self.port, self.metrics_port):
            self.serve_port = free_port()
        self.log_path = Path(log_dir) / f"{name}-{self.port}.log"
        self.proc: Optional[subprocess.Popen] = None
        self._log_fh = None
        self.starts = 0
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.query_nodes: Optional["QueryNodeCluster"] = None
        KiteServer.live.append(self)

    # -- addresses -----------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.host}:{self.metrics_port}"

    def own_config(self) -> bool:
        return "-c" in self.extra_args or "--config" in self.extra_args

    def command(self) -> List[str]:
        # KITE_E2E_CONFIG: a YAML config every server of the run starts with, unless the
        # test passes its own -c (e.g. the role-transport pass of scripts/test.sh).
        shared = os.environ.get("KITE_E2E_CONFIG")
        config = ["-c", shared] if shared and not self.own_config() else []
        if self.query_nodes is not None:
            config = ["-c", str(self.query_nodes.config)]
        return [str(self.binary), "standalone", "--data-dir", str(self.data_dir),
                "--port", str(self.serve_port), "--metrics-port", str(self.metrics_port), *config,
                *self.extra_args]

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, deadline_s: float = READY_DEADLINE_S) -> "KiteServer":
        assert not self.running, "server already running"
        n = int(os.environ.get("KITE_E2E_QUERY_NODES", "0") or 0)
        if n > 0 and self.query_nodes is None and not self.own_config():
            self.query_nodes = QueryNodeCluster(self.binary, self.data_dir, Path(self.log_path).parent,
                                                self.name, n).start()
        self.launch()
        self.wait_ready(deadline_s)
        if self.query_nodes is not None:
            self.query_nodes.start_streaming_nodes()
            if self.proxied:
                self.query_nodes.start_proxy(self.port)
                self.wait_proxy_ready(deadline_s)
        return self

    def launch(self) -> "KiteServer":
        """Starts the process without waiting for it to serve (a stand-by coordinator does not)."""
        assert not self.running, "server already running"
        self.starts += 1
        self._log_fh = open(self.log_path, "ab", buffering=0)
        self._log_fh.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
        self.proc = subprocess.Popen(self.command(), stdout=self._log_fh, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def wait_proxy_ready(self, deadline_s: float = READY_DEADLINE_S) -> None:
        """Poll until the proxy reaches the coordinator (a catalog read through it answers)."""
        deadline = time.monotonic() + deadline_s
        last_err: object = "never tried"
        while time.monotonic() < deadline:
            try:
                probe = MilvusClient(self.uri, timeout=2, dedicated=True,
                                     **({"token": self.token} if self.token else {}))
                try:
                    probe.list_collections(timeout=2)
                    return
                finally:
                    probe.close()
            except Exception as e:  # noqa: BLE001 - keep polling, report the last error
                last_err = e
            time.sleep(0.1)
        self._fail(f"kite proxy not serving within {deadline_s:.0f}s; last error: {last_err!r}")

    def wait_ready(self, deadline_s: float = READY_DEADLINE_S) -> None:
        """Poll until the gRPC port accepts a connection and GetVersion answers (the server's own
        port; through a proxy, wait_proxy_ready then)."""
        deadline = time.monotonic() + deadline_s
        last_err: object = "gRPC port never accepted a connection"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self._fail(f"kite exited with code {rc} before becoming ready")
            if self._port_open():
                try:
                    probe = MilvusClient(f"http://{self.host}:{self.serve_port}", timeout=2, dedicated=True,
                                         **({"token": self.token} if self.token else {}))
                    try:
                        version = probe.get_server_version(timeout=2)
                    finally:
                        probe.close()
                    if isinstance(version, str):
                        return
                    last_err = f"get_server_version returned {version!r}"
                except Exception as e:  # noqa: BLE001 - keep polling, report the last error
                    last_err = e
            time.sleep(0.1)
        self._fail(f"kite not ready within {deadline_s:.0f}s; last error: {last_err!r}")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection((self.host, self.serve_port), timeout=0.5):
                return True
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S, check: bool = True) -> Optional[int]:
        """SIGTERM and wait. Returns the exit code. If the process does not exit in time it is
        killed with SIGKILL and (with check=True) the test fails."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._close_log()
                if check:
                    self._fail(f"kite did not exit within {timeout}s of SIGTERM (killed)")
        self._close_log()
        return self.proc.returncode

    def kill9(self) -> int:
        assert self.running, "kill9 on a server that is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        rc = self.proc.wait(timeout=10)
        self._close_log()
        return rc

    def restart(self, deadline_s: float = READY_DEADLINE_S) -> "KiteServer":
        if self.running:
            rc = self.stop()
            assert rc == 0, f"clean shutdown before restart exited with {rc}"
        return self.start(deadline_s)

    def client(self, **kwargs) -> MilvusClient:
        """A dedicated MilvusClient (own channel, closed by client.close())."""
        kwargs.setdefault("timeout", 10)
        if self.token and "token" not in kwargs and "user" not in kwargs:
            kwargs["token"] = self.token
        return MilvusClient(self.uri, dedicated=True, **kwargs)

    def cleanup(self) -> None:
        try:
            if self.running:
                self.stop(timeout=5, check=False)
        finally:
            if self.running:
                self.proc.kill()
                self.proc.wait()
            self._close_log()
            if self.query_nodes is not None:
                self.query_nodes.stop()
                self.query_nodes = None
            if self in KiteServer.live:
                KiteServer.live.remove(self)

    # -- logs ----------------------------------------------------------------------------
    def _close_log(self) -> None:
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"(no log: {e})"
        return "\n".join(text.splitlines()[-lines:])

    def _fail(self, why: str) -> None:
        pytest.fail(f"{why}\n--- {self.log_path} (tail) ---\n{self.log_tail()}", pytrace=False)


class QueryNodeCluster:
    """An etcd and N `kite querynode` processes for one KiteServer (KITE_E2E_QUERY_NODES), plus
    KITE_E2E_STREAMING_NODES `kite streamingnode` and KITE_E2E_DATA_NODES `kite datanode`
    processes when those are set."""

    def __init__(self, binary: Path, data_dir: Path, log_dir: Path, name: str, n: int):
        from etcd_util import EtcdProcess  # only this mode needs etcd
        self.binary, self.data_dir, self.log_dir, self.n = Path(binary), Path(data_dir), Path(log_dir), n
        self.etcd = EtcdProcess(self.log_dir / f"{name}-etcd")
        self.config = self.log_dir / f"{name}-cluster.yaml"
        self.procs: List[subprocess.Popen] = []
        self.logs: List[Path] = []
        self.streaming_n = int(os.environ.get("KITE_E2E_STREAMING_NODES", "0") or 0)
        self.data_n = int(os.environ.get("KITE_E2E_DATA_NODES", "0") or 0)
        self.streaming_started = False
        self.proxy_started = False

    def start(self) -> "QueryNodeCluster":
        self.etcd.start()
        extra = ""
        shared = os.environ.get("KITE_E2E_CONFIG")
        if shared:
            extra = Path(shared).read_text()
        # The coordinator's services for the node and proxy processes, on a port of its own.
        streaming = f"rootCoord:\n  port: {free_port()}\n"
        if self.streaming_n > 0:
            streaming += ("mq:\n  type: kafka\n"
                         f"kafka:\n  brokerList: {_shared_kafka(self.log_dir).address}\n"
                         f"msgChannel:\n  chanNamePrefix:\n    cluster: ke{uuid.uuid4().hex[:12]}\n")
        self.config.write_text(f"etcd:\n  endpoints: {self.etcd.endpoint}\n  rootPath: kite-e2e\n"
                               "common:\n  session:\n    ttl: 3\n"
                               "kite:\n  queryNodes: remote\n"
                               + ("  streamingNodes: remote\n" if self.streaming_n > 0 else "")
                               + ("  dataNodes: remote\n" if self.data_n > 0 else "")
                               + streaming + extra)
        self._spawn("querynode", self.n)
        self._spawn("datanode", self.data_n)
        return self

    def start_streaming_nodes(self) -> None:
        """The streaming node processes, once the server (the coordinator) is up."""
        if self.streaming_started or self.streaming_n == 0:
            return
        self.streaming_started = True
        self._spawn("streamingnode", self.streaming_n)

    def start_proxy(self, port: int) -> None:
        """A `kite proxy` on `port` (KITE_E2E_PROXY), once the server (the coordinator) is up."""
        if self.proxy_started:
            return
        self.proxy_started = True
        self._spawn("proxy", 1, port=port)

    def _spawn(self, role: str, count: int, port: Optional[int] = None) -> None:
        """Starts `count` processes of `role` and waits until each serves."""
        first = len(self.procs)
        for i in range(count):
            this_port = port if port is not None else free_port()
            log = self.log_dir / f"{role}{i}-{this_port}.log"
            fh = open(log, "ab", buffering=0)
            data_dir = [] if role == "proxy" else ["--data-dir", str(self.data_dir)]
            self.procs.append(subprocess.Popen(
                [str(self.binary), role, "--config", str(self.config), *data_dir,
                 "--port", str(this_port)], stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True))
            fh.close()
            self.logs.append(log)
        deadline = time.monotonic() + READY_DEADLINE_S
        for proc, log in zip(self.procs[first:], self.logs[first:]):
            while "serving on" not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"kite {role} did not start: {log.read_text(errors='replace')[-2000:]}",
                                pytrace=False)
                time.sleep(0.05)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.etcd.stop(crash=True)


_KAFKA = None


def _shared_kafka(base: Path):
    """One Kafka broker for the whole run of a KITE_E2E_STREAMING_NODES pass (stopped at exit)."""
    global _KAFKA
    if _KAFKA is None:
        import atexit
        from kafka_broker import KafkaBroker
        (Path(base) / "shared-kafka").mkdir(parents=True, exist_ok=True)
        _KAFKA = KafkaBroker(Path(base) / "shared-kafka").start()
        atexit.register(_KAFKA.stop)
    return _KAFKA


# -- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def kite_bin() -> Path:
    path = Path(os.environ.get("KITE_BIN") or DEFAULT_BIN)
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"Kite binary not found or not executable: {path}. Build it first "
                    f"(cmake --build build) or point KITE_BIN at it.", pytrace=False)
    return path


def _new_server(kite_bin: Path, base: Path, name: str) -> KiteServer:
    return KiteServer(kite_bin, data_dir=base / "data", log_dir=base, name=name)


@pytest.fixture
def kite_factory(kite_bin, tmp_path):
    made: List[KiteServer] = []

    def make(name: str = "extra", data_dir: Optional[Path] = None,
             extra_args: Optional[List[str]] = None, token: Optional[str] = None) -> KiteServer:
        base = tmp_path / f"{name}-{len(made)}"
        base.mkdir()
        srv = KiteServer(kite_bin, data_dir=data_dir or base / "data", log_dir=base, name=name,
                         extra_args=extra_args, token=token)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.cleanup()


@pytest.fixture
def server(kite_bin, tmp_path):
    srv = _new_server(kite_bin, tmp_path, "kite")
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture
def client(server):
    c = server.client()
    yield c
    c.close()


@pytest.fixture(scope="module")
def module_server(kite_bin, tmp_path_factory, request):
    base = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    srv = _new_server(kite_bin, base, "kite")
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture(scope="module")
def module_client(module_server):
    c = module_server.client()
    yield c
    c.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when in ("setup", "call"):
        for srv in list(KiteServer.live):
            rep.sections.append((f"kite log tail: {srv.log_path}", srv.log_tail()))


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    """One real Kafka broker for the whole session (tests/e2e/kafka_broker.py). A test that stops
    it starts it again before it ends; this fixture restarts it if one did not."""
    from kafka_broker import KafkaBroker

    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    try:
        broker.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield broker
    broker.stop()
