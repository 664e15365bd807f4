"""Email over SMTP with aiosmtplib: STARTTLS (the default), implicit TLS, or plain text to a
loopback host only (settings.py), with optional auth. A session that sent a mail serves the
next (one send at a time each), until it idles too long or has sent its share.

The Message-ID derives from the notification id, so if a send is ever repeated (a crash after
the server accepted it, see delivery/) the member's mail client sees the same message twice, not
two messages. SMTP 4xx replies are transient, 5xx permanent. Mail is built with the email
package's compat32 API (`MIMEText`): its `EmailMessage` parsed every header it was given, about
0.5 ms of CPU a mail against 0.03 (docs/speed.md).
"""

from __future__ import annotations

import re
import ssl
import time
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

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


@dataclass
class _Session:
    client: aiosmtplib.SMTP
    mails: int = 0
    #: when its last mail went (monotonic seconds)
    used_at: float = 0.0


class EmailChannel:
    name = "email"

    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings
        self._domain = settings.notifications_mail_from.rsplit("@", 1)[-1].strip("> ")
        #: the sender as a header (a display name beyond ASCII encoded once)
        self._from = formataddr(parseaddr(settings.notifications_mail_from), "utf-8")
        self._tls: ssl.SSLContext | None = None
        #: Sessions no send is using, the most recently used last.
        self._idle: list[_Session] = []

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

    def compose(self, message: Message) -> MIMEText:
        mail = MIMEText(message.body, "plain", "utf-8")
        mail["From"] = self._from
        mail["To"] = message.to or ""
        subject = message.subject
        mail["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.notification_id}@{self._domain}>"
        mail["X-Loyalty-Notification-Id"] = message.notification_id
        mail["X-Loyalty-Trigger"] = message.trigger
        mail["Content-Language"] = message.language
        return mail

    async def send(self, message: Message) -> None:
        if not message.to:
            raise PermanentFailure("the member has no email address")
        try:
            await self._deliver(self.compose(message))
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

    async def _deliver(self, mail: MIMEText) -> None:
        """On an idle session if one is fit, else on a new one. A session a send failed on is
        closed (it may be in the middle of a mail transaction); the failure is the send's, so a
        session the server closed just as it was used costs a retry, as any transient failure."""
        session = self._reusable() or _Session(self._client())
        try:
            if not session.client.is_connected:
                await session.client.connect()
            await session.client.send_message(mail)
        except BaseException:
            session.client.close()
            raise
        session.mails += 1
        session.used_at = time.monotonic()
        if session.mails < self._settings.notifications_smtp_session_max_mails:
            self._idle.append(session)
        else:
            await self._quit(session)

    def _client(self) -> aiosmtplib.SMTP:
        s = self._settings
        return aiosmtplib.SMTP(
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

    def _reusable(self) -> _Session | None:
        """The most recently used idle session; those idle too long are closed."""
        fresh_after = time.monotonic() - self._settings.notifications_smtp_session_idle_s
        fit = []
        for session in self._idle:
            if session.used_at >= fresh_after and session.client.is_connected:
                fit.append(session)
            else:
                session.client.close()
        self._idle = fit
        return fit.pop() if fit else None

    @staticmethod
    async def _quit(session: _Session) -> None:
        try:
            await session.client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            session.client.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for session in idle:
            await self._quit(session)
