"""Sample actions and tickets for the store tests (module name unique across tests/ dirs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.model import (
    AddLabels,
    AuthorRole,
    Comment,
    PostComment,
    Priority,
    SetPriority,
    Status,
    Ticket,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning; every test time derives from it


def comment_action(n: int = 1, ticket: str = "zendesk:101") -> PostComment:
    return PostComment(
        key=f"{ticket}/first-response-warning/{n}",
        ticket=ticket,
        rule="first-response-warning",
        at=T0 + timedelta(minutes=n),
        level=1,
        public=True,
        body=f"We are on it (update {n}).",
    )


def priority_action(ticket: str = "zendesk:101") -> SetPriority:
    return SetPriority(
        key=f"{ticket}/raise-priority/2",
        ticket=ticket,
        rule="raise-priority",
        at=T0 + timedelta(hours=1),
        level=2,
        priority=Priority.URGENT,
        previous=Priority.HIGH,
    )


def labels_action(ticket: str = "jira:SUP-7") -> AddLabels:
    return AddLabels(
        key=f"{ticket}/tag/1", ticket=ticket, rule="tag", at=T0, labels=("escalated", "l1")
    )


def ticket(
    id: str = "101", *, system: str = "zendesk", updated: timedelta = timedelta(0), title: str = ""
) -> Ticket:
    return Ticket(
        system=system,
        id=id,
        created_at=T0 - timedelta(days=1),
        updated_at=T0 + updated,
        status=Status.OPEN,
        priority=Priority.HIGH,
        title=title or f"Ticket {id}",
        labels=frozenset({"vip", "billing"}),
        comments=(
            Comment(at=T0 - timedelta(hours=20), author_role=AuthorRole.CUSTOMER, public=True,
                    body="It is down."),
        ),
    )  # fmt: skip
