"""Jira admin webhooks: ``X-Hub-Signature: sha256=<hex HMAC of the raw body>`` (WebSub style).

Cloud and Data Center (10.0 and later) sign the same way when the webhook has a secret
(https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html). Data Center
sends no ``X-Atlassian-Webhook-Identifier``, so the signature itself is the replay key (a
timestamp in the body makes every delivery's signature differ). Data Center 9 and earlier
cannot sign: the sidecar refuses unsigned deliveries rather than trust a secret in the URL,
and such a site is served by polling alone.
"""

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
        signature = lower.get(SIGNATURE_HEADER)
        require_equal(sign(self._secret, body), signature)
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
        self._guard.check(delivery or f"signature:{signature}")
        issue = payload.get("issue") or {}
        keys = (str(issue["key"]),) if isinstance(issue, dict) and issue.get("key") else ()
        return WebhookEvent(
            ticket_ids=keys,
            delivery_id=delivery,
            extra={"event": str(payload.get("webhookEvent", ""))},
        )
