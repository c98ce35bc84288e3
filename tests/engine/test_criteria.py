"""Criteria and SLA-policy choice beyond the reference policy, on an extended copy of config/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.simulation import simulate
from escalator.config import load_config
from escalator.simulate_report import result_json
from escalator.timeline import load_timeline
from tests.engine.engine_helpers import pick

ROOT = Path(__file__).resolve().parents[2]

EXTRA_POLICY = """
    - name: enterprise
      when: {customer_tier: [enterprise]}
      targets:
        high: {calendar: 24x7, first_response: 30m, next_update: 1h, resolution: 4h}
"""

EXTRA_RULES = """
  - name: ping-pong
    when: {group_reassignments: {at_least: 2}}
    then: [{add_labels: [ping-pong]}]
  - name: nearly-due
    when: {sla_minutes_left: 30, targets: [first_response]}
    then: [{add_labels: [nearly-due]}]
  - name: half-way
    when: {sla_elapsed_percent: 50, targets: [resolution]}
    then: [{add_labels: [half-way]}]
  - name: surge
    when: {surge: {window: 10m, at_least: 3}}
    then: [{add_labels: [surge]}, {notify: {channel: team-lead, template: surge-alert}}]
  - name: not-billing
    when:
      not: {category: [billing]}
      labels: [vip]
    then: [{set_priority: urgent}, {assign: {user: duty-manager}}]
"""


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("cfg") / "config"
    shutil.copytree(ROOT / "config", target)
    sla = target / "sla.yaml"
    sla.write_text(
        sla.read_text().replace(
            "  policies:                   # the first policy",
            "  policies:" + EXTRA_POLICY + "                   # the first policy",
            1,
        )
    )
    escalation = target / "escalation.yaml"
    escalation.write_text(escalation.read_text() + EXTRA_RULES)
    templates = target / "templates.yaml"
    templates.write_text(
        templates.read_text()
        + ("  surge-alert: |\n    Many {{ ticket.category }} tickets: {{ ticket.key }} is one.\n")
    )
    return target


def run(config: Path, tmp_path: Path, text: str) -> dict[str, Any]:
    policy = load_config(config).policy
    path = tmp_path / "t.yaml"
    path.write_text(text)
    tl = load_timeline(path)
    return result_json(simulate(policy, tl.tickets, tl.events, tl.until), tl.ids)


def test_sla_policy_is_chosen_per_ticket_first_match_wins(extended: Path, tmp_path: Path) -> None:
    r = run(
        extended,
        tmp_path,
        """
until: 2026-03-07T12:00:00Z
tickets:
  - {id: ENT, created_at: 2026-03-07T09:00:00Z, priority: high, customer_tier: enterprise}
  - {id: STD, created_at: 2026-03-07T09:00:00Z, priority: high, customer_tier: standard}
""",
    )
    # Saturday: the enterprise policy runs 24x7 (30 min); the standard one waits for Monday
    assert r["tickets"]["ENT"]["sla"]["first_response"]["breached_at"] == "2026-03-07T09:30:00Z"
    assert r["tickets"]["STD"]["sla"]["first_response"]["due"] == "2026-03-09T13:00:00Z"


def test_minutes_left_and_percent_elapsed(extended: Path, tmp_path: Path) -> None:
    r = run(
        extended,
        tmp_path,
        """
until: 2026-03-09T17:00:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: high}
""",
    )
    # first response 4 h -> 13:00; 30 min left at 12:30. Resolution 24 h: 50% is 12 h of
    # business time, past the end of this timeline
    assert pick(r, rule="nearly-due")[0]["at"] == "2026-03-09T12:30:00Z"
    assert not pick(r, rule="half-way")


def test_group_reassignments_count_changes_of_group(extended: Path, tmp_path: Path) -> None:
    r = run(
        extended,
        tmp_path,
        """
until: 2026-03-09T10:00:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: low, group: Support}
events:
  - {at: 2026-03-09T09:10:00Z, ticket: T, set: {group: Billing}}
  - {at: 2026-03-09T09:20:00Z, ticket: T, set: {group: Support}}
""",
    )
    assert [a["at"] for a in pick(r, rule="ping-pong")] == ["2026-03-09T09:20:00Z"]


def test_surge_of_one_category_across_sources(extended: Path, tmp_path: Path) -> None:
    r = run(
        extended,
        tmp_path,
        """
until: 2026-03-09T10:00:00Z
tickets:
  - {id: A, system: zendesk, created_at: 2026-03-09T09:00:00Z, priority: low, category: outage}
  - {id: B, system: jira, created_at: 2026-03-09T09:04:00Z, priority: low, category: outage}
  - {id: C, system: hubspot, created_at: 2026-03-09T09:09:00Z, priority: low, category: outage}
  - {id: D, system: hubspot, created_at: 2026-03-09T09:30:00Z, priority: low, category: outage}
""",
    )
    assert {a["ticket"] for a in pick(r, rule="surge", kind="add_labels")} == {"C"}
    assert pick(r, rule="surge", kind="notify")[0]["channel"] == "team-lead"


def test_not_and_labels_and_assign_user(extended: Path, tmp_path: Path) -> None:
    r = run(
        extended,
        tmp_path,
        """
until: 2026-03-09T10:00:00Z
tickets:
  - {id: VIP, created_at: 2026-03-09T09:00:00Z, priority: low, category: account, labels: [vip]}
  - {id: BILL, created_at: 2026-03-09T09:00:00Z, priority: low, category: billing, labels: [vip]}
""",
    )
    assert [(a["ticket"], a["kind"]) for a in pick(r, rule="not-billing")] == [
        ("VIP", "set_priority"),
        ("VIP", "assign"),
    ]
    assert pick(r, rule="not-billing", kind="assign")[0]["user"] == "duty-manager"


def test_only_criteria_that_read_the_level_are_asked_again_after_one_is_reached() -> None:
    """The planner re-asks, after a level is reached in the same plan, only the rules whose
    criterion can change with the level: these must say so, and an unknown one is assumed to."""
    from engine.criteria import (
        AllOf,
        AnyOf,
        Between,
        Criterion,
        FieldIn,
        NoneOf,
        Recurrence,
        Requested,
        SlaBreached,
    )
    from engine.model import TargetName

    level = Between("level", at_least=2)
    assert level.reads_level
    assert Requested(2, {"": {"escalate-l2": 2}}).reads_level
    assert AllOf((FieldIn("category", frozenset({"technical"})), level)).reads_level
    assert AnyOf((Recurrence(86400, 2), NoneOf(level))).reads_level
    assert not Between("affected_users", at_least=50).reads_level
    assert not AllOf((FieldIn("priority", frozenset({"urgent"})), Recurrence(86400, 2))).reads_level
    assert not SlaBreached(frozenset(TargetName)).reads_level

    class Custom(Criterion):
        def holds(self, ctx: Any) -> bool:
            return bool(ctx.level > 1)

    assert Custom().reads_level
