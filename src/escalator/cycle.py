"""The one poll → plan → apply cycle behind ``plan``, ``sync --once`` and ``run``.

Writes are recorded in the store before the API call (``begin``) and after (``finish``), so a
crash in between leaves a pending entry that the next start resolves by reading the ticket
back: a comment whose marker is found is recorded as done, never posted again.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from connectors.base import ActionResult, ActionStatus
from connectors.errors import AuthError, ConnectorError, MalformedRecord, NotFoundError
from engine.codec import format_instant
from engine.criteria import Population
from engine.model import (
    Action,
    AddLabels,
    CreateLinkedIssue,
    LinkedIssue,
    Notify,
    Plan,
    PostComment,
    Ticket,
    TicketPlan,
    apply_action,
)
from engine.planner import Memory
from engine.planner import plan as plan_tickets
from engine.settle import UnsettledError, settle
from escalator.config import Config
from escalator.logs import EventLog
from escalator.metrics import Metrics
from escalator.notify.follow import follow_ups
from escalator.policies import PolicyBook
from escalator.sources import Source
from escalator.store import StateStore

# how far back the first pull of a source looks: the recurrence window of the reference policy
FIRST_PULL_LOOKBACK = timedelta(days=30)


class NotificationSender(Protocol):
    """What the cycle needs of the notifier (``escalator.notify.Notifier``)."""

    def send(self, action: Notify, *, ticket_url: str | None = None) -> ActionResult: ...


@dataclass(slots=True)
class CycleReport:
    now: datetime
    pulled: dict[str, int] = field(default_factory=dict)
    failed_sources: dict[str, str] = field(default_factory=dict)
    planned: int = 0
    written: list[tuple[Action, ActionResult]] = field(default_factory=list)
    recorded: int = 0  # decisions the ticket already showed
    next_due: datetime | None = None
    conflicts: set[str] = field(default_factory=set)  # tickets re-read after a conflict

    @property
    def applied(self) -> list[Action]:
        return [a for a, r in self.written if r.status is ActionStatus.APPLIED]


_DONE = (ActionStatus.APPLIED, ActionStatus.ALREADY)


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        self.store = store
        self.log = log or EventLog(level="warning")
        self.policies = PolicyBook(store, config, self.log)
        self._config = config
        self.sources = dict(sources)
        self.notifier = notifier
        self.metrics = metrics or Metrics()
        self.clock = clock
        # the runner says whether this process may still write (it holds the lease, not stopping)
        self.may_write: Callable[[], bool] = lambda: True
        # one plan-and-apply at a time; each source's API calls are serialised on their own lock
        self.lock = threading.RLock()
        self._io_locks: dict[str, threading.RLock] = {}
        self._owner: dict[str, str] = {}
        self._tickets: dict[str, Ticket] | None = None  # the store's tickets, kept in memory
        self._memories: dict[str, Memory] | None = None  # what was applied, per ticket
        # why each source's last poll failed, and since when (cleared by a good poll): readiness
        self.poll_failures: dict[str, tuple[datetime, str]] = {}
        self._quarantined: set[tuple[str, str]] | None = None  # (source, record id)
        self.learn_owners()
        self.metrics.track_retries(lambda: {n: s.retry.stats for n, s in self.sources.items()})

    @property
    def config(self) -> Config:
        return self._config

    @config.setter
    def config(self, config: Config) -> None:
        """A new config (a reload): new tickets are judged by its policy, tickets in flight
        keep the version they started under."""
        self._config = config
        self.policies.use(config)

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
                self._load()  # the store's tickets first, then what this pull read over them
                self._remember(name, result.tickets, persist=False)
                return len(result.tickets)
            self._remember(name, result.tickets)
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
                )
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
            self._remember(name, fresh)
        return fresh

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
                    )
                    continue
                self._remember(entry.source, [ticket])
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

    def io_lock(self, name: str) -> threading.RLock:
        """The lock around source ``name``'s connector (SDK sessions are not all thread-safe)."""
        return self._io_locks.setdefault(name, threading.RLock())

    def _remember(self, name: str, tickets: Sequence[Ticket], *, persist: bool = True) -> None:
        if tickets:
            if persist:
                self.store.save_tickets(name, tickets)
            kept = self._tickets
            for ticket in tickets:
                self._owner[ticket.key] = name
                if kept is not None:
                    old = kept.get(ticket.key)
                    if old is None or old.updated_at <= ticket.updated_at:  # as the store does
                        kept[ticket.key] = ticket

    def last_successful_polls(self) -> dict[str, datetime | None]:
        return {name: self.store.last_poll(name) for name in self.sources}

    def learn_owners(self) -> None:
        """Which source each cached ticket came from, including tickets another process
        pulled into a shared store (a standby taking over has never pulled them itself);
        and, for the same reason, forget what is kept in memory so it is read again."""
        with self.lock:
            for name in self.sources:
                for ticket in self.store.load_tickets(name):
                    self._owner[ticket.key] = name
            self._tickets = None
            self._memories = None
            self.policies.forget()

    def _load(self) -> tuple[dict[str, Ticket], dict[str, Memory]]:
        """Tickets and what was applied to them, read from the store once, then kept up to
        date in memory: a re-plan of every ticket must not re-read and decode them all."""
        if self._tickets is None:
            self._tickets = {t.key: t for t in self.store.load_tickets()}
        if self._memories is None:
            self._memories = {
                key: Memory.of(key, actions)
                for key, actions in self.store.applied_by_ticket().items()
            }
        return self._tickets, self._memories

    def snapshot(self) -> tuple[list[Ticket], dict[str, Memory]]:
        """The tickets kept in memory and what was applied to each, as of the last cycle:
        for the board, which only reads them (copies of the mappings, taken under the lock)."""
        with self.lock:
            tickets, memories = self._load()
            return list(tickets.values()), dict(memories)

    def _recorded(self, action: Action) -> None:
        """``action`` is done (applied, or found already there): remember it for planning."""
        if self._memories is not None:
            self._memories.setdefault(action.ticket, Memory()).record(action.ticket, action)

    # -- deciding ---------------------------------------------------------------------------
    def plan(self, now: datetime | None = None) -> tuple[Plan, dict[str, Ticket]]:
        """Every known ticket planned at ``now``, once (no settling; see ``cycle``)."""
        plan, tickets, _ = self._plan_all(now or self.clock())
        return plan, tickets

    def _plan_all(
        self, now: datetime, *, record: bool = True
    ) -> tuple[Plan, dict[str, Ticket], Population]:
        cached, memories = self._load()
        tickets = self._with_linked_issues(list(cached.values()))
        self.metrics.open_tickets.set(len(tickets))
        population = Population(tickets)
        # a ticket is judged from its creation on, as in ``simulate`` (a helpdesk clock a
        # little ahead of ours shows a ticket "created" in our future: it waits a cycle)
        created = [t for t in tickets if t.created_at <= now]
        plan = self._plan_some(created, memories, now, population, record=record)
        return plan, {t.key: t for t in created}, population

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
        for policy, group in self.policies.group(tickets, record=record).values():
            planned.extend(
                plan_tickets(policy, group, memories, now, population=population).tickets
            )
        return Plan(now=now, tickets=tuple(planned))

    def _with_linked_issues(self, tickets: list[Ticket]) -> list[Ticket]:
        """Attach the issues the sidecar created for tickets, with their current state."""
        created = self.store.external_ids("create_linked_issue")
        if not created:
            return tickets
        by_origin: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key, (origin, issue_key) in created.items():
            by_origin[origin].append((key, issue_key))
        hosts = [s for s in self.sources.values() if s.tracker is not None]
        states: dict[str, LinkedIssue] = {}
        if hosts:
            wanted = sorted({issue_key for _, issue_key in created.values()})
            tracker = hosts[0].tracker
            assert tracker is not None
            try:
                with self.io_lock(hosts[0].name):
                    found = tracker.read_linked_issues(wanted)
                for linked in found:
                    states[linked.key] = linked
            except ConnectorError as exc:
                self.log.warning("linked_issues.unreadable", error=str(exc))
        out = []
        for ticket in tickets:
            links = by_origin.get(ticket.key)
            if not links:
                out.append(ticket)
                continue
            known = {i.key for i in ticket.linked_issues}
            extra = tuple(
                replace(states.get(issue) or LinkedIssue("jira", issue), marker=key)
                for key, issue in links
                if issue not in known
            )
            out.append(replace(ticket, linked_issues=(*ticket.linked_issues, *extra)))
        return out

    # -- writing ----------------------------------------------------------------------------
    def apply(
        self, plan: Plan, tickets: Mapping[str, Ticket], report: CycleReport
    ) -> dict[str, Ticket]:
        """Record and write ``plan``; the tickets it changed, as they now stand (to settle)."""
        changed: dict[str, Ticket] = {}
        for tp in plan.tickets:
            ticket = tickets.get(tp.ticket)
            if ticket is None:
                continue
            if (tp.actions or tp.satisfied) and not self.may_write():
                self.log.warning("writes.stopped", reason="no longer the active process")
                return changed
            self._record_decisions(tp)
            now_shown = ticket if self._record_satisfied(tp, report) else None
            if tp.actions:
                now_shown = self._write(ticket, tp.actions, report) or now_shown
            if now_shown is not None:
                changed[tp.ticket] = now_shown
        return changed

    def _record_decisions(self, tp: TicketPlan) -> None:
        for d in tp.decisions:
            self.store.audit(
                tp.ticket, "decision", {"rule": d.rule, "reason": d.reason, "level": d.level}, d.at
            )
            self.log.info(
                "decision", ticket=tp.ticket, rule=d.rule, reason=d.reason, escalation_level=d.level
            )

    def _record_satisfied(self, tp: TicketPlan, report: CycleReport) -> int:
        source = self._owner.get(tp.ticket, "")
        recorded = 0
        for action in tp.satisfied:
            if self.store.begin(action, source):
                self.store.finish(action.key, ActionStatus.ALREADY, "the ticket already shows it")
                self._recorded(action)
                recorded += 1
        report.recorded += recorded
        return recorded

    def _write(
        self, ticket: Ticket, actions: Sequence[Action], report: CycleReport
    ) -> Ticket | None:
        """Write one ticket's actions; the ticket as it now stands if anything was done (or
        it was re-read after a conflict), else None."""
        name = self._owner.get(ticket.key)
        start = len(report.written)
        own: list[Action] = []
        elsewhere: list[Notify | CreateLinkedIssue] = []
        for action in actions:
            if not self.store.begin(action, name or ""):
                continue  # another process (or an earlier attempt still pending) owns it
            if isinstance(action, Notify | CreateLinkedIssue):
                elsewhere.append(action)
            else:
                own.append(action)
        try:
            written, now_shown = (
                self._write_own(ticket, own, name, report) if own else (True, ticket)
            )
        except AuthError:
            for action in elsewhere:
                self.store.finish(action.key, ActionStatus.FAILED, "not sent: the source failed")
            raise
        # chat and linked issues only once the ticket itself shows the escalation; otherwise
        # they are released and decided again, with the ticket, in the next cycle
        for action in elsewhere:
            if not written:
                self._finish(
                    action,
                    ActionResult(
                        action.key, ActionStatus.FAILED, "not sent: the ticket was not updated"
                    ),
                    name,
                    report,
                )
                continue
            if isinstance(action, Notify):
                self._finish(action, self._notify(action, ticket), name, report)
            else:
                self._finish(action, self._create_linked(ticket, action), name, report)
        progressed = any(r.status in _DONE for _, r in report.written[start:])
        if now_shown is not ticket and now_shown is not None:
            return now_shown  # written, or re-read after a conflict
        return ticket if progressed else None

    def _write_own(
        self, ticket: Ticket, own: list[Action], name: str | None, report: CycleReport
    ) -> tuple[bool, Ticket | None]:
        """The actions the ticket's own helpdesk carries out, in as few calls as it allows.
        First: True unless the ticket changed under us or a level's label could not be
        written (then the ticket does not show the escalation its notifications would
        announce). Second: the ticket as it now stands (None if a conflict's re-read failed)."""
        source = self.sources.get(name) if name else None
        if source is None:
            for action in own:
                self._finish(
                    action,
                    ActionResult(
                        action.key, ActionStatus.FAILED, "no configured source owns this ticket"
                    ),
                    name,
                    report,
                )
            return False, ticket
        try:
            with self.io_lock(source.name):
                results = source.connector.apply(ticket, own)
        except AuthError:
            for action in own:
                self.store.finish(action.key, ActionStatus.FAILED, "authentication failed")
            raise
        except ConnectorError as exc:
            results = [
                ActionResult(a.key, ActionStatus.FAILED, f"{type(exc).__name__}: {exc}")
                for a in own
            ]
        by_key = {r.key: r for r in results}
        conflict = False
        written = True
        shown = ticket
        for action in own:
            result = by_key.get(action.key) or ActionResult(
                action.key, ActionStatus.FAILED, "the connector returned no result for it"
            )
            conflict = conflict or result.status is ActionStatus.CONFLICT
            if isinstance(action, AddLabels) and action.level is not None:
                written = written and result.status in (ActionStatus.APPLIED, ActionStatus.ALREADY)
            self._finish(action, result, name, report)
            if result.status is ActionStatus.APPLIED:
                shown = apply_action(shown, action)
        if shown is not ticket and name and not conflict:
            # what the helpdesk shows now, until the next pull brings its own copy
            self._remember(name, [shown])
        if conflict and name:
            # the ticket changed under us: re-read it now, and re-plan it once in this cycle
            # (not again after a second conflict) so the person's change is seen, not fought
            fresh = self.refresh(name, [ticket.id])
            if not fresh or ticket.key in report.conflicts:
                return False, None
            report.conflicts.add(ticket.key)
            again = fresh[0]
            if not again.linked_issues and ticket.linked_issues:
                again = replace(again, linked_issues=ticket.linked_issues)
            return False, again
        return written and not conflict, shown

    def _finish(
        self, action: Action, result: ActionResult, source: str | None, report: CycleReport
    ) -> None:
        self.store.finish(action.key, result.status, result.detail, result.external_id)
        if result.status in (ActionStatus.APPLIED, ActionStatus.ALREADY):
            self._recorded(action)
        report.written.append((action, result))
        now = self.clock()
        self.metrics.actions.labels(source or "", action.kind.value, result.status.value).inc()
        if result.status is ActionStatus.APPLIED:
            self.metrics.clock_lag.observe(max(0.0, (now - action.at).total_seconds()))
        self.store.audit(
            action.ticket,
            "write",
            {
                "key": action.key,
                "kind": action.kind.value,
                "rule": action.rule,
                "status": result.status.value,
                "detail": result.detail,
                "external_id": result.external_id,
                "decided_at": format_instant(action.at),
            },
            now,
        )
        done = result.status in (ActionStatus.APPLIED, ActionStatus.ALREADY)
        level = "info" if done else "warning"
        self.log.event(
            "action",
            level,
            ticket=action.ticket,
            key=action.key,
            kind=action.kind.value,
            rule=action.rule,
            status=result.status.value,
            detail=result.detail,
            escalation_level=action.level,
        )

    def _notify(self, action: Notify, ticket: Ticket) -> ActionResult:
        if self.notifier is None:
            return ActionResult(action.key, ActionStatus.FAILED, "no notification channels set up")
        return self.notifier.send(action, ticket_url=ticket.url)

    def _create_linked(self, ticket: Ticket, action: CreateLinkedIssue) -> ActionResult:
        for source in self.sources.values():
            tracker = source.tracker
            if tracker is not None and source.kind == action.system:
                try:
                    with self.io_lock(source.name):
                        return tracker.create_linked_issue(ticket, action)
                except ConnectorError as exc:
                    return ActionResult(action.key, ActionStatus.FAILED, str(exc))
        return ActionResult(
            action.key,
            ActionStatus.FAILED,
            f"no {action.system} source is configured to create the issue in",
        )

    # -- crash recovery ---------------------------------------------------------------------
    def resolve_pending(self) -> int:
        """Settle writes begun before a crash: read the ticket back, never write twice."""
        resolved = 0
        with self.lock:
            for action in self.store.pending():
                name = self._owner.get(action.ticket)
                source = self.sources.get(name) if name else None
                status, detail = ActionStatus.FAILED, "interrupted before it was recorded"
                external_id: str | None = None
                settle = getattr(self.notifier, "settle", None)
                if isinstance(action, Notify) and settle is not None:
                    # the channel's own idempotency settles it: a dedup key, an alias looked up,
                    # the same Message-ID (a chat webhook has none: FAILED, decided again)
                    known = (self._tickets or {}).get(action.ticket)
                    settled = settle(action, ticket_url=known.url if known else None)
                    status, detail = settled.status, settled.detail
                    external_id = settled.external_id
                elif isinstance(action, PostComment) and source is not None:
                    ticket_id = action.ticket.split(":", 1)[1]
                    try:
                        with self.io_lock(source.name):
                            fresh = source.connector.fetch(ticket_id)
                    except ConnectorError as exc:
                        self.log.warning("pending.unreadable", key=action.key, error=str(exc))
                        continue  # try again next cycle; the key stays pending, never re-sent
                    self._remember(name or "", [fresh])
                    if any(c.marker == action.key for c in fresh.comments):
                        status, detail = ActionStatus.ALREADY, "found on the ticket after a restart"
                self.store.finish(action.key, status, detail, external_id)
                if status in (ActionStatus.ALREADY, ActionStatus.APPLIED):
                    self._recorded(action)
                self.log.info("pending.resolved", key=action.key, status=status.value)
                resolved += 1
        return resolved

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
            plan, tickets, population = self._plan_all(report.now)
            report.planned = len(plan.tickets)
            settled = self._settle(plan, tickets, population, report)
            report.next_due = settled.next_due
            self._follow_pages(tickets, report)
            self.log.info(
                "cycle.done",
                planned=report.planned,
                written=len(report.written),
                recorded=report.recorded,
                next_due=format_instant(report.next_due),
            )
            return report

    def _follow_pages(self, tickets: Mapping[str, Ticket], report: CycleReport) -> None:
        """Pages (PagerDuty, Opsgenie) follow their ticket: acknowledged when a person takes
        it up, resolved when it is solved; each step through the ledger, like any write."""
        pages = getattr(self.notifier, "pages", None)
        channels = pages() if pages is not None else frozenset()
        if not channels or not self.may_write():
            return
        paged = {ticket for ticket, _ in self.store.external_ids("notify").values()}
        for key in sorted(paged):
            ticket = tickets.get(key)
            due = follow_ups(ticket, self.store.applied(key), channels) if ticket else []
            if ticket is not None and due:
                self._write(ticket, due, report)

    def _settle(
        self,
        plan: Plan,
        tickets: dict[str, Ticket],
        population: Population,
        report: CycleReport,
    ) -> Plan:
        """Write ``plan``, then re-plan at the same instant the tickets it changed, so a
        decision that makes another rule hold is carried out now, as ``simulate`` does."""
        _, memories = self._load()

        def carry_out(round_plan: Plan) -> Collection[str]:
            changed = self.apply(round_plan, tickets, report)
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
