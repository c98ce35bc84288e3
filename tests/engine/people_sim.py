"""``simulate`` under the shipped config with issue 12's examples switched on (people_config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.codec import format_instant
from engine.model import Notify
from engine.policy import Policy
from engine.simulation import SimulationResult, simulate
from escalator.config import load_config
from escalator.simulate_report import result_json
from escalator.timeline import load_timeline
from tests.people_config import people_config


def people_policy(tmp_path: Path, *, repeat_calendar: str | None = None) -> Policy:
    config = load_config(people_config(tmp_path, repeat_calendar=repeat_calendar))
    assert not config.warnings, [str(w) for w in config.warnings]
    return config.policy


def run_timeline(
    policy: Policy, tmp_path: Path, text: str
) -> tuple[dict[str, Any], SimulationResult]:
    """Replay a timeline (YAML text): the ``--json`` object and the raw result."""
    path = tmp_path / "timeline.yaml"
    path.write_text(text)
    timeline = load_timeline(path)
    result = simulate(policy, timeline.tickets, timeline.events, timeline.until)
    return result_json(result, timeline.ids), result


def notifies(result: SimulationResult) -> list[tuple[str, str, str]]:
    """(at, key after the ticket's, channel) of every notification, in order."""
    return [
        (format_instant(a.at) or "", a.key.split(":", 2)[2], a.channel)
        for a in result.actions
        if isinstance(a, Notify)
    ]
