"""The incremental export's cursor, made opaque, and the page walk with loop detection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.errors import FatalError, RetryableError

CURSOR_PREFIX = "zendesk-export-v1:"
EXPORT_DELAY = timedelta(seconds=61)  # start_time must be at least a minute in the past


@dataclass(frozen=True, slots=True)
class ExportPage:
    tickets: list[Any]  # raw ticket dicts, not yet validated
    after_cursor: str | None
    end_of_stream: bool


def encode_cursor(after_cursor: str) -> str:
    return CURSOR_PREFIX + after_cursor


def decode_cursor(cursor: str) -> str:
    """Zendesk's ``after_cursor`` inside our opaque cursor; a foreign cursor is a config error."""
    if not cursor.startswith(CURSOR_PREFIX) or len(cursor) == len(CURSOR_PREFIX):
        raise FatalError(f"not a Zendesk export cursor: {cursor[:40]!r}")
    return cursor[len(CURSOR_PREFIX) :]


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

    def run(self, after_cursor: str | None, start_time: int | None) -> tuple[list[Any], str]:
        tickets: list[Any] = []
        cursor = after_cursor
        while True:
            page = self._fetch(cursor, start_time if cursor is None else None)
            self.pages += 1
            tickets.extend(page.tickets)
            if page.after_cursor:
                if not page.end_of_stream and page.after_cursor in self._seen:
                    raise RetryableError(f"export cursor repeated: {page.after_cursor!r}")
                self._seen.add(page.after_cursor)
                cursor = page.after_cursor
            elif not page.end_of_stream:
                raise RetryableError("export page without after_cursor before end_of_stream")
            if page.end_of_stream:
                break
        if cursor is None:
            raise RetryableError("export ended without any cursor to resume from")
        return tickets, cursor
