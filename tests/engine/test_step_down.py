"""De-escalation: ``step_down_to: N`` when the cause is gone, never below a level a person set.

The shipped example (commented out): rule ``fix-confirmed`` holds when the linked engineering
issue is resolved and an agent added ``customer-confirmed``; it steps down to level 1 and tells
the stood-down level's channel with the template ``stood-down``. An urgent, technical ticket
of an enterprise customer reaches level 3 when created (major-impact) and gets a linked ENG
issue (engineering); level 3 repeats every 30 minutes until acknowledged (the level example).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import Notify
from engine.policy import Policy
from tests.engine.people_sim import notifies, people_policy, run_timeline

LABELS = "major-incident, escalation-l3, engineering, sla-at-risk, sla-breached"
TIMELINE = """
until: 2026-03-10T09:00:00Z
tickets:
  - {{id: ZD-5, system: zendesk, title: "Checkout down", created_at: 2026-03-09T09:00:00Z,
     priority: urgent, status: open, organization: Globex, customer_tier: enterprise,
     category: technical}}
events:
  - {{at: 2026-03-09T10:40:00Z, ticket: ZD-5, linked_issue: resolved}}
  - {{at: 2026-03-09T11:00:07Z, ticket: ZD-5, set: {{labels: [{labels}, customer-confirmed]}}}}
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return people_policy(tmp_path_factory.mktemp("people"))


def test_steps_down_to_level_1_at_the_second_the_cause_is_gone(
    policy: Policy, tmp_path: Path
) -> None:
    r, result = run_timeline(policy, tmp_path, TIMELINE.format(labels=LABELS))
    at = "2026-03-09T11:00:07Z"
    down = [a for a in r["actions"] if a["rule"] == "fix-confirmed"]
    assert down == [
        {"at": at, "ticket": "ZD-5", "rule": "fix-confirmed", "kind": "remove_labels",
         "labels": ["escalation-l3"], "level": 1},
        {"at": at, "ticket": "ZD-5", "rule": "fix-confirmed", "kind": "add_labels",
         "labels": ["escalation-l1"], "level": 1},
        {"at": at, "ticket": "ZD-5", "rule": "fix-confirmed", "kind": "notify",
         "channel": "executive", "level": 1},
    ]  # fmt: skip
    notice = next(a for a in result.actions if a.key.endswith("fix-confirmed:step_down:notify"))
    assert isinstance(notice, Notify)
    assert notice.text == (
        'Stood down: zendesk:ZD-5 "Checkout down" no longer needs Executive. Thank you.'
    )
    decision = next(d for d in result.decisions if d.rule == "fix-confirmed")
    assert decision.reason.startswith("stepped down to level 1 (")
    assert r["tickets"]["ZD-5"]["level"] == 1
    # level 3's repeats (09:30, 10:00, 10:30) stop with it; nothing escalates again: the
    # breach rule (escalate_to 2) and the 150% rule (3, at 21:00) lie above the step
    assert [n[1] for n in notifies(result)] == [
        "L3:notify", "L3:notify.r1", "L3:notify.r2", "L3:notify.r3",
        "fix-confirmed:step_down:notify",
    ]  # fmt: skip
    assert not [a for a in r["actions"] if a["at"] > at]


def test_never_below_a_level_a_person_set_by_hand(policy: Policy, tmp_path: Path) -> None:
    # an agent put escalation-l2 on the ticket themselves: the step stops at level 2
    labels = LABELS + ", escalation-l2"
    r, result = run_timeline(policy, tmp_path, TIMELINE.format(labels=labels))
    down = [(a["kind"], a.get("labels")) for a in r["actions"] if a["rule"] == "fix-confirmed"]
    assert down == [("remove_labels", ["escalation-l3"]), ("notify", None)]
    shown = [a.key.rsplit(":", 1)[1] for a in result.satisfied if a.rule == "fix-confirmed"]
    assert shown == ["add_labels"]  # the person's label is already there
    assert r["tickets"]["ZD-5"]["level"] == 2


def test_never_below_a_level_an_agent_asked_for(policy: Policy, tmp_path: Path) -> None:
    # an agent's request label for level 3 holds the ticket at 3: no step down at all
    r, _ = run_timeline(policy, tmp_path, TIMELINE.format(labels=LABELS + ", escalate-l3"))
    assert not [a for a in r["actions"] if a["rule"] == "fix-confirmed"]
    assert r["tickets"]["ZD-5"]["level"] == 3


def test_no_step_down_while_the_cause_remains(policy: Policy, tmp_path: Path) -> None:
    text = TIMELINE.format(labels=LABELS).replace(
        "  - {at: 2026-03-09T10:40:00Z, ticket: ZD-5, linked_issue: resolved}\n", ""
    )
    r, _ = run_timeline(policy, tmp_path, text)
    assert not [a for a in r["actions"] if a["rule"] == "fix-confirmed"]
    assert r["tickets"]["ZD-5"]["level"] == 3
