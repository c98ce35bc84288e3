"""Zendesk webhook deliveries: base64 HMAC-SHA256 over ``timestamp + body``, fresh and unseen."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.base import WebhookEvent
from connectors.errors import WebhookRejected
from connectors.webhooks import (
    MAX_BODY_BYTES,
    ReplayGuard,
    hmac_sha256_b64,
    require_equal,
    require_fresh,
    require_size,
)

SIGNATURE = "x-zendesk-webhook-signature"
TIMESTAMP = "x-zendesk-webhook-signature-timestamp"
WEBHOOK_ID = "x-zendesk-webhook-id"


class WebhookVerifier:
    def __init__(
        self,
        secret: str | None,
        *,
        tolerance: float,
        max_bytes: int = MAX_BODY_BYTES,
        replays: ReplayGuard | None = None,
    ) -> None:
        self._secret = secret.encode() if secret else None
        self._tolerance = tolerance
        self._max_bytes = max_bytes
        self._replays = replays or ReplayGuard()

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> WebhookEvent:
        require_size(body, self._max_bytes)  # before hashing: a huge body costs nothing
        if self._secret is None:
            raise WebhookRejected(401, "no webhook_secret configured for this source")
        lower = {k.lower(): v for k, v in headers.items()}
        stamp = lower.get(TIMESTAMP)
        if not stamp:
            raise WebhookRejected(401, "missing signature timestamp")
        require_equal(hmac_sha256_b64(self._secret, stamp.encode() + body), lower.get(SIGNATURE))
        try:
            sent_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError as exc:
            raise WebhookRejected(401, f"bad signature timestamp {stamp!r}") from exc
        require_fresh(sent_at, now, self._tolerance)
        # Zendesk sends no per-delivery id; a valid signature is unique per timestamp + body
        self._replays.check(lower.get(SIGNATURE, ""))
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected(400, "body is not JSON") from exc
        ids = ticket_ids(payload)
        delivery = payload.get("id") if isinstance(payload, dict) else None
        extra = (
            {"type": str(payload["type"])}
            if isinstance(payload, dict) and "type" in payload
            else {}
        )
        if lower.get(WEBHOOK_ID):
            extra["webhook_id"] = lower[WEBHOOK_ID]
        return WebhookEvent(
            ticket_ids=ids, delivery_id=str(delivery) if delivery else None, extra=extra
        )


def ticket_ids(payload: Any) -> tuple[str, ...]:
    """Ticket ids named by an event-subscription payload or a trigger's JSON template."""
    found: list[str] = []

    def add(value: Any) -> None:
        text = str(value).strip() if value is not None else ""
        if text.isdigit() and text not in found:
            found.append(text)

    if not isinstance(payload, dict):
        raise WebhookRejected(400, "payload is not a JSON object")
    subject = payload.get("subject")
    if isinstance(subject, str) and subject.startswith("zen:ticket:"):
        add(subject.rsplit(":", 1)[1])
    detail = payload.get("detail")
    if isinstance(detail, dict) and str(payload.get("type", "")).startswith(
        "zen:event-type:ticket."
    ):
        add(detail.get("id"))
    add(payload.get("ticket_id"))
    ticket = payload.get("ticket")
    if isinstance(ticket, dict):
        add(ticket.get("id"))
    for value in payload.get("ticket_ids") or []:
        add(value)
    return tuple(found)
