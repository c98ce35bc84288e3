"""PagerDuty Events API v2 over ``httpx``: ``POST {base_url}/v2/enqueue``.

Not through PagerDuty's own client (``pagerduty.EventsApiV2Client``): its ``url`` setter
refuses any base URL that is not ``https://`` (so it cannot reach a loopback emulator), and its
built-in loop sleeps and retries 429 without limit, beside the one retry policy.

Events: ``trigger`` with ``dedup_key`` = the action key (a re-trigger while the alert is open
is merged into it by PagerDuty), then ``acknowledge`` and ``resolve`` with the same key.
https://developer.pagerduty.com/docs/events-api-v2/trigger-events/

The Events API cannot be read. With a REST API key (``api_token``), whether a responder
acknowledged the incident is read from the REST API's incident list filtered by
``incident_key`` (the dedup_key):
https://developer.pagerduty.com/api-reference/9d0b4b12e36f9-list-incidents
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from connectors.base import ActionResult, ActionStatus
from connectors.errors import (
    ConnectorError,
    FatalError,
    RetryableError,
    error_for_status,
)
from connectors.retry import RetryPolicy, parse_retry_after
from engine.model import Notify
from escalator.notify.channel import PagerDutyChannel
from escalator.notify.delivery import FollowUp, Handed
from escalator.notify.keys import dedup_key
from escalator.notify.payloads import title_of

SUMMARY_LIMIT = 1024  # payload.summary: PagerDuty truncates beyond this; we cut it ourselves
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "escalation-sidecar-notifier"


def trigger_event(
    channel: PagerDutyChannel, action: Notify, ticket_url: str | None
) -> dict[str, Any]:
    """The trigger event for one decision, as PagerDuty documents it (pure)."""
    summary = title_of(action)
    first_line = next((ln.strip() for ln in action.text.splitlines() if ln.strip()), "")
    if first_line:
        summary = f"{summary}: {first_line}"
    event: dict[str, Any] = {
        "routing_key": channel.routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(action.key),
        "payload": {
            "summary": summary[:SUMMARY_LIMIT],
            "source": channel.source,
            "severity": channel.severity,
            "timestamp": action.at.isoformat(),
            "component": action.ticket,
            "group": f"level-{action.level}" if action.level is not None else "notification",
            "class": action.rule,
            "custom_details": {
                "ticket": action.ticket,
                "rule": action.rule,
                "level": action.level,
                "text": action.text,
                "escalation_key": action.key,
            },
        },
    }
    if ticket_url:
        event["links"] = [{"href": ticket_url, "text": "Open the ticket"}]
    return event


class PagerDutyDelivery:
    def __init__(
        self,
        channel: PagerDutyChannel,
        retry: RetryPolicy,
        client: httpx.Client | None = None,
    ) -> None:
        self.channel = channel
        self.retry = retry
        self._owns_client = client is None
        # no redirects: the routing key rides in the body and must not travel elsewhere
        self._client = client or httpx.Client(
            timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    def send(
        self, action: Notify, ticket_url: str | None, handed: Handed | None = None
    ) -> ActionResult:
        # a re-send is merged by the channel's own key: no point of no return to record
        key = self._enqueue(trigger_event(self.channel, action, ticket_url))
        return ActionResult(
            action.key, ActionStatus.APPLIED, f"{self._where()}: triggered (dedup_key {key})", key
        )

    def settle(self, action: Notify, ticket_url: str | None) -> ActionResult:
        # the Events API has nothing to read back; a second trigger with the same dedup_key is
        # merged into the open alert, so the on-call person is paged once
        result = self.send(action, ticket_url)
        detail = f"{result.detail}; re-sent after a restart, merged by dedup_key"
        return ActionResult(action.key, result.status, detail, result.external_id)

    def acknowledged(self, action: Notify) -> bool:
        """Whether the incident of ``action`` is acknowledged (or already resolved by a
        person); always False without a REST API key: the Events API cannot be asked."""
        token = self.channel.api_token
        if not token:
            return False
        url = f"{self.channel.api_url}/incidents"
        params = {"incident_key": dedup_key(action.key)}
        headers = {
            "Authorization": f"Token token={token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }
        body = self._call(lambda: self._client.get(url, params=params, headers=headers))
        incidents = body.get("incidents")
        if not isinstance(incidents, list):
            return False
        statuses = {str(i.get("status")) for i in incidents if isinstance(i, dict)}
        return bool(statuses & {"acknowledged", "resolved"})

    def follow(self, action: Notify, step: FollowUp) -> ActionResult:
        key = dedup_key(action.key)
        event = {"routing_key": self.channel.routing_key, "event_action": step, "dedup_key": key}
        self._enqueue(event)
        return ActionResult(
            action.key, ActionStatus.APPLIED, f"{self._where()}: {step}d (dedup_key {key})", key
        )

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _where(self) -> str:
        return f"channel {self.channel.name!r} (pagerduty)"

    def _enqueue(self, event: dict[str, Any]) -> str:
        url = f"{self.channel.base_url}/v2/enqueue"
        body = self._call(lambda: self._client.post(url, json=event))
        return str(body.get("dedup_key") or event.get("dedup_key") or "")

    def _call(self, request: Callable[[], httpx.Response]) -> dict[str, Any]:
        """One request through the retry policy: its JSON body, or the error it means."""

        def once() -> dict[str, Any]:
            try:
                response = request()
            except httpx.TimeoutException as exc:
                raise RetryableError(f"timed out ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise RetryableError(f"transport error ({type(exc).__name__})") from None
            if not response.is_success:  # the Events API answers 202
                raise _classify(response.status_code, response)
            return _json(response)

        return self.retry.call(once)


def _classify(status: int, response: httpx.Response) -> ConnectorError:
    """Events API v2 response codes: 400 invalid event, 429 throttled, 5xx retry."""
    text = _errors_of(response)
    message = f"HTTP {status}" + (f": {text}" if text else "")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return error_for_status(status, message, retry_after=retry_after, rows=_PAGERDUTY_ROWS)


# PagerDuty's rows over the shared table: an event it refused is not worth sending again as is
_PAGERDUTY_ROWS: dict[int, type[ConnectorError]] = {
    code: FatalError for code in (400, 404, 409, 413, 422, 423)
}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _errors_of(response: httpx.Response) -> str:
    # {"status": "invalid event", "message": "Event object is invalid", "errors": [...]}
    body = _json(response)
    if not body:
        return " ".join(response.text.split())[:200]
    parts = [str(body.get("message") or "")] + [str(e) for e in body.get("errors") or []]
    return "; ".join(p for p in parts if p)[:300]
