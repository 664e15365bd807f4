"""What the notifications service refuses to start with: mail in plain text to another machine,
a webhook or provider reached over plain http (but loopback in development), a webhook secret
that is not a Standard Webhooks secret of at least 32 bytes. One clear line, exit status 2."""

from __future__ import annotations

import base64
import os

import pytest

from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.service import load_settings
from tests.support.tokens import SECRET

GOOD_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.fixture(autouse=True)
def good_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("LOYALTY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_DATABASE_URL", "postgresql://x@127.0.0.1/n")
    monkeypatch.setenv("LOYALTY_JWT_SECRET", SECRET)


def refused_with(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        load_settings(NotificationsSettings)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_mail_goes_over_starttls_unless_told_otherwise() -> None:
    assert load_settings(NotificationsSettings).notifications_smtp_tls == "starttls"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "localhost"])
def test_plain_text_mail_is_allowed_to_a_loopback_host(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_SMTP_HOST", host)
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_SMTP_TLS", "none")

    assert load_settings(NotificationsSettings).notifications_smtp_tls == "none"


@pytest.mark.parametrize("host", ["smtp.example.com", "10.0.0.25", "127.example.com"])
def test_plain_text_mail_to_any_other_host_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_SMTP_HOST", host)
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_SMTP_TLS", "none")

    message = refused_with(capsys)

    assert "LOYALTY_NOTIFICATIONS_SMTP_TLS=none" in message
    assert "loopback" in message


@pytest.mark.parametrize(
    "variable", ["LOYALTY_NOTIFICATIONS_CS_WEBHOOK_URL", "LOYALTY_NOTIFICATIONS_PROVIDER_URL"]
)
def test_webhook_and_provider_urls_are_https(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str
) -> None:
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_WEBHOOK_SECRET", GOOD_WEBHOOK_SECRET)
    monkeypatch.setenv(variable, "https://cs.example.com/alerts")
    assert load_settings(NotificationsSettings)

    for url in ("http://cs.example.com/alerts", "ftp://cs.example.com/", "https:///no-host"):
        monkeypatch.setenv(variable, url)
        message = refused_with(capsys)
        assert variable in message
        assert "https" in message


@pytest.mark.parametrize(
    "variable", ["LOYALTY_NOTIFICATIONS_CS_WEBHOOK_URL", "LOYALTY_NOTIFICATIONS_PROVIDER_URL"]
)
def test_plain_http_is_allowed_only_to_loopback_in_development(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str
) -> None:
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_WEBHOOK_SECRET", GOOD_WEBHOOK_SECRET)
    monkeypatch.setenv(variable, "http://127.0.0.1:9000/alerts")
    assert "LOYALTY_ENVIRONMENT=development" in refused_with(capsys)

    monkeypatch.setenv("LOYALTY_ENVIRONMENT", "development")
    assert load_settings(NotificationsSettings)

    monkeypatch.setenv(variable, "http://cs.example.com/alerts")
    assert variable in refused_with(capsys)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("cs-webhook-secret-that-is-long-enough-but-plain", id="not whsec_"),
        pytest.param("whsec_" + base64.b64encode(b"k" * 31).decode(), id="31 bytes"),
        pytest.param("whsec_not*base64!", id="not base64"),
    ],
)
def test_a_webhook_secret_must_be_a_standard_webhooks_secret_of_32_bytes_or_more(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_CS_WEBHOOK_URL", "https://cs.example.com/alerts")
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_WEBHOOK_SECRET", secret)

    message = refused_with(capsys)

    assert "LOYALTY_NOTIFICATIONS_WEBHOOK_SECRET" in message
    assert "whsec_" in message
    assert secret not in message


def test_a_webhook_secret_of_32_bytes_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_CS_WEBHOOK_URL", "https://cs.example.com/alerts")
    monkeypatch.setenv("LOYALTY_NOTIFICATIONS_WEBHOOK_SECRET", GOOD_WEBHOOK_SECRET)

    assert load_settings(NotificationsSettings).notifications_webhook_secret is not None
