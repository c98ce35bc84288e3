"""The pull's cursor, made opaque, and the page walks (each made fresh, each refusing to spin).

A pull reads two incremental exports (``helpdesk-apis.md`` 1.2): the cursor-based ticket export
(which tickets changed, with their users, groups and organizations side-loaded) and the
time-based ticket event export (what happened on them, comments included). Our cursor holds the
ticket export's ``after_cursor`` and the event export's next ``start_time``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.errors import FatalError, PagingLoop, RetryableError

CURSOR_PREFIX = "zendesk-export-v1:"  # ticket export cursor only (before the event export)
CURSOR_PREFIX_V2 = "zendesk-export-v2:"  # "{event export start_time}:{after_cursor}"
EXPORT_DELAY = timedelta(seconds=61)  # start_time must be at least a minute in the past


@dataclass(frozen=True, slots=True)
class ExportPage:
    tickets: list[Any]  # raw ticket dicts, not yet validated
    after_cursor: str | None
    end_of_stream: bool
    sideloads: Mapping[str, list[Any]] = field(default_factory=dict)  # users, groups, orgs


@dataclass(frozen=True, slots=True)
class PullCursor:
    after_cursor: str | None  # where the ticket export resumes
    events_from: int | None  # unix time the event export resumes from (None: v1 cursor)


@dataclass(frozen=True, slots=True)
class EventsPage:
    rows: list[Any]
    end_time: int | None
    end_of_stream: bool


def encode_cursor(after_cursor: str, events_from: int | None = None) -> str:
    if events_from is None:
        return CURSOR_PREFIX + after_cursor
    return f"{CURSOR_PREFIX_V2}{events_from}:{after_cursor}"


def decode_cursor(cursor: str) -> PullCursor:
    """Our opaque cursor; a foreign one is a config error."""
    if cursor.startswith(CURSOR_PREFIX_V2):
        when, _, after = cursor[len(CURSOR_PREFIX_V2) :].partition(":")
        if when.isdigit() and after:
            return PullCursor(after, int(when))
    elif cursor.startswith(CURSOR_PREFIX) and len(cursor) > len(CURSOR_PREFIX):
        return PullCursor(cursor[len(CURSOR_PREFIX) :], None)
    raise FatalError(f"not a Zendesk export cursor: {cursor[:40]!r}")


def export_start(start: datetime, now: datetime) -> int:
    """``start_time`` for the first page: never within the last minute Zendesk withholds."""
    return int(min(start, now - EXPORT_DELAY).timestamp())


class ExportWalk:
    """Follows ``after_cursor`` page by page until ``end_of_stream``; made fresh per pull.

    A page that hands back the cursor it was asked for without ending the stream would make us
    spin forever: that raises instead (as Singer SDK's paginator does).
    """

    def __init__(self, fetch_page: Callable[[str | None, int | None], ExportPage]) -> None:
        self._fetch = fetch_page
        self._seen: set[str] = set()
        self.pages = 0
        self.sideloads: dict[str, list[Any]] = {}

    def run(self, after_cursor: str | None, start_time: int | None) -> tuple[list[Any], str]:
        tickets: list[Any] = []
        cursor = after_cursor
        while True:
            page = self._fetch(cursor, start_time if cursor is None else None)
            self.pages += 1
            tickets.extend(page.tickets)
            for kind, records in page.sideloads.items():
                self.sideloads.setdefault(kind, []).extend(records)
            if page.after_cursor:
                if not page.end_of_stream and page.after_cursor in self._seen:
                    raise PagingLoop("zendesk export cursor repeated", page.after_cursor)
                self._seen.add(page.after_cursor)
                cursor = page.after_cursor
            elif not page.end_of_stream:
                raise RetryableError("export page without after_cursor before end_of_stream")
            if page.end_of_stream:
                break
        if cursor is None:
            raise RetryableError("export ended without any cursor to resume from")
        return tickets, cursor


class EventsWalk:
    """The time-based event export: ``start_time`` = the last page's ``end_time`` until
    ``end_of_stream``. Rows of the boundary second come twice; they are dropped by id."""

    def __init__(self, fetch_page: Callable[[int], EventsPage]) -> None:
        self._fetch = fetch_page
        self.pages = 0

    def run(self, start_time: int) -> tuple[list[Any], int]:
        rows: dict[Any, Any] = {}
        start = start_time
        while True:
            page = self._fetch(start)
            self.pages += 1
            for row in page.rows:
                if isinstance(row, Mapping):
                    rows.setdefault(row.get("id"), row)
            end = page.end_time if page.end_time is not None else start
            if page.end_of_stream:
                return list(rows.values()), max(end, start)
            if end <= start:
                raise RetryableError(f"event export did not move past start_time {start}")
            start = end


class PageWalk:
    """Follows ``next_page`` (offset) or ``links.next`` (cursor) URLs of a list endpoint; a URL
    seen before raises instead of looping."""

    def __init__(self, fetch: Callable[[str], Mapping[str, Any]], key: str) -> None:
        self._fetch = fetch
        self._key = key
        self.pages = 0

    def run(self, url: str) -> list[Any]:
        records: list[Any] = []
        seen = {url}
        next_url: str | None = url
        while next_url is not None:
            body = self._fetch(next_url)
            self.pages += 1
            page = body.get(self._key)
            if not isinstance(page, list):
                raise RetryableError(f"{self._key} page without a {self._key!r} list")
            records.extend(page)
            next_url = _next_url(body)
            if next_url is not None:
                if next_url in seen:
                    raise PagingLoop(f"zendesk {self._key} page repeated", next_url)
                seen.add(next_url)
        return records


def _next_url(body: Mapping[str, Any]) -> str | None:
    offset = body.get("next_page")
    if isinstance(offset, str) and offset:
        return offset
    meta = body.get("meta")
    links = body.get("links")
    if isinstance(meta, Mapping) and meta.get("has_more") and isinstance(links, Mapping):
        cursor = links.get("next")
        if isinstance(cursor, str) and cursor:
            return cursor
    return None
