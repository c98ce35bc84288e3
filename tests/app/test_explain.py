"""`escalator explain` on a simulated timeline: rules fired (when, on what inputs) and not fired
(which condition failed, and the second it would next hold), worked out by hand from the
reference policy (REFERENCE-POLICY.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from escalator.config import load_config
from escalator.explain import ExplainError, explain, resolve_key, story_from_simulation
from escalator.explain_command import parse_instant
from escalator.timeline import load_timeline

ROOT = Path(__file__).resolve().parents[2]

TIMELINE = """
until: 2026-03-10T00:00:00Z
tickets:
  - {id: "7", system: zendesk, title: "Checkout down", created_at: 2026-03-09T10:00:00Z,
     priority: urgent, status: new, organization: Globex, category: technical,
     customer_tier: enterprise, affected_users: 400}
  - {id: "8", system: zendesk, title: "Export slow", created_at: 2026-03-06T16:00:00Z,
     priority: normal, status: new, organization: Initech, category: technical,
     customer_tier: standard}
  - {id: SUP-3, system: jira, title: "Another helpdesk", created_at: 2026-03-06T16:00:00Z,
     priority: low, status: new}
events:
  - {at: 2026-03-09T10:20:00Z, ticket: "7", comment: {author: agent, public: true, body: On it}}
  - {at: 2026-03-09T09:30:00Z, ticket: "8", set: {status: pending}}
  - {at: 2026-03-09T10:30:00Z, ticket: "8", set: {status: open}}
"""


def _explain(tmp_path: Path, key: str, at: str) -> dict[str, Any]:
    path = tmp_path / "timeline.yaml"
    path.write_text(TIMELINE)
    tl = load_timeline(path)
    policy = load_config(ROOT / "config").policy
    now = parse_instant(at)
    story = story_from_simulation(policy, tl.tickets, tl.events, now, key)
    return explain(policy, story, now)


def _rule(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in data["rules"] if r["rule"] == name)


def test_a_fired_rule_says_when_and_on_what_inputs(tmp_path: Path) -> None:
    data = _explain(tmp_path, "zendesk:7", "2026-03-09T10:30:00Z")
    major = _rule(data, "major-impact")
    assert major["fired"] is True
    assert major["fired_at"] == ["2026-03-09T10:00:00Z"]  # urgent + enterprise from creation
    seen = {i["condition"]: (i["holds"], i["seen"]) for i in major["inputs"]}
    assert seen["priority in ['urgent']"] == (True, "priority=urgent")
    assert seen["customer_tier in ['enterprise']"] == (True, "customer_tier=enterprise")
    assert seen["affected_users ≥ 50"] == (True, "affected_users=400")
    assert data["level"] == 3
    # the level's writes, each with its key and result
    results = {a["key"]: a["result"] for a in data["actions"]}
    assert results["zendesk:7:L3:add_labels"] == "written"
    assert results["zendesk:7:L3:remove_labels"] == "already true"  # no level label to remove
    assert all(a["at"] == "2026-03-09T10:00:00Z" for a in data["actions"])
    assert data["people"] == [{"at": "2026-03-09T10:20:00Z", "what": "public reply", "by": "agent"}]


def test_a_rule_not_fired_names_the_failed_condition_and_when_it_would_hold(
    tmp_path: Path,
) -> None:
    data = _explain(tmp_path, "zendesk:7", "2026-03-09T10:30:00Z")
    at_risk = _rule(data, "sla-at-risk")
    assert at_risk["fired"] is False
    assert [c["condition"] for c in at_risk["failed"]] == ["at risk"]
    # next update restarted at the 10:20 reply: 75 % of 2 h (24x7) later is 11:50:00
    assert at_risk["next_at"] == "2026-03-09T11:50:00Z"
    assert _rule(data, "sla-breached")["next_at"] == "2026-03-09T12:20:00Z"
    # resolution: 150 % of 8 h from 10:00 is 22:00:00
    assert _rule(data, "long-breach")["next_at"] == "2026-03-09T22:00:00Z"
    # a condition time alone never makes hold has no next time
    recurring = _rule(data, "recurring-problem")
    assert recurring["next_at"] is None
    assert recurring["failed"][0]["seen"] == "0 other technical tickets from Globex"
    targets = {t["name"]: t for t in data["sla"]["targets"]}
    assert targets["first_response"]["met_at"] == "2026-03-09T10:20:00Z"
    assert targets["first_response"]["percent_used"] == 33  # 20 of 60 minutes
    assert targets["resolution"]["percent_used"] == 6  # 30 of 480 minutes


def test_business_hours_and_paused_spans_count_to_the_second(tmp_path: Path) -> None:
    # normal: 8 business hours to first response, support-hours (Mon–Fri 09–17 London, GMT).
    # First response runs while pending too: Fri 16:00–17:00 is 1 h, so 75 % (6 h) is reached
    # 5 h after Mon 09:00: 14:00:00. Resolution pauses while pending (09:30–10:30).
    data = _explain(tmp_path, "zendesk:8", "2026-03-09T11:00:00Z")
    at_risk = _rule(data, "sla-at-risk")
    assert at_risk["fired"] is False
    assert at_risk["next_at"] == "2026-03-09T14:00:00Z"
    targets = {t["name"]: t for t in data["sla"]["targets"]}
    # first response keeps running while pending; resolution pauses
    assert targets["first_response"]["due"] == "2026-03-09T16:00:00Z"
    assert targets["resolution"]["paused"] == [
        {"from": "2026-03-09T09:30:00Z", "to": "2026-03-09T10:30:00Z", "status": "pending"}
    ]
    assert targets["resolution"]["elapsed_seconds"] == 3600 + 1800 + 1800
    assert data["people"][0] == {
        "at": "2026-03-09T09:30:00Z",
        "what": "status: new → pending",
        "by": "person",
    }
    # by 15:00 it has fired, at 14:00:00 to the second
    later = _explain(tmp_path, "zendesk:8", "2026-03-09T15:00:00Z")
    assert _rule(later, "sla-at-risk")["fired_at"] == ["2026-03-09T14:00:00Z"]
    assert later["level"] == 1


def test_an_id_without_its_system_is_resolved_or_the_choices_listed() -> None:
    keys = ["zendesk:7", "zendesk:8", "jira:8"]
    assert resolve_key("7", keys) == "zendesk:7"
    assert resolve_key("jira:8", keys) == "jira:8"
    with pytest.raises(ExplainError, match="several tickets: jira:8, zendesk:8"):
        resolve_key("8", keys)
    with pytest.raises(ExplainError, match="no ticket '9'"):
        resolve_key("9", keys)


def test_the_command_tells_the_story_in_the_calendar_zone(tmp_path: Path) -> None:
    path = tmp_path / "timeline.yaml"
    path.write_text(TIMELINE)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "escalator.cli", "explain", *args, "--timeline", str(path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
            env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        )

    text = run("7", "--at", "2026-03-09T10:30:00Z")
    assert text.returncode == 0, text.stderr
    assert "✘ sla-at-risk: not fired" in text.stdout
    assert "would hold at Mon 09 Mar 2026 11:50:00 GMT" in text.stdout
    assert "✔ major-impact: fired Mon 09 Mar 2026 10:00:00 GMT" in text.stdout
    missing = run("9", "--json")
    assert missing.returncode == 1
    assert "no ticket '9'" in missing.stderr
    as_json = run("SUP-3", "--json", "--at", "2026-03-09T12:00:00Z")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["ticket"] == "jira:SUP-3"
