from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.policy import Policy
from engine.simulation import simulate
from escalator.config import load_config
from escalator.simulate_report import result_json
from escalator.timeline import load_timeline
from tests.engine.engine_helpers import Sim

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_config(ROOT / "config").policy


@pytest.fixture
def sim(policy: Policy, tmp_path: Path) -> Sim:
    """Replay a timeline (YAML text) under the reference policy; the ``--json`` object."""

    def run(text: str) -> dict[str, Any]:
        path = tmp_path / "timeline.yaml"
        path.write_text(text)
        timeline = load_timeline(path)
        result = simulate(policy, timeline.tickets, timeline.events, timeline.until)
        return result_json(result, timeline.ids)

    return run
