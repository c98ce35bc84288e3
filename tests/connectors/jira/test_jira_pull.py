"""Pulling through the real ``jira`` SDK from the emulator: pages, overlap, dedupe, quarantine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connectors.emulation import SeedComment, SeedTicket
from connectors.errors import PagingLoop
from connectors.jira import JiraConnector
from connectors.jira.cursor import decode_cursor
from connectors.jira.emulator import AGENT_ACCOUNT, TIER2_ACCOUNT, JiraEmulator
from connectors.jira.emulator_samples import AUTO_REPLY
from engine.model import AuthorRole, Change, Priority, Status

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)


def search_calls(emulator: JiraEmulator) -> int:
    return len(emulator.server.calls("GET", r"/rest/api/3/search/jql$"))


def test_pull_pages_through_every_issue_then_the_overlap_brings_nothing_twice(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(i) for i in range(8)])

    first = connector.pull(None, start=T0 - timedelta(days=2))

    assert sorted(t.id for t in first.tickets) == sorted(keys)
    assert search_calls(emulator) == 3  # page size 3: 3 + 3 + 2
    assert first.quarantined == ()
    again = connector.pull(first.cursor, start=T0)
    assert again.tickets == ()
    last_search = emulator.server.calls("GET", r"/search/jql$")[-1]
    newest = max(t.updated_at for t in first.tickets)
    local = (newest - timedelta(minutes=1)).astimezone(ZoneInfo(emulator.user_zone))
    assert f'updated >= "{local:%Y-%m-%d %H:%M}"' in str(
        last_search.arg("jql")
    )  # the overlap re-read the newest issues (in the API user's zone), and dedupe dropped them


def test_a_change_in_the_same_minute_as_the_watermark_is_not_lost(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(i) for i in range(4)])
    cursor = connector.pull(None, start=T0 - timedelta(days=2)).cursor
    emulator.server.clock.set(T0 + timedelta(seconds=5))
    emulator.add_comment(
        keys[1], SeedComment(T0 + timedelta(seconds=5), "customer", True, "any news?")
    )

    second = connector.pull(cursor, start=T0)
    emulator.server.clock.set(T0 + timedelta(seconds=20))
    emulator.add_comment(
        keys[2], SeedComment(T0 + timedelta(seconds=20), "customer", True, "hello?")
    )
    third = connector.pull(second.cursor, start=T0)

    assert [t.id for t in second.tickets] == [keys[1]]
    assert [t.id for t in third.tickets] == [keys[2]]  # keys[1] came back in the overlap: skipped
    assert third.tickets[0].comments[-1].body == "hello?"


def test_bookmark_never_passes_the_time_the_pull_started(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(1, updated_at=T0 + timedelta(hours=1))])  # clock skew upstream

    first = connector.pull(None, start=T0 - timedelta(days=2))
    second = connector.pull(first.cursor, start=T0)

    assert [t.id for t in first.tickets] == [key]
    assert first.cursor is not None
    assert decode_cursor(first.cursor).watermark == T0
    assert second.tickets == ()


def test_malformed_issues_are_quarantined_and_the_rest_goes_on(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(i) for i in range(5)])
    emulator.corrupt(keys[1], "status", None)
    emulator.corrupt(keys[3], "status", {"name": "Limbo", "statusCategory": {"key": "odd"}})

    result = connector.pull(None, start=T0 - timedelta(days=2))

    assert sorted(t.id for t in result.tickets) == [keys[0], keys[2], keys[4]]
    assert {q.record_id for q in result.quarantined} == {keys[1], keys[3]}
    assert any("'Limbo'" in q.reason and "not mapped" in q.reason for q in result.quarantined)
    assert connector.fetch(keys[0]).id == keys[0]  # a quarantined record id is fetchable


def test_fields_comments_and_history_are_normalised(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    created = T0 - timedelta(hours=3)
    [key] = emulator.seed(
        [
            seed(
                0,
                created_at=created,
                priority="urgent",
                labels=["vip"],
                comments=[
                    SeedComment(created + timedelta(minutes=1), "customer", True, "down"),
                    SeedComment(created + timedelta(minutes=2), "agent", False, "looking"),
                    SeedComment(created + timedelta(minutes=3), "agent", True, "on it\nsoon"),
                ],
            )
        ]
    )
    emulator.server.clock.set(T0 - timedelta(minutes=30))
    emulator.update(key, status="pending", priority="high", group="Tier 2 Support")

    ticket = connector.fetch(key)

    assert (ticket.status, ticket.priority) == (Status.PENDING, Priority.HIGH)
    assert ticket.assignee == TIER2_ACCOUNT
    assert ticket.group == "Tier 2 Support"
    assert (ticket.organization, ticket.category, ticket.customer_tier) == (
        "Acme",
        "technical",
        "enterprise",
    )
    assert ticket.affected_users == 12
    assert ticket.labels == frozenset({"vip"})
    assert ticket.url == f"{emulator.base_url}/browse/{key}"
    roles = [(c.author_role, c.public, c.body) for c in ticket.comments]
    assert roles == [
        (AuthorRole.BOT, True, AUTO_REPLY),  # the automation's auto-reply: never a response
        (AuthorRole.CUSTOMER, True, "down"),
        (AuthorRole.AGENT, False, "looking"),
        (AuthorRole.AGENT, True, "on it\nsoon"),
    ]
    at = T0 - timedelta(minutes=30)
    assert set(ticket.history) == {
        Change(at, "status", "new", "pending"),
        Change(at, "priority", "urgent", "high"),
        Change(at, "assignee", None, TIER2_ACCOUNT),
        Change(at, "group", None, "Tier 2 Support"),
    }


def test_agent_list_makes_everyone_else_a_customer(
    emulator: JiraEmulator,
    make_connector: Callable[..., JiraConnector],
    seed: Callable[..., SeedTicket],
) -> None:
    [key] = emulator.seed(
        [seed(0, comments=[SeedComment(T0 - timedelta(hours=1), "agent", True, "hi")])]
    )
    only_others = make_connector(agent_account_ids=["someone-else"])
    listed = make_connector(agent_account_ids=[AGENT_ACCOUNT])

    assert only_others.fetch(key).comments[-1].author_role is AuthorRole.CUSTOMER
    assert listed.fetch(key).comments[-1].author_role is AuthorRole.AGENT


def test_a_repeated_page_token_stops_the_pull_instead_of_looping(
    emulator: JiraEmulator, connector: JiraConnector
) -> None:
    stuck = {"issues": [], "nextPageToken": "same-token", "isLast": False}
    emulator.server.inject("GET", r"/search/jql$", status=200, body=stuck, count=3)

    with pytest.raises(PagingLoop, match="loop detected"):
        connector.pull(None, start=T0)
