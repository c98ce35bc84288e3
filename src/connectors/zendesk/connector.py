"""ZendeskConnector: pull changed tickets, fetch one, apply actions, verify webhooks.

History comes from the ticket's audits: one call per changed ticket yields every comment
(public flag, author, and the sidecar's marker in the audit metadata) *and* every
status/priority/group/assignee change with its exact time. Ticket metric events would give
status times but no comments, so they would be a second call per ticket for less.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import httpx
from zenpy.lib.api_objects import Ticket as ZenpyTicket
from zenpy.lib.exception import APIException, ZenpyException

from connectors.base import (
    ActionResult,
    ActionStatus,
    PullResult,
    Quarantined,
    WebhookEvent,
)
from connectors.errors import (
    ConflictError,
    ConnectorError,
    FatalError,
    MalformedRecord,
    NotFoundError,
    RetryableError,
)
from connectors.retry import RetryPolicy
from connectors.zendesk.auth import credentials_for
from connectors.zendesk.client import ZendeskSession, make_zenpy
from connectors.zendesk.mapping import (
    Directory,
    TicketMapper,
    last_audit_is_ours,
    ticket_id_of,
)
from connectors.zendesk.pull import (
    ExportPage,
    ExportWalk,
    decode_cursor,
    encode_cursor,
    export_start,
)
from connectors.zendesk.settings import Settings
from connectors.zendesk.webhook import WebhookVerifier
from connectors.zendesk.write import TicketWrite, plan_writes, shows
from engine.codec import format_instant
from engine.model import Action, PostComment, Ticket

T = TypeVar("T")
SHOW_MANY_LIMIT = 100
ORGANIZATION_TTL_SECONDS = 900.0  # organization fields (customer tier) change rarely


class ZendeskConnector:
    system = "zendesk"

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        retry: RetryPolicy,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.settings = settings
        self.retry = retry
        self._clock = clock
        self._http = http or httpx.Client(timeout=settings.timeout_seconds)
        self._owns_http = http is None
        self.credentials = credentials_for(
            settings.url, settings.auth, http=self._http, clock=clock
        )
        self.session = ZendeskSession(
            settings.url, self.credentials, timeout=settings.timeout_seconds
        )
        self._zenpy = make_zenpy(self.session)
        self._mapper = TicketMapper(name, settings.url, settings.fields)
        self._verifier = WebhookVerifier(
            settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
            tolerance=settings.webhook_tolerance_seconds,
        )
        self._lock = threading.Lock()
        self._users: dict[int, Mapping[str, Any]] = {}
        self._organizations: dict[int, tuple[float, Mapping[str, Any]]] = {}
        self._groups: dict[int, str] = {}

    # -- protocol -------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        calls_before = self.session.requests_made
        after = decode_cursor(cursor) if cursor else None
        start_time = (
            None
            if after is not None
            else export_start(start, datetime.fromtimestamp(self._clock(), UTC))
        )
        raws, after = ExportWalk(self._export_page).run(after, start_time)
        quarantined: list[Quarantined] = []
        candidates: dict[int, Any] = {}
        for raw in raws:  # a ticket changed during the walk shows up twice: keep the latest
            try:
                self._mapper.ticket(raw, (), Directory())  # cheap shape check before any call
                candidates[ticket_id_of(raw)] = raw
            except MalformedRecord as exc:
                quarantined.append(self._quarantine(exc, raw))
        audits: dict[int, list[dict[str, Any]]] = {}
        for tid in list(candidates):
            try:
                audits[tid] = self._audits(tid)
            except NotFoundError:
                del candidates[tid]  # deleted between the export and now: nothing to judge
        directory = self._directory(candidates.values(), audits.values())
        tickets: list[Ticket] = []
        echoes: list[str] = []
        for tid, raw in candidates.items():
            try:
                ticket = self._mapper.ticket(raw, audits[tid], directory)
            except MalformedRecord as exc:
                quarantined.append(self._quarantine(exc, raw))
                continue
            tickets.append(ticket)
            if cursor is not None and last_audit_is_ours(audits[tid]):
                echoes.append(ticket.key)
        return PullResult(
            tickets=tuple(tickets),
            cursor=encode_cursor(after),
            quarantined=tuple(quarantined),
            api_calls=self.session.requests_made - calls_before,
            echoes=tuple(echoes),
        )

    def fetch(self, ticket_id: str) -> Ticket:
        tid = int(ticket_id)
        raw = self._call(lambda: self._zenpy.tickets(id=tid).to_dict())
        audits = self._audits(tid)
        return self._mapper.ticket(raw, audits, self._directory([raw], [audits]))

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        plan = plan_writes(ticket, actions, group_id=self._group_id)
        results = dict(plan.results)
        stamp = format_instant(ticket.updated_at)
        stop: ActionResult | None = None  # once a write fails, later ones are not attempted
        for write in plan.writes:
            if stop is not None:
                for action in write.actions:
                    results[action.key] = ActionResult(action.key, stop.status, stop.detail)
                continue
            try:
                stamp, comment_id = self._put(ticket.id, write, stamp)
            except ConflictError:
                results.update(self._after_conflict(ticket.id, write.actions))
                stop = ActionResult(
                    "",
                    ActionStatus.CONFLICT,
                    "not attempted: the ticket changed under an earlier write",
                )
                continue
            except FatalError:
                raise  # credentials or configuration: stop the source, a person must act
            except ConnectorError as exc:
                detail = f"{exc.__class__.__name__}: {exc}"
                for action in write.actions:
                    results[action.key] = ActionResult(action.key, ActionStatus.FAILED, detail)
                stop = ActionResult("", ActionStatus.FAILED, f"not attempted after {detail}")
                continue
            for action in write.actions:
                external = comment_id if isinstance(action, PostComment) else None
                results[action.key] = ActionResult(
                    action.key, ActionStatus.APPLIED, external_id=external
                )
        return [results[action.key] for action in actions]

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> WebhookEvent:
        return self._verifier.verify(headers, body, now=now)

    def close(self) -> None:
        self.session.close()
        if self._owns_http:
            self._http.close()

    # -- calls ----------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        """Every API call: one RetryPolicy; SDK parsing failures count as transient."""

        def attempt() -> T:
            try:
                return fn()
            except ConnectorError:
                raise
            except (ZenpyException, APIException, ValueError, KeyError, TypeError) as exc:
                raise RetryableError(f"unreadable Zendesk response: {exc!r}") from exc

        return self.retry.call(attempt)

    def _export_page(self, after_cursor: str | None, start_time: int | None) -> ExportPage:
        per_page = self.settings.page_size

        def one_page() -> ExportPage:
            tickets = self._zenpy.tickets
            page = (
                tickets.incremental(start_time=start_time, per_page=per_page)
                if after_cursor is None
                else tickets.incremental(cursor=after_cursor, per_page=per_page)
            )
            # process_page() decodes only this page; iterating would fetch the next one
            # outside the retry policy
            records = [record.to_dict() for record in page.process_page()]
            return ExportPage(
                tickets=records,
                after_cursor=getattr(page, "after_cursor", None),
                end_of_stream=bool(getattr(page, "end_of_stream", False)),
            )

        return self._call(one_page)

    def _audits(self, tid: int) -> list[dict[str, Any]]:
        audits = self._call(lambda: [a.to_dict() for a in self._zenpy.tickets.audits(ticket=tid)])
        return sorted(audits, key=lambda a: (str(a.get("created_at")), a.get("id") or 0))

    def _put(
        self, ticket_id: str, write: TicketWrite, stamp: str | None
    ) -> tuple[str | None, str | None]:
        """One PUT with safe_update; returns (the new updated_at, the new comment's id)."""

        def put() -> Any:
            # built afresh per attempt: zenpy clears an object's dirty fields after success.
            # Retrying is safe: if an attempt landed, the next one gets 409 (stamp moved on).
            update = ZenpyTicket(id=int(ticket_id))
            for key, value in write.body.items():
                setattr(update, key, value)
            update.safe_update = True
            update.updated_stamp = stamp
            return self._zenpy.tickets.update(update)

        response = self._call(put)
        updated_at = getattr(getattr(response, "ticket", None), "updated_at", None)
        comment_id: str | None = None
        audit = getattr(response, "audit", None)
        if audit is not None and write.comment is not None:
            for event in audit.to_dict().get("events") or []:
                if event.get("type") == "Comment" and event.get("id") is not None:
                    comment_id = str(event["id"])
        return (str(updated_at) if updated_at else stamp), comment_id

    def _after_conflict(self, ticket_id: str, actions: Iterable[Action]) -> dict[str, ActionResult]:
        """409: re-read; what the fresh ticket already shows (e.g. our own earlier attempt that
        landed before a timeout) is ALREADY, the rest CONFLICT so the app re-plans."""
        try:
            fresh: Ticket | None = self.fetch(ticket_id)
        except ConnectorError:
            fresh = None
        results: dict[str, ActionResult] = {}
        for action in actions:
            if fresh is not None and shows(fresh, action):
                comment = next((c.id for c in fresh.comments if c.marker == action.key), None)
                results[action.key] = ActionResult(
                    action.key, ActionStatus.ALREADY, "found on re-read after 409", comment
                )
            else:
                results[action.key] = ActionResult(
                    action.key,
                    ActionStatus.CONFLICT,
                    "the ticket changed since it was read (409 safe_update): re-read, re-plan",
                )
        return results

    # -- directory ------------------------------------------------------------------------
    def _directory(
        self, raws: Iterable[Any], audits: Iterable[Sequence[Mapping[str, Any]]]
    ) -> Directory:
        raw_list = list(raws)
        user_ids: set[int] = set()
        org_ids: set[int] = set()
        group_ids: set[int] = set()
        for raw in raw_list:
            for key, into in (
                ("requester_id", user_ids),
                ("organization_id", org_ids),
                ("group_id", group_ids),
            ):
                value = raw.get(key)
                if isinstance(value, int):
                    into.add(value)
        for ticket_audits in audits:
            for audit in ticket_audits:
                for event in audit.get("events") or []:
                    author = event.get("author_id")
                    if event.get("type") in ("Comment", "VoiceComment") and isinstance(author, int):
                        user_ids.add(author)
                    if event.get("field_name") == "group_id":
                        for value in (event.get("value"), event.get("previous_value")):
                            if isinstance(value, int):
                                group_ids.add(value)
        self._load_users(user_ids)
        orgs = self._load_organizations(org_ids)
        if group_ids - set(self._groups):
            self._load_groups()
        with self._lock:
            return Directory(
                users={i: self._users[i] for i in user_ids if i in self._users},
                organizations=orgs,
                groups=dict(self._groups),
            )

    def _load_users(self, ids: set[int]) -> None:
        with self._lock:
            missing = sorted(ids - set(self._users))
        for chunk in _chunks(missing, SHOW_MANY_LIMIT):
            users = self._call(partial(self._show_many, "users", chunk))
            with self._lock:
                for user in users:
                    self._users[int(user["id"])] = user

    def _load_organizations(self, ids: set[int]) -> dict[int, Mapping[str, Any]]:
        now = self._clock()
        with self._lock:
            stale = sorted(
                i
                for i in ids
                if i not in self._organizations
                or now - self._organizations[i][0] > ORGANIZATION_TTL_SECONDS
            )
        for chunk in _chunks(stale, SHOW_MANY_LIMIT):
            orgs = self._call(partial(self._show_many, "organizations", chunk))
            with self._lock:
                for org in orgs:
                    self._organizations[int(org["id"])] = (now, org)
        with self._lock:
            return {i: self._organizations[i][1] for i in ids if i in self._organizations}

    def _show_many(self, kind: str, ids: list[int]) -> list[dict[str, Any]]:
        """``GET /api/v2/{users|organizations}/show_many?ids=``: up to 100 records per call."""
        api = self._zenpy.users if kind == "users" else self._zenpy.organizations
        return [record.to_dict() for record in api(ids=ids)]

    def _load_groups(self) -> None:
        groups = self._call(lambda: [g.to_dict() for g in self._zenpy.groups()])
        with self._lock:
            self._groups = {int(g["id"]): str(g.get("name")) for g in groups}

    def _group_id(self, name: str) -> int | None:
        for attempt in range(2):  # a group created since the last load: reload once
            with self._lock:
                for gid, gname in self._groups.items():
                    if gname == name:
                        return gid
            if attempt == 0:
                self._load_groups()
        return None

    def _quarantine(self, exc: MalformedRecord, raw: Any) -> Quarantined:
        record_id = exc.record_id
        if record_id is None and isinstance(raw, Mapping) and raw.get("id") is not None:
            record_id = str(raw.get("id"))
        return Quarantined(source=self.name, record_id=record_id, reason=str(exc))


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
