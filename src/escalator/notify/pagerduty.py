"""PagerDuty Events API v2 through PagerDuty's own client (``pagerduty.EventsApiV2Client``).

The client takes a ``base_url`` (the EU region, or an emulator on 127.0.0.1), so it serves.
Its built-in retry loop sleeps on its own and retries 429 without limit; it is switched off
(``max_http_attempts = -1`` makes it hand back every retryable status at once) so that the
one retry policy decides, honouring ``Retry-After``.

Events: ``trigger`` with ``dedup_key`` = the action key (a re-trigger while the alert is open
is merged into it by PagerDuty), then ``acknowledge`` and ``resolve`` with the same key.
https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
"""

from __future__ import annotations

from typing import Any

import pagerduty

from connectors.base import ActionResult, ActionStatus
from connectors.errors import (
    AuthError,
    ConnectorError,
    FatalError,
    RateLimited,
    RetryableError,
)
from connectors.retry import RetryPolicy, parse_retry_after
from engine.model import Notify
from escalator.notify.channel import PagerDutyChannel
from escalator.notify.delivery import FollowUp
from escalator.notify.keys import dedup_key
from escalator.notify.payloads import title_of

SUMMARY_LIMIT = 1024  # payload.summary: PagerDuty truncates beyond this; we cut it ourselves
TIMEOUT_SECONDS = 10
# the statuses the vendor client would retry by itself; listed so that it hands them back
_CLIENT_RETRIED = (429, 500, 502, 503, 504)


def trigger_event(
    channel: PagerDutyChannel, action: Notify, ticket_url: str | None
) -> dict[str, Any]:
    """The keyword arguments of ``EventsApiV2Client.trigger`` for one decision (pure)."""
    summary = title_of(action)
    first_line = next((ln.strip() for ln in action.text.splitlines() if ln.strip()), "")
    if first_line:
        summary = f"{summary}: {first_line}"
    links = [{"href": ticket_url, "text": "Open the ticket"}] if ticket_url else None
    return {
        "summary": summary[:SUMMARY_LIMIT],
        "source": channel.source,
        "dedup_key": dedup_key(action.key),
        "severity": channel.severity,
        "payload": {
            "timestamp": action.at.isoformat(),
            "component": action.ticket,
            "group": f"level-{action.level}" if action.level is not None else "notification",
            "class": action.rule,
        },
        "custom_details": {
            "ticket": action.ticket,
            "rule": action.rule,
            "level": action.level,
            "text": action.text,
            "escalation_key": action.key,
        },
        "links": links,
    }


class PagerDutyDelivery:
    def __init__(
        self,
        channel: PagerDutyChannel,
        retry: RetryPolicy,
        client: pagerduty.EventsApiV2Client | None = None,
    ) -> None:
        self.channel = channel
        self.retry = retry
        self._client = client if client is not None else self._default_client()

    def _default_client(self) -> pagerduty.EventsApiV2Client:
        client = pagerduty.EventsApiV2Client(
            self.channel.routing_key, base_url=self.channel.base_url
        )
        client.retry = dict.fromkeys(_CLIENT_RETRIED, 1)
        client.max_http_attempts = -1  # any listed status: returned at once, never slept on
        client.max_network_attempts = 0  # a network error: raised at once
        client.timeout = TIMEOUT_SECONDS
        return client

    def send(self, action: Notify, ticket_url: str | None) -> ActionResult:
        event = trigger_event(self.channel, action, ticket_url)
        key = self.retry.call(lambda: self._call(lambda: self._client.trigger(**event)))
        return ActionResult(
            action.key,
            ActionStatus.APPLIED,
            f"{self._where()}: triggered (dedup_key {key})",
            key,
        )

    def settle(self, action: Notify, ticket_url: str | None) -> ActionResult:
        # the Events API has nothing to read back; a second trigger with the same dedup_key is
        # merged into the open alert, so the on-call person is paged once
        result = self.send(action, ticket_url)
        detail = f"{result.detail}; re-sent after a restart, merged by dedup_key"
        return ActionResult(action.key, result.status, detail, result.external_id)

    def follow(self, action: Notify, step: FollowUp) -> ActionResult:
        key = dedup_key(action.key)
        if step == "acknowledge":
            self.retry.call(lambda: self._call(lambda: self._client.acknowledge(key)))
        else:
            self.retry.call(lambda: self._call(lambda: self._client.resolve(key)))
        return ActionResult(
            action.key, ActionStatus.APPLIED, f"{self._where()}: {step}d (dedup_key {key})", key
        )

    def close(self) -> None:
        self._client.close()

    def _where(self) -> str:
        return f"channel {self.channel.name!r} (pagerduty)"

    def _call(self, fn: Any) -> str:
        try:
            return str(fn())
        except pagerduty.HttpError as exc:
            if exc.response is None:
                raise RetryableError("PagerDuty gave no response") from None
            raise _classify(exc.response.status_code, exc.response) from None
        except pagerduty.Error as exc:
            # a network error (max_network_attempts = 0) or an unexpected answer
            cause = type(exc.__cause__).__name__ if exc.__cause__ else type(exc).__name__
            raise RetryableError(f"PagerDuty unreachable ({cause})") from None


def _classify(status: int, response: Any) -> ConnectorError:
    """Events API v2 response codes: 400 invalid event, 429 throttled, 5xx retry."""
    text = _errors_of(response)
    message = f"HTTP {status}" + (f": {text}" if text else "")
    if status == 429:
        return RateLimited(
            message, retry_after=parse_retry_after(response.headers.get("Retry-After"))
        )
    if status in (401, 403):
        return AuthError(message)
    if status >= 500 or status == 408:
        return RetryableError(message)
    return FatalError(message)


def _errors_of(response: Any) -> str:
    # {"status": "invalid event", "message": "Event object is invalid", "errors": [...]}
    try:
        body = response.json()
    except ValueError:
        return " ".join(str(response.text).split())[:200]
    if not isinstance(body, dict):
        return ""
    parts = [str(body.get("message") or "")] + [str(e) for e in body.get("errors") or []]
    return "; ".join(p for p in parts if p)[:300]
