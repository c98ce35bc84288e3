"""Jira admin webhooks: ``X-Hub-Signature: sha256=<hex HMAC of the raw body>`` (WebSub style)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from connectors.base import WebhookEvent
from connectors.errors import WebhookRejected
from connectors.webhooks import (
    ReplayGuard,
    hmac_sha256_hex,
    require_equal,
    require_fresh,
    require_size,
)

SIGNATURE_HEADER = "x-hub-signature"
DELIVERY_HEADER = "x-atlassian-webhook-identifier"  # stable across Jira's retries


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac_sha256_hex(secret, body)


class JiraWebhookVerifier:
    """Size, then signature, then freshness, then replay: a forged delivery never burns an id."""

    def __init__(
        self,
        secret: bytes | None,
        *,
        max_bytes: int,
        tolerance_seconds: float,
        guard: ReplayGuard | None = None,
    ) -> None:
        self._secret = secret
        self._max_bytes = max_bytes
        self._tolerance = tolerance_seconds
        self._guard = guard or ReplayGuard()

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> WebhookEvent:
        require_size(body, self._max_bytes)
        lower = {k.lower(): v for k, v in headers.items()}
        if self._secret is None:
            raise WebhookRejected(401, "no webhook secret configured for this source")
        require_equal(sign(self._secret, body), lower.get(SIGNATURE_HEADER))
        try:
            payload = json.loads(body)
        except ValueError:
            raise WebhookRejected(400, "body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookRejected(400, "body is not a JSON object")
        stamp = payload.get("timestamp")
        if isinstance(stamp, int | float) and not isinstance(stamp, bool):
            require_fresh(datetime.fromtimestamp(stamp / 1000, UTC), now, self._tolerance)
        delivery = lower.get(DELIVERY_HEADER)
        if delivery:
            self._guard.check(delivery)
        issue = payload.get("issue") or {}
        keys = (str(issue["key"]),) if isinstance(issue, dict) and issue.get("key") else ()
        return WebhookEvent(
            ticket_ids=keys,
            delivery_id=delivery,
            extra={"event": str(payload.get("webhookEvent", ""))},
        )
