"""`escalator simulate` as a user runs it: the JSON contract and the readable timeline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def escalator(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "escalator.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def test_json_contract(tmp_path: Path) -> None:
    timeline = tmp_path / "t.yaml"
    timeline.write_text("""
until: 2026-03-10T00:00:00Z
tickets:
  - {id: ZD-1, system: zendesk, created_at: 2026-03-06T15:00:00Z, priority: high, status: new,
     organization: Acme, category: billing, customer_tier: standard, affected_users: 3, labels: []}
events:
  - {at: 2026-03-09T09:30:00Z, ticket: ZD-1, comment: {author: agent, public: true, body: Hi}}
  - {at: 2026-03-09T10:00:00Z, ticket: ZD-1, set: {status: pending}}
""")
    done = escalator("simulate", str(timeline), "--config", str(ROOT / "config"), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["actions"] == []
    assert out["tickets"] == {
        "ZD-1": {
            "level": 0,
            "sla": {
                "first_response": {
                    "due": "2026-03-09T11:00:00Z",
                    "met_at": "2026-03-09T09:30:00Z",
                    "breached_at": None,
                },
                "next_update": {"due": None, "met_at": None, "breached_at": None},
                "resolution": {"due": None, "met_at": None, "breached_at": None},
            },
        }
    }


def test_every_action_has_the_contract_fields() -> None:
    done = escalator("simulate", "examples/timeline.yaml", "--json")
    assert done.returncode == 0, done.stderr
    actions = json.loads(done.stdout)["actions"]
    assert actions
    fields = {
        "set_priority": {"priority"},
        "add_labels": {"labels"},
        "remove_labels": {"labels"},
        "assign": {"group", "user"},
        "comment": {"public", "body"},
        "create_linked_issue": {"system", "project"},
        "notify": {"channel"},
    }
    for action in actions:
        base = {"at", "ticket", "rule", "kind"}
        extra = {"level"} if "level" in action else set()
        assert set(action) == base | fields[action["kind"]] | extra
        assert action["at"].endswith("Z")
        assert len(action["at"]) == 20


def test_readable_timeline() -> None:
    done = escalator("simulate", "examples/timeline.yaml")
    assert done.returncode == 0, done.stderr
    assert "Escalation timeline" in done.stdout
    assert "major-impact" in done.stdout
    assert "State at the end" in done.stdout


def test_a_broken_timeline_is_reported_with_its_position(tmp_path: Path) -> None:
    timeline = tmp_path / "t.yaml"
    timeline.write_text("""until: 2026-03-10T00:00:00Z
tickets:
  - {id: A, created_at: 2026-03-06T15:00:00Z, priority: hihg}
events:
  - {at: 2026-03-09T09:30:00Z, ticket: B, set: {status: pending}}
""")
    done = escalator("simulate", str(timeline))
    assert done.returncode == 2
    assert (
        f"{timeline}:3:57: tickets.0.priority: Input should be 'low', 'normal', 'high' or "
        "'urgent'" in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_an_event_on_an_unknown_ticket_is_reported(tmp_path: Path) -> None:
    timeline = tmp_path / "t.yaml"
    timeline.write_text("""until: 2026-03-10T00:00:00Z
tickets:
  - {id: A, created_at: 2026-03-06T15:00:00Z}
events:
  - {at: 2026-03-09T09:30:00Z, ticket: B, set: {status: pending}}
  - {at: 2026-03-09T09:30:00Z, ticket: A, set: {colour: red}}
""")
    done = escalator("simulate", str(timeline))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0] == f"{timeline}:5:40: unknown ticket 'B'"
    assert lines[1].startswith(f"{timeline}:6:49: cannot set 'colour'")
