"""PostgreSQL restarting under the running sidecar: while it is down the job fails (no crash
loop), /readyz says the store is failing, and nothing is recorded as applied unless it was;
once it is back, everything due is written, each write once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import ActionResult, ActionStatus, PullResult
from connectors.retry import RetryPolicy
from engine.model import Action, Priority, Status, Ticket, apply_action
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.runner import Runner
from escalator.sources import Source
from escalator.store import open_store
from pg import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 9, 11, 0, 5, tzinfo=UTC)  # a high ticket from Friday 15:00 breached


class Helpdesk:
    def __init__(self) -> None:
        self.ticket = Ticket(
            "zendesk", "1", datetime(2026, 3, 6, 15, tzinfo=UTC),
            datetime(2026, 3, 6, 15, tzinfo=UTC), Status.OPEN, Priority.HIGH,
            title="Cannot log in", organization="Acme", category="account",
        )  # fmt: skip
        self.applied: list[str] = []

    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        return PullResult(tickets=(self.ticket,), cursor="c")

    def fetch(self, ticket_id: str) -> Ticket:
        return self.ticket

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        for action in actions:
            self.ticket = apply_action(self.ticket, action)
            self.applied.append(action.key)
        return [ActionResult(a.key, ActionStatus.APPLIED) for a in actions]

    def verify_webhook(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


def test_postgresql_restarting_loses_nothing_and_writes_nothing_twice(
    postgres_server: PostgresServer, fresh_postgres_url: str
) -> None:
    helpdesk = Helpdesk()
    store = open_store(fresh_postgres_url)
    source = Source("zendesk", "zendesk", 60, helpdesk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
    car = Sidecar(
        load_config(ROOT / "config"), store, {"zendesk": source},
        log=EventLog(level="error"), clock=lambda: NOW,
    )  # fmt: skip
    runner = Runner(car)
    runner.active = True  # as if it held the lease; the test runs the jobs
    runner._scheduler.start(paused=True)
    try:
        postgres_server.halt()
        try:
            for _ in range(3):  # the scheduler's job runs and fails, again and again
                runner._run_cycle(pull=True)
            assert helpdesk.applied == []  # nothing begun in the ledger, so nothing written
            checks = runner.readiness()
            assert checks["store"]["ok"] is False
        finally:
            postgres_server.resume()
        runner._run_cycle(pull=True)
        assert helpdesk.applied
        runner._run_cycle(pull=True)
        assert len(helpdesk.applied) == len(set(helpdesk.applied))  # none twice
        assert runner.readiness()["store"]["ok"] is True
        assert store.pending() == []
        assert {a.key for a in store.applied("zendesk:1")} >= set(helpdesk.applied)
    finally:
        runner._scheduler.shutdown(wait=False)
        store.close()
