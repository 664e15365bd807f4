"""Running a service as its own process, exactly as `make run` and the container do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from tests.support.tokens import SECRET


class ServiceProcess:
    def __init__(self, service: str, *, port: int, env: dict[str, str], log: Path) -> None:
        self.service = service
        self.port = port
        self.env = {**os.environ, **env, "LOYALTY_JWT_SECRET": SECRET}
        self.env[f"LOYALTY_{service.upper()}_PORT"] = str(port)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = str(Path(sys.executable).with_name(f"loyalty-{self.service}"))
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, env=self.env, stdout=out, stderr=out)

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.service} exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.service} not ready: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout_s: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout_s)


async def count_in(dsn: str, sql: str) -> int:
    """A count from a service process's database: 0 while the database or the table is not
    there yet (the process is still starting) or the server is away."""
    try:
        conn = await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError):
        return 0
    try:
        return int(await conn.fetchval(sql) or 0)
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()
