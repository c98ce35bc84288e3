"""Opsgenie alerts through Opsgenie's own client (``opsgenie-sdk``, the Alert API v2).

The client's ``Configuration.host`` takes any base URL (the EU instance, or an emulator on
127.0.0.1), so it serves. Its own tenacity retry is switched off (``retry_enabled = False``)
so that the one retry policy decides. Its ``Configuration()`` hands out *shallow* copies of one
default, so the ``api_key`` dicts are replaced, never updated: two channels must not share a key.

The alert's ``alias`` is the action key: Opsgenie keeps one open alert per alias (a re-send
only raises its count), and after a crash the alias is looked up before anything is re-sent.
https://docs.opsgenie.com/docs/alert-api
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import opsgenie_sdk  # type: ignore[import-untyped]
import tenacity
import urllib3
from opsgenie_sdk.exceptions import OpenApiException  # type: ignore[import-untyped]

from connectors.base import ActionResult, ActionStatus
from connectors.errors import (
    AuthError,
    ConnectorError,
    FatalError,
    NotFoundError,
    RetryableError,
    error_for_status,
)
from connectors.retry import RetryPolicy, parse_retry_after
from engine.model import Notify
from escalator.notify.channel import OpsgenieChannel
from escalator.notify.delivery import FollowUp, Handed
from escalator.notify.keys import alert_alias
from escalator.notify.payloads import title_of

MESSAGE_LIMIT = 130  # Alert API: message is limited to 130 characters
DESCRIPTION_LIMIT = 15000
SOURCE = "escalation-sidecar"
TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


def alert_payload(channel: OpsgenieChannel, action: Notify, ticket_url: str | None) -> Any:
    """The ``CreateAlertPayload`` for one decision (pure)."""
    description = action.text.strip()
    if ticket_url:
        description = f"{description}\n\n{ticket_url}"
    details = {"ticket": action.ticket, "rule": action.rule, "escalation_key": action.key}
    if action.level is not None:
        details["level"] = str(action.level)
    if ticket_url:
        details["ticket_url"] = ticket_url
    return opsgenie_sdk.CreateAlertPayload(
        message=title_of(action)[:MESSAGE_LIMIT],
        alias=alert_alias(action.key),
        description=description[:DESCRIPTION_LIMIT],
        responders=[{"type": "team", "name": team} for team in channel.teams] or None,
        tags=["escalation", f"rule:{action.rule}"],
        details=details,
        entity=action.ticket,
        source=SOURCE,
        priority=channel.priority,
    )


def client_for(channel: OpsgenieChannel) -> Any:
    """An ``AlertApi`` bound to ``channel``'s base URL and key."""
    config = opsgenie_sdk.Configuration()
    config.host = channel.base_url
    config.api_key = {"Authorization": channel.api_key}  # new dicts: see the module docstring
    config.api_key_prefix = {"Authorization": "GenieKey"}
    config.retry_enabled = False
    return opsgenie_sdk.AlertApi(opsgenie_sdk.ApiClient(config))


