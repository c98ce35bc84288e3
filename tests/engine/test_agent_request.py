"""Agents ask for escalation with a label; ``requested: {level: N}`` is a criterion like any other.

The shipped examples (commented out): ``requests:`` in config/sources.yaml maps ``escalate``,
``escalate-l2`` and ``escalate-l3`` to levels 1-3 (Jira: ``escalate-exec`` for 3), and the rule
``agent-request`` (``requested: {level: 2}``, escalate_to 2) writes the note
``escalation-request``, quoting the agent's latest internal note as the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.calendar import to_epoch
from engine.criteria import Population, requested_level
from engine.model import AuthorRole, Change, Comment, PostComment, Priority, Status, Ticket
from engine.planner import plan_ticket
from engine.policy import Policy
from tests.engine.people_sim import notifies, people_policy, run_timeline

NORMAL = """
until: 2026-03-09T16:00:00Z
tickets:
  - {id: ZD-3, system: zendesk, title: "Payroll export fails", created_at: 2026-03-09T09:00:00Z,
     priority: normal, status: open, organization: Initech, category: billing}
events:
  - {at: 2026-03-09T10:12:00Z, ticket: ZD-3, comment: {author: agent, public: false,
     body: "Export fails for every user since 09:00. Tried: re-run, cache purge."}}
  - {at: 2026-03-09T10:12:05Z, ticket: ZD-3, set: {labels: [escalate-l2]}}
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return people_policy(tmp_path_factory.mktemp("people"))


def test_a_request_label_escalates_at_the_second_it_is_added(
    policy: Policy, tmp_path: Path
) -> None:
    r, result = run_timeline(policy, tmp_path, NORMAL)
    at = "2026-03-09T10:12:05Z"
    assert [(a["at"], a["rule"], a["kind"], a.get("level")) for a in r["actions"]] == [
        (at, "agent-request", "comment", None),
        (at, "agent-request", "add_labels", 2),
        (at, "agent-request", "assign", 2),
        (at, "agent-request", "comment", 2),
        (at, "agent-request", "notify", 2),
        # normal: first response 8 business hours, at risk (75%) at 15:00: level 1 is below
        # the level reached, so only the rule's own steps
        ("2026-03-09T15:00:00Z", "sla-at-risk", "add_labels", None),
        ("2026-03-09T15:00:00Z", "sla-at-risk", "comment", None),
    ]
    note = r["actions"][0]
    assert note["public"] is False
    assert note["body"] == (
        "Escalation to level 2 requested with the label escalate-l2.\n"
        "Reason given: Export fails for every user since 09:00. Tried: re-run, cache purge."
    )
    assert notifies(result) == [(at, "L2:notify", "support-manager")]
    reason = next(d.reason for d in result.decisions if d.rule == "agent-request" and not d.level)
    assert reason == "level 2 requested with label 'escalate-l2'"
    assert r["tickets"]["ZD-3"]["level"] == 2


def test_a_request_below_the_level_reached_changes_nothing(policy: Policy, tmp_path: Path) -> None:
    text = """
until: 2026-03-09T12:00:00Z
tickets:
  - {id: ZD-4, system: zendesk, title: "Checkout down", created_at: 2026-03-09T09:00:00Z,
     priority: urgent, status: open, customer_tier: enterprise, category: billing}
events:
  - {at: 2026-03-09T09:20:00Z, ticket: ZD-4,
     set: {labels: [major-incident, escalation-l3, escalate-l2]}}
"""
    r, result = run_timeline(policy, tmp_path, text)
    assert not [a for a in r["actions"] if a["rule"] == "agent-request"]
    assert not [d for d in result.decisions if d.rule == "agent-request"]
    assert r["tickets"]["ZD-4"]["level"] == 3


def test_the_requester_is_recorded_when_the_history_names_them(policy: Policy) -> None:
    created = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    asked = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    ticket = Ticket(
        "jira", "SUP-9", created, asked, Status.OPEN, Priority.NORMAL, title="Sync stalls",
        labels=frozenset({"escalate-l2"}),
        comments=(Comment(asked, AuthorRole.AGENT, False, "Stuck since the 9:00 deploy."),),
        # a labels change with its author, as a Jira changelog item or a Zendesk audit has it
        history=(Change(asked, "labels", None, "escalate-l2", by="agent-7"),),
    )  # fmt: skip
    plan = plan_ticket(policy, ticket, [], to_epoch(asked), Population([ticket]))
    decision = next(d for d in plan.decisions if d.rule == "agent-request" and d.level is None)
    assert decision.reason == "level 2 requested with label 'escalate-l2' by agent-7"
    note = next(a for a in plan.actions if isinstance(a, PostComment) and not a.public)
    assert note.body.startswith("Escalation to level 2 requested by agent-7 with the label")
    assert note.body.endswith("Reason given: Stuck since the 9:00 deploy.")


def test_request_labels_are_per_source(policy: Policy) -> None:
    created = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

    def ticket(system: str, *labels: str) -> Ticket:
        return Ticket(
            system, "1", created, created, Status.OPEN, Priority.LOW, labels=frozenset(labels)
        )

    assert requested_level(policy.requests, ticket("jira", "escalate-exec")) == (
        3,
        "escalate-exec",
    )
    assert requested_level(policy.requests, ticket("zendesk", "escalate-exec")) == (0, None)
    assert requested_level(policy.requests, ticket("zendesk", "escalate", "escalate-l3")) == (
        3,
        "escalate-l3",
    )
