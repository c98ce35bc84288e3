"""Changed-since pull: the windowed CRM search, and turning records into full tickets."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Quarantined
from connectors.errors import FatalError, MalformedRecord, RetryableError
from connectors.hubspot.client import JSON, HubSpotClient
from connectors.hubspot.comments import NOTE_PROPERTIES, note_to_comment
from connectors.hubspot.conversations import message_to_comment
from connectors.hubspot.mapping import (
    CREATED,
    HISTORY_PROPERTIES,
    MODIFIED,
    STAGE,
    FieldMap,
    to_millis,
)
from connectors.hubspot.mapping import parse_instant as _instant
from connectors.hubspot.threads import ThreadIndex
from engine.model import Comment, Ticket


def modified_ms(record: JSON) -> int | None:
    props = record.get("properties") or {}
    try:
        return to_millis(_instant(props.get(MODIFIED) or record["updatedAt"]))
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(slots=True)
class SearchWindows:
    """``hs_lastmodifieddate >= since``, ascending, page by page (made fresh per pull).

    A query stops at ``cap`` results (10,000 on HubSpot, 400 past it), so before the next page
    would cross it the search restarts from the last stamp seen, skipping what was delivered.
    """

    client: HubSpotClient
    properties: Sequence[str]
    page_size: int
    cap: int
    windows: int = 0
    _delivered: set[tuple[str, int | None]] = field(default_factory=set)

    def _body(self, since: int, after: str) -> JSON:
        return {
            "filterGroups": [
                {"filters": [{"propertyName": MODIFIED, "operator": "GTE", "value": str(since)}]}
            ],
            # object form, as the docs show; the v3 spec types sorts as strings (reference §3.2)
            "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
            "properties": list(self.properties),
            "limit": self.page_size,
            "after": after,
        }

    def pages(self, since: int) -> Iterator[list[JSON]]:
        window_start = since
        while True:
            self.windows += 1
            after, fetched, tokens = "0", 0, {"0"}
            last_ms: int | None = None
            while True:
                page = self.client.search_tickets(self._body(window_start, after))
                results: list[JSON] = page.get("results") or []
                fresh: list[JSON] = []
                for record in results:
                    stamp = modified_ms(record)
                    key = (str(record.get("id")), stamp)
                    if key in self._delivered:
                        continue  # seen at the edge of the previous window
                    self._delivered.add(key)
                    fresh.append(record)
                    if stamp is not None:
                        last_ms = stamp if last_ms is None else max(last_ms, stamp)
                if fresh:
                    yield fresh
                fetched += len(results)
                token = ((page.get("paging") or {}).get("next") or {}).get("after")
                if not token:
                    return
                if token in tokens:
                    raise RetryableError(f"tickets search: paging token {token!r} repeated")
                tokens.add(token)
                offset = int(token) if str(token).isdigit() else fetched
                if offset + self.page_size > self.cap:
                    break  # the next page would pass the cap: open a new window
                after = str(token)
            if last_ms is None or last_ms <= window_start:
                raise FatalError(
                    f"more than {self.cap} tickets share hs_lastmodifieddate {window_start}"
                )
            window_start = last_ms


@dataclass(slots=True)
class Assembled:
    tickets: list[Ticket] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


def created_ms(record: JSON) -> int | None:
    props = record.get("properties") or {}
    try:
        return to_millis(_instant(props.get(CREATED) or record["createdAt"]))
    except (KeyError, TypeError, ValueError):
        return None


class TicketAssembler:
    """Full tickets for a batch of ids: properties with history, notes, company, thread.

    Batch reads of up to 100 (50 with history) ids a call; notes and company names once read
    are kept (a note's text does not move a clock), thread messages per ``ThreadIndex``.
    """

    def __init__(
        self,
        source: str,
        client: HubSpotClient,
        fields: FieldMap,
        threads: ThreadIndex,
        *,
        max_cached: int = 50_000,
        satisfaction: Callable[[str], str | None] = lambda ticket_id: None,
    ) -> None:
        self.source = source
        self.satisfaction = satisfaction  # the customer's rating, by ticket id
        self.client = client
        self.fields = fields
        self.threads = threads
        self._pipelines_loaded = False
        self._notes: OrderedDict[str, JSON] = OrderedDict()
        self._companies: dict[str, str | None] = {}
        self._max = max_cached
        # the records the last reads returned, for writes in the same cycle (no re-read)
        self.records = RecentRecords()

    def read(self, ids: Sequence[str]) -> Assembled:
        records = self.client.read_tickets(ids, self.fields.properties, HISTORY_PROPERTIES)
        return self.assemble(records)

    def _load_stage_states(self, records: Sequence[JSON]) -> None:
        """Stages missing from the settings fall back on ``metadata.ticketState``: read once."""
        known = self.fields.settings.pipeline_stages
        stages = {(r.get("properties") or {}).get(STAGE) for r in records}
        if self._pipelines_loaded or all(s in known for s in stages if s):
            return
        states: dict[str, str] = {}
        for pipeline in self.client.ticket_pipelines():
            for stage in pipeline.get("stages") or []:
                state = (stage.get("metadata") or {}).get("ticketState")
                if state:
                    states[str(stage["id"])] = str(state)
        self.fields.stage_states.update(states)
        self._pipelines_loaded = True

    def _read_notes(self, ids: Sequence[str]) -> dict[str, JSON]:
        missing = [n for n in ids if n not in self._notes]
        for note in self.client.read_notes(missing, NOTE_PROPERTIES) if missing else []:
            self._notes[str(note["id"])] = note
        while len(self._notes) > self._max:
            self._notes.popitem(last=False)
        return {n: self._notes[n] for n in ids if n in self._notes}

    def _company_names(self, ids: Sequence[str]) -> dict[str, str | None]:
        missing = [c for c in ids if c not in self._companies]
        for company in self.client.read_companies(missing) if missing else []:
            self._companies[str(company["id"])] = (company.get("properties") or {}).get("name")
        return {c: self._companies.get(c) for c in ids}

    def assemble(self, records: Sequence[JSON], *, fresh_messages: bool = False) -> Assembled:
        """``fresh_messages``: read the thread now (a single ticket a webhook named), not from
        what the last listing of changed threads allows to keep."""
        out = Assembled()
        if not records:
            return out
        self._load_stage_states(records)
        ids = [str(r["id"]) for r in records]
        notes_of = self.client.associated_ids("tickets", "notes", ids)
        companies_of = self.client.associated_ids("tickets", "companies", ids)
        notes = self._read_notes(sorted({n for found in notes_of.values() for n in found}))
        names = self._company_names(sorted({c for found in companies_of.values() for c in found}))
        for record in records:
            ticket_id = str(record["id"])
            try:
                comments = [
                    note_to_comment(notes[n]) for n in notes_of.get(ticket_id, []) if n in notes
                ]
                comments.extend(self._messages(ticket_id, created_ms(record), fresh_messages))
                organization = next(
                    (names[c] for c in companies_of.get(ticket_id, []) if names.get(c)), None
                )
                ticket = self.fields.ticket(
                    record,
                    comments=comments,
                    organization=organization,
                    satisfaction=self.satisfaction(ticket_id),
                )
            except MalformedRecord as exc:
                out.quarantined.append(Quarantined(self.source, exc.record_id, str(exc)))
            except (KeyError, TypeError, ValueError) as exc:
                out.quarantined.append(Quarantined(self.source, ticket_id, f"comments: {exc!r}"))
            else:
                out.tickets.append(ticket)
                self.records.keep(record)
        return out

    def _messages(self, ticket_id: str, created: int | None, fresh: bool) -> list[Comment]:
        if not self.fields.settings.conversations:
            return []
        thread_id = self.threads.thread_of(ticket_id)
        if thread_id is None:
            if not fresh and self.threads.knows_no_thread(ticket_id, created):
                return []
            thread = self.client.thread_for_ticket(ticket_id)  # one ticket: a lookup
            if thread is None:
                self.threads.threadless(ticket_id)
                return []
            thread_id = str(thread["id"])
            self.threads.link(ticket_id, thread_id)
            self.threads.remember(thread)
        messages = None if fresh else self.threads.cached_messages(thread_id)
        if messages is None:
            messages = self.client.thread_messages(thread_id)
            self.threads.keep_messages(thread_id, messages)
        found = (message_to_comment(m) for m in messages)
        return [c for c in found if c is not None]


class RecentRecords:
    """The CRM records the connector read last, by id, for a write in the same cycle.

    Only for ``max_age`` seconds: a clock tick hours after the read must read again, or a
    label a person set meanwhile would be overwritten by the read-modify-write.
    """

    def __init__(
        self,
        max_entries: int = 10_000,
        *,
        max_age: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records: OrderedDict[str, tuple[float, JSON]] = OrderedDict()
        self._max = max_entries
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()

    def keep(self, record: JSON) -> None:
        with self._lock:
            self._records[str(record["id"])] = (self._clock(), record)
            self._records.move_to_end(str(record["id"]))
            while len(self._records) > self._max:
                self._records.popitem(last=False)

    def take(self, ticket_id: str, modified: int) -> JSON | None:
        """The record as read, once, if it is the version stamped ``modified`` and recent."""
        with self._lock:
            kept = self._records.pop(ticket_id, None)
        if kept is None or self._clock() - kept[0] > self._max_age:
            return None
        return kept[1] if modified_ms(kept[1]) == modified else None


def ids_of(records: Sequence[dict[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in records]
