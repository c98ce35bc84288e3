"""``run`` decides what ``simulate`` decides: the demo world through both, instant by instant.

The demo's support day is seeded into the three emulators. ``simulate`` replays it with exact,
event-driven time and stamps each action at the second its rule first holds. The sidecar's own
cycle (pull through the emulators' HTTP APIs, plan, write back) is then run at each of those
instants with its clock set there. Both must decide the same actions at the same instants,
including those a decision makes hold at the very same second (a breach raises a ticket to
urgent, which makes the major-impact rule hold for an enterprise customer): a cycle that
planned only once per instant would leave those to a later poll.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sidecar_process import ROOT

from connectors.base import ActionStatus
from engine.codec import format_instant
from engine.simulation import simulate
from escalator.app import open_sidecar
from escalator.config import load_config
from escalator.demo import DemoWorld
from escalator.store import open_store


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    try:
        yield world
    finally:
        world.stop()


def test_sync_at_each_instant_decides_what_simulate_decides(
    world: DemoWorld, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    world.seed(now)
    config = load_config(ROOT / "config")
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    with open_sidecar(config, world.env(), store=store) as sidecar:
        sidecar.clock = lambda: now
        for name in sidecar.sources:
            sidecar.poll(name)
        pulled = store.load_tickets()
        assert len(pulled) == 12

        expected = simulate(config.policy, pulled, [], until=now)
        instants = sorted({a.at for a in (*expected.actions, *expected.satisfied)})
        assert len(instants) > 5  # a day of escalations, not a single instant

        written: set[tuple[str, str]] = set()
        for instant in instants:
            sidecar.clock = lambda instant=instant: instant
            report = sidecar.cycle()
            assert not report.failed_sources
            for action, result in report.written:
                assert result.status is ActionStatus.APPLIED, (action.key, result.detail)
                written.add((action.key, _stamp(action.at)))
        recorded = {
            (a.key, _stamp(a.at))
            for actions in store.applied_by_ticket().values()
            for a in actions
        } - written

    assert written == {(a.key, _stamp(a.at)) for a in expected.actions}
    assert recorded == {(a.key, _stamp(a.at)) for a in expected.satisfied}
    # the same-instant chain the parity is about is in this world
    assert any(a.rule == "major-impact" for a in expected.actions)
    store.close()


def _stamp(instant: datetime) -> str:
    return format_instant(instant) or ""
