"""Writing a plan: each action recorded in the store's ledger before its call (``begin``) and
after (``finish``), so a crash in between leaves a pending entry that the next start resolves
by reading the ticket back: a comment whose marker is found is recorded as done, never posted
again.

A ticket's own actions go to its helpdesk in as few calls as the API allows (one coalesced
write per ticket, or batches of tickets where the connector can); chat notifications and
linked issues only once the ticket itself shows the escalation they announce.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from connectors.base import ActionResult, ActionStatus, BatchWriter
from connectors.errors import AuthError, ConnectorError
from engine.codec import format_instant
from engine.model import (
    Action,
    AddLabels,
    CreateLinkedIssue,
    Notify,
    Plan,
    PostComment,
    Ticket,
    TicketPlan,
    apply_action,
)
from escalator.logs import EventLog
from escalator.metrics import Metrics
from escalator.sources import Source
from escalator.store import StateStore
from escalator.ticketcache import TicketCache

DONE = (ActionStatus.APPLIED, ActionStatus.ALREADY)
BATCH = 100  # tickets per batch where a connector writes many at once (HubSpot's batch limit)


class NotificationSender(Protocol):
    """What the writer needs of the notifier (``escalator.notify.Notifier``)."""

    def send(
        self,
        action: Notify,
        *,
        ticket_url: str | None = None,
        handed: Callable[[str], None] | None = None,
    ) -> ActionResult: ...


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


@dataclass(slots=True)
class _TicketWrite:
    """One ticket's actions, begun in the ledger, on their way to being written."""

    ticket: Ticket
    source: str | None
    own: list[Action]  # carried out by the ticket's own helpdesk
    elsewhere: list[Notify | CreateLinkedIssue]  # chat, paging, a linked issue
    results: dict[str, ActionResult] = field(default_factory=dict)


class SourceAccess(Protocol):
    """What the writer needs of the sidecar's sources (they change on a reload)."""

    @property
    def sources(self) -> Mapping[str, Source]: ...

    def io_lock(self, name: str) -> threading.RLock: ...

    def refresh(self, name: str, ticket_ids: Sequence[str]) -> list[Ticket]: ...


