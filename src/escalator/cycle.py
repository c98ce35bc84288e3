"""The one poll → plan → apply cycle behind ``plan``, ``sync --once`` and ``run``.

Three parts: the ticket cache (``ticketcache``: tickets, memories, owners), the writer
(``writer``: begin, apply, finish, crash recovery) and this thin cycle, which pulls, plans
each ticket by its own policy version and settles the plan at one instant.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from connectors.errors import ConnectorError, MalformedRecord, NotFoundError
from engine.calendar import from_epoch, to_epoch
from engine.codec import format_instant
from engine.criteria import Population
from engine.model import Action, LinkedIssue, Plan, Ticket, TicketPlan, apply_action
from engine.planner import Memory
from engine.planner import plan as plan_tickets
from engine.queue import PlanQueue
from engine.settle import UnsettledError, settle
from escalator.clock import Clock, utc_now
from escalator.config import Config
from escalator.gcpause import collector_paused
from escalator.logs import EventLog
from escalator.metrics import Metrics
from escalator.notify.follow import follow_ups, open_pages
from escalator.policies import PolicyBook
from escalator.sources import Source
from escalator.store import StateStore
from escalator.ticketcache import TicketCache
from escalator.tokens import StoredTokens
from escalator.writer import CycleReport, NotificationSender, Writer

__all__ = ["FIRST_PULL_LOOKBACK", "CycleReport", "NotificationSender", "Sidecar", "utc_now"]

# how far back the first pull of a source looks: the recurrence window of the reference policy
FIRST_PULL_LOOKBACK = timedelta(days=30)
# a full re-plan this often checks that planning only what changed or fell due missed nothing
FULL_REPLAN_EVERY = timedelta(hours=1)


class Sidecar:
    def __init__(
        self,
        config: Config,
        store: StateStore,
        sources: Mapping[str, Source],
        *,
        notifier: NotificationSender | None = None,
        log: EventLog | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        # the app's one clock (shared with the connectors when it is a Clock already)
        self._clock = clock if isinstance(clock, Clock) else Clock(clock)
        self.store = store
        self.log = log or EventLog(level="warning")
        self.policies = PolicyBook(store, config, self.log)
        self._config = config
        self.sources = dict(sources)
        self.notifier = notifier
        self.metrics = metrics or Metrics()
        # one plan-and-apply at a time; each source's API calls are serialised on their own lock
        self.lock = threading.RLock()
        self._io_locks: dict[str, threading.RLock] = {}
        self.cache = TicketCache(store)
        self.writer = Writer(
            store,
            self.cache,
            self,
            notifier=notifier,
            log=self.log,
            metrics=self.metrics,
            clock=self._clock,
        )
        # why each source's last poll failed, and since when (cleared by a good poll): readiness
        self.poll_failures: dict[str, tuple[datetime, str]] = {}
        self._quarantined: set[tuple[str, str]] | None = None  # (source, record id)
        # plan only what changed or fell due; a full re-plan at start, on reload and hourly
        self.queue = PlanQueue()
        self._population: Population | None = None
        self._last_full: datetime | None = None
        self._linked_seen: dict[str, tuple[str, ...]] = {}  # ticket -> its linked issues' state
        self._linked_states: dict[tuple[str, str], LinkedIssue] = {}  # as last read
        self._keep_tokens()
        self.learn_owners()
        self.metrics.track_retries(lambda: {n: s.retry.stats for n, s in self.sources.items()})

    @property
    def clock(self) -> Clock:
        return self._clock

    @clock.setter
    def clock(self, source: Callable[[], datetime]) -> None:
        """Move the app's clock (tests, benchmarks): the connectors follow it too."""
        self._clock.follow(source)

    @property
    def config(self) -> Config:
        return self._config

    @config.setter
    def config(self, config: Config) -> None:
        """A new config (a reload): new tickets are judged by its policy, tickets in flight
        keep the version they started under."""
        self._config = config
        self.policies.use(config)

    def reconfigure(self, config: Config, sources: Mapping[str, Source]) -> None:
        """A reload: the new config and connectors; the old connectors are closed once any
        call in flight on them has finished."""
        with self.lock:
            old = self.sources
            self.config = config
            self.sources = dict(sources)
            self._keep_tokens()
            for name, source in old.items():
                with self.io_lock(name):
                    source.connector.close()
        self.learn_owners()  # and memories cached for the old policy are rebuilt

    def _keep_tokens(self) -> None:
        """Connectors that are granted OAuth tokens keep them in the store."""
        for name, source in self.sources.items():
            keep = getattr(source.connector, "keep_tokens_in", None)
            if keep is not None:
                keep(StoredTokens(self.store, name))

    def set_write_guard(self, may_write: Callable[[], bool]) -> None:
        """Whether this process may still write (it holds the lease and is not stopping)."""
        self.writer.may_write = may_write

    def may_write(self) -> bool:
        return self.writer.may_write()

    # -- reading ----------------------------------------------------------------------------
    def poll(self, name: str, *, dry_run: bool = False) -> int:
        """Pull what changed in source ``name`` since its cursor into the ticket cache.
        ``dry_run`` keeps what it read in memory only: the store and the cursor stay as
        they were, so the next real poll reads the same changes again."""
        source = self.sources[name]
        with self.io_lock(name):  # not the cycle lock: a slow pull must not hold up the clock
            now = self.clock()
            cursor = self.store.get_cursor(name)
            try:
                result = source.connector.pull(cursor, start=now - FIRST_PULL_LOOKBACK)
            except ConnectorError as exc:
                since = self.poll_failures.get(name, (now, ""))[0]
                self.poll_failures[name] = (since, f"{type(exc).__name__}: {exc}")
                self.metrics.polls.labels(name, "failed").inc()
                self.log.error(
                    "poll.failed", source=name, error=str(exc), error_type=type(exc).__name__
                )
                raise
            if dry_run:
                self.cache.load()  # the store's tickets first, then what this pull read
                self.cache.remember(name, result.tickets, persist=False)
                return len(result.tickets)
            self.cache.remember(name, result.tickets)
            for q in result.quarantined:
                self.store.quarantine(name, q.record_id, q.reason, now)
                self.metrics.quarantined.labels(name).inc()
                self.log.warning(
                    "record.quarantined", source=name, record=q.record_id, reason=q.reason
                )
            for w in result.warnings:
                self.metrics.mapping_warnings.labels(name, w.field).inc()
                self.log.warning(
                    "record.fallback", source=name, record=w.record_id, field=w.field,
                    detail=w.message,
                )  # fmt: skip
            self._release_quarantined(name, [t.id for t in result.tickets])
            if result.quarantined:
                self._count_quarantine()
            # the cursor may pass a quarantined record: it stays in quarantine, is fetched
            # again after each reload and hourly, and is planned once it translates
            self.store.set_cursor(name, result.cursor, now)
            self.poll_failures.pop(name, None)
            self.metrics.polls.labels(name, "ok").inc()
            self.metrics.tickets_seen.labels(name).inc(len(result.tickets))
            self.metrics.last_poll.labels(name).set(now.timestamp())
            self.log.info(
                "poll.done",
                source=name,
                tickets=len(result.tickets),
                quarantined=len(result.quarantined),
            )
            return len(result.tickets)

    def refresh(self, name: str, ticket_ids: Sequence[str]) -> list[Ticket]:
        """Re-read named tickets now (a webhook said they changed)."""
        source = self.sources[name]
        fresh = []
        with self.io_lock(name):
            for ticket_id in ticket_ids:
                try:
                    fresh.append(source.connector.fetch(ticket_id))
                except ConnectorError as exc:
                    self.log.warning(
                        "refresh.failed", source=name, ticket=ticket_id, error=str(exc)
                    )
            self.cache.remember(name, fresh)
        return fresh

    def io_lock(self, name: str) -> threading.RLock:
        """The lock around source ``name``'s connector (SDK sessions are not all thread-safe)."""
        return self._io_locks.setdefault(name, threading.RLock())

    def last_successful_polls(self) -> dict[str, datetime | None]:
        return {name: self.store.last_poll(name) for name in self.sources}

    def learn_owners(self) -> None:
        """Start afresh from the store (start-up, takeover, reload): which source owns each
        ticket, the tickets and memories, the policy versions."""
        with self.lock:
            self.cache.reset(self.sources)
            self.policies.forget()
            self.queue.reset()

    def snapshot(self) -> tuple[list[Ticket], dict[str, Memory]]:
        """The tickets kept in memory and what was applied to each, as of the last cycle:
        for the board, which only reads them (copies of the mappings, taken under the lock)."""
        with self.lock:
            return self.cache.snapshot()

    # -- quarantine -------------------------------------------------------------------------
    def retry_quarantined(self) -> int:
        """Fetch every quarantined record again; one that now translates (its record or the
        config was fixed) leaves quarantine and is planned like any other. How many left."""
        released = 0
        for entry in self.store.quarantined():
            source = self.sources.get(entry.source)
            if source is None or entry.record_id is None:
                continue
            with self.io_lock(entry.source):
                try:
                    ticket = source.connector.fetch(entry.record_id)
                except MalformedRecord as exc:
                    self.store.quarantine(entry.source, entry.record_id, str(exc), self.clock())
                    continue
                except NotFoundError:  # deleted meanwhile: nothing left to plan
                    self.store.clear_quarantine(entry.source, entry.record_id)
                    continue
                except ConnectorError as exc:
                    self.log.warning(
                        "quarantine.unreadable", source=entry.source, record=entry.record_id,
                        error=str(exc),
                    )  # fmt: skip
                    continue
                self.cache.remember(entry.source, [ticket])
            self.store.clear_quarantine(entry.source, entry.record_id)
            self.log.info("quarantine.released", source=entry.source, record=entry.record_id)
            released += 1
        self._count_quarantine()
        return released

    def _release_quarantined(self, name: str, ticket_ids: Sequence[str]) -> None:
        """Records of ``name`` that were quarantined and have now been read fine."""
        if self._quarantined is None:
            self._count_quarantine()
        held = self._quarantined or set()
        freed = [i for i in ticket_ids if (name, i) in held]
        for ticket_id in freed:
            self.store.clear_quarantine(name, ticket_id)
        if freed:
            self._count_quarantine()

    def _count_quarantine(self) -> None:
        entries = self.store.quarantined()
        self._quarantined = {(e.source, e.record_id) for e in entries if e.record_id}
        counts: dict[str, int] = dict.fromkeys(self.sources, 0)
        for e in entries:
            counts[e.source] = counts.get(e.source, 0) + 1
        for name, count in counts.items():
            self.metrics.in_quarantine.labels(name).set(count)

    # -- deciding ---------------------------------------------------------------------------
    def plan(self, now: datetime | None = None) -> tuple[Plan, dict[str, Ticket]]:
        """Every known ticket planned at ``now``, once (no settling; see ``cycle``)."""
        plan, tickets, _ = self._plan_all(now or self.clock())
        return plan, tickets

    def _plan_all(
        self, now: datetime, *, record: bool = True
    ) -> tuple[Plan, dict[str, Ticket], Population]:
        cached, memories = self.cache.load()
        tickets = self._with_linked_issues(list(cached.values()))
        self.metrics.open_tickets.set(len(tickets))
        population = Population(tickets)
        # a ticket is judged from its creation on, as in ``simulate`` (a helpdesk clock a
        # little ahead of ours shows a ticket "created" in our future: it waits a cycle)
        created = [t for t in tickets if t.created_at <= now]
        plan = self._plan_some(created, memories, now, population, record=record)
        return plan, {t.key: t for t in created}, population

    def _plan_due(self, now: datetime) -> tuple[Plan, dict[str, Ticket], Population]:
        """The cycle's plan: the tickets that changed or whose next instant has come; every
        ticket at start, after a reload or takeover, and hourly as a check that planning only
        those missed nothing (a miss is logged and counted)."""
        epoch = to_epoch(now)
        self.cache.load()
        self.queue.changed(self.cache.drain_changed())
        hourly = self._last_full is None or now - self._last_full >= FULL_REPLAN_EVERY
        if not self.queue.primed or hourly or self._population is None:
            would = self.queue.take(epoch) if self.queue.primed else None
            plan, tickets, population = self._plan_all(now)
            self.queue.reset()
            self.queue.record(plan)
            self.queue.primed = True
            for ticket in self.cache.load()[0].values():
                if ticket.created_at > now:  # judged from its creation on
                    self.queue.wake(ticket.key, to_epoch(ticket.created_at))
            self.cache.drain_changed()  # every ticket was just planned
            self._population, self._last_full = population, now
            if would is not None:
                missed = sorted(
                    tp.ticket for tp in plan.tickets
                    if (tp.actions or tp.satisfied) and tp.ticket not in would
                )  # fmt: skip
                if missed:
                    self.metrics.incremental_missed.inc(len(missed))
                    self.log.warning("plan.incremental_missed", tickets=missed[:20])
            return plan, tickets, population
        cached, memories = self.cache.load()
        population = self._population
        keys = self.queue.take(epoch) | self._linked_changes(cached)
        for key in list(keys):
            new = cached.get(key)
            if new is not None and key not in population.created and population.add(new):
                # an older ticket arrived late: counts of its organisation may change
                keys |= {k for k, t in cached.items() if t.organization == new.organization}
        chosen: list[Ticket] = []
        for key in keys:
            found = cached.get(key)
            if found is None:
                continue
            if found.created_at > now:  # judged from its creation on
                self.queue.wake(key, to_epoch(found.created_at))
            else:
                chosen.append(found)
        chosen = self._with_linked_issues(chosen, read=False)
        plan = self._plan_some(chosen, memories, now, population)
        return plan, {t.key: t for t in chosen}, population

    def _linked_changes(self, cached: Mapping[str, Ticket]) -> set[str]:
        """Tickets whose linked issues (in another system) changed since the last cycle."""
        if not self.store.linked_issues_created():
            return set()
        enriched = self._with_linked_issues(list(cached.values()))
        changed = set()
        for ticket in enriched:
            if ticket.linked_issues:
                state = tuple(f"{i.key}:{i.resolved_at}" for i in ticket.linked_issues)
                if self._linked_seen.get(ticket.key) != state:
                    self._linked_seen[ticket.key] = state
                    changed.add(ticket.key)
        return changed

    def _plan_some(
        self,
        tickets: Sequence[Ticket],
        memories: Mapping[str, Memory | Sequence[Action]],
        now: datetime,
        population: Population,
        *,
        record: bool = True,
    ) -> Plan:
        """``tickets`` planned at ``now``, each by the policy version it started under."""
        planned: list[TicketPlan] = []
        with collector_paused():  # many thousands of objects, no reference cycles
            for policy, group in self.policies.group(tickets, record=record).values():
                planned.extend(
                    plan_tickets(policy, group, memories, now, population=population).tickets
                )
        return Plan(now=now, tickets=tuple(planned))

    def _with_linked_issues(self, tickets: list[Ticket], *, read: bool = True) -> list[Ticket]:
        """Attach the issues the sidecar created for tickets, with their current state, read
        from the system that hosts each (one call per hosting source), or with ``read``
        false as last read."""
        created = self.store.linked_issues_created()
        if not created:
            return tickets
        if not read:
            wanted = {t.key for t in tickets}
            created = [c for c in created if c[1] in wanted]
        by_origin: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        by_system: dict[str, set[str]] = defaultdict(set)
        for key, origin, system, issue_key in created:
            by_origin[origin].append((key, system, issue_key))
            by_system[system].add(issue_key)
        states: dict[tuple[str, str], LinkedIssue] = {} if read else self._linked_states
        for system, wanted in by_system.items() if read else ():
            host = next(
                (s for s in self.sources.values() if s.kind == system and s.tracker), None
            )
            if host is None or host.tracker is None:
                continue
            try:
                with self.io_lock(host.name):
                    found = host.tracker.read_linked_issues(sorted(wanted))
            except ConnectorError as exc:
                self.log.warning("linked_issues.unreadable", source=host.name, error=str(exc))
                continue
            states.update(((system, linked.key), linked) for linked in found)
        if read:
            self._linked_states = states
        out = []
        for ticket in tickets:
            links = by_origin.get(ticket.key)
            if not links:
                out.append(ticket)
                continue
            known = {i.key for i in ticket.linked_issues}
            extra = tuple(
                replace(states.get((system, issue)) or LinkedIssue(system, issue), marker=key)
                for key, system, issue in links
                if issue not in known
            )
            out.append(replace(ticket, linked_issues=(*ticket.linked_issues, *extra)))
        return out

    # -- the cycle --------------------------------------------------------------------------
    def cycle(self, *, pull: bool = True, now: datetime | None = None) -> CycleReport:
        """Poll every source, then resolve pending writes, plan everything, apply what is due."""
        report = CycleReport(now or self.clock())
        if pull:
            for name in self.sources:
                try:
                    report.pulled[name] = self.poll(name)
                except ConnectorError as exc:
                    report.failed_sources[name] = str(exc)
        with self.lock:
            self.resolve_pending()
            plan, tickets, population = self._plan_due(report.now)
            report.planned = len(plan.tickets)
            settled = self._settle(plan, tickets, population, report)
            self.queue.record(settled)
            next_due = self.queue.next_due
            report.next_due = from_epoch(next_due) if next_due is not None else None
            self._follow_pages(tickets, report)
            self.log.info(
                "cycle.done",
                planned=report.planned,
                written=len(report.written),
                recorded=report.recorded,
                next_due=format_instant(report.next_due),
            )
            return report

    def resolve_pending(self) -> int:
        """Settle writes begun before a crash: read the ticket back, never write twice."""
        with self.lock:
            return self.writer.resolve_pending()

    def apply(
        self, plan: Plan, tickets: Mapping[str, Ticket], report: CycleReport
    ) -> dict[str, Ticket]:
        """Record and write ``plan`` (see ``Writer.apply``)."""
        return self.writer.apply(plan, tickets, report)

    def _follow_pages(self, tickets: Mapping[str, Ticket], report: CycleReport) -> None:
        """Pages (PagerDuty, Opsgenie) follow their ticket: acknowledged when a person takes
        it up, resolved when it is solved; each step through the ledger, like any write."""
        pages = getattr(self.notifier, "pages", None)
        channels = pages() if pages is not None else frozenset()
        if not channels or not self.may_write():
            return
        ask = getattr(self.notifier, "page_acknowledged", None)
        paged = {ticket for ticket, _ in self.store.external_ids("notify").values()}
        for key in sorted(paged):
            ticket = tickets.get(key)
            if ticket is None:
                continue
            done = self.store.applied(key)
            # a responder's acknowledgement in the paging tool counts as taking it up
            seen = (
                {p.key: report.now for p in open_pages(ticket, done, channels) if ask(p)}
                if ask is not None
                else {}
            )
            due = follow_ups(ticket, done, channels, seen)
            if due:
                self.writer.write(ticket, due, report)

    def _settle(
        self,
        plan: Plan,
        tickets: dict[str, Ticket],
        population: Population,
        report: CycleReport,
    ) -> Plan:
        """Write ``plan``, then re-plan at the same instant the tickets it changed, so a
        decision that makes another rule hold is carried out now, as ``simulate`` does."""
        _, memories = self.cache.load()

        def carry_out(round_plan: Plan) -> Collection[str]:
            changed = self.writer.apply(round_plan, tickets, report)
            tickets.update(changed)
            return changed.keys()

        def replan(keys: Collection[str]) -> Plan:
            return self._plan_some([tickets[k] for k in keys], memories, plan.now, population)

        try:
            return settle(plan, carry_out, replan)
        except UnsettledError as exc:
            self.log.error("plan.unsettled", error=str(exc))
            return plan

    def preview(self, *, pull: bool = True) -> tuple[Plan, dict[str, Ticket]]:
        """What a cycle would write, changing nothing in the helpdesks or in the store
        (``escalator plan``): pulled tickets are kept in memory only, the cursors stay."""
        with self.lock:
            if pull:
                for name in self.sources:
                    self.poll(name, dry_run=True)
            plan, tickets, population = self._plan_all(self.clock(), record=False)
            applied = self.store.applied_by_ticket()

            def carry_out(round_plan: Plan) -> Collection[str]:
                changed = []
                for tp in round_plan.tickets:
                    if tp.actions or tp.satisfied:
                        done = applied.setdefault(tp.ticket, [])
                        done.extend((*tp.actions, *tp.satisfied))
                        ticket = tickets[tp.ticket]
                        for action in tp.actions:
                            ticket = apply_action(ticket, action)
                        tickets[tp.ticket] = ticket
                        changed.append(tp.ticket)
                return changed

            def replan(keys: Collection[str]) -> Plan:
                again = [tickets[k] for k in keys]
                done = {k: applied[k] for k in keys}
                return self._plan_some(again, done, plan.now, population, record=False)

            return settle(plan, carry_out, replan), tickets

    def close(self) -> None:
        for source in self.sources.values():
            source.connector.close()
