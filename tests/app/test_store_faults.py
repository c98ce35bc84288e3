"""Store faults under the running sidecar: a locked SQLite file and a full disk.

Nothing is recorded as applied unless it was, nothing is written twice once the store is back,
the scheduler's job survives (no crash loop), and ``/readyz``'s store check is false meanwhile.
SQLite's own errors are used: another connection holding an exclusive lock ("database is
locked") and ``PRAGMA max_page_count`` ("database or disk is full").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from connectors.base import ActionResult
from connectors.retry import RetryPolicy
from engine.model import Action, Ticket
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.runner import Runner
from escalator.sources import Source
from escalator.store import connect, open_store
from tests.fakes import BREACHED_AT as NOW
from tests.fakes import HIGH_TICKET as TICKET
from tests.fakes import StandInHelpdesk

ROOT = Path(__file__).resolve().parents[2]


class Helpdesk(StandInHelpdesk):
    """Keeps what was written to it; ``during_write`` runs inside each write (the fault)."""

    def __init__(self) -> None:
        super().__init__(TICKET)
        self.during_write: list[object] = []

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        results = super().apply(ticket, actions)
        for fault in self.during_write:
            fault()  # type: ignore[operator]
        return results


@pytest.fixture
def quick_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect, "BUSY_TIMEOUT_MS", 200)  # "locked" in 0.2 s, not 10


@pytest.fixture
def sidecar(tmp_path: Path, quick_lock: None) -> Iterator[tuple[Sidecar, Helpdesk, Runner]]:
    helpdesk = Helpdesk()
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    source = Source("zendesk", "zendesk", 60, helpdesk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
    car = Sidecar(
        load_config(ROOT / "config"),
        store,
        {"zendesk": source},
        log=EventLog(level="error"),
        clock=lambda: NOW,
    )
    runner = Runner(car)
    runner.active = True  # as if it held the lease; the jobs below are run by the test
    runner._scheduler.start(paused=True)
    yield car, helpdesk, runner
    runner._scheduler.shutdown(wait=False)
    store.close()


def _store_ready(runner: Runner) -> bool:
    return bool(runner.readiness()["store"]["ok"])


def test_a_locked_store_writes_nothing_then_everything_once(
    sidecar: tuple[Sidecar, Helpdesk, Runner], tmp_path: Path
) -> None:
    _, helpdesk, runner = sidecar
    locker = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    runner._run_cycle(pull=True)  # the job the scheduler runs: it must not raise
    assert helpdesk.applied == []  # nothing begun in the ledger, so nothing written
    assert not _store_ready(runner)
    assert "locked" in str(runner.readiness()["store"]["detail"])
    locker.execute("ROLLBACK")
    locker.close()

    runner._run_cycle(pull=True)
    assert helpdesk.applied
    assert _store_ready(runner)
    runner._run_cycle(pull=True)
    assert len(helpdesk.applied) == len(set(helpdesk.applied))  # none twice


def test_a_store_that_stops_taking_writes_mid_write_never_writes_twice(
    sidecar: tuple[Sidecar, Helpdesk, Runner],
) -> None:
    """The write lands in the helpdesk, then the store refuses to record it (SQLite's
    "attempt to write a readonly database", as when a failing disk is remounted read-only)."""
    car, helpdesk, runner = sidecar
    engine = car.store._engine

    def read_only(dbapi: sqlite3.Connection, _: object) -> None:
        dbapi.execute("PRAGMA query_only=1")

    def disk_fails() -> None:
        event.listen(engine, "connect", read_only)
        engine.dispose()  # every connection from now on is read-only
        helpdesk.during_write.clear()

    helpdesk.during_write.append(disk_fails)
    for _ in range(3):  # the write lands, its record does not: the job survives each time
        runner._run_cycle(pull=True)
    written_once = list(helpdesk.applied)
    assert written_once
    assert not _store_ready(runner)
    assert "readonly" in str(runner.readiness()["store"]["detail"])

    event.remove(engine, "connect", read_only)
    engine.dispose()
    pending = {a.key for a in car.store.pending()}
    # begun, never recorded as applied (the chat notice was begun too, and not sent)
    assert set(written_once) <= pending
    assert not ({a.key for a in car.store.applied("zendesk:1")} & pending)
    runner._run_cycle(pull=True)  # pending entries resolved by reading the ticket back
    runner._run_cycle(pull=True)
    assert _store_ready(runner)
    assert car.store.pending() == []
    assert len(helpdesk.applied) == len(set(helpdesk.applied))  # nothing written twice
    assert set(written_once) <= set(helpdesk.applied)


def test_a_full_disk_mid_write_never_writes_twice(
    sidecar: tuple[Sidecar, Helpdesk, Runner],
) -> None:
    """The write lands in the helpdesk, then the disk is full (SQLite's "database or disk is
    full": the file may not grow and its pages are full) and the store cannot record it."""
    car, helpdesk, runner = sidecar
    engine = car.store._engine

    def no_growth(dbapi: sqlite3.Connection, _: object) -> None:
        pages = dbapi.execute("PRAGMA page_count").fetchone()[0]
        dbapi.execute(f"PRAGMA max_page_count={pages}")

    def disk_fills() -> None:
        event.listen(engine, "connect", no_growth)
        engine.dispose()
        # what room is left in the pages goes to other writers: the audit log fills it
        for filler in range(100_000):
            try:
                car.store.audit(None, "filler", {"n": filler, "pad": "x" * 200}, NOW)
            except OperationalError:
                break
        else:
            raise AssertionError("the store never filled up")
        helpdesk.during_write.clear()

    helpdesk.during_write.append(disk_fills)
    for _ in range(3):  # the write lands, its record does not: the job survives each time
        runner._run_cycle(pull=True)
    written_once = list(helpdesk.applied)
    assert written_once
    assert not _store_ready(runner)
    assert "full" in str(runner.readiness()["store"]["detail"])

    event.remove(engine, "connect", no_growth)
    engine.dispose()
    runner._run_cycle(pull=True)  # room again: pending entries resolved by reading back
    runner._run_cycle(pull=True)
    assert _store_ready(runner)
    assert car.store.pending() == []
    assert len(helpdesk.applied) == len(set(helpdesk.applied))  # nothing written twice
    assert set(written_once) <= set(helpdesk.applied)
