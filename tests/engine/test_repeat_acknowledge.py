"""A level's notification repeats until someone acknowledges it, to the second in ``simulate``.

The shipped example (config/escalation.yaml, commented out) puts on level 3: ``repeat: {every:
30m, times: 3, calendar: 24x7}`` and ``acknowledge: [reply, assignee, page]``. An urgent ticket
of an enterprise customer reaches level 3 the moment it is created (rule major-impact). Times
are UTC; London is on GMT until 2026-03-29, so business hours are 09:00-17:00 UTC.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.calendar import to_epoch
from engine.criteria import Population
from engine.model import AuthorRole, Comment, Notify, Priority, Status, Ticket
from engine.planner import plan_ticket
from engine.policy import Policy
from tests.engine.people_sim import notifies, people_policy, run_timeline

MAJOR = """
until: {until}
tickets:
  - {{id: ZD-7, system: zendesk, title: "Checkout down", created_at: {created},
     priority: urgent, status: open, organization: Globex, customer_tier: enterprise,
     category: billing}}
events:
{events}
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return people_policy(tmp_path_factory.mktemp("people"))


def _timeline(until: str, events: str = "  []", created: str = "2026-03-09T09:00:00Z") -> str:
    return MAJOR.format(until=until, created=created, events=events)


def test_unacknowledged_level_is_repeated_every_30_minutes_three_times(
    policy: Policy, tmp_path: Path
) -> None:
    _, result = run_timeline(policy, tmp_path, _timeline("2026-03-09T18:00:00Z", "  []"))
    assert notifies(result) == [
        ("2026-03-09T09:00:00Z", "L3:notify", "executive"),
        ("2026-03-09T09:30:00Z", "L3:notify.r1", "executive"),
        ("2026-03-09T10:00:00Z", "L3:notify.r2", "executive"),
        ("2026-03-09T10:30:00Z", "L3:notify.r3", "executive"),
    ]
    repeat = next(a for a in result.actions if a.key.endswith("L3:notify.r2"))
    assert isinstance(repeat, Notify)
    assert repeat.level == 3
    assert repeat.rule == "major-impact"
    assert repeat.text.startswith("Escalation level 3 (Executive): zendesk:ZD-7")
    repeated = [d for d in result.decisions if d.reason.startswith("repeated")]
    assert [d.reason for d in repeated] == [
        f"repeated notify.r{k} of level 3: not acknowledged" for k in (1, 2, 3)
    ]


def test_an_agents_public_reply_stops_the_repeats(policy: Policy, tmp_path: Path) -> None:
    events = """
  - {at: 2026-03-09T09:47:13Z, ticket: ZD-7, comment: {author: agent, public: true,
     body: "We are on it."}}
"""
    _, result = run_timeline(policy, tmp_path, _timeline("2026-03-09T18:00:00Z", events))
    assert notifies(result) == [
        ("2026-03-09T09:00:00Z", "L3:notify", "executive"),
        ("2026-03-09T09:30:00Z", "L3:notify.r1", "executive"),
    ]


def test_an_internal_note_or_a_bots_reply_is_no_acknowledgement(
    policy: Policy, tmp_path: Path
) -> None:
    events = """
  - {at: 2026-03-09T09:10:00Z, ticket: ZD-7, comment: {author: agent, public: false,
     body: "looking"}}
  - {at: 2026-03-09T09:11:00Z, ticket: ZD-7, comment: {author: bot, public: true,
     body: "Thanks, an agent will reply soon"}}
"""
    _, result = run_timeline(policy, tmp_path, _timeline("2026-03-09T18:00:00Z", events))
    assert [n[1] for n in notifies(result)] == [
        "L3:notify", "L3:notify.r1", "L3:notify.r2", "L3:notify.r3"
    ]  # fmt: skip


def test_the_assignee_changing_to_a_person_stops_the_repeats(
    policy: Policy, tmp_path: Path
) -> None:
    events = "  - {at: 2026-03-09T10:12:40Z, ticket: ZD-7, set: {assignee: avery}}\n"
    _, result = run_timeline(policy, tmp_path, _timeline("2026-03-09T18:00:00Z", events))
    assert notifies(result)[-1] == ("2026-03-09T10:00:00Z", "L3:notify.r2", "executive")
    assert len(notifies(result)) == 3


