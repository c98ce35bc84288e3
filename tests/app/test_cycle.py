"""The cycle's write ordering, with a stand-in connector: narrow unit tests of cycle.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from connectors.base import ActionResult, ActionStatus
from connectors.retry import RetryPolicy
from engine.model import Action, Change, Notify, Status, Ticket
from engine.planner import Memory
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.sources import Source
from escalator.store import open_store
from tests.fakes import BREACHED_AT as NOW
from tests.fakes import HIGH_TICKET as TICKET
from tests.fakes import StandInHelpdesk

ROOT = Path(__file__).resolve().parents[2]


class Helpdesk(StandInHelpdesk):
    """Answers the first write with 409 because an agent solved the ticket meanwhile."""

    def __init__(self) -> None:
        super().__init__(TICKET)
        self.writes = 0

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
