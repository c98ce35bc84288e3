from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import ActionStatus
from connectors.errors import RetryableError
from connectors.retry import RetryPolicy
from connectors.zendesk import ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from engine.model import AddLabels
from tests.connectors.zendesk.zendesk_seeds import T0, seed_ticket

EXPORT = r"/api/v2/incremental/tickets/cursor"


def test_429_waits_retry_after_once_through_the_policy(
    emulator: ZendeskEmulator,
    connector: ZendeskConnector,
    retry: RetryPolicy,
    sleeps: list[float],
) -> None:
    emulator.seed([seed_ticket(i) for i in range(3)])
    emulator.server.inject("GET", EXPORT, status=429, retry_after=2)

    result = connector.pull(None, start=T0 - timedelta(hours=1))

    assert len(result.tickets) == 3
    assert sleeps == [2.0]  # exactly Retry-After, slept by the policy (zenpy never slept)
    assert (retry.stats.retries, retry.stats.rate_limited) == (1, 1)
    assert len(emulator.server.calls("GET", EXPORT)) == 3  # 2 pages + the refused attempt


def test_5xx_is_retried_and_counted(
    emulator: ZendeskEmulator,
    connector: ZendeskConnector,
    retry: RetryPolicy,
    sleeps: list[float],
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    emulator.server.inject("GET", r"/audits", status=503, count=2)

    ticket = connector.fetch(tid)

    assert len(ticket.comments) == 3
    assert retry.stats.retries == 2
    assert retry.stats.rate_limited == 0
    assert len(sleeps) == 2


def test_put_429_is_retried_and_writes_once(
    emulator: ZendeskEmulator,
    connector: ZendeskConnector,
    retry: RetryPolicy,
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    ticket = connector.fetch(tid)
    emulator.server.inject("PUT", rf"/api/v2/tickets/{tid}", status=429, retry_after=1)
    action = AddLabels(
        key="k", ticket=ticket.key, rule="r", at=ticket.updated_at, labels=("escalated",)
    )

    assert connector.apply(ticket, [action])[0].status is ActionStatus.APPLIED
    assert retry.stats.rate_limited == 1
    assert len([a for a in emulator.audits[int(tid)] if a["via"]["channel"] == "api"]) == 1


def test_persistent_5xx_gives_up_as_retryable(
    emulator: ZendeskEmulator,
    connector: ZendeskConnector,
    retry: RetryPolicy,
) -> None:
    emulator.server.inject("GET", EXPORT, status=500, count=10)
    with pytest.raises(RetryableError):
        connector.pull(None, start=T0)
    assert retry.stats.retries == retry.max_attempts - 1


def test_rate_limit_headers_are_read(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    emulator.seed([seed_ticket(0)])
    connector.pull(None, start=T0 - timedelta(hours=1))
    assert connector.session.rate_limit_remaining is not None
    assert 0 < connector.session.rate_limit_remaining < 700
