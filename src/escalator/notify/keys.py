"""Each channel's own idempotency identifier, derived from the action key alone, so a re-send
after a crash carries the same one: PagerDuty's ``dedup_key``, Opsgenie's ``alias`` and the
email ``Message-ID``."""

from __future__ import annotations

import hashlib

PAGERDUTY_DEDUP_KEY_LIMIT = 255  # Events API v2: "Supports a maximum of 255 characters"
OPSGENIE_ALIAS_LIMIT = 512  # Alert API: alias is limited to 512 characters


def _bounded(key: str, limit: int) -> str:
    # a key too long for the vendor keeps a readable head and a digest of the whole
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: limit - len(digest) - 1]}~{digest}"


def dedup_key(action_key: str) -> str:
    """PagerDuty ``dedup_key``: the action key itself (within the vendor's limit)."""
    return _bounded(action_key, PAGERDUTY_DEDUP_KEY_LIMIT)


def alert_alias(action_key: str) -> str:
    """Opsgenie ``alias``: only one open alert may carry it, so a re-send is de-duplicated."""
    return _bounded(action_key, OPSGENIE_ALIAS_LIMIT)


def message_id(action_key: str, sender: str) -> str:
    """An RFC 5322 ``Message-ID`` (``<dot-atom@domain>``); the action key holds ``:``, which a
    dot-atom may not, so its digest stands in (the key itself rides in ``X-Escalation-Key``)."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "escalation-sidecar.invalid"
    digest = hashlib.sha256(action_key.encode()).hexdigest()[:40]
    return f"<escalation.{digest}@{domain}>"
