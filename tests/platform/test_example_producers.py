"""The example producers of examples/producers/ (docs/events.md#producing-in-production), run as
an integrator runs them: each publishes a purchase to the local broker, the points service
credits it, and running it again for the same order credits nothing more (the event id derives
from the order id).

The local broker refuses the InitProducerId request of aiokafka and kafkajs, so those two run
with KAFKA_ENABLE_IDEMPOTENCE=false here; librdkafka's idempotent producer works against it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.partitioner import DefaultPartitioner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from examples.producers import python_aiokafka, python_confluent
from loyalty_devkit.local_broker import LocalBroker
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.decoding import Decoded, decode_event
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.conftest import PARTITIONS
from tests.points.test_crediting_purchases import balance_of
from tests.support.node_tools import npm_ci
from tests.support.tokens import bearer
from tests.support.waiting import eventually

EXAMPLES_DIR = Path(__file__).parents[2] / "examples" / "producers"
NODE_DIR = EXAMPLES_DIR / "node"
#: What runs Node and npm is set up once per worker, so every test that needs them runs on one.
NODE = pytest.mark.xdist_group("example-producers-node")
#: A run that takes longer than this is stuck (a healthy one takes a second or two).
RUN_TIMEOUT_S = 180


@dataclass(frozen=True)
class Example:
    name: str
    command: tuple[str, ...]
    #: whether the local broker takes its idempotent producer
    idempotent_here: bool


AIOKAFKA = Example(
    "aiokafka", (sys.executable, str(EXAMPLES_DIR / "python_aiokafka.py")), idempotent_here=False
)
CONFLUENT = Example(
    "confluent-kafka",
    (sys.executable, str(EXAMPLES_DIR / "python_confluent.py")),
    idempotent_here=True,
)
KAFKAJS = Example("kafkajs", ("node", str(NODE_DIR / "produce-purchase.js")), idempotent_here=False)


@dataclass(frozen=True)
class Finished:
    code: int
    stdout: str
    stderr: str

    def line(self) -> dict[str, Any]:
        assert self.code == 0, self.stderr
        output: dict[str, Any] = json.loads(self.stdout.strip().splitlines()[-1])
        return output


async def run(example: Example, *args: str, bootstrap: str = "127.0.0.1:9092") -> Finished:
    """The example as a process of its own, as an integrator starts it, on the given broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env["KAFKA_BOOTSTRAP"] = bootstrap
    env["KAFKA_ENABLE_IDEMPOTENCE"] = "true" if example.idempotent_here else "false"
    process = await asyncio.create_subprocess_exec(
        *example.command,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture(scope="session")
def node_example() -> Path:
    """The Node example's dependencies, installed from its lock file as CI does (`npm ci`)."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.skip(
            "Node.js and npm are not installed on this machine: the kafkajs example is not run"
        )
    npm_ci(npm, NODE_DIR, "--prefer-offline")
    return NODE_DIR


@pytest.fixture(
    params=[AIOKAFKA, CONFLUENT, pytest.param(KAFKAJS, marks=NODE)], ids=lambda e: e.name
)
def example(request: pytest.FixtureRequest) -> Example:
    chosen: Example = request.param
    if chosen is KAFKAJS:
        request.getfixturevalue("node_example")
    return chosen


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


async def test_an_example_s_purchase_is_credited_once_however_often_the_example_runs(
    example: Example, broker: LocalBroker, points_api: httpx.AsyncClient
) -> None:
    """Past its return window (30 days ago), so the points are available at once. The second
    run republishes the same event id, which the platform ignores; the order behind it, on the
    same partition, shows when the service has read both."""
    member, order, when = f"m-example-{example.name}", f"o-example-{example.name}", _days_ago(30)
    purchase = (member, order, "399.00", "--time", when)
    next_purchase = (member, f"{order}-2", "20.00", "--time", when)

    first = (await run(example, *purchase, bootstrap=broker.bootstrap)).line()
    again = (await run(example, *purchase, bootstrap=broker.bootstrap)).line()
    later = (await run(example, *next_purchase, bootstrap=broker.bootstrap)).line()

    assert first["id"] == again["id"] != later["id"]
    assert first["topic"] == COMMERCE_PURCHASES
    assert first["partition"] == again["partition"] == later["partition"], "keyed by the member"
    body = await eventually(
        lambda: balance_of(points_api, member),
        lambda b: b["lifetime_earned"] >= 419,
        timeout_s=90,
        interval_s=0.2,
    )
    assert (body["available"], body["lifetime_earned"]) == (399 + 20, 399 + 20)
    dead = await points_api.get("/v1/dead-letters", headers=bearer("ops-1", admin=True))
    assert dead.status_code == 200, dead.text
    assert dead.json()["items"] == [], "a duplicate by id, not a second order (duplicate-order)"


async def test_an_example_puts_a_member_on_the_partition_the_java_client_puts_it_on(
    example: Example, broker: LocalBroker
) -> None:
    """murmur2 of the key, as the Java client, aiokafka and kafkajs hash it, so that every
    producer of a topic keeps a member's events on one partition. librdkafka's default (CRC32)
    would put each of these members on another partition."""
    members = ["m-1", "m-4", "m-5"]
    partitions = list(range(PARTITIONS))
    java = DefaultPartitioner()

    placed = [
        (await run(example, member, f"o-{member}", "1.00", bootstrap=broker.bootstrap)).line()
        for member in members
    ]

    assert [p["partition"] for p in placed] == [
        java(member.encode(), partitions, partitions) for member in members
    ]


async def test_an_example_writes_the_contract_s_record_with_an_id_derived_from_the_order(
    example: Example,
) -> None:
    """Every example writes this record for this order, in Python and in Node alike: the event id
    is uuid5 of the shop's namespace and `purchase.completed:<order id>`; the platform reads it."""
    args = ("m-1001", "o-20261120-0001", "399.00", "--time", "2026-11-20T10:15:00+08:00")

    record = (await run(example, *args, "--dry-run")).line()

    event_id = uuid.uuid5(
        python_aiokafka.SHOP_EVENT_NAMESPACE, "purchase.completed:o-20261120-0001"
    )
    assert record == {
        "topic": COMMERCE_PURCHASES,
        "key": "m-1001",
        "headers": {"content-type": "application/cloudevents+json"},
        "event": {
            "specversion": "1.0",
            "id": str(event_id),
            "source": "shop/web",
            "type": "purchase.completed",
            "time": "2026-11-20T10:15:00+08:00",
            "subject": "m-1001",
            "datacontenttype": "application/json",
            "data": {
                "order_id": "o-20261120-0001",
                "member_id": "m-1001",
                "channel": "online",
                "currency": "CNY",
                "total": "399.00",
                "items": [
                    {"sku": "sku-1", "category": "general", "quantity": 1, "unit_price": "399.00"}
                ],
            },
        },
    }
    decoded = decode_event(
        json.dumps(record["event"]).encode(),
        {PurchaseCompletedV1.TYPE: PurchaseCompletedV1},
        [("content-type", b"application/cloudevents+json")],
    )
    assert isinstance(decoded, Decoded)
    assert isinstance(decoded.data, PurchaseCompletedV1)
    assert (decoded.envelope.subject, decoded.data.order_id) == ("m-1001", "o-20261120-0001")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("m-1001", "o-1", "1.005"), id="money with 3 decimals"),
        pytest.param(
            ("m-1001", "o-1", "399.00", "--time", "2026-11-20T10:15:00"),
            id="a time without an offset",
        ),
        pytest.param((" m-1001", "o-1", "399.00"), id="a member id with a leading space"),
    ],
)
async def test_an_example_refuses_bad_input_before_it_connects(
    example: Example, args: tuple[str, ...]
) -> None:
    """Exit code 2 and a message, nothing sent: the broker named does not exist, and an example
    that tried to publish would fail with 1."""
    finished = await run(example, *args, bootstrap="127.0.0.1:9")

    assert finished.code == 2, finished
    assert "usage" in finished.stderr