def test_the_next_repeat_instant_is_the_tickets_due_time(policy: Policy, tmp_path: Path) -> None:
    """``run`` arms its clock job at ``next_due``: the next repeat, to the second."""
    _, result = run_timeline(policy, tmp_path, _timeline("2026-03-09T10:05:00Z"))
    plan = result.plans["zendesk:ZD-7"]
    assert plan.next_due == datetime(2026, 3, 9, 10, 30, tzinfo=UTC)
    _, after = run_timeline(policy, tmp_path, _timeline("2026-03-09T10:31:00Z"))
    # the three repeats are spent, and every time-based rule has fired: nothing more is due
    assert after.plans["zendesk:ZD-7"].next_due is None


def test_repeats_on_business_hours_wait_for_monday(tmp_path: Path) -> None:
    """With ``calendar: support-hours`` the 30 minutes are business minutes: level 3 reached
    Friday 16:45 has 15 of them left that day, so the first repeat is Monday 09:15."""
    policy = people_policy(tmp_path / "cfg", repeat_calendar="support-hours")
    text = _timeline("2026-03-10T00:00:00Z", created="2026-03-06T16:45:00Z")
    _, result = run_timeline(policy, tmp_path, text)
    assert notifies(result) == [
        ("2026-03-06T16:45:00Z", "L3:notify", "executive"),
        ("2026-03-09T09:15:00Z", "L3:notify.r1", "executive"),
        ("2026-03-09T09:45:00Z", "L3:notify.r2", "executive"),
        ("2026-03-09T10:15:00Z", "L3:notify.r3", "executive"),
    ]


def test_an_acknowledged_page_stops_the_repeats(policy: Policy) -> None:
    """The level's PagerDuty/Opsgenie page acknowledged (its ``~acknowledge`` follow-up
    recorded in the ledger, see escalator.notify.follow) counts as an acknowledgement."""
    created = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    ticket = Ticket(
        "zendesk", "ZD-8", created, created, Status.OPEN, Priority.URGENT,
        customer_tier="enterprise", category="billing",
    )  # fmt: skip
    now = to_epoch(datetime(2026, 3, 9, 9, 30, tzinfo=UTC))
    first = plan_ticket(policy, ticket, [], to_epoch(created), Population([ticket]))
    applied = [*first.actions, *first.satisfied]
    page = next(a for a in applied if isinstance(a, Notify))
    due = plan_ticket(policy, ticket, applied, now, Population([ticket]))
    assert [a.key for a in due.actions if isinstance(a, Notify)] == ["zendesk:ZD-8:L3:notify.r1"]
    acknowledged = replace(page, key=f"{page.key}~acknowledge", level=None)
    quiet = plan_ticket(policy, ticket, [*applied, acknowledged], now, Population([ticket]))
    assert not [a for a in quiet.actions if isinstance(a, Notify)]
    # and no repeat is due any more: the next instant is the first response's at-risk mark
    assert quiet.next_due == datetime(2026, 3, 9, 9, 45, tzinfo=UTC)


def test_a_reply_before_the_level_was_reached_acknowledges_nothing(policy: Policy) -> None:
    created = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    reply = Comment(created, AuthorRole.AGENT, True, "Hello")  # the same second, before
    ticket = Ticket(
        "zendesk", "ZD-9", created, created, Status.OPEN, Priority.URGENT,
        customer_tier="enterprise", category="billing",
    )  # fmt: skip
    first = plan_ticket(policy, ticket, [], to_epoch(created), Population([ticket]))
    applied = [*first.actions, *first.satisfied]
    answered = replace_comments(ticket, reply)
    later = plan_ticket(
        policy, answered, applied, to_epoch(datetime(2026, 3, 9, 9, 30, tzinfo=UTC)),
        Population([answered]),
    )  # fmt: skip
    # a reply at the second the level was reached counts (at >= reached): stops the repeat
    assert not [a for a in later.actions if isinstance(a, Notify)]


def replace_comments(ticket: Ticket, *comments: Comment) -> Ticket:
    return replace(ticket, comments=(*ticket.comments, *comments))
