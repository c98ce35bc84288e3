"""The cycle's write ordering, with a stand-in connector: narrow unit tests of cycle.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.base import ActionResult, ActionStatus, PullResult
from connectors.retry import RetryPolicy
from engine.model import Action, Change, Notify, Priority, Status, Ticket
from engine.planner import Memory
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.sources import Source
from escalator.store import open_store

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 9, 11, 0, 5, tzinfo=UTC)  # a high ticket from Friday 15:00 breached
TICKET = Ticket(
    "zendesk",
    "1",
    datetime(2026, 3, 6, 15, tzinfo=UTC),
    datetime(2026, 3, 6, 15, tzinfo=UTC),
    Status.OPEN,
    Priority.HIGH,
    title="Cannot log in",
    organization="Acme",
    category="account",
)


class Helpdesk:
    """Answers the first write with 409 because an agent solved the ticket meanwhile."""

    def __init__(self) -> None:
        self.ticket = TICKET
        self.writes = 0

    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        return PullResult(tickets=(self.ticket,), cursor="c")

    def fetch(self, ticket_id: str) -> Ticket:
        return self.ticket

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        self.writes += 1
        if self.writes == 1:
            self.ticket = dataclasses.replace(
                self.ticket,
                status=Status.SOLVED,
                updated_at=NOW,
                history=(Change(NOW, "status", "open", "solved"),),
            )
            return [ActionResult(a.key, ActionStatus.CONFLICT, "409") for a in actions]
        return [ActionResult(a.key, ActionStatus.APPLIED) for a in actions]

    def verify_webhook(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


class Chat:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, action: Notify, *, ticket_url: str | None = None, **_: object) -> ActionResult:
        self.sent.append(action.key)
        return ActionResult(action.key, ActionStatus.APPLIED)


def test_a_conflict_sends_no_notification_and_reaches_no_level(tmp_path: Path) -> None:
    helpdesk, chat = Helpdesk(), Chat()
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    source = Source("zendesk", "zendesk", 60, helpdesk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
    clock = [NOW]
    sidecar = Sidecar(
        load_config(ROOT / "config"),
        store,
        {"zendesk": source},
        notifier=chat,
        log=EventLog(level="error"),
        clock=lambda: clock[0],
    )
    first = sidecar.cycle()
    assert {r.status for a, r in first.written if not isinstance(a, Notify)} == {
        ActionStatus.CONFLICT
    }
    assert chat.sent == []  # the ticket never showed level 2: nobody is told it did
    clock[0] = NOW + timedelta(minutes=1)
    second = sidecar.cycle()
    # the agent solved it: no escalation, no "please confirm" for a ticket never escalated
    assert second.written == []
    # only the no-op of removing absent labels was recorded, which reaches no level
    done = store.applied("zendesk:1")
    assert [a.key for a in done] == ["zendesk:1:L2:remove_labels"]
    assert Memory.of("zendesk:1", done).level == 0
    store.close()
