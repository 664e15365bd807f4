"""Email over SMTP with aiosmtplib: STARTTLS (the default), implicit TLS, or plain text to a
loopback host only (settings.py), with optional auth.

The Message-ID derives from the notification id, so if a send is ever repeated (a crash after
the server accepted it, see delivery/) the member's mail client sees the same message twice, not
two messages. SMTP 4xx replies are transient, 5xx permanent.
"""

from __future__ import annotations

import re
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from loyalty_notifications.channels.base import (
    Message,
    PermanentFailure,
    TransientFailure,
)
from loyalty_notifications.settings import NotificationsSettings

_ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


def _reply(code: int, text: str) -> str:
    """A server's reply as a failure reason, without the addresses servers like to echo back
    ("<li.na@example.com>: mailbox busy"): the reason is logged, stored and published in
    `notification.failed`, and a member's email address belongs in none of them."""
    return f"{code} {_ADDRESS.sub('redacted', text)}"


class EmailChannel:
    name = "email"

    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings
        self._domain = settings.notifications_mail_from.rsplit("@", 1)[-1].strip("> ")
        self._tls: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext | None:
        """The TLS context of every connection, built at the first send (as aiosmtplib builds
        it, which it would otherwise do for every message: loading the CA certificates each time
        was about 20 ms of CPU a mail)."""
        s = self._settings
        if s.notifications_smtp_tls == "none":
            return None
        if self._tls is None:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            context.check_hostname = s.notifications_smtp_validate_certs
            context.verify_mode = (
                ssl.CERT_REQUIRED if s.notifications_smtp_validate_certs else ssl.CERT_NONE
            )
            if s.notifications_smtp_ca_file:
                context.load_verify_locations(cafile=str(s.notifications_smtp_ca_file))
            self._tls = context
        return self._tls

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._settings.notifications_mail_from
        mail["To"] = message.to or ""
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.notification_id}@{self._domain}>"
        mail["X-Loyalty-Notification-Id"] = message.notification_id
        mail["X-Loyalty-Trigger"] = message.trigger
        mail.set_content(message.body, charset="utf-8")
        mail["Content-Language"] = message.language  # after set_content, which clears Content-*
        return mail

    async def send(self, message: Message) -> None:
        if not message.to:
            raise PermanentFailure("the member has no email address")
        s = self._settings
        try:
            await aiosmtplib.send(
                self.compose(message),
                hostname=s.notifications_smtp_host,
                port=s.notifications_smtp_port,
                username=s.notifications_smtp_username,
                password=(
                    s.notifications_smtp_password.get_secret_value()
                    if s.notifications_smtp_password
                    else None
                ),
                use_tls=s.notifications_smtp_tls == "tls",
                start_tls=s.notifications_smtp_tls == "starttls",
                tls_context=self._tls_context(),
                timeout=s.notifications_send_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reason = "; ".join(_reply(r.code, r.message) for r in exc.recipients)
            if codes and all(400 <= c < 500 for c in codes):
                raise TransientFailure(f"SMTP recipient refused: {reason}") from None
            raise PermanentFailure(f"SMTP recipient refused: {reason}") from None
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"SMTP {_reply(exc.code, exc.message)}"
            if 400 <= exc.code < 500:
                raise TransientFailure(reason) from None
            raise PermanentFailure(reason) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientFailure(
                f"SMTP {type(exc).__name__}: {_ADDRESS.sub('redacted', str(exc))}"
            ) from None

    async def close(self) -> None:
        return None
