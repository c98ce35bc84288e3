"""``escalator run``: the scheduler around the one cycle, the HTTP surface, HA and reloads.

APScheduler jobs poll each source at its interval; a clock job is set for the exact instant the
next time-based rule falls due (re-set after every cycle), so an SLA escalation is written
within seconds of its due time. Webhooks trigger an immediate re-read of the named tickets.
With a shared store, a lease makes exactly one process active; the others wait to take over.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import ConnectorError
from escalator.config import ConfigError, Problem, load_config
from escalator.config.yamlsource import config_files
from escalator.cycle import CycleReport, Sidecar
from escalator.digest import DigestJobs
from escalator.health import poll_freshness
from escalator.sources import build_sources, source_problems

LEASE_NAME = "escalator-active"


class Runner:
    def __init__(
        self,
        sidecar: Sidecar,
        *,
        config_path: Path | None = None,
        lease_ttl: float = 10.0,
        lease_every: float = 2.0,
        reload_every: float = 2.0,
        on_report: Callable[[CycleReport], None] | None = None,
    ) -> None:
        self.sidecar = sidecar
        self.config_path = config_path
        # ESCALATOR_INSTANCE (e.g. the pod's name) lets a restarted process take its own
        # lease back at once instead of waiting for it to expire
        self.holder = os.environ.get("ESCALATOR_INSTANCE") or (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self.lease_ttl = lease_ttl
        self.lease_every = lease_every
        self.reload_every = reload_every
        self.on_report = on_report
        self.started = sidecar.clock()
        self.active = False
        # (since, why) while the store refuses reads or writes; cleared by a good cycle
        self.store_failure: tuple[datetime, str] | None = None
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": 3600,
            },
        )
        self._mtimes = self._config_mtimes()
        self.config_rejected: tuple[datetime, list[Problem]] | None = None  # since, why
        self._stopping = threading.Event()
        # tickets named by webhooks, not yet re-read: one job drains them all, so a burst of
        # deliveries costs a few cycles, not one full re-plan each
        self._hooked: dict[str, set[str]] = {}
        self._hooked_lock = threading.Lock()
        # the lease has a thread of its own: busy jobs must never starve its renewal
        self._lease_thread = threading.Thread(target=self._hold_lease, name="lease", daemon=True)
        sidecar.set_write_guard(lambda: self.active and not self._stopping.is_set())
        self.digests = DigestJobs(self._scheduler, sidecar, sidecar.may_write)

    # -- life -------------------------------------------------------------------------------
    def start(self) -> None:
        s = self._scheduler
        if self.config_path is not None:
            s.add_job(self._watch_config, "interval", seconds=self.reload_every, id="reload")
        self._schedule_polls()
        # quarantined records are fetched again hourly, and after each reload (see reload)
        s.add_job(self._retry_quarantined, "interval", hours=1, id="quarantine")
        self.digests.arm()  # the reviews of open escalations, each at its next instant
        s.start()
        self._lease_thread.start()
        self.sidecar.log.info(
            "run.started", holder=self.holder, sources=sorted(self.sidecar.sources)
        )

    def stop(self, timeout: float = 8.0) -> None:
        """Finish the write in flight (cycles are short), stop the jobs, give up the lease."""
        self._stopping.set()
        done = threading.Event()

        def shutdown() -> None:
            self._scheduler.shutdown(wait=True)
            done.set()

        threading.Thread(target=shutdown, daemon=True).start()
        self._lease_thread.join(timeout=2)
        if not done.wait(timeout):
            self.sidecar.log.warning("run.stop_timeout", seconds=timeout)
        if self.active:
            self.sidecar.store.release_lease(LEASE_NAME, self.holder)
            self.active = False
        self.sidecar.log.info("run.stopped", holder=self.holder)

    # -- jobs -------------------------------------------------------------------------------
    def _schedule_polls(self) -> None:
        for job in self._scheduler.get_jobs():
            if job.id.startswith("poll:"):
                job.remove()
        for name, source in self.sidecar.sources.items():
            self._scheduler.add_job(
                self._poll,
                "interval",
                seconds=source.poll_interval,
                args=[name],
                id=f"poll:{name}",
                next_run_time=datetime.now(UTC),
            )

    def _hold_lease(self) -> None:
        while not self._stopping.is_set():
            self._lease_tick()
            self._stopping.wait(self.lease_every)

    def _lease_tick(self) -> None:
        if self._stopping.is_set():
            return
        store = self.sidecar.store
        try:
            now = self.sidecar.clock()
            held = store.acquire_lease(LEASE_NAME, self.holder, self.lease_ttl, now)
        except Exception as exc:  # the store is unreachable: stand down until it is back
            self.sidecar.log.error("lease.error", error=str(exc))
            held = False
        if held and not self.active:
            self.active = True
            self.sidecar.log.info("lease.acquired", holder=self.holder)
            # the first cycle runs as a job: this thread must keep renewing the lease meanwhile
            self._scheduler.add_job(
                self._run_cycle,
                kwargs={"pull": True, "takeover": True},
                id="takeover",
                replace_existing=True,
            )
        elif not held and self.active:
            self.active = False
            self.sidecar.log.warning("lease.lost", holder=self.holder)

    def _poll(self, name: str) -> None:
        if not self.active or self._stopping.is_set():
            return
        try:
            self.sidecar.poll(name)
        except ConnectorError:
            return  # logged and counted by the sidecar; the next interval tries again
        except SQLAlchemyError as exc:  # the store failed: not ready until a cycle succeeds
            self._store_failed(exc)
            return
        self._run_cycle(pull=False)

    def _retry_quarantined(self) -> None:
        if not self.active or self._stopping.is_set():
            return
        try:
            released = self.sidecar.retry_quarantined()
        except Exception as exc:  # a store or API fault: the next hour tries again
            self.sidecar.log.error("quarantine.retry_failed", error=str(exc))
            return
        if released:
            self._run_cycle(pull=False)

    def _clock(self) -> None:
        if self.active and not self._stopping.is_set():
            self._run_cycle(pull=False)

    def _run_cycle(self, *, pull: bool, takeover: bool = False) -> None:
        try:
            if takeover:  # a shared store holds tickets the previous holder pulled, not we
                self.sidecar.learn_owners()
            report = self.sidecar.cycle(pull=pull)
        except SQLAlchemyError as exc:
            self._store_failed(exc)
            return
        except Exception as exc:  # one bad cycle must not stop the scheduler
            self.sidecar.log.error("cycle.failed", error=str(exc), error_type=type(exc).__name__)
            return
        self.store_failure = None
        self._arm_clock(report.next_due)
        if self.on_report is not None:
            self.on_report(report)

    def _store_failed(self, exc: SQLAlchemyError) -> None:
        """Disk full, a locked file, a restarting server: what was not recorded is not
        taken as done (the ledger's pending entries are resolved once the store is back),
        and /readyz says so meanwhile. The next job tries again: no crash loop."""
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        since = self.store_failure[0] if self.store_failure else self.sidecar.clock()
        self.store_failure = (since, detail)
        self.sidecar.log.error("store.failed", error=detail)

    def _arm_clock(self, due: datetime | None) -> None:
        """Wake at the instant the next time-based rule falls due."""
        if due is None or self._stopping.is_set():
            return
        # a second late at most: the cycle plans at the wall clock, which must be past the due
        # the scheduler runs on the wall clock (the app's clock is the wall clock but in tests)
        at = max(due, datetime.now(UTC)) + timedelta(milliseconds=50)
        job = self._scheduler.get_job("clock")
        if job is not None and job.next_run_time is not None and job.next_run_time <= at:
            return
        self._scheduler.add_job(self._clock, "date", run_date=at, id="clock", replace_existing=True)

    def on_webhook(self, source: str, ticket_ids: Sequence[str]) -> None:
        """Re-read the named tickets and act now, off the HTTP thread."""
        if self._stopping.is_set():
            return
        with self._hooked_lock:
            self._hooked.setdefault(source, set()).update(ticket_ids)
        self._scheduler.add_job(self._drain_webhooks)

    def _drain_webhooks(self) -> None:
        with self._hooked_lock:
            hooked, self._hooked = self._hooked, {}
        if not hooked or not self.active:
            return  # drained by an earlier job; or standby, where polling is the safety net
        for source, ticket_ids in hooked.items():
            if source in self.sidecar.sources:
                self.sidecar.refresh(source, sorted(ticket_ids))
        self._run_cycle(pull=False)

    # -- config reload ----------------------------------------------------------------------
    def _config_mtimes(self) -> dict[str, float]:
        if self.config_path is None or not self.config_path.exists():
            return {}
        return {str(p): p.stat().st_mtime for p in config_files(self.config_path)}

    def _watch_config(self) -> None:
        mtimes = self._config_mtimes()
        if mtimes != self._mtimes:
            self._mtimes = mtimes
            self.reload()

    def reload(self) -> bool:
        """Apply a changed config if it is valid; otherwise keep running on the old one, log
        each problem with its position, count it and show it on /readyz until a good edit."""
        if self.config_path is None:
            return False
        log = self.sidecar.log
        try:
            config = load_config(self.config_path)
            problems = config.secret_problems() + source_problems(config)
            if problems:
                raise ConfigError(problems)
            sources = build_sources(config)
        except ConfigError as exc:
            self._reject(exc.problems)
            return False
        except Exception as exc:  # a last guard: no edit may stop the service
            where = str(self.config_path)
            self._reject([Problem(where, 1, 1, f"{type(exc).__name__}: {exc}")])
            return False
        self.sidecar.reconfigure(config, sources)  # a poll in flight finishes first
        self._schedule_polls()
        self.digests.arm()
        # a fixed mapping may make quarantined records readable: try them now
        self._scheduler.add_job(self._retry_quarantined, id="quarantine-reload")
        self.config_rejected = None
        if config.warnings:
            log.warning("config.warnings", warnings=[str(w) for w in config.warnings])
        log.info("config.reloaded", version=config.policy.version)
        return True

    def _reject(self, problems: Sequence[Problem]) -> None:
        errors = [p for p in problems if p.severity == "error"] or list(problems)
        if self.config_rejected is None:
            self.config_rejected = (self.sidecar.clock(), errors)
        else:
            self.config_rejected = (self.config_rejected[0], errors)
        self.sidecar.metrics.config_reload_rejected.inc()
        self.sidecar.log.error(
            "config.rejected",
            problems=[str(p) for p in problems],
            kept=self.sidecar.config.policy.version,
        )

    # -- readiness --------------------------------------------------------------------------
    def readiness(self) -> dict[str, dict[str, object]]:
        now = self.sidecar.clock()
        checks: dict[str, dict[str, object]] = {
            "config": {"ok": True, "version": self.sidecar.config.policy.version}
        }
        if self.config_rejected is not None:  # still serving on the old config: ready
            since, problems = self.config_rejected
            checks["config"]["detail"] = f"rejected since {since.isoformat()}"
            checks["config"]["problems"] = [str(p) for p in problems]
        try:
            checks["store"] = {"ok": self.sidecar.store.ping()}
        except Exception as exc:
            checks["store"] = {"ok": False, "detail": type(exc).__name__}
        if self.store_failure is not None:
            since, why = self.store_failure
            checks["store"] = {"ok": False, "detail": f"failing since {since.isoformat()}: {why}"}
        if self.active:
            try:
                polls = self.sidecar.last_successful_polls()
            except SQLAlchemyError:  # the store check above says why
                polls = dict.fromkeys(self.sidecar.sources)
            for name, last in polls.items():
                interval = self.sidecar.sources[name].poll_interval
                checks[f"source:{name}"] = poll_freshness(
                    last, interval, self.started, now, self.sidecar.poll_failures.get(name)
                )
        else:
            checks["lease"] = {"ok": True, "detail": "standby: another process is active"}
        return checks
