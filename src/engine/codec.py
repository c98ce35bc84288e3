"""JSON-ready dicts for the model, and back: the store, ``simulate --json`` and logs share them."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from engine.model import ACTION_TYPES, Action, ActionKind, Ticket

_TICKET = TypeAdapter(Ticket)


def format_instant(instant: datetime | None) -> str | None:
    """UTC, whole seconds, ``Z``: the one way instants are written out."""
    if instant is None:
        return None
    return instant.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@cache
def _adapter(kind: ActionKind) -> TypeAdapter[Any]:
    return TypeAdapter(ACTION_TYPES[kind])


def action_to_dict(action: Action) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": str(action.kind)}
    data.update(_adapter(action.kind).dump_python(action, mode="json"))
    data["at"] = format_instant(action.at)
    return data


def action_from_dict(data: dict[str, Any]) -> Action:
    fields = dict(data)
    kind = ActionKind(fields.pop("kind"))
    action: Action = _adapter(kind).validate_python(fields)
    return action


def ticket_to_dict(ticket: Ticket) -> dict[str, Any]:
    data: dict[str, Any] = _TICKET.dump_python(ticket, mode="json")
    data["labels"] = sorted(ticket.labels)
    return data


def ticket_from_dict(data: dict[str, Any]) -> Ticket:
    return _TICKET.validate_python(data)
