"""Two `escalator run` processes on one PostgreSQL store: one active, one standing by.

The lease makes exactly one process active; the standby writes nothing. The active one is
killed with -9 in the middle of a busy day's writes; the standby takes over within 15 s, settles
what was in flight, and finishes the day without writing anything twice.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from escalator.demo import DemoWorld
from escalator.store import open_store
from tests.e2e.sidecar_process import SidecarProcess, e2e_config, wait_for
from tests.ports import free_port

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow

if TYPE_CHECKING:
    from tests.e2e.busy_day import BusyDay

TAKEOVER_WITHIN = 15.0  # seconds: lease TTL 10 s + one 2 s lease tick, with room to spare


def events_of(process: SidecarProcess, name: str) -> list[dict[str, Any]]:
    return [e for e in process.events() if e["event"] == name]


def stamp(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))


def test_standby_takes_over_from_a_killed_active_and_nothing_is_applied_twice(
    busy_day: BusyDay, quiet_world: DemoWorld, fresh_postgres_url: str, tmp_path: Path
) -> None:
    world = quiet_world
    config = e2e_config(tmp_path / "config", poll_interval="1s")  # new tickets show up at once
    env = {**world.env(), "ESCALATOR_STORE": fresh_postgres_url}
    first = SidecarProcess(config, env, free_port(), tmp_path / "first.log").start()
    second = SidecarProcess(config, env, free_port(), tmp_path / "second.log").start()
    try:
        first.wait_healthy()
        second.wait_healthy()

        # exactly one is active, and stays so over more lease ticks (every 2 s)
        wait_for(
            lambda: events_of(first, "lease.acquired") or events_of(second, "lease.acquired"), 10
        )
        time.sleep(2.5)
        active, standby = (first, second) if events_of(first, "lease.acquired") else (second, first)
        assert len(events_of(active, "lease.acquired")) == 1
        assert events_of(standby, "lease.acquired") == []
        ready, waiting = active.get("/readyz"), standby.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert waiting.status_code == 200, waiting.text
        assert {"source:zendesk", "source:jira", "source:hubspot"} <= set(ready.json()["checks"])
        assert "lease" not in ready.json()["checks"]
        assert waiting.json()["checks"]["lease"]["detail"].startswith("standby")
        assert not any(k.startswith("source:") for k in waiting.json()["checks"])

        # a busy day arrives; the active one picks it up at its next poll and is killed mid-way
        ids = busy_day.seed(world)
        wait_for(lambda: len(events_of(active, "action")) >= 30, 20, 0.01)
        with open_store(fresh_postgres_url) as store:
            wait_for(store.pending, 5, 0.001)  # aim the kill between a begin and its finish
            active.kill()
            killed_at = datetime.now().astimezone()
            in_flight = len(store.pending())
        written_by_active = len(events_of(active, "action"))
        assert events_of(standby, "action") == [], "the standby wrote while it was standing by"

        # the standby takes over within 15 s of the kill and finishes the day
        wait_for(lambda: events_of(standby, "lease.acquired"), TAKEOVER_WITHIN + 5, 0.05)
        (acquired,) = events_of(standby, "lease.acquired")
        took = (stamp(acquired) - killed_at).total_seconds()
        assert 0 < took < TAKEOVER_WITHIN, took
        busy_day.settle(standby)
    finally:
        first.stop()
        second.stop()

    events = [e["event"] for e in standby.events()]
    assert "action" not in events[: events.index("lease.acquired")]
    # the kill did leave work: the standby wrote it, and settled any write left in flight
    assert len(events_of(standby, "action")) > 0, written_by_active
    assert len(events_of(standby, "pending.resolved")) == in_flight

    busy_day.check_applied_once(world, ids, fresh_postgres_url)
