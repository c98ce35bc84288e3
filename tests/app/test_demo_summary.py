"""The demo's summary counts the writes that changed something, not decisions the ticket
already showed."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from engine.codec import action_to_dict
from engine.model import AddLabels, Priority, RemoveLabels, Status, Ticket
from escalator.live import summarise
from escalator.store.records import LedgerEntry
from tests.action_fields import ActionFields

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _entry(action: AddLabels | RemoveLabels, status: str) -> LedgerEntry:
    return LedgerEntry(
        action.key, action.ticket, "zendesk", action.kind.value, action.rule, status,
        action_to_dict(action), AT, AT,
    )  # fmt: skip


def test_summary_counts_only_writes_that_changed_something() -> None:
    ticket = Ticket("zendesk", "7", AT, AT, Status.OPEN, Priority.HIGH, title="Login fails")
    common: ActionFields = {"ticket": ticket.key, "rule": "sla-at-risk", "at": AT, "level": 1}
    added = AddLabels(key="zendesk:7:L1:add_labels", labels=("escalation-l1",), **common)
    absent = RemoveLabels(key="zendesk:7:L1:remove_labels", labels=("escalation-l2",), **common)
    console = Console(record=True, width=200)
    summarise([ticket], [_entry(added, "applied"), _entry(absent, "already")], console)
    text = console.export_text()
    assert "Writes by kind: add_labels 1" in text
    assert "remove_labels" not in text.split("Writes by kind:")[1]
