"""Pieces every webhook signature scheme shares: HMAC, timestamp freshness, replay memory."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import OrderedDict
from datetime import datetime

from connectors.errors import WebhookRejected

MAX_BODY_BYTES = 1_000_000
DEFAULT_TOLERANCE_SECONDS = 300


def hmac_sha256(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


def hmac_sha256_b64(secret: bytes, message: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def hmac_sha256_hex(secret: bytes, message: bytes) -> str:
    return hmac_sha256(secret, message).hex()


def require_equal(expected: str, given: str | None) -> None:
    """Constant-time comparison; 401 when the signature is missing or wrong."""
    if not given or not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise WebhookRejected(401, "bad signature")


def require_size(body: bytes, limit: int = MAX_BODY_BYTES) -> None:
    if len(body) > limit:
        raise WebhookRejected(413, f"body of {len(body)} bytes exceeds {limit}")


def require_fresh(
    sent_at: datetime, now: datetime, tolerance: float = DEFAULT_TOLERANCE_SECONDS
) -> None:
    """Reject deliveries whose signed timestamp is too far from ``now`` (replays)."""
    if abs((now - sent_at).total_seconds()) > tolerance:
        raise WebhookRejected(401, "stale timestamp")


class ReplayGuard:
    """Remembers recent delivery ids (or signatures); a second sight of one is a replay."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def check(self, delivery_id: str) -> None:
        with self._lock:
            if delivery_id in self._seen:
                raise WebhookRejected(401, "replayed delivery")
            self._seen[delivery_id] = None
            if len(self._seen) > self._max:
                self._seen.popitem(last=False)
