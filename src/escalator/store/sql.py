"""The state store: one SQLAlchemy Core implementation for SQLite and PostgreSQL.

Every method is one short transaction, so a store is safe to share between worker threads
(SQLite serialises writers with BEGIN IMMEDIATE; PostgreSQL runs them concurrently). The
race-sensitive writes (``begin``, ``acquire_lease``) are a single INSERT ... ON CONFLICT DO UPDATE
... WHERE statement, atomic on both backends: of two racers exactly one gets its row back.

The lease is such a row (holder, expires_at) rather than a PostgreSQL advisory lock: an advisory
lock lives as long as one pooled connection (a reconnect or a transaction-mode pooler silently
drops it), SQLite has no equivalent, and a stored expiry lets a stopped holder be replaced after
its TTL with the same code on both backends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import ActionStatus
from engine.codec import action_from_dict, action_to_dict, ticket_from_dict, ticket_to_dict
from engine.model import Action, Ticket
from escalator.store import schema as t
from escalator.store.connect import create_store_engine, is_memory_sqlite, parse_store_url
from escalator.store.errors import ActionNotPendingError, StoreError, UnknownActionError
from escalator.store.migrations import migrate
from escalator.store.records import AuditEntry, LedgerEntry, QuarantineEntry

_FINISH_STATUSES = {
    ActionStatus.APPLIED: t.APPLIED,
    ActionStatus.ALREADY: t.ALREADY,
    ActionStatus.FAILED: t.FAILED,
    ActionStatus.CONFLICT: t.CONFLICT,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be an aware UTC datetime, got naive {value!r}")
    return value.astimezone(UTC)


class StateStore:
    """What the sidecar decided, applied and saw; see ``open_store``."""

    def __init__(self, engine: Engine, *, where: str, serialise: bool = False) -> None:
        self._engine = engine
        self.where = where  # the URL without its password, for messages
        # An in-memory SQLite database is one shared connection: one thread at a time.
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if serialise else contextlib.nullcontext()
        )
        self.schema_version = migrate(engine, where=where)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._serial, self._engine.begin() as conn:
            yield conn

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        # Both dialects spell upsert the same way (on_conflict_do_update, .excluded).
        if self.backend == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- idempotency ledger -------------------------------------------------------------------

    def begin(self, action: Action, source: str, *, at: datetime | None = None) -> bool:
        """Record ``action`` as pending before the API call.

        True: the caller owns the write now. False: the key is pending or done elsewhere (or
        earlier), so the caller must not write. A failed entry may be begun again.
        """
        at = _aware(at, "at") if at else _now()
        row = {
            "key": action.key,
            "ticket": action.ticket,
            "source": source,
            "kind": str(action.kind),
            "rule": action.rule,
            "status": t.PENDING,
            "payload": action_to_dict(action),
            "detail": "",
            "external_id": None,
            "attempts": 1,
            "begun_at": at,
            "finished_at": None,
        }
        ins = self._insert(t.actions).values(**row)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.actions.c.key],
            set_={
                "source": ins.excluded.source,
                "status": t.PENDING,
                "payload": ins.excluded.payload,
                "detail": "",
                "external_id": None,
                "attempts": t.actions.c.attempts + 1,
                "begun_at": ins.excluded.begun_at,
                "finished_at": None,
            },
            where=t.actions.c.status.in_(t.RETRYABLE_STATUSES),
        ).returning(t.actions.c.key)
        with self._tx() as conn:
            return conn.execute(stmt).first() is not None

    def finish(
        self,
        key: str,
        status: ActionStatus | str,
        detail: str = "",
        external_id: str | None = None,
        *,
        at: datetime | None = None,
    ) -> None:
        """Record the outcome of a begun action.

        applied/already hold the key for good; failed/conflict release it so a later cycle may
        begin it again. Finishing a key that is not pending raises (it would hide a double write).
        """
        state = _FINISH_STATUSES[ActionStatus(status)]
        at = _aware(at, "at") if at else _now()
        stmt = (
            update(t.actions)
            .where(t.actions.c.key == key, t.actions.c.status == t.PENDING)
            .values(status=state, detail=detail, external_id=external_id, finished_at=at)
        )
        with self._tx() as conn:
            if conn.execute(stmt).rowcount == 1:
                return
            current = conn.execute(
                select(t.actions.c.status).where(t.actions.c.key == key)
            ).scalar_one_or_none()
        if current is None:
            raise UnknownActionError(f"cannot finish action {key!r}: it was never begun")
        raise ActionNotPendingError(
            f"cannot finish action {key!r} as {state}: it is {current}, not pending"
        )

    def mark_handed(self, key: str, reference: str) -> None:
        """A begun action's point of no return: the receiver has it (``reference``, e.g. a
        Message-ID), though the outcome is not recorded yet. Raises unless the key is pending,
        so the caller stops before handing over what the ledger could not note."""
        stmt = (
            update(t.actions)
            .where(t.actions.c.key == key, t.actions.c.status == t.PENDING)
            .values(external_id=reference)
        )
        with self._tx() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise ActionNotPendingError(f"cannot mark {key!r} handed over: it is not pending")

    def handed(self, key: str) -> str | None:
        """The reference ``mark_handed`` noted for a pending action, if it got that far."""
        stmt = select(t.actions.c.external_id).where(
            t.actions.c.key == key, t.actions.c.status == t.PENDING
        )
        with self._tx() as conn:
            return conn.execute(stmt).scalar_one_or_none()

    def pending(self, source: str | None = None) -> list[Action]:
        """Begun and never finished (a crash between the call and the record), oldest first.

        Resolve each by reading the ticket back (the comment marker), then ``finish`` it.
        """
        stmt = select(t.actions.c.payload).where(t.actions.c.status == t.PENDING)
        if source is not None:
            stmt = stmt.where(t.actions.c.source == source)
        stmt = stmt.order_by(t.actions.c.begun_at, t.actions.c.key)
        with self._tx() as conn:
            return [action_from_dict(p) for p in conn.execute(stmt).scalars()]

    def applied(self, ticket_key: str) -> list[Action]:
        """Actions applied (or found already there) for one ticket, in the order begun."""
        return self.applied_by_ticket(ticket_key).get(ticket_key, [])

    def applied_by_ticket(self, ticket_key: str | None = None) -> dict[str, list[Action]]:
        """What the sidecar did before, per ticket key: the engine's memory."""
        stmt = select(t.actions.c.ticket, t.actions.c.payload).where(
            t.actions.c.status.in_(t.DONE_STATUSES)
        )
        if ticket_key is not None:
            stmt = stmt.where(t.actions.c.ticket == ticket_key)
        stmt = stmt.order_by(t.actions.c.ticket, t.actions.c.begun_at, t.actions.c.key)
        done: dict[str, list[Action]] = {}
        with self._tx() as conn:
            for ticket, payload in conn.execute(stmt):
                done.setdefault(ticket, []).append(action_from_dict(payload))
        return done

    def applied_per_ticket(self) -> Iterator[tuple[str, list[Action]]]:
        """``applied_by_ticket``, one ticket at a time, read as a stream: the caller keeps a
        small summary of each (``Memory``), so decoding every action of 100,000 tickets at
        once never has to fit in memory (a process keeps what its peak took)."""
        stmt = (
            select(t.actions.c.ticket, t.actions.c.payload)
            .where(t.actions.c.status.in_(t.DONE_STATUSES))
            .order_by(t.actions.c.ticket, t.actions.c.begun_at, t.actions.c.key)
            .execution_options(yield_per=2000)
        )
        current: str | None = None
        actions: list[Action] = []
        with self._tx() as conn:
            for ticket, payload in conn.execute(stmt):
                if ticket != current:
                    if current is not None:
                        yield current, actions
                    current, actions = ticket, []
                actions.append(action_from_dict(payload))
        if current is not None:
            yield current, actions

    def external_ids(self, kind: str) -> dict[str, tuple[str, str]]:
        """Done actions of ``kind`` that made something with an id: key -> (ticket, id)."""
        stmt = select(t.actions.c.key, t.actions.c.ticket, t.actions.c.external_id).where(
            t.actions.c.kind == kind,
            t.actions.c.status.in_(t.DONE_STATUSES),
            t.actions.c.external_id.is_not(None),
        )
        with self._tx() as conn:
            return {key: (ticket, ext) for key, ticket, ext in conn.execute(stmt)}

    def linked_issues_created(self) -> list[tuple[str, str, str, str]]:
        """Issues the sidecar created in another system: (action key, origin ticket, the
        system hosting the issue, the issue's key)."""
        a = t.actions
        stmt = select(a.c.key, a.c.ticket, a.c.payload, a.c.external_id).where(
            a.c.kind == "create_linked_issue",
            a.c.status.in_(t.DONE_STATUSES),
            a.c.external_id.is_not(None),
        )
        with self._tx() as conn:
            return [
                (key, ticket, str((payload or {}).get("system") or "jira"), ext)
                for key, ticket, payload, ext in conn.execute(stmt)
            ]

    def is_done(self, key: str) -> bool:
        """True when the action was applied or found already there."""
        stmt = select(t.actions.c.status).where(t.actions.c.key == key)
        with self._tx() as conn:
            return conn.execute(stmt).scalar_one_or_none() in t.DONE_STATUSES

    # -- ticket cache -------------------------------------------------------------------------

    def save_tickets(self, source: str, tickets: Iterable[Ticket]) -> None:
        """Upsert by ticket key; an older copy (earlier ``updated_at``) never replaces a newer."""
        rows = [
            {
                "key": ticket.key,
                "source": source,
                "payload": ticket_to_dict(ticket),
                "updated_at": _aware(ticket.updated_at, "Ticket.updated_at"),
            }
            for ticket in tickets
        ]
        if not rows:
            return
        ins = self._insert(t.tickets)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.tickets.c.key],
            set_={
                "source": ins.excluded.source,
                "payload": ins.excluded.payload,
                "updated_at": ins.excluded.updated_at,
            },
            where=t.tickets.c.updated_at <= ins.excluded.updated_at,
        )
        with self._tx() as conn:
            conn.execute(stmt, rows)

    def load_tickets(self, source: str | None = None) -> list[Ticket]:
        stmt = select(t.tickets.c.payload).order_by(t.tickets.c.key)
        if source is not None:
            stmt = stmt.where(t.tickets.c.source == source)
        with self._tx() as conn:
            return [ticket_from_dict(p) for p in conn.execute(stmt).scalars()]

    def forget_tickets(self, older_than: datetime) -> int:
        """Drop cached tickets not updated since ``older_than``; return how many."""
        stmt = delete(t.tickets).where(t.tickets.c.updated_at < _aware(older_than, "older_than"))
        with self._tx() as conn:
            return conn.execute(stmt).rowcount

    def ticket_payloads(self, updated_since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Cached tickets as stored (``engine.codec`` dicts), undecoded, read as a stream:
        reports read them all and keep only a few fields of each."""
        stmt = select(t.tickets.c.payload).order_by(t.tickets.c.key)
        if updated_since is not None:
            stmt = stmt.where(t.tickets.c.updated_at >= _aware(updated_since, "updated_since"))
        with self._tx() as conn:
            yield from conn.execute(stmt.execution_options(yield_per=2000)).scalars()

    def ledger(self, ticket_key: str | None = None) -> list[LedgerEntry]:
        """The actions the ledger holds (all, or one ticket's), with their outcomes, oldest
        begun first: for reports and ``explain``."""
        a = t.actions
        stmt = select(
            a.c.key, a.c.ticket, a.c.source, a.c.kind, a.c.rule, a.c.status, a.c.payload,
            a.c.begun_at, a.c.finished_at,
        ).order_by(a.c.begun_at, a.c.key)  # fmt: skip
        if ticket_key is not None:
            stmt = stmt.where(a.c.ticket == ticket_key)
        with self._tx() as conn:
            return [LedgerEntry(*row) for row in conn.execute(stmt)]

    def applied_payloads(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(ticket, kind, rule, payload) of every action applied or found already there, in
        the order begun, undecoded: what a report over every ticket counts."""
        a = t.actions
        stmt = (
            select(a.c.ticket, a.c.kind, a.c.rule, a.c.payload)
            .where(a.c.status.in_(t.DONE_STATUSES))
            .order_by(a.c.begun_at, a.c.key)
        )
        with self._tx() as conn:
            return [tuple(row) for row in conn.execute(stmt)]

    # -- cursors ------------------------------------------------------------------------------

    def get_cursor(self, source: str) -> str | None:
        stmt = select(t.cursors.c.cursor).where(t.cursors.c.source == source)
        with self._tx() as conn:
            return conn.execute(stmt).scalar_one_or_none()

    def set_cursor(self, source: str, cursor: str | None, polled_at: datetime) -> None:
        ins = self._insert(t.cursors).values(
            source=source, cursor=cursor, polled_at=_aware(polled_at, "polled_at")
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[t.cursors.c.source],
            set_={"cursor": ins.excluded.cursor, "polled_at": ins.excluded.polled_at},
        )
        with self._tx() as conn:
            conn.execute(stmt)

    def last_poll(self, source: str) -> datetime | None:
        stmt = select(t.cursors.c.polled_at).where(t.cursors.c.source == source)
        with self._tx() as conn:
            return conn.execute(stmt).scalar_one_or_none()

    # -- audit log ----------------------------------------------------------------------------

    def audit(
        self, ticket_key: str | None, event: str, detail: dict[str, Any], at: datetime
    ) -> None:
        """Append one line: a decision taken or a write's result.

        ``detail`` must be JSON-ready; datetimes and sets are converted.
        """
        stmt = t.audit.insert().values(
            at=_aware(at, "at"), ticket=ticket_key, event=event, detail=detail
        )
        with self._tx() as conn:
            conn.execute(stmt)

    def audit_log(self, ticket_key: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Newest first; all tickets unless ``ticket_key`` is given."""
        stmt = select(t.audit).order_by(t.audit.c.at.desc(), t.audit.c.id.desc()).limit(limit)
        if ticket_key is not None:
            stmt = stmt.where(t.audit.c.ticket == ticket_key)
        with self._tx() as conn:
            return [
                AuditEntry(id=r.id, at=r.at, ticket=r.ticket, event=r.event, detail=r.detail)
                for r in conn.execute(stmt)
            ]

    # -- quarantine ---------------------------------------------------------------------------

    def quarantine(self, source: str, record_id: str | None, reason: str, at: datetime) -> None:
        """Report a record that could not be translated; meeting it again updates the entry."""
        at = _aware(at, "at")
        ins = self._insert(t.quarantine).values(
            source=source, record_id=record_id, reason=reason, first_at=at, last_at=at, times=1
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[t.quarantine.c.source, t.quarantine.c.record_id],
            set_={
                "reason": ins.excluded.reason,
                "last_at": ins.excluded.last_at,
                "times": t.quarantine.c.times + 1,
            },
        )
        with self._tx() as conn:
            conn.execute(stmt)

    def quarantined(self, source: str | None = None) -> list[QuarantineEntry]:
        """Newest first."""
        q = t.quarantine
        stmt = select(q).order_by(q.c.last_at.desc(), q.c.id.desc())
        if source is not None:
            stmt = stmt.where(q.c.source == source)
        with self._tx() as conn:
            return [
                QuarantineEntry(
                    source=r.source,
                    record_id=r.record_id,
                    reason=r.reason,
                    first_at=r.first_at,
                    last_at=r.last_at,
                    times=r.times,
                )
                for r in conn.execute(stmt)
            ]

    def clear_quarantine(self, source: str, record_id: str) -> bool:
        """Forget a quarantined record (it translated fine since); False if it was not there."""
        q = t.quarantine
        stmt = delete(q).where(q.c.source == source, q.c.record_id == record_id)
        with self._tx() as conn:
            return conn.execute(stmt).rowcount > 0

    # -- policy snapshot ----------------------------------------------------------------------

    def policy_version(self, ticket_key: str) -> str | None:
        """The policy version this ticket's escalation started under, if one did."""
        stmt = select(t.policy_versions.c.version).where(t.policy_versions.c.ticket == ticket_key)
        with self._tx() as conn:
            return conn.execute(stmt).scalar_one_or_none()

    def set_policy_version(self, ticket_key: str, version: str) -> None:
        ins = self._insert(t.policy_versions).values(ticket=ticket_key, version=version)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.policy_versions.c.ticket], set_={"version": ins.excluded.version}
        )
        with self._tx() as conn:
            conn.execute(stmt)

    def policy_versions(self) -> dict[str, str]:
        """Every ticket's recorded policy version."""
        pv = t.policy_versions
        with self._tx() as conn:
            return {row.ticket: row.version for row in conn.execute(select(pv))}

    def set_policy_versions(self, versions: dict[str, str]) -> None:
        """Record many tickets' policy versions in one transaction."""
        if not versions:
            return
        pv = t.policy_versions
        with self._tx() as conn:
            for ticket, version in versions.items():
                ins = self._insert(pv).values(ticket=ticket, version=version)
                conn.execute(
                    ins.on_conflict_do_update(
                        index_elements=[pv.c.ticket], set_={"version": ins.excluded.version}
                    )
                )

    def save_policy_snapshot(self, version: str, files: dict[str, str]) -> None:
        """Keep the config files of ``version`` (once: a version's files never change)."""
        ps = t.policy_snapshots
        ins = self._insert(ps).values(version=version, files=files, saved_at=_now())
        with self._tx() as conn:
            conn.execute(ins.on_conflict_do_nothing(index_elements=[ps.c.version]))

    def policy_snapshot(self, version: str) -> dict[str, str] | None:
        ps = t.policy_snapshots
        with self._tx() as conn:
            files = conn.execute(select(ps.c.files).where(ps.c.version == version)).scalar()
        return dict(files) if files is not None else None

    # -- connector credentials ----------------------------------------------------------------

    def read_credentials(self, source: str) -> dict[str, Any] | None:
        c = t.credentials
        with self._tx() as conn:
            data = conn.execute(select(c.c.data).where(c.c.source == source)).scalar()
        return dict(data) if data is not None else None

    def write_credentials(self, source: str, data: dict[str, Any]) -> None:
        """Replace ``source``'s tokens (a rotated refresh token must never be lost)."""
        c = t.credentials
        ins = self._insert(c).values(source=source, data=data, saved_at=_now())
        stmt = ins.on_conflict_do_update(
            index_elements=[c.c.source], set_={"data": ins.excluded.data, "saved_at": _now()}
        )
        with self._tx() as conn:
            conn.execute(stmt)

    # -- lease (one active instance) ----------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        """Take or renew lease ``name`` until ``now + ttl``; True when ``holder`` holds it now.

        One statement: insert, or take over the row only if it is ours or expired. ``now`` comes
        from the caller, so the instances' clocks must agree to well within the TTL.
        """
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        now = _aware(now, "now")
        ins = self._insert(t.leases).values(
            name=name, holder=holder, expires_at=now + timedelta(seconds=ttl_seconds)
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[t.leases.c.name],
            set_={"holder": ins.excluded.holder, "expires_at": ins.excluded.expires_at},
            where=or_(t.leases.c.holder == holder, t.leases.c.expires_at <= now),
        ).returning(t.leases.c.name)
        with self._tx() as conn:
            return conn.execute(stmt).first() is not None

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up if ``holder`` has it; False when someone else does (or nobody)."""
        stmt = delete(t.leases).where(t.leases.c.name == name, t.leases.c.holder == holder)
        with self._tx() as conn:
            return conn.execute(stmt).rowcount > 0

    # -- lifecycle ----------------------------------------------------------------------------

    def ping(self) -> bool:
        """True when the database answers (readiness probe)."""
        try:
            with self._serial, self._engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({self.where!r})"


def open_store(url: str) -> StateStore:
    """Open (and migrate) the store at ``url``: ``sqlite:///path/state.db`` or
    ``postgresql://user:pass@host/db``. Raises ``StoreError`` if the URL or database is unusable,
    ``SchemaTooNewError`` if a newer sidecar migrated it."""
    parsed = parse_store_url(url)
    where = parsed.render_as_string(hide_password=True)
    engine = create_store_engine(parsed)
    try:
        return StateStore(engine, where=where, serialise=is_memory_sqlite(parsed))
    except StoreError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"{where}: cannot open the state store: {exc}") from exc
