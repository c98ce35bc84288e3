"""Faults injected through the emulator's HTTP server: each is retried within the policy's
budget, skips no ticket and applies nothing twice. Retries are counted, never slept for
(``sleeps``), except the read timeout, which needs the server to be slow for real (0.4 s).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.base import ActionStatus
from connectors.emulation import SeedComment
from connectors.errors import RateLimited
from connectors.retry import RetryPolicy
from connectors.zendesk import ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from connectors.zendesk.pull import decode_cursor, encode_cursor
from engine.model import Action, AddLabels, PostComment
from tests.action_fields import ActionFields
from tests.connectors.zendesk.zendesk_seeds import T0, seed_ticket

EXPORT = r"/api/v2/incremental/tickets/cursor"
EVENTS = r"/api/v2/incremental/ticket_events"
PUT = r"^/api/v2/tickets/\d+(\.json)?$"
START = T0 - timedelta(hours=1)


def once_after_first(path: str, action: Callable[[], None]) -> Callable[..., None]:
    """A response hook that runs ``action`` once, after the first successful ``path`` page."""
    done: list[bool] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if not done and path in response.url and response.ok:
            done.append(True)
            action()

    return hook


def pulled_ids(connector: ZendeskConnector, cursor: str | None = None) -> list[str]:
    return sorted(t.id for t in connector.pull(cursor, start=START).tickets)


def test_429_with_retry_after_as_an_http_date(
    emulator: ZendeskEmulator, connector: ZendeskConnector, sleeps: list[float]
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(3)])
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    emulator.server.inject("GET", EVENTS, status=429, headers={"Retry-After": when})

    assert pulled_ids(connector) == sorted(ids)
    assert len(sleeps) == 1
    assert 15 < sleeps[0] <= 20  # waited until that date, not a default backoff


def test_5xx_bursts_on_every_read_are_retried_within_budget(
    emulator: ZendeskEmulator, connector: ZendeskConnector, retry: RetryPolicy
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(5)])
    emulator.server.inject("GET", EXPORT, status=500, count=2)
    emulator.server.inject("GET", EVENTS, status=502, count=3)  # max_attempts is 4
    emulator.server.inject("GET", r"/api/v2/users/show_many", status=503, count=1)

    assert pulled_ids(connector) == sorted(ids)
    assert retry.stats.retries == 6


def test_a_connection_reset_is_retried(
    emulator: ZendeskEmulator, connector: ZendeskConnector, retry: RetryPolicy
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(3)])
    emulator.inject_reset("GET", EXPORT)
    emulator.inject_reset("GET", EVENTS)

    assert pulled_ids(connector) == sorted(ids)
    assert retry.stats.retries == 2


def test_a_read_timeout_is_retried(
    emulator: ZendeskEmulator, make_connector: Callable[..., ZendeskConnector], retry: RetryPolicy
) -> None:
    connector = make_connector(timeout_seconds=0.2)
    ids = emulator.seed([seed_ticket(i) for i in range(2)])
    emulator.server.inject("GET", EVENTS, status=200, delay=0.4)  # slow, then answers

    assert pulled_ids(connector) == sorted(ids)
    assert retry.stats.retries == 1


def test_a_page_failing_mid_pagination_resumes_at_that_page(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(5)])  # three pages of two
    connector.session.hooks["response"].append(
        once_after_first(
            "/incremental/tickets/",
            lambda: emulator.server.inject("GET", EXPORT, status=503, count=2),
        )
    )

    result = connector.pull(None, start=START)

    assert sorted(t.id for t in result.tickets) == sorted(ids)
    assert len(result.tickets) == len(ids)  # nothing twice
    pages = emulator.server.calls("GET", EXPORT)
    assert len(pages) == 5  # page 1, two refused tries of page 2, page 2, page 3
    assert "start_time" in pages[0].query
    # the retries asked for page 2 again: the walk never restarted from start_time
    assert [p.arg("cursor") for p in pages[1:4]] == [pages[1].arg("cursor")] * 3


def test_an_expired_cursor_restarts_before_it_and_skips_nothing(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(3)])
    first = connector.pull(None, start=START)
    assert first.cursor is not None
    emulator.add_comment(
        ids[1],
        SeedComment(at=emulator.server.clock.now(), author="customer", public=True, body="hi?"),
    )
    state = decode_cursor(first.cursor)
    expired = encode_cursor("bm90LWEtY3Vyc29y", state.events_from)  # the export answers 400

    again = connector.pull(expired, start=START)

    assert ids[1] in {t.id for t in again.tickets}
    changed = next(t for t in again.tickets if t.id == ids[1])
    assert changed.comments[-1].body == "hi?"
    assert [w.field for w in again.warnings] == ["cursor"]
    assert again.cursor is not None
    assert decode_cursor(again.cursor).after_cursor != "bm90LWEtY3Vyc29y"
    assert connector.pull(again.cursor, start=START).warnings == ()


def test_a_429_storm_beyond_the_budget_fails_the_pull_and_loses_nothing(
    emulator: ZendeskEmulator, connector: ZendeskConnector, retry: RetryPolicy
) -> None:
    ids = emulator.seed([seed_ticket(i) for i in range(3)])
    first = connector.pull(None, start=START)
    emulator.add_comment(
        ids[2],
        SeedComment(at=emulator.server.clock.now(), author="customer", public=True, body="?"),
    )
    emulator.server.inject("GET", EXPORT, status=429, retry_after=1, count=retry.max_attempts)

    with pytest.raises(RateLimited):
        connector.pull(first.cursor, start=START)  # the app keeps its cursor

    assert pulled_ids(connector, first.cursor) == [ids[2]]


def test_an_access_token_expiring_mid_run_is_refreshed_and_both_tokens_rotate(
    emulator: ZendeskEmulator,
    make_connector: Callable[..., ZendeskConnector],
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token.json"
    connector = make_connector(auth="oauth_refresh_token", token_file=str(token_file))
    first_refresh = connector.settings.auth.refresh_token.get_secret_value()  # type: ignore[union-attr]
    ids = emulator.seed([seed_ticket(i) for i in range(5)])
    connector.session.hooks["response"].append(
        once_after_first("/incremental/tickets/", emulator.expire_access_tokens)
    )

    assert pulled_ids(connector) == sorted(ids)

    grants = [g["grant_type"] for g in emulator.token_grants]
    assert grants == ["refresh_token", "refresh_token"]  # the start, and once after the 401
    saved = json.loads(token_file.read_text())
    assert saved["refresh_token"] not in (first_refresh, emulator.token_grants[1]["refresh_token"])
    assert emulator.token_grants[1]["refresh_token"] != first_refresh  # rotated, then used
    # the pair now in the file works; a write after another expiry lands once
    ticket = connector.fetch(ids[0])
    emulator.expire_access_tokens()
    action = AddLabels(key="k", ticket=ticket.key, rule="r", at=ticket.updated_at, labels=("x",))
    assert connector.apply(ticket, [action])[0].status is ActionStatus.APPLIED
    assert len(emulator.server.calls("PUT", PUT)) == 2  # the 401, and the one that landed
    assert emulator.record(ids[0])["tags"].count("x") == 1


def test_a_put_whose_answer_is_lost_is_never_applied_twice(
    emulator: ZendeskEmulator, connector: ZendeskConnector, retry: RetryPolicy
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    ticket = connector.fetch(tid)
    emulator.inject_reset("PUT", PUT, after_handling=True)  # it lands; the answer is lost
    base: ActionFields = {"ticket": ticket.key, "rule": "r", "at": ticket.updated_at}
    actions: list[Action] = [
        AddLabels(key="l", **base, labels=("escalation-l1",)),
        PostComment(key="c", **base, public=True, body="We escalated your request"),
    ]

    results = connector.apply(ticket, actions)

    # the retry met 409 (the first attempt moved updated_at); the re-read found both written
    assert [r.status for r in results] == [ActionStatus.ALREADY, ActionStatus.ALREADY]
    assert results[1].external_id is not None
    assert retry.stats.retries == 1
    bodies = [c["body"] for c in emulator.comments(tid)]
    assert bodies.count("We escalated your request") == 1
    assert emulator.record(tid)["tags"].count("escalation-l1") == 1
