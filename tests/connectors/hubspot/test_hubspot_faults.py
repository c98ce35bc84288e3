"""Faults injected through the emulator (issue 8): 429s with HubSpot's headers and body, 5xx
bursts, a page failing mid-pagination, a token expiring mid-run. Each time the connector
retries within its budget, skips no ticket and applies nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import ActionStatus
from connectors.errors import RetryableError
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.retry import RetryPolicy
from engine.model import Action, AddLabels, PostComment, Priority, SetPriority
from tests.action_fields import ActionFields
from tests.connectors.hubspot.hubspot_helpers import (
    NOW,
    connect,
    customer_says,
    seed_ticket,
    start_emulator,
)
from tests.fakes import Sleeps

START = NOW - timedelta(days=1)


def _seed(emulator: HubSpotEmulator, n: int) -> list[str]:
    return emulator.seed(
        [seed_ticket(f"t{i}", comments=[customer_says(f"help {i}")]) for i in range(n)]
    )


def _pulled_once(ids: list[str], got: list[str]) -> None:
    assert sorted(got) == sorted(ids)  # nothing skipped
    assert len(got) == len(set(got))  # nothing twice


@pytest.fixture
def paged() -> Iterator[HubSpotEmulator]:
    emulator = start_emulator(page_size=2)
    yield emulator
    emulator.stop()


def test_429s_wait_as_hubspot_says_and_skip_nothing(paged: HubSpotEmulator, sleeps: Sleeps) -> None:
    ids = _seed(paged, 7)
    retry = RetryPolicy("hubspot", sleep=sleeps)
    connector = connect(paged, retry)
    # a Retry-After in seconds on the second search page, then the policy's window alone
    paged.fail_later("POST", r"/tickets/search$", after=1, status=429, retry_after=2)
    paged.fail_later("GET", r"/messages$", after=3, status=429, count=2)
    result = connector.pull(None, start=START)
    _pulled_once(ids, [t.id for t in result.tickets])
    assert sorted(sleeps) == [2.0, 10.0, 10.0]  # Retry-After, else TEN_SECONDLY_ROLLING's 10 s
    assert retry.stats.rate_limited == 3
    connector.close()


def test_5xx_bursts_are_retried(paged: HubSpotEmulator, sleeps: Sleeps) -> None:
    ids = _seed(paged, 5)
    retry = RetryPolicy("hubspot", sleep=sleeps, initial_backoff=0.01)
    connector = connect(paged, retry)
    paged.fail_later("POST", r"/tickets/batch/read$", after=0, status=503, count=2)
    paged.fail_later("GET", r"/messages$", after=2, status=500, count=3)
    paged.fail_later("POST", r"/associations/", after=1, status=502, count=1)
    result = connector.pull(None, start=START)
    _pulled_once(ids, [t.id for t in result.tickets])
    assert retry.stats.retries == 6
    assert all(len(t.comments) == 2 for t in result.tickets)  # customer + bot: none lost
    connector.close()


def test_a_page_failing_mid_pagination_loses_nothing(
    paged: HubSpotEmulator, sleeps: Sleeps
) -> None:
    ids = _seed(paged, 7)
    retry = RetryPolicy("hubspot", sleep=sleeps, initial_backoff=0.01, max_attempts=3)
    connector = connect(paged, retry)
    # page 3 of the search fails longer than the retry budget: the pull fails as a whole
    paged.fail_later("POST", r"/tickets/search$", after=2, status=502, count=3)
    with pytest.raises(RetryableError):
        connector.pull(None, start=START)
    # the cursor was never handed out: the next pull starts where the last good one ended
    result = connector.pull(None, start=START)
    _pulled_once(ids, [t.id for t in result.tickets])
    # a transient failure of page 2 is retried in place
    paged.server.clock.advance(60)
    for tid in ids:
        paged.update(tid, priority="high")
    paged.fail_later("POST", r"/tickets/search$", after=1, status=502, count=1)
    again = connector.pull(result.cursor, start=START)
    _pulled_once(ids, [t.id for t in again.tickets])
    assert all(t.priority is Priority.HIGH for t in again.tickets)
    connector.close()


def test_a_token_expiring_mid_run_is_renewed_and_the_run_goes_on(
    paged: HubSpotEmulator, retry: RetryPolicy
) -> None:
    ids = _seed(paged, 7)
    settings = {**paged.settings(), "access_token": None, "oauth": paged.oauth_settings()}
    connector = connect(paged, retry, **settings)
    paged.fail_later("POST", r"/tickets/search$", after=2, status=401)
    result = connector.pull(None, start=START)
    _pulled_once(ids, [t.id for t in result.tickets])
    assert len(paged.server.calls("POST", r"/oauth/2026-03/token$")) == 2
    connector.close()


def test_writes_retried_after_faults_land_once(emulator: HubSpotEmulator, sleeps: Sleeps) -> None:
    ids = _seed(emulator, 3)
    retry = RetryPolicy("hubspot", sleep=sleeps, initial_backoff=0.01)
    connector = connect(emulator, retry)
    tickets = {t.id: t for t in connector.pull(None, start=START).tickets}
    emulator.server.inject("POST", r"/tickets/batch/update$", status=502, count=1)
    emulator.server.inject("POST", r"/objects/2026-09/notes$", status=429, retry_after=1)
    emulator.server.inject("POST", r"/messages$", status=503, count=2)

    def actions(tid: str) -> list[Action]:
        common: ActionFields = {"ticket": f"hubspot:{tid}", "rule": "r", "at": NOW}
        return [
            AddLabels(key=f"{tid}:l", labels=("sla-breached",), **common),
            SetPriority(key=f"{tid}:p", priority=Priority.HIGH, previous=Priority.NORMAL, **common),
            PostComment(key=f"{tid}:n", public=False, body="Breached.", **common),
            PostComment(key=f"{tid}:m", public=True, body="We escalated this.", **common),
        ]

    results = connector.apply_many([(tickets[i], actions(i)) for i in ids])
    assert {r.status for rs in results for r in rs} == {ActionStatus.APPLIED}
    for tid in ids:
        record = emulator.record(tid)
        assert record["properties"]["escalation_labels"] == "sla-breached"
        history = record["propertiesWithHistory"]["hs_ticket_priority"]
        assert [v["value"] for v in history] == ["HIGH", "MEDIUM"]  # written once
        mine = [c for c in connector.fetch(tid).comments if c.marker]
        assert sorted(c.marker or "" for c in mine) == [f"{tid}:m", f"{tid}:n"]  # once each
    assert emulator.writes_that_changed_nothing == 0
    connector.close()


def test_connection_resets_and_read_timeouts_are_retried_and_skip_nothing(
    paged: HubSpotEmulator, sleeps: Sleeps
) -> None:
    ids = _seed(paged, 5)
    retry = RetryPolicy("hubspot", sleep=sleeps, initial_backoff=0.01)
    connector = connect(paged, retry, timeout_seconds=0.5)
    paged.server.inject_reset("POST", r"/tickets/search$", count=2)  # the connection drops
    paged.server.inject("POST", r"/tickets/batch/read$", status=200, delay=1.0)  # too slow
    result = connector.pull(None, start=START)
    _pulled_once(ids, [t.id for t in result.tickets])
    assert retry.stats.retries >= 3
    connector.close()


def test_a_note_whose_answer_was_lost_is_written_once(
    emulator: HubSpotEmulator, sleeps: Sleeps
) -> None:
    """The note lands, then the connection drops before the answer: the marker on the
    ticket's notes says it is there, so nothing is written twice (now or next cycle)."""
    (tid,) = _seed(emulator, 1)
    retry = RetryPolicy("hubspot", sleep=sleeps, initial_backoff=0.01)
    connector = connect(emulator, retry)
    ticket = next(t for t in connector.pull(None, start=START).tickets if t.id == tid)
    emulator.server.inject_reset("POST", r"/objects/2026-09/notes$", after_handling=True)
    note = PostComment(
        key=f"hubspot:{tid}:L1:note", ticket=f"hubspot:{tid}", rule="r", at=NOW, public=False,
        body="Escalated to the Team Lead.",
    )  # fmt: skip
    connector.apply(ticket, [note])
    again = connector.apply(connector.fetch(tid), [note])  # the cycle decides it again
    assert again[0].status is ActionStatus.ALREADY
    mine = [c for c in connector.fetch(tid).comments if c.marker == note.key]
    assert len(mine) == 1
    connector.close()


