"""Mail goes out over SMTP sessions that are kept: a session that sent a mail sends the next
(its connection, STARTTLS and login done once), until it has sent its share or idled too long,
and one the server closed while it idled is not used again."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from loyalty_notifications.channels.email import EmailChannel
from tests.notifications.conftest import MailServer, serving_mail
from tests.notifications.helpers import email_settings, send_birthdays


def channel_to(server: MailServer, **settings: Any) -> EmailChannel:
    return EmailChannel(
        email_settings(server.port, notifications_smtp_ca_file=server.ca_file, **settings)
    )


def mails_per_session(server: MailServer) -> list[int]:
    return list(Counter(server.peers).values())


async def test_mails_in_a_row_share_one_session(mail_server: MailServer) -> None:
    channel = channel_to(mail_server)

    await send_birthdays(channel, 3)
    await channel.close()

    assert len(mail_server.received) == 3
    assert mails_per_session(mail_server) == [3]


async def test_a_session_sends_its_share_then_a_new_one_opens(mail_server: MailServer) -> None:
    channel = channel_to(mail_server, notifications_smtp_session_max_mails=2)

    await send_birthdays(channel, 5)
    await channel.close()

    assert mails_per_session(mail_server) == [2, 2, 1]


async def test_a_session_idle_too_long_is_not_used_again(mail_server: MailServer) -> None:
    channel = channel_to(mail_server, notifications_smtp_session_idle_s=0)

    await send_birthdays(channel, 2)
    await channel.close()

    assert mails_per_session(mail_server) == [1, 1]


async def test_a_session_the_server_closed_is_replaced_and_the_mail_goes() -> None:
    with serving_mail(idle_timeout_s=0.5) as server:
        channel = channel_to(server)
        await send_birthdays(channel, 1)
        await asyncio.sleep(1.5)  # the server hangs up on the idle session

        await send_birthdays(channel, 1)
        await channel.close()

    assert len(server.received) == 2
    assert mails_per_session(server) == [1, 1]
