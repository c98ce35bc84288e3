"""The report's fast ticket decoder reads back everything ``engine.codec`` writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from engine.codec import ticket_from_dict, ticket_to_dict
from engine.model import AuthorRole, Change, Comment, LinkedIssue, Priority, Status, Ticket
from escalator.report.facts import decode_ticket

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_every_field_round_trips() -> None:
    ticket = Ticket(
        "jira",
        "SUP-7",
        AT,
        AT,
        Status.ON_HOLD,
        Priority.HIGH,
        title="Export fails",
        url="https://acme.atlassian.net/browse/SUP-7",
        requester="ana@example.com",
        organization="Initech",
        assignee="5f00",
        group="Tier 2 Support",
        labels=frozenset({"escalation-l1", "vip"}),
        category="technical",
        customer_tier="enterprise",
        affected_users=12,
        comments=(
            Comment(AT, AuthorRole.CUSTOMER, True, "help", "1", "u1", None, True),
            Comment(AT, AuthorRole.SIDECAR, False, "note", "2", "u2", "jira:SUP-7:x", False),
        ),
        history=(Change(AT, "status", "open", "on_hold", "5f00"),),
        linked_issues=(LinkedIssue("jira", "ENG-1", "https://x/ENG-1", AT, "jira:SUP-7:y"),),
        satisfaction="good",
    )
    # every field of every part set somewhere: a field added to the model must be decoded too
    for parts in ([ticket], ticket.comments, ticket.history, ticket.linked_issues):
        for field in dataclasses.fields(parts[0]):
            assert any(getattr(p, field.name) != field.default for p in parts), field.name
    stored = ticket_to_dict(ticket)
    assert decode_ticket(stored) == ticket_from_dict(stored) == ticket
