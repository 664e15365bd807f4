"""Webhooks (the customer-service system) over httpx, each body signed.

Headers: `X-Loyalty-Timestamp` (Unix seconds) and `X-Loyalty-Signature: sha256=<hex>`, the
HMAC-SHA256 with the shared secret of `<timestamp>.<body>` (the exact bytes sent). A receiver
recomputes it, compares in constant time and refuses timestamps more than a few minutes old
(replay). `X-Loyalty-Notification-Id` is the same on a repeated delivery: receivers dedupe on it.
"""

from __future__ import annotations

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

TIMESTAMP_HEADER = "X-Loyalty-Timestamp"
SIGNATURE_HEADER = "X-Loyalty-Signature"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookChannel:
    name = "webhook"

    def __init__(self, *, url: str | None, secret: bytes, timeout_s: float) -> None:
        self._url = url
        self._secret = secret
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
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            "X-Loyalty-Notification-Id": message.notification_id,
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
