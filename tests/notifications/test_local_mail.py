"""`make run` keeps the mail the platform sends as files a developer can open, received over
STARTTLS (the service's default) with a certificate made when it starts."""

from __future__ import annotations

import ssl
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from loyalty_devkit.local_broker import free_port
from loyalty_devkit.local_mail import LocalMailServer
from loyalty_devkit.local_tls import self_signed_certificate
from loyalty_notifications.channels.base import Message, PermanentFailure
from loyalty_notifications.channels.email import EmailChannel
from loyalty_notifications.settings import NotificationsSettings
from tests.support.tokens import SECRET

BIRTHDAY = Message(
    notification_id="3f1c2f52-5a51-4b55-9d3c-2b1f5c0d9a10",
    member_id="m-1",
    trigger="birthday",
    channel="email",
    to="wang.fang@example.com",
    subject="王芳, 生日快乐",
    body="祝您生日快乐\n",
    language="zh-CN",
)


async def test_the_local_mail_server_keeps_each_email_as_an_eml_file(tmp_path: Path) -> None:
    certificate = self_signed_certificate(tmp_path / "tls")
    server = LocalMailServer(tmp_path / "mail", free_port(), certificate=certificate)
    server.start()
    try:
        settings = NotificationsSettings(
            notifications_database_url="postgresql://unused/x",
            jwt_secret=SECRET,
            notifications_smtp_port=server.port,
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
        settings = NotificationsSettings(
            notifications_database_url="postgresql://unused/x",
            jwt_secret=SECRET,
            notifications_smtp_port=server.port,
            notifications_smtp_tls="none",
        )
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
            NotificationsSettings(
                notifications_database_url="postgresql://unused/x",
                jwt_secret=SECRET,
                notifications_smtp_port=server.port,
                notifications_smtp_ca_file=certificate.cert_file,
            )
        )
        for n in range(3):
            await channel.send(replace(BIRTHDAY, notification_id=f"{n}-{BIRTHDAY.notification_id}"))
    finally:
        server.stop()

    assert len(list((tmp_path / "mail").glob("*.eml"))) == 3
    assert len(built) == 1, "one context for every mail (it costs about 20 ms of CPU to build)"
