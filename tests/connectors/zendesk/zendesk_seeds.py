"""Seed tickets and the fixed past instant the Zendesk tests share (imported by name, not via
conftest, so another directory's conftest can never shadow it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.emulation import SeedComment, SeedTicket

# a fixed instant in the past: the export only serves data older than one minute
T0 = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)


def seed_ticket(index: int = 0, **fields: Any) -> SeedTicket:
    created = T0 + timedelta(minutes=index)
    defaults: dict[str, Any] = {
        "title": f"Printer {index} on fire",
        "created_at": created,
        "organization": "Acme Corp",
        "customer_tier": "gold",
        "category": "billing",
        "affected_users": 12,
        "labels": ["vip"],
        "comments": [
            SeedComment(at=created, author="customer", public=True, body="It is on fire"),
            SeedComment(
                at=created + timedelta(minutes=30), author="agent", public=True, body="On it"
            ),
            SeedComment(
                at=created + timedelta(minutes=40), author="agent", public=False, body="Ask ops"
            ),
        ],
    }
    defaults.update(fields)
    return SeedTicket(**defaults)
