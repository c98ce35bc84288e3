"""Changed-since pull: the windowed CRM search, and turning records into full tickets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Quarantined
from connectors.errors import FatalError, MalformedRecord, RetryableError
from connectors.hubspot.client import JSON, HubSpotClient
from connectors.hubspot.comments import NOTE_PROPERTIES, note_to_comment
from connectors.hubspot.conversations import message_to_comment
from connectors.hubspot.mapping import HISTORY_PROPERTIES, MODIFIED, STAGE, FieldMap, to_millis
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


class TicketAssembler:
    """Full tickets for a batch of ids: properties with history, notes, company, thread."""

    def __init__(
        self, source: str, client: HubSpotClient, fields: FieldMap, threads: ThreadIndex
    ) -> None:
        self.source = source
        self.client = client
        self.fields = fields
        self.threads = threads
        self._pipelines_loaded = False

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

    def assemble(self, records: Sequence[JSON]) -> Assembled:
        out = Assembled()
        if not records:
            return out
        self._load_stage_states(records)
        ids = [str(r["id"]) for r in records]
        notes_of = self.client.associated_ids("tickets", "notes", ids)
        companies_of = self.client.associated_ids("tickets", "companies", ids)
        note_ids = sorted({n for found in notes_of.values() for n in found})
        notes = {str(n["id"]): n for n in self.client.read_notes(note_ids, NOTE_PROPERTIES)}
        company_ids = sorted({c for found in companies_of.values() for c in found})
        names = {
            str(c["id"]): (c.get("properties") or {}).get("name")
            for c in self.client.read_companies(company_ids)
        }
        for record in records:
            ticket_id = str(record["id"])
            try:
                comments = [
                    note_to_comment(notes[n]) for n in notes_of.get(ticket_id, []) if n in notes
                ]
                comments.extend(self._messages(ticket_id))
                organization = next(
                    (names[c] for c in companies_of.get(ticket_id, []) if names.get(c)), None
                )
                out.tickets.append(
                    self.fields.ticket(record, comments=comments, organization=organization)
                )
            except MalformedRecord as exc:
                out.quarantined.append(Quarantined(self.source, exc.record_id, str(exc)))
            except (KeyError, TypeError, ValueError) as exc:
                out.quarantined.append(Quarantined(self.source, ticket_id, f"comments: {exc!r}"))
        return out

    def _messages(self, ticket_id: str) -> list[Comment]:
        if not self.fields.settings.conversations:
            return []
        thread = self.client.thread_for_ticket(ticket_id)
        if thread is None:
            return []
        self.threads.link(ticket_id, str(thread["id"]))
        found = (message_to_comment(m) for m in self.client.thread_messages(str(thread["id"])))
        return [c for c in found if c is not None]


def ids_of(records: Sequence[dict[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in records]
