"""Test fakes shared across the suite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from connectors.base import ActionResult, ActionStatus, PullResult
from engine.model import Action, Priority, Status, Ticket, apply_action


class Sleeps(list[float]):
    """A recording stand-in for ``time.sleep`` (a RetryPolicy's, a limiter's): every wait is
    kept to be asserted, none is slept."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    @property
    def waits(self) -> list[float]:
        return self


class FakeTime:
    """A clock that moves only when slept on: a limiter's ``clock`` and ``sleep`` together,
    every wait kept in ``slept``."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# a high ticket opened Friday 15:00; by Monday 11:00:05 its SLA is breached (the reference policy)
BREACHED_AT = datetime(2026, 3, 9, 11, 0, 5, tzinfo=UTC)
HIGH_TICKET = Ticket(
    "zendesk",
    "1",
    datetime(2026, 3, 6, 15, tzinfo=UTC),
    datetime(2026, 3, 6, 15, tzinfo=UTC),
    Status.OPEN,
    Priority.HIGH,
    title="Cannot log in",
    url="https://acme.zendesk.com/agent/tickets/1",
    organization="Acme",
    category="account",
)


class StandInHelpdesk:
    """A helpdesk connector for cycle tests: shows its tickets, applies each write to them (the
    model's ``apply_action``) and keeps the keys written. Subclasses change ``apply`` to fail."""

    def __init__(self, *tickets: Ticket) -> None:
        self.tickets = {t.id: t for t in tickets}
        self.applied: list[str] = []

    @property
    def ticket(self) -> Ticket:
        """The one ticket of a single-ticket test."""
        (only,) = self.tickets.values()
        return only

    @ticket.setter
    def ticket(self, ticket: Ticket) -> None:
        self.tickets[ticket.id] = ticket

    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        return PullResult(tickets=tuple(self.tickets.values()), cursor="c")

    def fetch(self, ticket_id: str) -> Ticket:
        return self.tickets[ticket_id]

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        for action in actions:
            self.tickets[ticket.id] = apply_action(self.tickets[ticket.id], action)
            self.applied.append(action.key)
        return [ActionResult(a.key, ActionStatus.APPLIED) for a in actions]

    def verify_webhook(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None