class OpsgenieDelivery:
    def __init__(self, channel: OpsgenieChannel, retry: RetryPolicy, api: Any = None) -> None:
        self.channel = channel
        self.retry = retry
        self._api = api if api is not None else client_for(channel)

    def send(
        self, action: Notify, ticket_url: str | None, handed: Handed | None = None
    ) -> ActionResult:
        # a re-send is merged by the channel's own key: no point of no return to record
        payload = alert_payload(self.channel, action, ticket_url)
        response = self._call(
            lambda: self._api.create_alert(payload, _request_timeout=TIMEOUT_SECONDS)
        )
        request_id = str(getattr(response, "request_id", "") or "")
        return ActionResult(
            action.key,
            ActionStatus.APPLIED,
            f"{self._where()}: alert accepted (alias {payload.alias}, request {request_id})",
            request_id or None,
        )

    def settle(self, action: Notify, ticket_url: str | None) -> ActionResult:
        """Look the alias up first: an alert already there is recorded, not created again."""
        alias = alert_alias(action.key)
        try:
            found = self._lookup(alias)
        except NotFoundError:
            result = self.send(action, ticket_url)
            detail = f"{result.detail}; not found after a restart, so created"
            return ActionResult(action.key, result.status, detail, result.external_id)
        alert_id = str(getattr(getattr(found, "data", None), "id", "") or "")
        return ActionResult(
            action.key,
            ActionStatus.ALREADY,
            f"{self._where()}: alert {alert_id} (alias {alias}) found after a restart",
            alert_id or None,
        )

    def acknowledged(self, action: Notify) -> bool:
        """Whether the alert of ``action`` is acknowledged in Opsgenie (by a responder, or by
        the sidecar's own follow-up): ``GET /v2/alerts/{alias}?identifierType=alias``."""
        alias = alert_alias(action.key)
        found = self._lookup(alias)
        return bool(getattr(getattr(found, "data", None), "acknowledged", False))

    def follow(self, action: Notify, step: FollowUp) -> ActionResult:
        alias = alert_alias(action.key)
        if step == "acknowledge":
            ack = opsgenie_sdk.AcknowledgeAlertPayload(source=SOURCE)
            self._call(
                lambda: self._api.acknowledge_alert(
                    alias,
                    identifier_type="alias",
                    acknowledge_alert_payload=ack,
                    _request_timeout=TIMEOUT_SECONDS,
                )
            )
        else:
            close = opsgenie_sdk.CloseAlertPayload(source=SOURCE)
            self._call(
                lambda: self._api.close_alert(
                    alias,
                    identifier_type="alias",
                    close_alert_payload=close,
                    _request_timeout=TIMEOUT_SECONDS,
                )
            )
        verb = "acknowledged" if step == "acknowledge" else "closed"
        return ActionResult(action.key, ActionStatus.APPLIED, f"{self._where()}: {verb} {alias}")

    def close(self) -> None:
        return None  # urllib3 pools are closed with the client when it is collected

    def _where(self) -> str:
        return f"channel {self.channel.name!r} (opsgenie)"

    def _lookup(self, alias: str) -> Any:
        """The alert of ``alias`` (``GET /v2/alerts/{alias}?identifierType=alias``)."""
        return self._call(
            lambda: self._api.get_alert(
                alias, identifier_type="alias", _request_timeout=TIMEOUT_SECONDS
            )
        )

    def _call(self, fn: Callable[[], T]) -> T:
        def once() -> T:
            try:
                return fn()
            except tenacity.RetryError as exc:  # the SDK wraps even a single attempt
                inner = exc.last_attempt.exception()
                raise _classify(inner) from None
            except (OpenApiException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise _classify(exc) from None

        return self.retry.call(once)


def _classify(exc: BaseException | None) -> ConnectorError:
    """Opsgenie response codes: https://docs.opsgenie.com/docs/response"""
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or status == 0:
        return RetryableError(f"Opsgenie unreachable ({type(exc).__name__})")
    message = f"HTTP {status}" + (f": {_message_of(exc)}" if _message_of(exc) else "")
    # Opsgenie names the throttled window in X-RateLimit-Period-In-Sec, not Retry-After
    # (https://docs.opsgenie.com/docs/api-rate-limiting)
    headers = getattr(exc, "headers", None) or {}
    wait = headers.get("Retry-After") or headers.get("X-RateLimit-Period-In-Sec")
    return error_for_status(
        status, message, retry_after=parse_retry_after(wait), rows=_OPSGENIE_ROWS
    )


# Opsgenie's rows over the shared table: 402 is an account without API access; a refused
# alert is not worth sending again as it is
_OPSGENIE_ROWS: dict[int, type[ConnectorError]] = {
    402: AuthError,
    **{code: FatalError for code in (400, 408, 409, 413, 422, 423)},
}


def _message_of(exc: BaseException | None) -> str:
    body = getattr(exc, "body", None)
    try:
        data = json.loads(body) if isinstance(body, str | bytes) else None
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("message") or "")]
    errors = data.get("errors")
    if isinstance(errors, dict):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    return "; ".join(p for p in parts if p)[:300]