def test_a_customer_message_whose_answer_was_lost_is_sent_once(
    emulator: HubSpotEmulator, sleeps: Sleeps
) -> None:
    """A reply to the customer lands, then the connection drops: the retry finds it in the
    thread rather than sending the customer the same message twice."""
    (tid,) = _seed(emulator, 1)
    retry = RetryPolicy("hubspot", sleep=sleeps, initial_backoff=0.01)
    connector = connect(emulator, retry)
    ticket = next(t for t in connector.pull(None, start=START).tickets if t.id == tid)
    emulator.server.inject_reset("POST", r"/messages$", after_handling=True)
    reply = PostComment(
        key=f"hubspot:{tid}:L1:comment", ticket=f"hubspot:{tid}", rule="r", at=NOW, public=True,
        body="We escalated your request.",
    )  # fmt: skip
    (result,) = connector.apply(ticket, [reply])
    assert result.status is ActionStatus.APPLIED
    assert len(emulator.server.calls("POST", r"/messages$")) == 1
    mine = [c for c in connector.fetch(tid).comments if c.marker == reply.key]
    assert len(mine) == 1
    connector.close()


def test_a_retry_after_given_as_an_http_date_is_honoured(
    paged: HubSpotEmulator, sleeps: Sleeps
) -> None:
    """RFC 9110 allows ``Retry-After`` as an HTTP-date: waited until then, not backed off."""
    ids = _seed(paged, 3)
    retry = RetryPolicy("hubspot", sleep=sleeps)
    connector = connect(paged, retry)
    when = datetime.now(UTC) + timedelta(seconds=30)  # the date is read against the wall clock
    stamp = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    paged.server.inject("POST", r"/tickets/search$", status=429, headers={"Retry-After": stamp})
    result = connector.pull(None, start=START)
    _pulled_once(ids, [t.id for t in result.tickets])
    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 30  # until that instant (whole seconds, read a little later)
    connector.close()
