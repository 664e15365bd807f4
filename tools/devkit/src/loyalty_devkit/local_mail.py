"""A local SMTP server for `make run`: it accepts every message the notifications service sends
and keeps it as an `.eml` file, so a developer can read what members would receive. Given a
certificate it offers STARTTLS and requires it, as the service's default (`starttls`) expects.

aiosmtpd is a dependency of the devkit (and what the tests use too).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from loyalty_devkit.local_tls import LocalCertificate


class _KeepAsFiles:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        rcpt = re.sub(r"[^A-Za-z0-9@._-]", "_", ",".join(envelope.rcpt_tos))[:80]
        (self._directory / f"{stamp}-{rcpt}.eml").write_bytes(content)
        return "250 Message kept"


class LocalMailServer:
    def __init__(
        self, directory: Path, port: int, *, certificate: LocalCertificate | None = None
    ) -> None:
        self.directory = directory
        self.port = port
        self.certificate = certificate
        self._controller: Controller | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tls = self.certificate
        self._controller = Controller(
            _KeepAsFiles(self.directory),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=tls.server_context() if tls else None,
            require_starttls=tls is not None,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
