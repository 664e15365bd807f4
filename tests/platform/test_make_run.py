"""`make run` as a newcomer meets it: everything starts, Ctrl-C stops everything, and the data
is still there the next time."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from loyalty_devkit.dev_tokens import make_token
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
#: Each port and what answers 200 there once it is ready (the gateway has no dependencies).
PROBES = {8000: "/healthz", **dict.fromkeys((8001, 8002, 8003, 8004, 8080), "/readyz")}
PORTS = tuple(PROBES)
SERVICES = ("points", "tiers", "notifications", "feedback", "console", "gateway")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _start(local_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            ["make", "--no-print-directory", "run", f"LOCAL_DIR={local_dir}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )


def _wait_all_ready(process: subprocess.Popen[bytes], log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    pending = set(PORTS)
    while pending:
        assert process.poll() is None, f"make run exited early:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"not ready: {pending}\n{log.read_text()[-4000:]}"
        for port in list(pending):
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{port}{PROBES[port]}", timeout=1).status_code
                    == 200
                ):
                    pending.discard(port)
            except httpx.HTTPError:
                pass
        time.sleep(0.5)


def _ctrl_c(process: subprocess.Popen[bytes], log: Path) -> None:
    """Ctrl-C reaches the whole foreground process group; make itself then dies of SIGINT."""
    before = log.read_text().count("all stopped")
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=90) in (0, -signal.SIGINT)
    assert log.read_text().count("all stopped") == before + 1, log.read_text()[-4000:]


def _balance(member_id: str, port: int = 8001) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {make_token(member_id)}"}
    url = f"http://127.0.0.1:{port}/v1/members/{member_id}/points"
    body: dict[str, int] = httpx.get(url, headers=headers, timeout=5).json()
    return body


def _leftovers(local_dir: Path) -> list[str]:
    """What `make run` started and left running: its broker, its database, and service processes
    talking to its broker (other tests, of this checkout or another, run services beside it on
    brokers of their own)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(local_dir) in cmdline or "tcp://127.0.0.1:9092" in cmdline:
            found.append(cmdline)
        elif any(f"bin/loyalty-{s}" in cmdline for s in SERVICES):
            try:
                bootstrap = proc.environ().get("LOYALTY_KAFKA_BOOTSTRAP")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if bootstrap == "127.0.0.1:9092":
                found.append(cmdline)
    return found


@pytest.mark.slow
@pytest.mark.fixed_ports
async def test_make_run_starts_everything_stops_cleanly_and_keeps_balances(tmp_path: Path) -> None:
    if any(_listening(port) for port in (*PORTS, 9092)):
        pytest.fail("ports 8000-8004, 8080 or 9092 are taken; `make run` needs them")
    local_dir = tmp_path / "local"
    log = tmp_path / "make-run.log"

    first = _start(local_dir, log)
    await asyncio.to_thread(_wait_all_ready, first, log)
    await publish_events(
        "127.0.0.1:9092", COMMERCE_PURCHASES, [purchase("m-9001", "88.80", days_ago=30)]
    )
    await eventually(
        lambda: asyncio.to_thread(_balance, "m-9001"), lambda b: b["available"] == 88, timeout_s=30
    )

    _ctrl_c(first, log)
    assert not any(_listening(port) for port in (*PORTS, 9092))
    assert _leftovers(local_dir) == []

    second = _start(local_dir, log)
    try:
        await asyncio.to_thread(_wait_all_ready, second, log)
        assert _balance("m-9001")["available"] == 88, "the local database keeps its data"
        assert _balance("m-9001", port=8000) == _balance("m-9001"), "the gateway routes to points"
    finally:
        _ctrl_c(second, log)
    assert _leftovers(local_dir) == []
