"""`make run` keeps the mail the platform sends as files a developer can open, received over
STARTTLS (the service's default) with a certificate made when it starts."""

from __future__ import annotations

import ssl
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from loyalty_devkit.local_broker import free_port
from loyalty_devkit.local_mail import LocalMailServer
from loyalty_devkit.local_tls import self_signed_certificate
from loyalty_notifications.channels.base import PermanentFailure
from loyalty_notifications.channels.email import EmailChannel
from tests.notifications.helpers import BIRTHDAY, email_settings, send_birthdays


async def test_the_local_mail_server_keeps_each_email_as_an_eml_file(tmp_path: Path) -> None:
    certificate = self_signed_certificate(tmp_path / "tls")
    server = LocalMailServer(tmp_path / "mail", free_port(), certificate=certificate)
    server.start()
    try:
        settings = email_settings(
            server.port,
            notifications_smtp_ca_file=certificate.cert_file,
            notifications_mail_from="积分中心 <loyalty@example.com>",
        )
        assert settings.notifications_smtp_tls == "starttls"
        await EmailChannel(settings).send(BIRTHDAY)
    finally:
        server.stop()

    [kept] = list((tmp_path / "mail").glob("*.eml"))
    mail = message_from_bytes(kept.read_bytes(), policy=policy.default)
    assert mail["Subject"] == "王芳, 生日快乐"
    assert mail["To"] == "wang.fang@example.com"
    assert mail["From"] == "积分中心 <loyalty@example.com>"
    assert mail["Message-ID"] == f"<{BIRTHDAY.notification_id}@example.com>"
    assert mail["Content-Language"] == "zh-CN"
    assert mail.get_content() == "祝您生日快乐\n"


async def test_the_local_mail_server_takes_no_mail_in_plain_text(tmp_path: Path) -> None:
    certificate = self_signed_certificate(tmp_path / "tls")
    server = LocalMailServer(tmp_path / "mail", free_port(), certificate=certificate)
    server.start()
    try:
        settings = email_settings(server.port, notifications_smtp_tls="none")
        with pytest.raises(PermanentFailure, match="STARTTLS"):
            await EmailChannel(settings).send(BIRTHDAY)
    finally:
        server.stop()

    assert list((tmp_path / "mail").glob("*.eml")) == []


async def test_mails_over_starttls_share_one_tls_context_with_its_certificates_loaded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = self_signed_certificate(tmp_path / "tls")
    server = LocalMailServer(tmp_path / "mail", free_port(), certificate=certificate)
    built: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(create(*args, **kwargs))
        return built[-1]

    server.start()
    monkeypatch.setattr(ssl, "create_default_context", counted)  # the server has its own
    try:
        channel = EmailChannel(
            email_settings(server.port, notifications_smtp_ca_file=certificate.cert_file)
        )
        await send_birthdays(channel, 3)
    finally:
        server.stop()

    assert len(list((tmp_path / "mail").glob("*.eml"))) == 3
    assert len(built) == 1, "one context for every mail (it costs about 20 ms of CPU to build)"
