"""Rows the store hands back that are not model objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    ticket: str | None
    event: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A record a connector could not translate, reported until someone clears it."""

    source: str
    record_id: str | None
    reason: str  # the latest reason
    first_at: datetime
    last_at: datetime
    times: int  # how many pulls met it
