"""A step-down on a paging channel (PagerDuty, Opsgenie): the stood-down level's alerts (its
page and each repeat) are resolved at the second of the step, and no new alert is raised to say
so. The shipped examples are switched on and level 3's channel is made a PagerDuty one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.model import Notify, Priority, Status, Ticket
from engine.simulation import TicketEvent, simulate
from escalator.config import load_config
from escalator.notify.follow import follow_ups
from tests.people_config import people_config

CREATED = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # Monday, GMT
STEP = CREATED + timedelta(hours=2, seconds=7)


def test_a_step_down_resolves_the_stood_down_levels_pages(tmp_path: Path) -> None:
    config_dir = people_config(tmp_path)
    channels = config_dir / "channels.yaml"
    channels.write_text(
        channels.read_text().replace(
            'executive: {type: webhook, url: "${EXECUTIVE_WEBHOOK_URL}"}',
            'executive: {type: pagerduty, routing_key: "${PAGERDUTY_ROUTING_KEY}"}',
        )
    )
    policy = load_config(config_dir).policy
    assert policy.paging_channels == frozenset({"executive"})
    ticket = Ticket(
        "zendesk", "5", CREATED, CREATED, Status.OPEN, Priority.URGENT, title="Payments down",
        organization="Globex", customer_tier="enterprise", category="technical",
    )  # fmt: skip
    labels = ["major-incident", "escalation-l3", "engineering", "sla-at-risk", "sla-breached"]
    events = [
        TicketEvent(CREATED + timedelta(minutes=100), ticket.key, linked_issue_resolved=True),
        TicketEvent(STEP, ticket.key, changes={"labels": [*labels, "customer-confirmed"]}),
    ]
    result = simulate(policy, [ticket], events, until=STEP + timedelta(hours=1))

    pages = [a for a in result.actions if isinstance(a, Notify)]
    assert [p.key.split(":", 2)[2] for p in pages] == [
        "L3:notify",
        "L3:notify.r1",
        "L3:notify.r2",
        "L3:notify.r3",
    ]  # fmt: skip  (no stand-down page: the step resolves them instead)
    assert result.plans[ticket.key].level == 1

    done = [*result.actions, *result.satisfied]
    resolves = follow_ups(result.tickets[ticket.key], done, policy.paging_channels)
    assert [(r.key.split(":", 2)[2], r.at) for r in resolves] == [
        (f"{p.key.split(':', 2)[2]}~resolve", STEP) for p in pages
    ]
    assert follow_ups(result.tickets[ticket.key], [*done, *resolves], {"executive"}) == []
