"""`kite standalone` with its WAL on a Kafka broker reached over SASL/PLAIN and TLS
(issue 15: Milvus's kafka.saslUsername / saslPassword / saslMechanisms / securityProtocol and
kafka.ssl.* keys).

The broker is the real Kafka 4.1.1 KRaft broker of the other Kafka tests, started here with
secured listeners (kafka_broker.KafkaBroker(secure=True): SASL_PLAINTEXT, SSL and SASL_SSL, a
keystore made with keytool). Each protocol carries a pymilvus round trip whose rows come back after
a restart, i.e. from the log in Kafka; a wrong password or an untrusted broker certificate fails
clearly, and the password is never printed.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from e2e_util import free_port, unique
from kafka_broker import SASL_PASSWORD, SASL_USER, KafkaBroker

pytestmark = pytest.mark.skipif(shutil.which("keytool") is None, reason="needs Java's keytool")

DIM = 8
READ_TIMEOUT_S = 5


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory):
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka-secure"), secure=True)
    try:
        broker.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield broker
    broker.stop()


def kafka_yaml(broker, listener: str, mechanism: str = "", password: str = SASL_PASSWORD, ca=None) -> str:
    port = {"SASL_PLAINTEXT": broker.sasl_port, "SSL": broker.ssl_port, "SASL_SSL": broker.sasl_ssl_port}[listener]
    text = ("mq:\n  type: kafka\n"
            f"msgChannel:\n  chanNamePrefix:\n    cluster: ks{uuid.uuid4().hex[:10]}\n"
            f"kafka:\n  brokerList: 127.0.0.1:{port}\n  readTimeout: {READ_TIMEOUT_S}\n"
            f"  securityProtocol: {listener}\n")
    if mechanism:
        text += f"  saslMechanisms: {mechanism}\n  saslUsername: {SASL_USER}\n  saslPassword: {password}\n"
    if "SSL" in listener:
        text += f"  ssl:\n    enabled: true\n    tlsCaCert: {ca or broker.ca_pem}\n"
    return text


def schema():
    s = MilvusClient.create_schema(enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("tag", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    return s


@pytest.mark.parametrize("listener,mechanism", [
    ("SASL_PLAINTEXT", "PLAIN"),
    ("SSL", ""),
    ("SASL_SSL", "PLAIN"),
])
def test_round_trip_over_sasl_and_tls(kite_factory, tmp_path, secure_broker, listener, mechanism):
    cfg = tmp_path / "kafka.yaml"
    cfg.write_text(kafka_yaml(secure_broker, listener, mechanism))
    srv = kite_factory(name=f"k-{listener.lower()}", extra_args=["--config", str(cfg)]).start()
    c = srv.client()
    name = unique("kafka_sec")
    c.create_collection(name, schema=schema())
    index = c.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    c.create_index(name, index)
    c.load_collection(name)
    rng = np.random.default_rng(3)
    c.insert(name, [{"id": i, "tag": i % 5, "vector": rng.random(DIM).astype(np.float32).tolist()}
                    for i in range(200)])
    c.delete(name, filter="id in [3, 4]")
    expected = {i: i % 5 for i in range(200) if i not in (3, 4)}

    def tags(client):
        got = client.query(name, filter="id >= 0", output_fields=["tag"], consistency_level="Strong", limit=1000)
        return {r["id"]: r["tag"] for r in got}

    assert tags(c) == expected
    c.close()
    # Nothing was flushed: after a restart the rows come back from the log in Kafka.
    srv.restart()
    c = srv.client()
    c.load_collection(name)
    assert tags(c) == expected
    c.close()
    log = srv.log_path.read_text(errors="replace")
    assert SASL_PASSWORD not in log, "the SASL password is in the log"


def start_fails(kite_bin, tmp_path, yaml_text: str) -> str:
    """Starts Kite on `yaml_text`, expects the start to fail; returns what it printed."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    port = free_port()
    cmd = [str(kite_bin), "standalone", "--data-dir", str(tmp_path / "d"), "--config", str(cfg),
           "--port", str(port), "--metrics-port", str(free_port())]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("case", ["wrong-password", "untrusted-certificate"])
def test_bad_credentials_or_certificate_fail_clearly(kite_bin, tmp_path, secure_broker, case):
    if case == "wrong-password":
        text = kafka_yaml(secure_broker, "SASL_PLAINTEXT", "PLAIN", password="Wrong-Kafka-Pw")
        needles = ["Kafka at 127.0.0.1:", "refused the connection", "SASL authentication", "kafka.saslPassword"]
    else:
        other = tmp_path / "other-ca.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=other", "-keyout", str(tmp_path / "other.key"), "-out", str(other)],
                       check=True, capture_output=True)
        text = kafka_yaml(secure_broker, "SSL", ca=other)
        needles = ["Kafka at 127.0.0.1:", "refused the connection", "certificate verify failed", "kafka.ssl.*"]
    out = start_fails(kite_bin, tmp_path, text)
    for needle in needles:
        assert needle in out, out[-3000:]
    assert "Wrong-Kafka-Pw" not in out and SASL_PASSWORD not in out, "a password was printed"
