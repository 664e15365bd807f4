"""Push and SMS through an HTTP provider: one JSON POST per message, a bearer API key.

`POST <url>` with `{"id", "channel": "sms"|"push", "member_id", "to", "title", "text",
"language"}`; `id` is the notification id, for the provider's own deduplication. 2xx is sent;
408, 429 and 5xx are retried; any other 4xx fails at once.
"""

from __future__ import annotations

import httpx
import orjson

from loyalty_notifications.channels.base import (
    Message,
    TransientFailure,
    from_http_status,
)


class ProviderChannel:
    def __init__(self, name: str, *, url: str, api_key: str | None, client: httpx.AsyncClient):
        self.name = name
        self._url = url
        self._api_key = api_key
        self._client = client

    async def send(self, message: Message) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.notification_id}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        body = orjson.dumps(
            {
                "id": message.notification_id,
                "channel": self.name,
                "member_id": message.member_id,
                "to": message.to,
                "title": message.subject,
                "text": message.body,
                "language": message.language,
            }
        )
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientFailure(f"{self.name} provider {type(exc).__name__}: {exc}") from None
        where = f"{self.name} provider"
        failure = from_http_status(response.status_code, response.text, where=where)
        if failure is not None:
            raise failure

    async def close(self) -> None:
        await self._client.aclose()
