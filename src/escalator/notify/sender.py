"""``Notifier``: posts ``Notify`` actions through the one retry policy, one result each.

What each HTTP answer means is the shared status table with a chat webhook's rows
(``_OUTCOMES``). The channel URL
is a secret: error details are built from status codes and exception class names, and any
text that could echo the URL is redacted; httpx's own request log line is redacted too.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import NoReturn

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
from escalator.config.errors import did_you_mean
from escalator.notify.channel import (
    AnyChannel,
    Channel,
    EmailChannel,
    OpsgenieChannel,
    PagerDutyChannel,
    secrets_of,
)
from escalator.notify.delivery import AckReadable, Delivery, FollowUp, Handed, Paging
from escalator.notify.follow import split_follow_key
from escalator.notify.payloads import build_request

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "escalation-sidecar-notifier"
HIDDEN = "<hidden>"

# status -> exception to raise (None: delivered); anything not listed is classed by its hundred
# a chat webhook's rows over the shared table (``connectors.errors.STATUS_ERRORS``): a refused
# message is not worth sending again as it is
_OUTCOMES: dict[int, type[ConnectorError]] = {
    400: FatalError,
    404: FatalError,  # the webhook was deleted
    409: FatalError,
    410: FatalError,  # Slack: channel archived
    413: FatalError,
    422: FatalError,
    423: FatalError,
    425: RetryableError,
}
# legacy Teams connectors answer 200 with this text when the delivery actually failed
_TEAMS_HIDDEN_ERROR = re.compile(r"delivery failed.*?returned HTTP error (\d{3})", re.I | re.S)


@dataclass(slots=True)
class NotifyStats:
    """Per-channel counters the metrics endpoint exports (retries live in ``RetryPolicy.stats``)."""

    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)


class Notifier:
    """Sends notifications to named channels; never raises for a failed delivery."""

    def __init__(
        self,
        channels: Mapping[str, AnyChannel],
        *,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.channels = dict(channels)
        self.retry = retry if retry is not None else RetryPolicy("notify")
        self.stats = NotifyStats()
        self._owns_client = client is None
        self._client = client if client is not None else default_client()
        self._lock = threading.Lock()
        # email, PagerDuty, Opsgenie: each through its own delivery, all on the one policy
        self._deliveries: dict[str, Delivery] = {
            name: delivery_for(channel, self.retry, self._client)
            for name, channel in self.channels.items()
            if not isinstance(channel, Channel)
        }
        self._secrets = [s for c in self.channels.values() for s in secrets_of(c)]
        _redact_httpx_log(self._secrets)

    def __repr__(self) -> str:
        return f"Notifier(channels={sorted(self.channels)!r})"

    def send(
        self, action: Notify, *, ticket_url: str | None = None, handed: Handed | None = None
    ) -> ActionResult:
        """Post ``action`` to its channel: APPLIED, or FAILED with a detail free of the URL.
        ``handed`` is told a delivery's point of no return where the channel has one (email)."""
        channel = self.channels.get(action.channel)
        if channel is None:
            detail = (
                f"unknown notification channel {action.channel!r}"
                f"{did_you_mean(action.channel, self.channels)}; "
                f"configured: {', '.join(sorted(self.channels)) or 'none'}"
            )
            return self._failed(action, detail)
        if (followed := split_follow_key(action.key)) is not None:
            return self._follow_up(action, *followed)
        if not isinstance(channel, Channel):
            return self._through(channel, action, lambda d: d.send(action, ticket_url, handed))
        request = build_request(channel.type, action, ticket_url)
        headers = {"Content-Type": "application/json", **request.headers}

        def post_once() -> httpx.Response:
            try:
                response = self._client.post(channel.url, json=request.body, headers=headers)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol):
                raise FatalError("the channel URL is not a valid http(s) URL") from None
            except httpx.TimeoutException as exc:
                raise RetryableError(f"timed out ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise RetryableError(f"transport error ({type(exc).__name__})") from None
            _raise_for(channel, response)
            return response

        try:
            response = self.retry.call(post_once)
        except ConnectorError as exc:
            return self._failed(action, f"{_where(channel)}: {_redact(str(exc), channel.url)}")
        with self._lock:
            self.stats.sent[channel.name] += 1
        log.info("notified %s for %s (%s)", channel.name, action.ticket, action.key)
        return ActionResult(
            action.key, ActionStatus.APPLIED, f"{_where(channel)}: HTTP {response.status_code}"
        )

    def settle(self, action: Notify, *, ticket_url: str | None = None) -> ActionResult:
        """Resolve a notification begun before a crash, by the channel's own idempotency.

        Slack and Teams webhooks have none: it stays FAILED and the next cycle decides it again
        (at least once, as before). The JSON webhook re-sends the same Idempotency-Key, email
        the same mail (asked only when the crash came before the server took it: the writer
        settles a recorded handover itself), PagerDuty the same dedup_key; Opsgenie looks its
        alias up.
        """
        channel = self.channels.get(action.channel)
        if isinstance(channel, Channel) and channel.type == "webhook":
            # the receiver drops a second delivery carrying the same Idempotency-Key
            result = self.send(action, ticket_url=ticket_url)
            detail = f"{result.detail}; re-sent after a restart with the same Idempotency-Key"
            return ActionResult(action.key, result.status, detail, result.external_id)
        if channel is None or isinstance(channel, Channel):
            return ActionResult(
                action.key, ActionStatus.FAILED, "interrupted before it was recorded"
            )
        if (followed := split_follow_key(action.key)) is not None:
            return self._follow_up(action, *followed)  # acknowledging twice changes nothing
        return self._through(channel, action, lambda d: d.settle(action, ticket_url))

    def _follow_up(self, action: Notify, page_key: str, step: FollowUp) -> ActionResult:
        result = self.follow(replace(action, key=page_key), step)
        return ActionResult(action.key, result.status, result.detail, result.external_id)

    def follow(self, action: Notify, step: FollowUp) -> ActionResult:
        """Acknowledge or resolve the page ``action`` raised (PagerDuty, Opsgenie)."""
        channel = self.channels.get(action.channel)
        delivery = self._deliveries.get(action.channel)
        if channel is None or not isinstance(delivery, Paging):
            return ActionResult(
                action.key, ActionStatus.FAILED, "the channel has no alert to follow"
            )
        return self._through(channel, action, lambda _: delivery.follow(action, step))

    def page_acknowledged(self, action: Notify) -> bool:
        """Whether a person acknowledged the page ``action`` raised, where the channel can be
        asked; False where it cannot, or when asking fails (asked again next cycle)."""
        delivery = self._deliveries.get(action.channel)
        if not isinstance(delivery, AckReadable):
            return False
        try:
            return delivery.acknowledged(action)
        except ConnectorError as exc:
            log.warning("page state of %s unreadable: %s", action.key, self._redacted(str(exc)))
            return False

    def pages(self) -> frozenset[str]:
        """The channels whose alerts follow the ticket (acknowledge, resolve)."""
        return frozenset(n for n, d in self._deliveries.items() if isinstance(d, Paging))

    def _through(
        self,
        channel: AnyChannel,
        action: Notify,
        call: Callable[[Delivery], ActionResult],
    ) -> ActionResult:
        delivery = self._deliveries[channel.name]
        where = f"channel {channel.name!r} ({channel.type})"
        try:
            result = call(delivery)
        except ConnectorError as exc:
            return self._failed(action, f"{where}: {self._redacted(str(exc))}")
        with self._lock:
            self.stats.sent[channel.name] += 1
        log.info("notified %s for %s (%s)", channel.name, action.ticket, action.key)
        return ActionResult(
            result.key, result.status, self._redacted(result.detail), result.external_id
        )

    def _redacted(self, text: str) -> str:
        for secret in self._secrets:
            text = _redact(text, secret)
        return text

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
        for delivery in self._deliveries.values():
            delivery.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _failed(self, action: Notify, detail: str) -> ActionResult:
        with self._lock:
            self.stats.failed[action.channel] += 1
        log.warning("notification %s failed: %s", action.key, detail)
        return ActionResult(action.key, ActionStatus.FAILED, detail)


def default_client() -> httpx.Client:
    # no redirects: a webhook that redirects is misconfigured, and the secret must not travel
    return httpx.Client(
        timeout=DEFAULT_TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    )


def _raise_for(channel: Channel, response: httpx.Response) -> None:
    """Translate one answer into ``connectors.errors``; return when it was delivered."""
    status = response.status_code
    if 200 <= status < 300:
        hidden = _TEAMS_HIDDEN_ERROR.search(response.text) if channel.type == "teams" else None
        if hidden is None:
            return
        status = int(hidden.group(1))  # no Retry-After here: the policy backs off
        _raise_status(status, f"Teams reported HTTP {status} inside a 200 answer", None)
    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
    snippet = _snippet(response)
    _raise_status(
        status,
        f"{reason}: {snippet}" if snippet else reason,
        parse_retry_after(response.headers.get("Retry-After")),
    )


def _raise_status(status: int, message: str, retry_after: float | None) -> NoReturn:
    raise error_for_status(status, message, retry_after=retry_after, rows=_OUTCOMES)


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    # Slack answers with a short code ("invalid_payload", "channel_not_found"): worth keeping
    text = " ".join(response.text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(channel: Channel) -> str:
    return f"channel {channel.name!r} ({channel.type})"


def _secrets_of(url: str) -> list[str]:
    """The URL and its secret-bearing parts (path, query), longest first."""
    parts = {url}
    try:
        parsed = httpx.URL(url)
        parts |= {str(parsed), parsed.path, parsed.query.decode("ascii", "replace")}
    except httpx.InvalidURL:
        pass  # the whole string is still redacted
    return sorted((p for p in parts if len(p) >= 8), key=len, reverse=True)


def _redact(text: str, url: str) -> str:
    for secret in _secrets_of(url):
        text = text.replace(secret, HIDDEN)
    return text


class _RedactSecrets(logging.Filter):
    """Rewrites httpx's 'HTTP Request: POST <url>' line so a webhook URL never reaches a log."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: frozenset[str] = frozenset()  # replaced, never mutated: read without a lock

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.urls:
            return True
        message = record.getMessage()
        redacted = message
        for url in self.urls:
            redacted = _redact(redacted, url)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_HTTPX_FILTER = _RedactSecrets()
logging.getLogger("httpx").addFilter(_HTTPX_FILTER)


def _redact_httpx_log(urls: Iterable[str]) -> None:
    _HTTPX_FILTER.urls = _HTTPX_FILTER.urls | frozenset(urls)


def delivery_for(
    channel: AnyChannel, retry: RetryPolicy, client: httpx.Client | None = None
) -> Delivery:
    """The delivery of a channel that is not a chat webhook (PagerDuty shares ``client``)."""
    from escalator.notify.email import EmailDelivery
    from escalator.notify.opsgenie import OpsgenieDelivery
    from escalator.notify.pagerduty import PagerDutyDelivery

    if isinstance(channel, EmailChannel):
        return EmailDelivery(channel, retry)
    if isinstance(channel, PagerDutyChannel):
        return PagerDutyDelivery(channel, retry, client)
    if isinstance(channel, OpsgenieChannel):
        return OpsgenieDelivery(channel, retry)
    raise TypeError(f"chat channel {channel.name!r} has no delivery")
