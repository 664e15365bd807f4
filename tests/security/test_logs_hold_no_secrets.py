"""No secret, token, email address or phone number in any log line.

The four services run as their own processes, exactly as in production (JSON logs on stdout,
`LOYALTY_LOG_LEVEL=DEBUG` so even the chattiest lines are looked at), and go through the flows
that carry personal data and credentials: members enrolled with an email and a phone, purchases
that earn points and change a tier (a congratulation email), a mail server that turns an email
away once naming the address (as real ones do), an SMS through the provider with its API key
(whose first answer, a 503, names the number), a
survey invitation whose link carries a signed token, a detractor whose comment holds a phone
number and an email (an alert over the signed webhook), API calls with valid, expired and forged
tokens. Then every line every service wrote is searched for each of those values.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import pytest

from loyalty_devkit.local_broker import LocalBroker, free_port
from loyalty_feedback.invitations.sampling import sampled
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, COMMERCE_PURCHASES
from tests.notifications.conftest import WEBHOOK_SECRET, MailServer, Receiver
from tests.support.events import envelope, purchase
from tests.support.kafka import publish_events
from tests.support.processes import ServiceProcess
from tests.support.tokens import SECRET, bearer, token
from tests.support.waiting import eventually

SURVEY_SECRET = "survey-secret-for-the-log-scan-0123456789"
PROVIDER_KEY = "provider-api-key-7f3a9c2e"
SERVICES = ("points", "tiers", "notifications", "feedback")
STARTUP_S = 180.0

# The member's personal data, written so that a leak is unmistakable.
EMAIL = "li.na.private@example.com"
PHONE = "+86 138 0013 8000"
OTHER_EMAIL = "wang.wei.private@example.org"
COMMENT_PHONE = "13912345678"
COMMENT_EMAIL = "angry.customer@example.net"

EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@pytest.fixture
def provider() -> Iterator[Receiver]:
    """The push/SMS provider: its first answer is a 503 naming the number, as some do."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            first = len(receiver.requests) == 1
            answer = orjson.dumps({"error": f"carrier busy for {orjson.loads(body)['to']}"})
            self.send_response(503 if first else 200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def _order_sampled_for_a_survey(prefix: str) -> str:
    n = 0
    while not sampled(f"{prefix}-{n}", 0.3):
        n += 1
    return f"{prefix}-{n}"


def _enrolled(member_id: str, email: str, phone: str | None) -> dict[str, object]:
    return envelope(
        "member.enrolled",
        {
            "member_id": member_id,
            "name": "Li Na",
            "email": email,
            "phone": phone,
            "locale": "en",
            "consents": {"email": True, "sms": phone is not None, "push": False},
        },
    )


async def test_no_log_line_holds_a_secret_a_token_an_email_or_a_phone_number(
    new_database: Callable[[str], str],
    broker: LocalBroker,
    mail_server: MailServer,
    cs_webhook: Receiver,
    provider: Receiver,
    tmp_path: Path,
) -> None:
    common = {
        "LOYALTY_KAFKA_BOOTSTRAP": broker.bootstrap,
        "LOYALTY_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "LOYALTY_LOG_LEVEL": "DEBUG",
        "LOYALTY_LOG_FORMAT": "json",
    }
    extra = {
        "points": {},
        "tiers": {},
        "notifications": {
            "LOYALTY_NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "LOYALTY_NOTIFICATIONS_SMTP_PORT": str(mail_server.port),
            "LOYALTY_NOTIFICATIONS_SMTP_CA_FILE": str(mail_server.ca_file),
            # the webhook and the provider below listen on plain http on this machine
            "LOYALTY_ENVIRONMENT": "development",
            "LOYALTY_NOTIFICATIONS_CS_WEBHOOK_URL": cs_webhook.url,
            "LOYALTY_NOTIFICATIONS_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LOYALTY_NOTIFICATIONS_PROVIDER_URL": provider.url,
            "LOYALTY_NOTIFICATIONS_PROVIDER_API_KEY": PROVIDER_KEY,
            "LOYALTY_NOTIFICATIONS_DISPATCH_INTERVAL_S": "0.1",
            "LOYALTY_NOTIFICATIONS_RETRY_BASE_S": "0.2",
            "LOYALTY_NOTIFICATIONS_RETRY_MAX_S": "1",
        },
        "feedback": {
            "LOYALTY_FEEDBACK_SURVEY_SECRET": SURVEY_SECRET,
            "LOYALTY_FEEDBACK_JOBS_INTERVAL_S": "1",
        },
    }
    processes = {
        name: ServiceProcess(
            name,
            port=free_port(),
            env={
                **common,
                **extra[name],
                f"LOYALTY_{name.upper()}_DATABASE_URL": new_database(name),
            },
            log=tmp_path / f"{name}.log",
        )
        for name in SERVICES
    }
    for process in processes.values():
        process.start()
    try:
        # four processes starting at once on a busy 2-core machine: give them time
        await asyncio.gather(
            *(asyncio.to_thread(p.wait_ready, STARTUP_S) for p in processes.values())
        )
        used_tokens = await _run_the_flows(processes, broker, mail_server, cs_webhook, provider)
    finally:
        for process in processes.values():
            if process.process is not None and process.process.poll() is None:
                await asyncio.to_thread(process.terminate)

    secrets = {
        "the JWT secret": SECRET,
        "the survey secret": SURVEY_SECRET,
        "the webhook secret": WEBHOOK_SECRET,
        "the provider's API key": PROVIDER_KEY,
        **{f"a bearer token ({i})": t for i, t in enumerate(used_tokens)},
        "the member's email": EMAIL,
        "another member's email": OTHER_EMAIL,
        "an email in a comment": COMMENT_EMAIL,
        "the member's phone": PHONE,
        "the member's phone, digits only": re.sub(r"\D", "", PHONE),
        "the member's phone, national": "13800138000",
        "a phone in a comment": COMMENT_PHONE,
    }
    leaks = []
    lines = 0
    for name, process in processes.items():
        for line in process.log.read_text(errors="replace").splitlines():
            lines += 1
            for what, value in secrets.items():
                if value in line:
                    leaks.append(f"{name}: {what} in {line[:300]}")
            for address in EMAIL_PATTERN.findall(line):
                if address not in secrets.values():
                    leaks.append(f"{name}: an email address {address!r} in {line[:300]}")
    assert lines > 50, "the services should have logged their work"
    assert leaks == [], f"{len(leaks)} leaks:\n" + "\n".join(leaks[:40])


async def _run_the_flows(
    processes: dict[str, ServiceProcess],
    broker: LocalBroker,
    mail_server: MailServer,
    cs_webhook: Receiver,
    provider: Receiver,
) -> list[str]:
    bootstrap = broker.bootstrap
    url = {name: f"http://127.0.0.1:{p.port}" for name, p in processes.items()}
    member, other = "m-7001", "m-7002"
    used: list[str] = []

    member_token = token(member)
    async with httpx.AsyncClient(timeout=10) as client:
        # no quiet hours: the messages go out now, whatever the hour of the test
        response = await client.put(
            f"{url['notifications']}/v1/members/{member}/preferences",
            json={"language": "en", "quiet_hours": None},
            headers={"Authorization": f"Bearer {member_token}"},
        )
        assert response.status_code == 200, response.text

    # The mail server turns the first message away naming the recipient, as real ones do.
    mail_server.replies.append(f"451 4.2.0 <{EMAIL}>: mailbox busy, try again later")
    await publish_events(
        bootstrap,
        COMMERCE_MEMBERS,
        [
            _enrolled(member, EMAIL, PHONE),
            _enrolled(other, OTHER_EMAIL, None),
            # an invalid profile (dead-lettered): its data must not be logged either
            _enrolled("m-7003", "not-an-email " + OTHER_EMAIL, PHONE),
        ],
    )
    order = _order_sampled_for_a_survey("o-logscan")
    await publish_events(
        bootstrap,
        COMMERCE_PURCHASES,
        [
            # crosses silver: tier.changed, then a congratulation by email and SMS
            purchase(member, "6000.00", days_ago=4, order_id=order),
            purchase(other, "80.00", days_ago=1, order_id="o-logscan-other"),
        ],
    )

    async with httpx.AsyncClient(timeout=10) as client:
        admin_token = token("ops-1", admin=True)
        expired, forged = token(member, expires_in=-3600), token(member, secret="f" * 40)
        used += [member_token, admin_token, expired, forged]
        for bad in (expired, forged, "not-a-jwt"):
            response = await client.get(
                f"{url['points']}/v1/members/{member}/points",
                headers={"Authorization": f"Bearer {bad}"},
            )
            assert response.status_code == 401

        await eventually(
            lambda: client.get(f"{url['tiers']}/v1/members/{member}/tier", headers=bearer(member)),
            lambda r: r.status_code == 200 and r.json()["tier"] == "silver",
            timeout_s=90,
        )
        response = await client.post(
            f"{url['points']}/v1/members/{member}/adjustments",
            json={"points": 50, "reason": f"goodwill, called on {COMMENT_PHONE}"},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert response.status_code == 201, response.text

        # a detractor answers in the app: an alert to customer service over the webhook
        other_token = token(other)
        used.append(other_token)
        answer = {
            "score": 2,
            "order_id": "o-logscan-other",
            "comment": f"Call me on {COMMENT_PHONE} or write to {COMMENT_EMAIL}",
        }
        response = await eventually(
            lambda: client.post(
                f"{url['feedback']}/v1/members/{other}/feedback",
                json=answer,
                headers={"Authorization": f"Bearer {other_token}"},
            ),
            lambda r: r.status_code != 422,  # until feedback has seen the order
            timeout_s=90,
            interval_s=0.3,
        )
        assert response.status_code == 201, response.text

        # the survey invitation (sent by the feedback job) carries a signed token in its link
        await eventually(lambda: _stub(len(mail_server.to(EMAIL))), lambda n: n >= 2, timeout_s=90)
        await eventually(lambda: _stub(len(cs_webhook.requests)), lambda n: n >= 1, timeout_s=90)
        await eventually(lambda: _stub(len(provider.requests)), lambda n: n >= 2, timeout_s=90)
        for message in mail_server.to(EMAIL):
            body = message.get_body(("plain", "html"))
            text = body.get_content() if body is not None else ""
            used += re.findall(r"token=([\w.-]+)", text)
        # what a survey page would send with that token
        assert len(used) > 5, "the survey link's token should have been read from the email"
        for survey_token in used[5:]:
            await client.post(
                f"{url['feedback']}/v1/surveys/{survey_token}/answers", json={"score": 10}
            )
    return used


async def _stub(value: int) -> int:
    return value


ERROR_WHILE_HOLDING_DATA = f"""
from loyalty_shared.observability.logging import configure_logging, get_logger

configure_logging(service="points")

def apply(profile, bearer):
    raise RuntimeError("the handler failed")

try:
    apply({{"email": "{EMAIL}", "phone": "{PHONE}"}}, "{token("m-7001")}")
except RuntimeError:
    get_logger("handler").exception("handler failed; event sent to the dead-letter topic")
"""


def test_an_error_logged_while_a_handler_holds_member_data_logs_the_traceback_not_the_data() -> (
    None
):
    """A bug in a handler is logged with its traceback (`log.exception`), the way every service
    configures its logs: the frames are named, their local variables (the member's profile, a
    token) are not written."""
    done = subprocess.run(
        [sys.executable, "-c", ERROR_WHILE_HOLDING_DATA], capture_output=True, check=True
    )
    line = orjson.loads(done.stdout.splitlines()[-1])
    frames = line["exception"][0]["frames"]
    assert [f["name"] for f in frames][-1] == "apply"
    assert all("locals" not in frame for frame in frames)
    for value in (EMAIL, PHONE, "eyJ"):
        assert value not in done.stdout.decode(), value
