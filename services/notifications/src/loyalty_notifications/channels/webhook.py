"""Webhooks (the customer-service system) over httpx, each body signed the Standard Webhooks way
(https://www.standardwebhooks.com), so a receiver verifies it with a ready library.

Headers: `webhook-id` (the notification id: the same on every attempt, receivers dedupe on it),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature: v1,<base64>`, the
HMAC-SHA256, keyed with the decoded `whsec_` secret, of `<id>.<timestamp>.<body>` (the exact
bytes sent). Receivers refuse a timestamp more than 5 minutes from their clock (the replay window
of the Standard Webhooks verifiers) and an id they have already handled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx
import orjson

from loyalty_notifications.channels.base import (
    Message,
    PermanentFailure,
    TransientFailure,
    from_http_status,
)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def sign(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookChannel:
    name = "webhook"

    def __init__(self, *, url: str | None, key: bytes, timeout_s: float) -> None:
        self._url = url
        self._key = key
        self._client = httpx.AsyncClient(timeout=timeout_s)

    def body(self, message: Message) -> bytes:
        return orjson.dumps(
            {
                "notification_id": message.notification_id,
                "type": message.trigger,
                "member_id": message.member_id,
                "subject": message.subject,
                "text": message.body,
                "language": message.language,
                "data": message.data,
            }
        )

    async def send(self, message: Message) -> None:
        if self._url is None:
            raise PermanentFailure("no webhook URL is configured")
        body = self.body(message)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            ID_HEADER: message.notification_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._key, message.notification_id, timestamp, body),
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientFailure(f"webhook {type(exc).__name__}: {exc}") from None
        failure = from_http_status(response.status_code, response.text, where="webhook")
        if failure is not None:
            raise failure

    async def close(self) -> None:
        await self._client.aclose()
