"""Faults injected through the emulator, and the pull economy: whatever fails, no ticket is
skipped, nothing is applied twice, and per-process lookups are made once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import ActionStatus
from connectors.emulation import SeedComment, SeedTicket
from connectors.errors import RetryableError
from connectors.jira import JiraConnector, Settings
from connectors.jira.emulator import JiraEmulator
from connectors.retry import RetryPolicy
from engine.model import Action, AddLabels, CreateLinkedIssue, PostComment, Priority

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)
SEARCH = r"/rest/api/3/search/jql$"


def pull_all(connector: JiraConnector, cursor: str | None = None) -> tuple[list[str], str | None]:
    result = connector.pull(cursor, start=T0 - timedelta(days=2))
    return [t.id for t in result.tickets], result.cursor


@pytest.mark.parametrize("http_date", [False, True])
def test_a_429_waits_as_long_as_retry_after_says_in_either_form(
    emulator: JiraEmulator,
    connector: JiraConnector,
    sleep: Callable[[float], None],
    seed: Callable[..., SeedTicket],
    http_date: bool,
) -> None:
    keys = emulator.seed([seed(i) for i in range(4)])
    emulator.rate_limit("GET", SEARCH, retry_after=3, count=2, http_date=http_date)

    got, _ = pull_all(connector)

    assert sorted(got) == sorted(keys)
    waits: list[float] = sleep.waits  # type: ignore[attr-defined]
    assert len(waits) == 2
    for waited in waits:  # an HTTP-date has whole seconds (up to one less), read a little later
        assert (1.5 <= waited <= 3.0) if http_date else waited == 3.0


def test_a_5xx_burst_mid_pagination_is_retried_and_skips_nothing(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(i) for i in range(8)])
    emulator.fail_search_page(1, status=502, times=3)  # the second page, three times

    got, _ = pull_all(connector)

    assert Counter(got) == Counter(keys)  # each exactly once
    assert len(emulator.server.calls("GET", SEARCH)) == 3 + 3  # three pages, three retries


def test_a_page_that_keeps_failing_fails_the_pull_and_the_next_pull_gets_everything(
    emulator: JiraEmulator,
    connector: JiraConnector,
    retry: RetryPolicy,
    seed: Callable[..., SeedTicket],
) -> None:
    keys = emulator.seed([seed(i) for i in range(4)])
    _, cursor = pull_all(connector)
    emulator.server.clock.set(T0 + timedelta(minutes=10))
    for i, key in enumerate(keys):
        at = T0 + timedelta(minutes=10, seconds=i)
        emulator.add_comment(key, SeedComment(at, "customer", True, f"update {i}"))
    emulator.fail_search_page(1, status=500, times=retry.max_attempts)

    with pytest.raises(RetryableError):
        connector.pull(cursor, start=T0)  # no cursor comes back: nothing is marked as read
    again = connector.pull(cursor, start=T0)

    assert Counter(t.id for t in again.tickets) == Counter(keys)
    assert {t.comments[-1].body for t in again.tickets} == {f"update {i}" for i in range(4)}


def test_data_center_pages_fail_and_recover_the_same_way(
    retry: RetryPolicy, seed: Callable[..., SeedTicket]
) -> None:
    with JiraEmulator(flavour="datacenter", page_size=3) as dc:
        dc.server.clock.set(T0)
        keys = dc.seed([seed(i) for i in range(7)])
        dc.fail_search_page(2, status=503, times=2)
        settings = Settings.model_validate(dc.settings())
        connector = JiraConnector("jira", settings, retry=retry, now=dc.server.clock.now)

        got, _ = pull_all(connector)
        connector.close()

    assert Counter(got) == Counter(keys)


def test_5xx_on_writes_are_retried_and_nothing_lands_twice(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    ticket = connector.fetch(key)
    emulator.server.inject("PUT", rf"/issue/{key}$", status=503, count=2)
    emulator.server.inject("POST", rf"/issue/{key}/comment$", status=502, count=1)
    ticket_key = f"jira:{key}"
    actions: list[Action] = [
        AddLabels(key="l", ticket=ticket_key, rule="r", at=T0, labels=("escalation-l1",)),
        PostComment(key="c", ticket=ticket_key, rule="r", at=T0, public=True, body="Escalated."),
    ]

    first = connector.apply(ticket, actions)
    second = connector.apply(connector.fetch(key), actions)  # the cycle runs again

    assert [r.status for r in first] == [ActionStatus.APPLIED, ActionStatus.APPLIED]
    assert [r.status for r in second] == [ActionStatus.ALREADY, ActionStatus.ALREADY]
    assert emulator.record(key)["fields"]["labels"].count("escalation-l1") == 1
    ours = [c for c in emulator.comments(key) if c["body"]["content"][0]["content"][0]["text"]
            == "Escalated."]  # fmt: skip
    assert len(ours) == 1


def test_linked_issues_are_read_in_one_search_and_then_only_the_changed_ones(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    origin = connector.fetch(key)
    made = [
        connector.create_linked_issue(
            origin,
            CreateLinkedIssue(
                key=f"k{i}",
                ticket=origin.key,
                rule="engineering",
                at=T0,
                system="jira",
                project="ENG",
                summary=f"s{i}",
                description="d",
                priority=Priority.HIGH,
            ),
        )
        for i in range(12)
    ]
    eng = [str(r.external_id) for r in made]
    searches = len(emulator.server.calls("GET", SEARCH))

    first = connector.read_linked_issues(eng)
    emulator.server.clock.set(T0 + timedelta(minutes=30))
    emulator.resolve(eng[4])
    second = connector.read_linked_issues(eng)

    assert [i.key for i in first] == eng
    assert [i.key for i in second if i.resolved_at] == [eng[4]]
    reads = [r for r in emulator.server.calls("GET", SEARCH)[searches:]
             if not r.arg("nextPageToken")]  # fmt: skip
    assert len(reads) == 2  # one search (paged) per cycle, whatever the number of issues
    assert 'updated >= "' in str(reads[1].arg("jql"))  # the second asks only for changes
    assert not emulator.server.calls("GET", r"/rest/api/3/issue/ENG-\d+$")  # no GET per issue


def test_site_lookups_are_made_once_per_process(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(i) for i in range(3)])
    cursor = None
    for minute in range(3):  # three cycles: pull, fetch, write
        emulator.server.clock.set(T0 + timedelta(minutes=minute))
        result = connector.pull(cursor, start=T0 - timedelta(days=2))
        cursor = result.cursor
        ticket = connector.fetch(keys[minute])
        label = AddLabels(key=f"l{minute}", ticket=ticket.key, rule="r", at=T0, labels=("x",))
        connector.apply(ticket, [label])

    calls = Counter(r.path for r in emulator.server.requests)
    assert calls["/rest/api/3/myself"] == 1
    assert calls["/rest/api/3/field"] == 1
    assert calls["/rest/api/2/serverInfo"] + calls["/rest/api/3/serverInfo"] == 0


def test_connection_resets_and_read_timeouts_are_retried_and_skip_nothing(
    emulator: JiraEmulator,
    make_connector: Callable[..., JiraConnector],
    seed: Callable[..., SeedTicket],
) -> None:
    keys = emulator.seed([seed(i) for i in range(8)])
    connector = make_connector(timeout_seconds=0.5)
    emulator.server.inject_reset("GET", SEARCH, count=2)  # a load balancer drops the connection
    emulator.server.inject("GET", SEARCH, status=200, delay=1.0, count=1)  # slower than 0.5 s

    got, _ = pull_all(connector)

    assert Counter(got) == Counter(keys)  # each exactly once


def test_a_comment_whose_answer_was_lost_is_posted_once(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    """The comment lands, then the connection resets before the answer: the retry finds our
    marker on the issue instead of posting again (a POST is not idempotent)."""
    [key] = emulator.seed([seed(0)])
    ticket = connector.fetch(key)
    emulator.server.inject_reset("POST", rf"/issue/{key}/comment$", after_handling=True)
    action = PostComment(
        key=f"jira:{key}:L1:comment", ticket=f"jira:{key}", rule="r", at=T0, public=True,
        body="We escalated your request.",
    )  # fmt: skip

    (result,) = connector.apply(ticket, [action])

    assert result.status is ActionStatus.APPLIED
    ours = [c for c in emulator.comments(key) if "escalated your request" in str(c["body"])]
    assert len(ours) == 1
    assert len(emulator.server.calls("POST", rf"/issue/{key}/comment$")) == 1


def test_a_linked_issue_whose_answer_was_lost_is_created_once(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    origin = connector.fetch(key)
    emulator.server.inject_reset("POST", r"/rest/api/3/issue$", after_handling=True)
    action = CreateLinkedIssue(
        key=f"jira:{key}:engineering:create_linked_issue", ticket=f"jira:{key}", rule="engineering",
        at=T0, system="jira", project="ENG", summary="Printer on fire",
        description="Escalated from support.", priority=Priority.HIGH,
    )  # fmt: skip

    result = connector.create_linked_issue(origin, action)

    assert result.status is ActionStatus.APPLIED
    posts = emulator.server.calls("POST", r"/rest/api/3/issue$")
    assert len(posts) == 1  # sent once; the retry found it by its label
    assert result.external_id is not None
    assert result.external_id.startswith("ENG-")
    assert emulator.record(result.external_id)["fields"]["summary"] == "Printer on fire"


def test_our_own_comments_cost_no_read_in_the_next_pull(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    """Search embeds comments without their entity properties (our marker): the comments this
    process wrote are known by id, so a pull does not read the issue's comments for them."""
    [key] = emulator.seed([seed(0)])
    _, cursor = pull_all(connector)
    action = PostComment(
        key=f"jira:{key}:L1:comment", ticket=f"jira:{key}", rule="r", at=T0, public=True,
        body="We escalated your request.",
    )  # fmt: skip
    (result,) = connector.apply(connector.fetch(key), [action])
    assert result.status is ActionStatus.APPLIED
    emulator.add_comment(key, SeedComment(T0 + timedelta(minutes=1), "customer", True, "thanks"))
    reads = len(emulator.server.calls("GET", rf"/issue/{key}/comment$"))

    pulled = connector.pull(cursor, start=T0 - timedelta(days=2))

    (ticket,) = [t for t in pulled.tickets if t.id == key]
    ours = [c for c in ticket.comments if c.marker == action.key]
    assert len(ours) == 1
    assert len(emulator.server.calls("GET", rf"/issue/{key}/comment$")) == reads
