"""Hostile HTTP/1 clients (issue 20 #16) on both HTTP listeners: the metrics port (9091:
/healthz, /metrics) and the main port's RESTful API. Raw sockets, so that the bytes on the
wire are exactly the hostile ones: slow-loris clients must not starve other clients, malformed
framing (bare LF, bare CR, control bytes) is answered 400 at once, and a client that never
finishes its header is answered 408 and disconnected within the header deadline (10 s)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

HEADER_TIMEOUT_S = 10.0  # Http1Options::header_timeout_ms


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_response(s: socket.socket, deadline_s: float) -> bytes:
    """Everything the server sends until it closes or deadline_s passes."""
    s.settimeout(0.2)
    out = b""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            if b"\r\n\r\n" in out and out.split(b"\r\n\r\n", 1)[0].startswith(b"HTTP/1.1 "):
                head, body = out.split(b"\r\n\r\n", 1)
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:") and len(body) >= int(line.split(b":")[1]):
                        return out
            continue
        if not chunk:
            break
        out += chunk
    return out


def get(port: int, path: str, timeout: float = 5.0) -> bytes:
    with connect(port, timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return read_response(s, timeout)


class SlowLoris:
    """n clients that each send one header byte every `gap_s` seconds, never finishing."""

    def __init__(self, port: int, n: int, gap_s: float = 2.0):
        self.stop = threading.Event()
        self.socks = [connect(port) for _ in range(n)]
        self.threads = [threading.Thread(target=self._trickle, args=(s, gap_s), daemon=True) for s in self.socks]
        for t in self.threads:
            t.start()

    def _trickle(self, s: socket.socket, gap_s: float) -> None:
        data = b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 10_000
        for b in data:
            if self.stop.is_set():
                return
            try:
                s.send(bytes([b]))
            except OSError:
                return
            self.stop.wait(gap_s)

    def close(self) -> None:
        self.stop.set()
        for s in self.socks:
            s.close()


@pytest.mark.parametrize("listener", ["metrics", "main"])
def test_slow_clients_do_not_starve_others(server, listener):
    port = server.metrics_port if listener == "metrics" else server.port
    path = "/healthz" if listener == "metrics" else "/v2/vectordb/collections/list"
    loris = SlowLoris(port, n=16)
    try:
        time.sleep(1.0)  # let every slow client get its first bytes in
        for _ in range(5):
            t0 = time.monotonic()
            if listener == "metrics":
                res = get(port, path)
            else:
                with connect(port) as s:
                    s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
                    res = read_response(s, 5.0)
            assert res.startswith(b"HTTP/1.1 200"), res[:200]
            assert time.monotonic() - t0 < 2.0
    finally:
        loris.close()


@pytest.mark.parametrize("listener", ["metrics", "main"])
def test_unfinished_header_is_cut_at_the_header_deadline(server, listener):
    port = server.metrics_port if listener == "metrics" else server.port
    loris = SlowLoris(port, n=1, gap_s=0.5)
    try:
        t0 = time.monotonic()
        res = read_response(loris.socks[0], HEADER_TIMEOUT_S + 10)
        took = time.monotonic() - t0
        assert res.startswith(b"HTTP/1.1 408"), res[:200]
        assert took < HEADER_TIMEOUT_S + 3, took
    finally:
        loris.close()


@pytest.mark.parametrize("listener", ["metrics", "main"])
@pytest.mark.parametrize("raw", [
    b"GET /healthz HTTP/1.1\nHost: x\n\n",                     # bare LF line endings
    b"GET /healthz HTTP/1.1\r\nHost: x\n\r\n",                 # one bare LF
    b"GET /healthz HTTP/1.1\rHost: x\r\n\r\n",                 # bare CR
    b"GET /healthz HTTP/1.1\r\nHost: x\x00y\r\n\r\n",          # NUL in a header
    b"GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n",              # obsolete line folding
    b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",                # no colon
    b"GET  HTTP/1.1\r\n\r\n",                                  # empty target
])
def test_malformed_framing_gets_400_at_once(server, listener, raw):
    port = server.metrics_port if listener == "metrics" else server.port
    with connect(port) as s:
        t0 = time.monotonic()
        s.sendall(raw)  # the connection stays open: the answer must not wait for more bytes
        res = read_response(s, 5.0)
        assert res.startswith(b"HTTP/1.1 400"), (raw, res[:200])
        assert time.monotonic() - t0 < 2.0


def test_metrics_port_still_serves_after_abuse(server):
    assert get(server.metrics_port, "/healthz").endswith(b"OK")
    res = get(server.metrics_port, "/metrics")
    assert res.startswith(b"HTTP/1.1 200") and b"# TYPE" in res
    res = get(server.metrics_port, "/nope")
    assert res.startswith(b"HTTP/1.1 404") and b"404 page not found" in res


def test_rest_bodies_over_the_inflight_budget_are_refused(kite_factory, tmp_path):
    """proxy.maxInflightRequestBytes bounds the REST body bytes held at once: a body announced
    while another connection's announced body still holds the budget is not read and is answered
    with Milvus's retriable code 4, through the real server (the transport's flag must reach the
    REST layer)."""
    budget = 64 << 20  # not below the 64 MiB request limit
    cfg = tmp_path / "budget.yaml"
    cfg.write_text(f"proxy:\n  maxInflightRequestBytes: {budget}\n")
    srv = kite_factory("budget", extra_args=["--config", str(cfg)]).start()
    held = connect(srv.port, timeout=30)
    try:
        # Announces a body that takes most of the budget and never sends it. With
        # "Expect: 100-continue" the server answers "100 Continue" only once the body's
        # bytes are reserved: the probe below is sent after that, never racing it (a
        # probe admitted first would make the held body the one refused).
        held.sendall(f"POST /v2/vectordb/entities/insert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Expect: 100-continue\r\nContent-Length: {budget - (1 << 20)}\r\n\r\n".encode())
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = held.recv(4096)
            assert chunk, f"the held connection was closed: {interim!r}"
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim[:200]
        body = b'{"collectionName": "c", "data": [' + b" " * (4 << 20) + b"]}"
        with connect(srv.port) as s:
            s.sendall(b"POST /v2/vectordb/entities/insert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            out = read_response(s, 10)
        assert out.startswith(b"HTTP/1.1 200"), out[:200]
        payload = json.loads(out.split(b"\r\n\r\n", 1)[1])
        assert payload["code"] == 4
        assert "maxInflightRequestBytes" in payload["message"] and str(budget) in payload["message"]
    finally:
        held.close()
