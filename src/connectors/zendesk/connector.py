"""ZendeskConnector: pull changed tickets, fetch one, apply actions, verify webhooks.

A pull costs pages, not tickets: the cursor-based ticket export (up to 1,000 tickets a page,
their requesters, groups and organizations side-loaded) says which tickets changed, and the
ticket event export (``include=comment_events``) brings every comment and field change since
the last pull, which keeps each ticket's timeline (``timeline.py``) current in memory. A
ticket's own audits (``GET /api/v2/tickets/{id}/audits``, paged) are read only where the exports
cannot serve: a ticket first seen with history from before this process's first window, one
changed after the event export's end, one holding an API comment that may be ours (the export
carries no audit metadata, where our marker lives), and ``fetch``.
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
    MappingWarning,
    PullResult,
    Quarantined,
    TokenKeeper,
    WebhookEvent,
)
from connectors.errors import (
    ConflictError,
    ConnectorError,
    FatalError,
    MalformedRecord,
    NotFoundError,
    RequestRejected,
    RetryableError,
)
from connectors.retry import RetryPolicy
from connectors.zendesk.auth import OAuthCredentials, credentials_for
from connectors.zendesk.client import ZendeskSession, make_zenpy
from connectors.zendesk.directory import AccountDirectory
from connectors.zendesk.mapping import (
    Directory,
    TicketMapper,
    as_id,
    last_audit_is_ours,
    parse_instant,
    ticket_id_of,
)
from connectors.zendesk.pull import (
    EventsPage,
    EventsWalk,
    ExportPage,
    ExportWalk,
    PageWalk,
    PullCursor,
    decode_cursor,
    encode_cursor,
    export_start,
)
from connectors.zendesk.settings import Settings
from connectors.zendesk.timeline import TimelineCache, api_comment_authors, audit_from_row
from connectors.zendesk.webhook import WebhookVerifier
from connectors.zendesk.write import TicketWrite, plan_writes, shows
from engine.codec import format_instant
from engine.model import Action, PostComment, Ticket

T = TypeVar("T")
SIDELOADS = "users,groups,organizations"  # what the ticket export page brings along
CURSOR_LOOKBACK_SECONDS = 300  # re-read this much before a lost cursor's time: nothing skipped


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
        self._mapper = TicketMapper(
            name, settings.url, settings.fields, frozenset(settings.bot_user_ids)
        )
        self._verifier = WebhookVerifier(
            settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
            tolerance=settings.webhook_tolerance_seconds,
        )
        self._lock = threading.Lock()
        self.directory = AccountDirectory(
            users=partial(self._show_many, "users"),
            organizations=partial(self._show_many, "organizations"),
            groups=self._list_groups,
            clock=clock,
        )
        self.timelines = TimelineCache()
        self._me: int | None = None  # the user this source writes as (users/me, or our PUTs)
        self._stamps: dict[str, list[datetime]] = {}  # ticket → updated_at our PUTs went through

    # -- protocol -------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        calls_before = self.session.requests_made
        now = datetime.fromtimestamp(self._clock(), UTC)
        state = decode_cursor(cursor) if cursor else PullCursor(None, None)
        first_window = export_start(start, now)
        warnings: list[MappingWarning] = []
        raws, after, sideloads = self._walk_tickets(state, first_window, warnings)
        self.directory.remember(sideloads)
        events_from = state.events_from if state.after_cursor else first_window
        if raws or events_from is None:
            through = self._walk_events(events_from, now)
        else:  # no ticket changed, so no event is new: a quiet poll is one call
            through = events_from
        quarantined: list[Quarantined] = []
        candidates: dict[int, Any] = {}
        for raw in raws:  # a ticket changed during the walk shows up twice: keep the latest
            try:
                self._mapper.ticket(raw, (), Directory())  # cheap shape check before any call
                candidates[ticket_id_of(raw)] = raw
            except MalformedRecord as exc:
                quarantined.append(self._quarantine(exc, raw))
        audits: dict[int, list[dict[str, Any]]] = {}
        for tid, raw in list(candidates.items()):
            try:
                audits[tid] = self._timeline_for(tid, raw, through)
            except NotFoundError:  # deleted since the export: still returned, as deleted
                known = self.timelines.get(tid)
                audits[tid] = list(known.audits) if known is not None else []
                candidates[tid] = {**raw, "status": "deleted"}
        directory = self.directory.for_tickets(candidates.values(), audits.values())
        tickets: list[Ticket] = []
        echoes: list[str] = []
        for tid, raw in candidates.items():
            try:
                ticket = self._mapper.ticket(raw, audits[tid], directory, warnings)
            except MalformedRecord as exc:
                quarantined.append(self._quarantine(exc, raw))
                continue
            tickets.append(ticket)
            if cursor is not None and last_audit_is_ours(audits[tid]):
                echoes.append(ticket.key)
            if raw.get("status") == "closed":  # closed tickets never change again
                self.timelines.drop(tid)
        return PullResult(
            tickets=tuple(tickets),
            cursor=encode_cursor(after, through),
            quarantined=tuple(quarantined),
            api_calls=self.session.requests_made - calls_before,
            echoes=tuple(echoes),
            warnings=tuple(warnings),
        )

    def fetch(self, ticket_id: str) -> Ticket:
        tid = int(ticket_id)
        raw = self._call(lambda: self._zenpy.tickets(id=tid).to_dict())
        stamp = raw.get("updated_at")
        audits = self._audits(tid, stamp if isinstance(stamp, str) else None)
        return self._mapper.ticket(raw, audits, self.directory.for_tickets([raw], [audits]))

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        return self._apply(ticket, actions, replanned=False)

    def _apply(
        self, ticket: Ticket, actions: Sequence[Action], *, replanned: bool
    ) -> list[ActionResult]:
        plan = plan_writes(ticket, actions, group_id=self.directory.group_id)
        results = dict(plan.results)
        stamp = format_instant(ticket.updated_at)
        stop: ActionResult | None = None  # once a write fails, later ones are not attempted
        for index, write in enumerate(plan.writes):
            if stop is not None:
                for action in write.actions:
                    results[action.key] = ActionResult(action.key, stop.status, stop.detail)
                continue
            try:
                stamp, comment_id = self._put(ticket.id, write, stamp)
            except ConflictError:
                fresh = self._reread(ticket.id)
                if fresh is not None and not replanned and self._only_ours(ticket, fresh):
                    # the ticket moved only by our own earlier writes (a caller's copy from
                    # before them): no person to respect, so plan the rest from the fresh read
                    rest = [a for w in plan.writes[index:] for a in w.actions]
                    for result in self._apply(fresh, rest, replanned=True):
                        results[result.key] = result
                    break
                results.update(self._after_conflict(fresh, write.actions))
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
            written_at = parse_stamp(stamp)
            for action in write.actions:
                external = comment_id if isinstance(action, PostComment) else None
                results[action.key] = ActionResult(
                    action.key, ActionStatus.APPLIED, external_id=external, updated_at=written_at
                )
        return [results[action.key] for action in actions]

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> WebhookEvent:
        return self._verifier.verify(headers, body, now=now)

    def keep_tokens_in(self, keeper: TokenKeeper) -> None:
        """OAuth tokens go to ``keeper`` (the app's store), not a new grant per process."""
        if isinstance(self.credentials, OAuthCredentials):
            self.credentials.keep_in(keeper)

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

    def _get(self, url: str, params: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
        """One GET through the retry policy; the body must be a JSON object."""

        def get() -> Mapping[str, Any]:
            body = self.session.get(url, params=dict(params or {})).json()
            if not isinstance(body, Mapping):
                raise RetryableError(f"{url}: the response is not a JSON object")
            return body

        return self._call(get)

    def _walk_tickets(
        self, state: PullCursor, first_window: int, warnings: list[MappingWarning]
    ) -> tuple[list[Any], str, Mapping[str, list[Any]]]:
        walk = ExportWalk(self._export_page)
        try:
            raws, after = walk.run(state.after_cursor, None if state.after_cursor else first_window)
        except RequestRejected as exc:
            if state.after_cursor is None or exc.status not in (400, 422):
                raise
            # an expired or invalid cursor: start again from a time before it, skipping nothing
            since = (state.events_from or first_window) - CURSOR_LOOKBACK_SECONDS
            warnings.append(
                MappingWarning(
                    self.name,
                    None,
                    "cursor",
                    f"the export refused our cursor ({exc}); re-reading from {since}",
                )
            )
            walk = ExportWalk(self._export_page)  # the event export's place is still good
            raws, after = walk.run(None, min(since, first_window))
        return raws, after, walk.sideloads

    def _export_page(self, after_cursor: str | None, start_time: int | None) -> ExportPage:
        params: dict[str, Any] = {"per_page": self.settings.page_size, "include": SIDELOADS}
        if after_cursor is None:
            params["start_time"] = start_time
        else:
            params["cursor"] = after_cursor
        body = self._get(f"{self.settings.url}/api/v2/incremental/tickets/cursor.json", params)
        tickets = body.get("tickets")
        if not isinstance(tickets, list):
            raise RetryableError("export page without a tickets list")
        after = body.get("after_cursor")
        return ExportPage(
            tickets=tickets,
            after_cursor=after if isinstance(after, str) else None,
            end_of_stream=bool(body.get("end_of_stream")),
            sideloads={
                kind: list(body.get(kind) or [])
                for kind in ("users", "groups", "organizations")
                if isinstance(body.get(kind), list)
            },
        )

    def _walk_events(self, events_from: int | None, now: datetime) -> int:
        """Feed the event export since ``events_from`` into the timelines; returns where the
        next pull resumes it. A gap since this process's last read empties the timelines."""
        horizon = export_start(now, now)
        if events_from is None:  # a cursor from before the event export: start at the horizon
            self.timelines.clear()
            self.timelines.events_through = horizon
            return horizon
        start = min(events_from, horizon)
        known = self.timelines.events_through
        if known is not None and start > known:
            self.timelines.clear()  # another process read the events in between
        rows, end = EventsWalk(self._events_page).run(start)
        rows.sort(key=lambda r: (r.get("timestamp") or 0, r.get("id")))
        api_comments = any(api_comment_authors(audit_from_row(r)) for r in rows)
        self.timelines.feed(rows, self._own_user() if api_comments else None)
        self.timelines.events_through = end
        return end

    def _events_page(self, start_time: int) -> EventsPage:
        body = self._get(
            f"{self.settings.url}/api/v2/incremental/ticket_events.json",
            {"start_time": start_time, "include": "comment_events"},
        )
        rows = body.get("ticket_events")
        if not isinstance(rows, list):
            raise RetryableError("event export page without a ticket_events list")
        end = body.get("end_time")
        return EventsPage(
            rows=rows,
            end_time=end if isinstance(end, int) and not isinstance(end, bool) else None,
            end_of_stream=bool(body.get("end_of_stream")),
        )

    def _own_user(self) -> int | None:
        """``GET /api/v2/users/me`` once a process: only its API comments can be ours."""
        if self._me is None:
            try:
                user = self._get(f"{self.settings.url}/api/v2/users/me.json").get("user")
            except RequestRejected:
                return None  # then every API comment is read back through its audits
            self._me = as_id(user.get("id")) if isinstance(user, Mapping) else None
        return self._me

    def _timeline_for(self, tid: int, raw: Mapping[str, Any], through: int) -> list[dict[str, Any]]:
        """The ticket's audits: from the timelines when they are complete and current."""
        timeline = self.timelines.get(tid)
        if raw.get("status") == "deleted":  # gone from the API: what we know, or nothing
            return list(timeline.audits) if timeline is not None else []
        stamp = raw.get("updated_at")
        if timeline is not None and not timeline.unsure:
            if timeline.stamp is not None and timeline.stamp == stamp:
                return list(timeline.audits)  # not updated since we knew all of it
            try:
                updated = parse_instant(stamp, "updated_at", str(tid))
            except MalformedRecord:
                updated = None
            if updated is not None and updated.timestamp() <= through:
                return list(timeline.audits)  # the event export has served that second
        return self._audits(tid, stamp if isinstance(stamp, str) else None)

    def _audits(self, tid: int, stamp: str | None) -> list[dict[str, Any]]:
        """``GET /api/v2/tickets/{id}/audits``, every page (``next_page``), oldest first;
        ``stamp`` is the ticket's ``updated_at`` as read just before."""
        url = f"{self.settings.url}/api/v2/tickets/{tid}/audits.json"
        records = PageWalk(self._get, "audits").run(url)
        audits = [a for a in records if isinstance(a, dict)]
        audits.sort(key=lambda a: (str(a.get("created_at")), as_id(a.get("id")) or 0))
        self.timelines.replace(tid, audits, stamp)
        return audits

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
        if updated_at and stamp:
            self._chain(ticket_id, stamp, str(updated_at))
        comment_id: str | None = None
        audit = getattr(response, "audit", None)
        if audit is not None:
            record = audit.to_dict()
            self._me = self._me or as_id(
                record.get("author_id")
            )  # the export will not say this audit is ours; and the ticket is known as it is now
            self.timelines.add_own(int(ticket_id), record, str(updated_at) if updated_at else None)
            for event in record.get("events") or []:
                if event.get("type") == "Comment" and event.get("id") is not None:
                    comment_id = str(event["id"]) if write.comment is not None else None
        return (str(updated_at) if updated_at else stamp), comment_id

    def _reread(self, ticket_id: str) -> Ticket | None:
        try:
            return self.fetch(ticket_id)
        except ConnectorError:
            return None

    def _only_ours(self, stale: Ticket, fresh: Ticket) -> bool:
        """Did only our own PUTs move the ticket from ``stale`` to ``fresh``? Each of them ran
        under safe_update from the stamp before it, so no one else wrote along that chain."""
        with self._lock:
            chain = self._stamps.get(stale.id, [])
        return stale.updated_at in chain and bool(chain) and fresh.updated_at == chain[-1]

    def _chain(self, ticket_id: str, before: str, after: str) -> None:
        try:
            old = parse_instant(before, "updated_stamp", ticket_id)
            new = parse_instant(after, "updated_at", ticket_id)
        except MalformedRecord:
            return
        with self._lock:
            chain = self._stamps.get(ticket_id)
            if chain and chain[-1] == old:
                chain.append(new)
                del chain[:-20]  # a long chain of our own writes: the recent ones suffice
            else:
                self._stamps[ticket_id] = [old, new]

    def _after_conflict(
        self, fresh: Ticket | None, actions: Iterable[Action]
    ) -> dict[str, ActionResult]:
        """409: what the fresh ticket already shows (e.g. our own earlier attempt that landed
        before a timeout) is ALREADY, the rest CONFLICT so the app re-reads and re-plans."""
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

    def _show_many(self, kind: str, ids: list[int]) -> list[dict[str, Any]]:
        """``GET /api/v2/{users|organizations}/show_many?ids=``: up to 100 records per call."""
        api = self._zenpy.users if kind == "users" else self._zenpy.organizations
        return self._call(lambda: [record.to_dict() for record in api(ids=ids)])

    def _list_groups(self) -> list[dict[str, Any]]:
        return self._call(lambda: [g.to_dict() for g in self._zenpy.groups()])

    def _quarantine(self, exc: MalformedRecord, raw: Any) -> Quarantined:
        record_id = exc.record_id
        if record_id is None and isinstance(raw, Mapping) and raw.get("id") is not None:
            record_id = str(raw.get("id"))
        return Quarantined(source=self.name, record_id=record_id, reason=str(exc))


def parse_stamp(stamp: str | None) -> datetime | None:
    """The ``updated_at`` Zendesk answered a write with, as an instant."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
