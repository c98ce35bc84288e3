"""Kill -9 `escalator run` twenty times during busy cycles: every write still lands once.

The emulators hold a few hundred escalations that are all due at once. The sidecar is killed
at seeded random moments, most of them a split second after its first write of the run, so
kills land between the ledger's begin and finish. A last run settles; then the helpdesks must
show exactly what a clean run on an identically seeded world shows.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from escalator.demo import DemoWorld
from escalator.runner import LEASE_NAME
from escalator.store import open_store
from tests.e2e.sidecar_process import SidecarProcess, e2e_config
from tests.ports import free_port

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow

if TYPE_CHECKING:
    from tests.e2e.busy_day import BusyDay

KILLS = 20
SEED = 4  # the kill moments are random, but the same on every run of the test


def events_of(process: SidecarProcess, name: str) -> int:
    return sum(1 for e in process.events() if e["event"] == name)


def wait_until_writing(process: SidecarProcess, timeout: float = 20.0) -> bool:
    """True at the run's first write; False once it pulled everything and wrote nothing."""
    deadline = time.monotonic() + timeout
    pulled_at: float | None = None
    while time.monotonic() < deadline:
        assert process.proc is not None
        assert process.proc.poll() is None, process.log_path.read_text()[-3000:]
        if events_of(process, "action"):
            return True
        if pulled_at is None and events_of(process, "poll.done") >= 3:
            pulled_at = time.monotonic()
        if pulled_at is not None and time.monotonic() - pulled_at > 1.0:
            return False  # the cycle after the pull planned nothing
        time.sleep(0.01)
    raise AssertionError(f"no cycle within {timeout} s:\n{process.log_path.read_text()[-3000:]}")


def test_kill_9_during_busy_cycles_applies_everything_once(
    busy_day: BusyDay, quiet_world: DemoWorld, tmp_path: Path
) -> None:
    world = quiet_world
    ids = busy_day.seed(world)
    config = e2e_config(tmp_path / "config", poll_interval="30s")
    url = f"sqlite:///{tmp_path}/state.db"
    env = {**world.env(), "ESCALATOR_STORE": url}
    rng = random.Random(SEED)

    runs_that_wrote, kills_mid_write, resolved_after_restart = 0, 0, 0
    for run in range(KILLS):
        process = SidecarProcess(config, env, free_port(), tmp_path / f"run-{run:02}.log")
        process.start()
        try:
            if rng.random() < 0.2:
                time.sleep(rng.uniform(0.3, 2.5))  # anywhere: start-up, the pull, the writes
            elif wait_until_writing(process):
                time.sleep(rng.uniform(0.0, 0.15))  # a split second into the writes
        finally:
            process.kill()
        runs_that_wrote += events_of(process, "action") > 0
        resolved_after_restart += events_of(process, "pending.resolved")
        with open_store(url) as store:
            kills_mid_write += bool(store.pending())
            # the process is dead: end its lease now rather than wait out the 10 s TTL
            for holder in {e["holder"] for e in process.events() if e["event"] == "run.started"}:
                store.release_lease(LEASE_NAME, holder)

    # the kills did land where it hurts: between the ledger's begin and its finish
    assert runs_that_wrote >= KILLS // 2, runs_that_wrote
    assert kills_mid_write >= 5, kills_mid_write
    assert resolved_after_restart >= 5, resolved_after_restart

    last = SidecarProcess(config, env, free_port(), tmp_path / "settle.log").start()
    try:
        busy_day.settle(last)
    finally:
        last.stop()
    busy_day.check_applied_once(world, ids, url)