# --- connecting to the cluster: SCRAM-SHA-512 over TLS, trusting the cluster CA --------------

CLUSTER = {
    "KAFKA_BOOTSTRAP": "loyalty-kafka-bootstrap.loyalty:9093",
    "KAFKA_SASL_USERNAME": "commerce-backend",
    "KAFKA_SASL_PASSWORD": "from-the-kafkauser-secret",
}


@pytest.fixture
def cluster_ca(tmp_path: Path) -> Path:
    """A CA certificate as Strimzi's `loyalty-cluster-ca-cert` secret holds one (`ca.crt`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cluster-ca v0")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ca.crt"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_without_settings_the_python_examples_reach_the_local_broker_in_plaintext() -> None:
    aiokafka = python_aiokafka.Connection.from_env({})
    confluent = python_confluent.Connection.from_env({})

    assert aiokafka.security() == {"security_protocol": "PLAINTEXT"}
    assert aiokafka.bootstrap == confluent.bootstrap == "127.0.0.1:9092"
    assert "security.protocol" not in confluent.config()
    assert (aiokafka.idempotence, confluent.idempotence) == (True, True)


def test_the_aiokafka_example_signs_in_with_scram_sha_512_over_tls_trusting_the_cluster_ca(
    cluster_ca: Path,
) -> None:
    connection = python_aiokafka.Connection.from_env({**CLUSTER, "KAFKA_CA_FILE": str(cluster_ca)})

    options = connection.security()
    context = options.pop("ssl_context")

    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "commerce-backend",
        "sasl_plain_password": "from-the-kafkauser-secret",
    }
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "cluster-ca v0"),),)]


def test_the_confluent_example_signs_in_with_scram_sha_512_over_tls_trusting_the_cluster_ca(
    cluster_ca: Path,
) -> None:
    connection = python_confluent.Connection.from_env({**CLUSTER, "KAFKA_CA_FILE": str(cluster_ca)})

    assert (
        connection.config().items()
        >= {
            "bootstrap.servers": "loyalty-kafka-bootstrap.loyalty:9093",
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "commerce-backend",
            "sasl.password": "from-the-kafkauser-secret",
            "ssl.ca.location": str(cluster_ca),
            "acks": "all",
            "enable.idempotence": True,
        }.items()
    )


@NODE
def test_the_kafkajs_example_signs_in_with_scram_sha_512_over_tls_trusting_the_cluster_ca(
    node_example: Path, cluster_ca: Path
) -> None:
    script = (
        "import { clientConfig, connectionFromEnv } from './produce-purchase.js';"
        "console.log(JSON.stringify(clientConfig(connectionFromEnv(process.env))));"
    )
    env = {**os.environ, **CLUSTER, "KAFKA_CA_FILE": str(cluster_ca)}
    shown = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=node_example,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=RUN_TIMEOUT_S,
    )

    config = json.loads(shown.stdout)
    assert config["brokers"] == ["loyalty-kafka-bootstrap.loyalty:9093"]
    assert config["sasl"] == {
        "mechanism": "scram-sha-512",
        "username": "commerce-backend",
        "password": "from-the-kafkauser-secret",
    }
    assert config["ssl"] == {"ca": [cluster_ca.read_text()]}


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"KAFKA_SASL_USERNAME": "commerce-backend"}, "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_ENABLE_IDEMPOTENCE": "yes"}, "KAFKA_ENABLE_IDEMPOTENCE"),
    ],
)
def test_the_python_examples_refuse_incomplete_settings_saying_which(
    env: dict[str, str], complaint: str
) -> None:
    for connection in (python_aiokafka.Connection, python_confluent.Connection):
        with pytest.raises(ValueError, match=complaint):
            connection.from_env(env)
