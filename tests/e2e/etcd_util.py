"""A real etcd (Debian etcd-server, installed by scripts/setup.sh) for the e2e tests.

EtcdProcess starts etcd on free loopback ports in a temp dir, waits until its JSON gateway answers
(polling), and stops it (SIGKILL: a crash, or SIGTERM).  start() after stop() brings it back on
the same ports and data.  A missing binary fails the test with a message naming scripts/setup.sh.

EtcdProcess(tls=True) serves clients over TLS only, with certificates made here by the openssl
command line (make_certs: a CA, a server certificate for 127.0.0.1, a client certificate, and an
unrelated CA "other-ca.pem") and requires client certificates; EtcdProcess(auth=True) creates
user root (ROOT_PASSWORD) and enables authentication with etcdctl at the first start.
kite_yaml() is the etcd section of a Kite config that reaches it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import ssl
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
ROOT_PASSWORD = "kite-e2e-etcd-root"


def make_certs(d: Path) -> Path:
    """A throwaway CA, server and client certificates (SAN 127.0.0.1 / localhost), another CA."""
    d.mkdir(parents=True, exist_ok=True)

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kite-test-ca",
            "-keyout", "ca.key", "-out", "ca.pem")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=kite-{name}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", "san.ext", "-out", f"{name}.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other-ca",
            "-keyout", "other-ca.key", "-out", "other-ca.pem")
    return d


def etcd_binary() -> str:
    path = os.environ.get("ETCD_BIN") or shutil.which("etcd")
    if not path:
        pytest.fail("etcd not found (neither $ETCD_BIN nor etcd on the PATH): run scripts/setup.sh",
                    pytrace=False)
    return path


class EtcdProcess:
    def __init__(self, base: Path, tls: bool = False, auth: bool = False):
        self.tls = tls
        self.auth = auth
        self._auth_on = False
        self._token: Optional[str] = None
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.client_port = free_port()
        self.peer_port = free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.certs = make_certs(self.base / "certs") if tls else None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def kite_yaml(self, root: str, timeout_ms: int = 10000, **override) -> str:
        """The etcd section of a Kite config for this server; override replaces ssl / auth values."""
        ssl_keys = {"enabled": "true", "tlsCACert": self.certs / "ca.pem", "tlsCert": self.certs / "client.pem",
                    "tlsKey": self.certs / "client.key"} if self.tls else {}
        auth_keys = {"enabled": "true", "userName": "root", "password": ROOT_PASSWORD} if self.auth else {}
        for k, v in override.items():
            section, key = k.split("_", 1)
            (ssl_keys if section == "ssl" else auth_keys)[key] = v
        text = f"etcd:\n  endpoints: {self.endpoint}\n  rootPath: {root}\n  requestTimeout: {timeout_ms}\n"
        for name, keys in (("ssl", ssl_keys), ("auth", auth_keys)):
            if keys:
                text += f"  {name}:\n" + "".join(f"    {k}: {v}\n" for k, v in keys.items())
        return text

    def etcdctl(self, *args: str) -> subprocess.CompletedProcess:
        ctl = shutil.which("etcdctl") or "etcdctl"
        cmd = [ctl, f"--endpoints={self.scheme}://{self.endpoint}"]
        if self.tls:
            cmd += [f"--cacert={self.certs / 'ca.pem'}", f"--cert={self.certs / 'client.pem'}",
                    f"--key={self.certs / 'client.key'}"]
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30,
                              env={**os.environ, "ETCDCTL_API": "3"})

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def start(self, deadline_s: float = 30.0) -> "EtcdProcess":
        assert self.proc is None or self.proc.poll() is not None
        self._token = None  # simple tokens do not survive a restart
        client = f"{self.scheme}://{self.endpoint}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        cmd = [etcd_binary(), "--name=kite-e2e", f"--data-dir={self.base / 'data'}",
               f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
               f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
               f"--initial-cluster=kite-e2e={peer}", f"--max-txn-ops={MAX_TXN_OPS}",
               "--logger=zap", f"--log-outputs={self.base / 'etcd.log'}"]
        if self.tls:
            cmd += [f"--cert-file={self.certs / 'server.pem'}", f"--key-file={self.certs / 'server.key'}",
                    f"--trusted-ca-file={self.certs / 'ca.pem'}", "--client-cert-auth"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + deadline_s
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"etcd exited with {self.proc.returncode}; see {self.base / 'etcd.log'}",
                            pytrace=False)
            try:
                if self.tls:
                    # etcd 3.4's JSON gateway refuses requests on a --client-cert-auth listener.
                    r = self.etcdctl("endpoint", "status", "--command-timeout=1s")
                    if r.returncode != 0:
                        raise OSError(r.stderr)
                else:
                    self.call("/v3/maintenance/status", {}, timeout=1)
                if self.auth and not self._auth_on:
                    for step in (["user", "add", f"root:{ROOT_PASSWORD}"], ["user", "grant-role", "root", "root"],
                                 ["auth", "enable"]):
                        r = self.etcdctl(*step)
                        assert r.returncode == 0, f"etcdctl {step}: {r.stderr}"
                    self._auth_on = True
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

    def _context(self) -> Optional[ssl.SSLContext]:
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=str(self.certs / "ca.pem"))
        ctx.load_cert_chain(str(self.certs / "client.pem"), str(self.certs / "client.key"))
        return ctx

    def call(self, path: str, body: dict, timeout: float = 5) -> dict:
        headers = {"Content-Type": "application/json"}
        if self._auth_on and path != "/v3/auth/authenticate":
            if self._token is None:
                self._token = self.call("/v3/auth/authenticate", {"name": "root", "password": ROOT_PASSWORD})["token"]
            headers["Authorization"] = self._token
        req = urllib.request.Request(f"{self.scheme}://{self.endpoint}{path}", data=json.dumps(body).encode(),
                                     headers=headers)
        with urllib.request.urlopen(req, timeout=timeout, context=self._context()) as r:
            return json.loads(r.read())

    def keys_under(self, prefix: str) -> Dict[str, bytes]:
        """Every key under prefix (all of them: no limit) with its raw stored value."""
        if self.tls or self._auth_on:
            args = ["get", "--prefix", prefix, "-w", "json"]
            if self._auth_on:
                args.insert(0, f"--user=root:{ROOT_PASSWORD}")
            r = self.etcdctl(*args)
            assert r.returncode == 0, r.stderr
            return {base64.b64decode(kv["key"]).decode(errors="replace"): base64.b64decode(kv.get("value", ""))
                    for kv in json.loads(r.stdout).get("kvs", [])}
        p = prefix.encode()
        end = p[:-1] + bytes([p[-1] + 1])
        r = self.call("/v3/kv/range", {"key": base64.b64encode(p).decode(),
                                       "range_end": base64.b64encode(end).decode()})
        return {base64.b64decode(kv["key"]).decode(errors="replace"): base64.b64decode(kv.get("value", ""))
                for kv in r.get("kvs", [])}
