"""A real Apache Kafka 4.1.1 broker (KRaft, one node) for the end-to-end tests.

Started by scripts/kafka_broker.sh on free loopback ports in a temp dir; ready when its log says
"Kafka Server started" and its port accepts connections (polled, no fixed sleep).  stop() kills it
(SIGKILL, as a crash) and start() brings it back on the same dir and ports.  The jars come from
scripts/setup.sh: without them start() fails saying so (never a skip).

KafkaBroker(secure=True) also opens a SASL_PLAINTEXT, an SSL and a SASL_SSL listener (SASL/PLAIN,
user SASL_USER / SASL_PASSWORD; SASL/SCRAM-SHA-256 and -512, user SCRAM_USER / SCRAM_PASSWORD,
created in the KRaft metadata by Kafka's StorageTool format --add-scram); the TLS listeners use a
PKCS12 keystore made
here with Java's keytool (a self-signed certificate for 127.0.0.1, exported as `ca_pem` for the
clients).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

from e2e_util import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "kafka_broker.sh"
LIBS = Path(os.environ.get("KITE_KAFKA_LIBS") or REPO_ROOT / ".cache" / "kafka" / "libs")
READY_DEADLINE_S = 90.0
SASL_USER = "kite"
SASL_PASSWORD = "kite-kafka-secret"
SCRAM_USER = "kite-scram"
SCRAM_PASSWORD = "kite-scram-secret"
KEYSTORE_PASSWORD = "kite-keystore-pw"


class KafkaBroker:
    def __init__(self, base: Path, secure: bool = False):
        self.base = Path(base)
        taken = set()

        def port() -> int:
            p = free_port()
            while p in taken:
                p = free_port()
            taken.add(p)
            return p

        self.port = port()
        self.controller_port = port()
        self.secure = secure
        self.env = {}
        if secure:
            self.sasl_port, self.ssl_port, self.sasl_ssl_port = port(), port(), port()
            self.base.mkdir(parents=True, exist_ok=True)
            keystore = self.base / "server.p12"
            self.ca_pem = self.base / "ca.pem"
            keytool = ["keytool", "-keystore", str(keystore), "-storepass", KEYSTORE_PASSWORD, "-alias", "kafka"]
            subprocess.run(keytool + ["-genkeypair", "-storetype", "PKCS12", "-keypass", KEYSTORE_PASSWORD,
                                      "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=localhost",
                                      "-ext", "SAN=IP:127.0.0.1,DNS:localhost", "-validity", "2"],
                           check=True, capture_output=True)
            subprocess.run(keytool + ["-exportcert", "-rfc", "-file", str(self.ca_pem)], check=True,
                           capture_output=True)
            self.env = {"KITE_KAFKA_SASL_PORT": str(self.sasl_port), "KITE_KAFKA_SSL_PORT": str(self.ssl_port),
                        "KITE_KAFKA_SASL_SSL_PORT": str(self.sasl_ssl_port),
                        "KITE_KAFKA_KEYSTORE": str(keystore), "KITE_KAFKA_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD,
                        "KITE_KAFKA_SASL_USER": SASL_USER, "KITE_KAFKA_SASL_PASSWORD": SASL_PASSWORD,
                        "KITE_KAFKA_SCRAM_USER": SCRAM_USER, "KITE_KAFKA_SCRAM_PASSWORD": SCRAM_PASSWORD}
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_path(self) -> Path:
        return self.base / f"broker-{self.starts}.log"

    def start(self) -> "KafkaBroker":
        if not (LIBS / "kafka_2.13-4.1.1.jar").is_file():
            raise RuntimeError(f"Kafka 4.1.1 jars not found in {LIBS}: run scripts/setup.sh")
        assert self.proc is None, "broker already running"
        self.starts += 1
        log = open(self.log_path(), "wb")
        self.proc = subprocess.Popen(
            ["bash", str(SCRIPT), str(self.base / "broker"), str(self.port), str(self.controller_port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, **self.env, "KITE_KAFKA_PARENT_PID": str(os.getpid())})  # dies with this run
        log.close()
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Kafka broker exited with {self.proc.returncode}: {self.log_tail()}")
            if "Kafka Server started" in self.log_path().read_text(errors="replace") and self._port_open():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"Kafka broker not ready within {READY_DEADLINE_S:.0f}s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path().read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _port_open(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False
