"""HubSpot webhook deliveries, signature v3 (reference §3.7).

``X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret, method + uri + body + timestamp))``
with ``X-HubSpot-Request-Timestamp`` in epoch ms. Unlike the SDK helper
(``hubspot.utils.signature.Signature``) we also refuse future timestamps and replays, and we
URL-decode the characters HubSpot's docs list before hashing the URI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from connectors.base import WebhookEvent
from connectors.errors import WebhookRejected
from connectors.webhooks import (
    DEFAULT_TOLERANCE_SECONDS,
    ReplayGuard,
    hmac_sha256_b64,
    require_equal,
    require_fresh,
    require_size,
)

# a webhook names a thread, not a ticket: ``fetch("thread:<id>")`` reads the thread's ticket
THREAD_REF = "thread:"
# conversation events whose ``objectId`` is a thread id (HubSpot webhooks guide)
_THREAD_EVENTS = ("conversation.newMessage", "conversation.creation")
SIGNATURE = "x-hubspot-signature-v3"
TIMESTAMP = "x-hubspot-request-timestamp"
# percent-escapes HubSpot decodes in the URI before signing
_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
    "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


def signed_uri(uri: str) -> str:
    for escape, char in _DECODED.items():
        uri = uri.replace(escape, char).replace(escape.lower(), char)
    return uri


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.upper().encode() + signed_uri(uri).encode() + body + timestamp.encode()
    return hmac_sha256_b64(secret.encode(), message)


class WebhookVerifier:
    def __init__(
        self,
        secret: str,
        uri: str,
        *,
        max_bytes: int,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
        replays: ReplayGuard | None = None,
        ticket_of_thread: Callable[[str], str | None] = lambda thread_id: None,
    ) -> None:
        self._secret = secret
        self._uri = uri
        self._max_bytes = max_bytes
        self._tolerance = tolerance
        self._replays = replays or ReplayGuard()
        self._ticket_of_thread = ticket_of_thread

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> WebhookEvent:
        require_size(body, self._max_bytes)
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp = lower.get(TIMESTAMP, "")
        if not timestamp.isdigit():
            raise WebhookRejected(401, "missing or malformed timestamp")
        signature = lower.get(SIGNATURE)
        require_equal(signature_v3(self._secret, "POST", self._uri, body, timestamp), signature)
        require_fresh(datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC), now, self._tolerance)
        self._replays.check(f"{timestamp}:{signature}")
        try:
            events = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected(400, "body is not JSON") from exc
        if isinstance(events, dict):
            events = [events]
        if not isinstance(events, list):
            raise WebhookRejected(400, "body is not a list of events")
        ids: list[str] = []
        for event in events:
            if not isinstance(event, dict):
                continue
            kind = str(event.get("subscriptionType") or "")
            if event.get("objectId") is None:
                continue
            is_ticket = kind.startswith("ticket.") or event.get("objectTypeId") == "0-5"
            if is_ticket:
                ticket_id = str(event["objectId"])
            elif kind in _THREAD_EVENTS:  # a message on a thread: its ticket is re-read now
                thread_id = str(event["objectId"])
                ticket_id = self._ticket_of_thread(thread_id) or f"{THREAD_REF}{thread_id}"
            else:
                continue
            if ticket_id not in ids:
                ids.append(ticket_id)
        first = events[0] if events and isinstance(events[0], dict) else {}
        delivery = first.get("eventId")
        return WebhookEvent(
            ticket_ids=tuple(ids),
            delivery_id=str(delivery) if delivery is not None else None,
            extra={"events": str(len(events))},
        )