class Writer:
    def __init__(
        self,
        store: StateStore,
        cache: TicketCache,
        access: SourceAccess,
        *,
        notifier: NotificationSender | None,
        log: EventLog,
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.cache = cache
        self.access = access
        self.notifier = notifier
        self.log = log
        self.metrics = metrics
        self.clock = clock
        # the runner says whether this process may still write (it holds the lease, not stopping)
        self.may_write: Callable[[], bool] = lambda: True

    # -- a plan -----------------------------------------------------------------------------
    def apply(
        self, plan: Plan, tickets: Mapping[str, Ticket], report: CycleReport
    ) -> dict[str, Ticket]:
        """Record and write ``plan``; the tickets it changed, as they now stand (to settle).

        Tickets are written one at a time, or in batches of up to ``BATCH`` tickets where the
        connector can write many in one call; each ticket's actions are begun in the ledger
        just before its batch is written, so a crash leaves few entries pending."""
        changed: dict[str, Ticket] = {}
        queued: dict[str | None, list[tuple[Ticket, Sequence[Action]]]] = {}
        refused: dict[str | None, AuthError] = {}  # sources that refused our credentials
        self._prepare_linked_issues(plan)
        for tp in plan.tickets:
            ticket = tickets.get(tp.ticket)
            if ticket is None:
                continue
            if (tp.actions or tp.satisfied) and not self.may_write():
                self.log.warning("writes.stopped", reason="no longer the active process")
                break
            self._record_decisions(tp)
            if self._record_satisfied(tp, report):
                changed[tp.ticket] = ticket
            if not tp.actions:
                continue
            name = self.cache.owner(ticket.key)
            batch = queued.setdefault(name, [])
            batch.append((ticket, tp.actions))
            if len(batch) >= self._batch_size(name):
                changed.update(self._flush(name, queued.pop(name), report, refused))
        for name, batch in queued.items():
            changed.update(self._flush(name, batch, report, refused))
        if refused:
            raise next(iter(refused.values()))
        return changed

    def _prepare_linked_issues(self, plan: Plan) -> None:
        """Let each hosting source check a whole plan's new linked issues for duplicates at
        once (Jira: one JQL search instead of one per issue), where it offers to."""
        wanted: dict[str, list[CreateLinkedIssue]] = {}
        for tp in plan.tickets:
            for action in tp.actions:
                if isinstance(action, CreateLinkedIssue):
                    wanted.setdefault(action.system, []).append(action)
        for system, actions in wanted.items():
            for source in self.access.sources.values():
                prepare = getattr(source.connector, "prepare_linked_issues", None)
                if source.kind != system or prepare is None:
                    continue
                try:
                    with self.access.io_lock(source.name):
                        prepare(actions)
                except ConnectorError as exc:  # each creation then checks on its own
                    self.log.warning("linked_issues.unprepared", source=source.name, error=str(exc))
                break

    def _batch_size(self, name: str | None) -> int:
        source = self.access.sources.get(name) if name else None
        return BATCH if source is not None and isinstance(source.connector, BatchWriter) else 1

    def _flush(
        self,
        name: str | None,
        batch: list[tuple[Ticket, Sequence[Action]]],
        report: CycleReport,
        refused: dict[str | None, AuthError],
    ) -> dict[str, Ticket]:
        """Begin, write and finish one batch of one source's tickets."""
        writes = [self._begin(ticket, actions) for ticket, actions in batch]
        authenticated = name not in refused
        if authenticated:
            try:
                self._write_own(name, writes)
            except AuthError as exc:  # the other sources still write; the cycle fails after
                refused[name] = exc
                authenticated = False
        else:  # this source already refused us in this cycle: nothing more is sent
            self._fail([w for w in writes if w.own], "authentication failed")
        changed: dict[str, Ticket] = {}
        for write in writes:
            shown = self._conclude(write, report, authenticated=authenticated)
            if shown is not None:
                changed[write.ticket.key] = shown
        return changed

    def write(self, ticket: Ticket, actions: Sequence[Action], report: CycleReport) -> None:
        """Write one ticket's actions outside a plan (follow-ups of pages)."""
        tp = TicketPlan(ticket.key, 0, actions=tuple(actions))
        self.apply(Plan(report.now, (tp,)), {ticket.key: ticket}, report)

    def _record_decisions(self, tp: TicketPlan) -> None:
        for d in tp.decisions:
            self.store.audit(
                tp.ticket, "decision", {"rule": d.rule, "reason": d.reason, "level": d.level}, d.at
            )
            self.log.info(
                "decision", ticket=tp.ticket, rule=d.rule, reason=d.reason, escalation_level=d.level
            )

    def _record_satisfied(self, tp: TicketPlan, report: CycleReport) -> int:
        source = self.cache.owner(tp.ticket) or ""
        recorded = 0
        for action in tp.satisfied:
            if self.store.begin(action, source):
                self.store.finish(action.key, ActionStatus.ALREADY, "the ticket already shows it")
                self.cache.recorded(action)
                recorded += 1
        report.recorded += recorded
        return recorded

    def _begin(self, ticket: Ticket, actions: Sequence[Action]) -> _TicketWrite:
        name = self.cache.owner(ticket.key)
        write = _TicketWrite(ticket, name, [], [])
        for action in actions:
            if not self.store.begin(action, name or ""):
                continue  # another process (or an earlier attempt still pending) owns it
            if isinstance(action, Notify | CreateLinkedIssue):
                write.elsewhere.append(action)
            else:
                write.own.append(action)
        return write

    # -- the helpdesk's own writes ----------------------------------------------------------
    def _write_own(self, name: str | None, writes: list[_TicketWrite]) -> None:
        """Every ticket's own actions for source ``name``, in as few calls as it allows; each
        result lands in its ``_TicketWrite``. Raises ``AuthError`` after recording it."""
        pending = [w for w in writes if w.own]
        source = self.access.sources.get(name) if name else None
        if not pending:
            return
        if source is None:
            self._fail(pending, "no configured source owns this ticket")
            return
        if not self.may_write():
            self._fail(pending, "not written: no longer the active process")
            return
        connector = source.connector
        try:
            with self.access.io_lock(source.name):
                if isinstance(connector, BatchWriter) and len(pending) > 1:
                    answers = connector.apply_many([(w.ticket, w.own) for w in pending])
                else:
                    answers = [self._apply_one(connector.apply, w) for w in pending]
        except AuthError:
            self._fail(pending, "authentication failed")
            raise
        except ConnectorError as exc:
            self._fail(pending, f"{type(exc).__name__}: {exc}")
            return
        for write, results in zip(pending, answers, strict=True):
            write.results.update((r.key, r) for r in results)

    @staticmethod
    def _apply_one(
        apply: Callable[[Ticket, Sequence[Action]], list[ActionResult]], write: _TicketWrite
    ) -> list[ActionResult]:
        try:
            return apply(write.ticket, write.own)
        except AuthError:
            raise
        except ConnectorError as exc:  # this ticket failed; the batch goes on
            detail = f"{type(exc).__name__}: {exc}"
            return [ActionResult(a.key, ActionStatus.FAILED, detail) for a in write.own]

    @staticmethod
    def _fail(writes: list[_TicketWrite], detail: str) -> None:
        for write in writes:
            for action in write.own:
                write.results[action.key] = ActionResult(action.key, ActionStatus.FAILED, detail)

    def _conclude(
        self, write: _TicketWrite, report: CycleReport, *, authenticated: bool
    ) -> Ticket | None:
        """Finish one ticket's write: its own results, then (if the ticket shows the
        escalation) chat and linked issues. The ticket as it now stands if anything was
        done or it was re-read after a conflict, else None."""
        ticket, name = write.ticket, write.source
        start = len(report.written)
        written, now_shown = self._finish_own(write, report) if write.own else (True, ticket)
        # chat and linked issues only once the ticket itself shows the escalation; otherwise
        # they are released and decided again, with the ticket, in the next cycle
        for action in write.elsewhere:
            if not authenticated:
                result = ActionResult(action.key, ActionStatus.FAILED, "not sent: auth failed")
            elif not written:
                result = ActionResult(
                    action.key, ActionStatus.FAILED, "not sent: the ticket was not updated"
                )
            elif isinstance(action, Notify):
                result = self._notify(action, ticket)
            else:
                result = self._create_linked(ticket, action)
            self._finish(action, result, name, report)
        progressed = any(r.status in DONE for _, r in report.written[start:])
        if now_shown is not ticket and now_shown is not None:
            return now_shown  # written, or re-read after a conflict
        return ticket if progressed else None

    def _finish_own(
        self, write: _TicketWrite, report: CycleReport
    ) -> tuple[bool, Ticket | None]:
        """First: True unless the ticket changed under us or a level's label could not be
        written (then the ticket does not show the escalation its notifications would
        announce). Second: the ticket as it now stands (None if a conflict's re-read failed)."""
        ticket, name = write.ticket, write.source
        conflict = False
        written = True
        shown = ticket
        for action in write.own:
            result = write.results.get(action.key) or ActionResult(
                action.key, ActionStatus.FAILED, "the connector returned no result for it"
            )
            conflict = conflict or result.status is ActionStatus.CONFLICT
            if isinstance(action, AddLabels) and action.level is not None:
                written = written and result.status in DONE
            self._finish(action, result, name, report)
            if result.status is ActionStatus.APPLIED:
                shown = apply_action(shown, action)
                if result.updated_at is not None and result.updated_at > shown.updated_at:
                    shown = replace(shown, updated_at=result.updated_at)
        if shown is not ticket and name and not conflict:
            # what the helpdesk shows now, until the next pull brings its own copy
            self.cache.remember(name, [shown])
        if conflict and name:
            # the ticket changed under us: re-read it now, and re-plan it once in this cycle
            # (not again after a second conflict) so the person's change is seen, not fought
            fresh = self.access.refresh(name, [ticket.id])
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
        if result.status in DONE:
            self.cache.recorded(action)
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
        self.log.event(
            "action",
            "info" if result.status in DONE else "warning",
            ticket=action.ticket,
            key=action.key,
            kind=action.kind.value,
            rule=action.rule,
            status=result.status.value,
            detail=result.detail,
            escalation_level=action.level,
        )

    # -- elsewhere --------------------------------------------------------------------------
    def _notify(self, action: Notify, ticket: Ticket) -> ActionResult:
        if self.notifier is None:
            return ActionResult(action.key, ActionStatus.FAILED, "no notification channels set up")
        # the channel's point of no return goes in the ledger: after it, a crash is not re-sent
        def handed(reference: str) -> None:
            self.store.mark_handed(action.key, reference)

        return self.notifier.send(action, ticket_url=ticket.url, handed=handed)

    def _create_linked(self, ticket: Ticket, action: CreateLinkedIssue) -> ActionResult:
        """In the source of the kind the action names (``jira``), which hosts the issue."""
        for source in self.access.sources.values():
            tracker = source.tracker
            if tracker is not None and source.kind == action.system:
                try:
                    with self.access.io_lock(source.name):
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
        for action in self.store.pending():
            name = self.cache.owner(action.ticket)
            source = self.access.sources.get(name) if name else None
            status, detail = ActionStatus.FAILED, "interrupted before it was recorded"
            external_id: str | None = None
            settle = getattr(self.notifier, "settle", None)
            handed = self.store.handed(action.key) if isinstance(action, Notify) else None
            if handed is not None:
                # past the channel's point of no return before the crash (an email's final
                # dot): the receiver has it, and sending it again would show it twice
                status, external_id = ActionStatus.APPLIED, handed
                detail = f"handed to the channel before a restart ({handed}); not sent again"
            elif isinstance(action, Notify) and settle is not None:
                # the channel's own idempotency settles it: a dedup key, an alias looked up,
                # the same Message-ID (a chat webhook has none: FAILED, decided again)
                known = self.cache.get(action.ticket)
                settled = settle(action, ticket_url=known.url if known else None)
                status, detail = settled.status, settled.detail
                external_id = settled.external_id
            elif isinstance(action, PostComment) and source is not None:
                ticket_id = action.ticket.split(":", 1)[1]
                try:
                    with self.access.io_lock(source.name):
                        fresh = source.connector.fetch(ticket_id)
                except ConnectorError as exc:
                    self.log.warning("pending.unreadable", key=action.key, error=str(exc))
                    continue  # try again next cycle; the key stays pending, never re-sent
                self.cache.remember(name or "", [fresh])
                if any(c.marker == action.key for c in fresh.comments):
                    status, detail = ActionStatus.ALREADY, "found on the ticket after a restart"
            self.store.finish(action.key, status, detail, external_id)
            if status in DONE:
                self.cache.recorded(action)
            self.log.info("pending.resolved", key=action.key, status=status.value)
            resolved += 1
        return resolved
