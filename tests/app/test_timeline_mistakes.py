"""Timeline mistakes `simulate` used to crash on are ``file:line:column`` and exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from escalator.cli import app

ROOT = Path(__file__).resolve().parents[2]
TIMELINE = """\
until: {until}
tickets:
  - {{id: A, created_at: {created}, priority: high}}
events:
  - {{at: 2026-03-09T11:00:00Z, ticket: A, set: {changes}}}
"""


def simulate(tmp_path: Path, **parts: str) -> tuple[int, list[str]]:
    values = {"until": "2026-03-12T00:00:00Z", "created": "2026-03-09T10:00:00Z"}
    values["changes"] = "{status: open}"
    values.update(parts)
    path = tmp_path / "timeline.yaml"
    path.write_text(TIMELINE.format(**values))
    result = CliRunner().invoke(app, ["simulate", str(path), "--config", str(ROOT / "config")])
    assert "Traceback" not in result.output
    return result.exit_code, [line.removeprefix(f"{path}:") for line in result.output.splitlines()]


def test_values_a_person_sets_are_checked_where_they_are_written(tmp_path: Path) -> None:
    code, lines = simulate(
        tmp_path, changes="{status: bogus, labels: 5, affected_users: many, title: ok}"
    )
    assert code == 2
    assert lines == [
        "5:57: events.0.set.status: Input should be 'new', 'open', 'pending', 'on_hold', "
        "'solved' or 'closed'",
        "5:72: events.0.set.labels: Input should be a valid list",
        "5:91: events.0.set.affected_users: Input should be a valid integer, unable to parse "
        "string as an integer",
    ]


def test_instants_the_calendars_cannot_place(tmp_path: Path) -> None:
    code, lines = simulate(tmp_path, until="9999-12-31T00:00:00Z", created="0001-01-02T10:00:00Z")
    assert code == 2
    assert lines == [
        "1:8: until: 9999-12-31 is outside the years 1972-2189 a timeline may use",
        "3:25: tickets.0.created_at: 0001-01-02 is outside the years 1972-2189 a timeline may use",
    ]


def test_a_replay_of_a_decade(tmp_path: Path) -> None:
    code, lines = simulate(tmp_path, until="2036-03-12T00:00:00Z")
    assert code == 2
    assert lines == [
        "1:8: until: the timeline spans 3,655 days from its first ticket; at most 1,098"
    ]
    assert simulate(tmp_path)[0] == 0  # and the same timeline over three days replays
