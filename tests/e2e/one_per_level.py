"""One ticket a level, across the three emulators: what the sync end-to-end tests seed."""

from __future__ import annotations

from datetime import datetime, timedelta

from connectors.emulation import SeedComment, SeedTicket
from escalator.demo import DemoWorld


def seed_one_per_level(world: DemoWorld, now: datetime) -> None:
    """Zendesk reaches level 3 (major impact), Jira level 2 (first response breached), HubSpot
    level 1 (Acme's third billing ticket in ten days: a repeat). Every decision holds now and
    none falls due in the next minutes."""
    world.zendesk.seed(
        [
            SeedTicket(
                "Checkout is down",
                now - timedelta(minutes=5),
                status="open",
                priority="urgent",
                organization="Globex",
                category="technical",
                customer_tier="enterprise",
                affected_users=900,
            )
        ]
    )
    world.jira.seed(
        [
            SeedTicket(
                "Export times out",
                now - timedelta(hours=2),
                status="open",
                priority="urgent",
                organization="Initech",
                category="billing",
                comments=[SeedComment(now - timedelta(hours=2), "customer", True, "Still broken")],
            )
        ]
    )
    world.hubspot.seed(
        [
            SeedTicket(title, now - age, status=status, organization="Acme", category="billing")
            for title, age, status in (
                ("Charged twice", timedelta(days=9), "solved"),
                ("Refund missing", timedelta(days=4), "solved"),
                ("Card declined", timedelta(minutes=3), "new"),
            )
        ]
    )
