"""PostgreSQL restarting under the running sidecar: while it is down the job fails (no crash
loop), /readyz says the store is failing, and nothing is recorded as applied unless it was;
once it is back, everything due is written, each write once."""

from __future__ import annotations

from pathlib import Path

from connectors.retry import RetryPolicy
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.runner import Runner
from escalator.sources import Source
from escalator.store import open_store
from tests.fakes import BREACHED_AT as NOW
from tests.fakes import HIGH_TICKET, StandInHelpdesk
from tests.pg import PostgresServer

ROOT = Path(__file__).resolve().parents[2]


def test_postgresql_restarting_loses_nothing_and_writes_nothing_twice(
    postgres_server: PostgresServer, fresh_postgres_url: str
) -> None:
    helpdesk = StandInHelpdesk(HIGH_TICKET)
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
