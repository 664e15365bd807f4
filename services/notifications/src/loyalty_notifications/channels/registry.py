"""The channels this deployment has, built from settings."""

from __future__ import annotations

import httpx

from loyalty_notifications.channels.base import Channel
from loyalty_notifications.channels.email import EmailChannel
from loyalty_notifications.channels.provider import ProviderChannel
from loyalty_notifications.channels.webhook import WebhookChannel
from loyalty_notifications.settings import NotificationsSettings, webhook_key

#: Channels that reach the member, in the order tried when choosing where a message goes.
MEMBER_CHANNELS = ("email", "sms", "push")


def build_channels(settings: NotificationsSettings) -> dict[str, Channel]:
    secret = settings.notifications_webhook_secret
    channels: dict[str, Channel] = {"email": EmailChannel(settings)}
    if settings.notifications_cs_webhook_url:
        channels["webhook"] = WebhookChannel(
            url=settings.notifications_cs_webhook_url,
            key=webhook_key(secret.get_secret_value()) if secret else b"",
            timeout_s=settings.notifications_send_timeout_s,
        )
    if settings.notifications_provider_url:
        key = settings.notifications_provider_api_key
        client = httpx.AsyncClient(timeout=settings.notifications_send_timeout_s)
        for name in ("sms", "push"):
            channels[name] = ProviderChannel(
                name,
                url=settings.notifications_provider_url,
                api_key=key.get_secret_value() if key else None,
                client=client,
            )
    return channels


def configured_channels(settings: NotificationsSettings) -> set[str]:
    """The names `build_channels` would build, without building anything."""
    names = {"email"}
    if settings.notifications_cs_webhook_url:
        names.add("webhook")
    if settings.notifications_provider_url:
        names |= {"sms", "push"}
    return names
