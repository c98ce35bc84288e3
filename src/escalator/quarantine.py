"""``escalator quarantine``: the records a helpdesk sent that could not be understood."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from engine.codec import format_instant
from escalator.store import QuarantineEntry


def quarantine_json(entries: Sequence[QuarantineEntry]) -> list[dict[str, object]]:
    return [
        {
            "source": e.source,
            "record": e.record_id,
            "reason": e.reason,
            "first_seen": format_instant(e.first_at),
            "last_seen": format_instant(e.last_at),
            "times": e.times,
        }
        for e in entries
    ]


def print_quarantine(entries: Sequence[QuarantineEntry], as_json: bool, out: Console) -> None:
    if as_json:
        out.print_json(json.dumps(quarantine_json(entries)))
        return
    if not entries:
        out.print("Nothing in quarantine: every record was understood.")
        return
    table = Table(title=f"Quarantine ({len(entries)} records, retried hourly and on reload)")
    for column in ("source", "record", "what was wrong", "first seen (UTC)", "last seen", "times"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.source,
            e.record_id or "?",
            e.reason,
            e.first_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.last_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(e.times),
        )
    out.print(table)
