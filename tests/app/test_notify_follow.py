"""A page follows its ticket: acknowledged when an agent replies (or a person is assigned),
resolved when the ticket is solved; each step sent once, through the cycle and the ledger."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import ActionResult, ActionStatus, PullResult
from connectors.retry import RetryPolicy
from engine.model import (
    Action,
    Assign,
    AuthorRole,
    Change,
    Comment,
    Notify,
    Priority,
    Status,
    Ticket,
)
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.notify import Notifier, OpsgenieChannel, PagerDutyChannel
from escalator.notify.emulators.opsgenie import OpsgenieEmulator
from escalator.notify.emulators.pagerduty import PagerDutyEmulator
from escalator.notify.follow import follow_ups, split_follow_key
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
    url="https://acme.zendesk.com/agent/tickets/1",
    organization="Acme",
    category="account",
)
ROUTING_KEY = "PDSECRETroutingkey0123456789abcd"
API_KEY = "OGSECRET-eb243592-faa2-4ba2-a551"
PAGE = Notify(
    key="zendesk:1:L2:notify",
    ticket="zendesk:1",
    rule="sla-breached",
    at=NOW,
    level=2,
    channel="support-manager",
    text="Escalation level 2",
)


def reply(at: datetime, role: AuthorRole = AuthorRole.AGENT, public: bool = True) -> Comment:
    return Comment(at, role, public, "On it")


# -- which follow-ups are due (pure) -------------------------------------------------------------
def test_nothing_is_due_until_a_person_takes_the_ticket_up() -> None:
    assert follow_ups(TICKET, [PAGE], {"support-manager"}) == []
    # a reply before the page, a private note, the customer, a bot: none acknowledges
    ticket = dataclasses.replace(
        TICKET,
        comments=(
            reply(NOW - timedelta(seconds=1)),
            reply(NOW, public=False),
            reply(NOW, role=AuthorRole.CUSTOMER),
            reply(NOW, role=AuthorRole.BOT),
        ),
    )
    assert follow_ups(ticket, [PAGE], {"support-manager"}) == []


def test_an_agent_reply_acknowledges_and_solving_resolves() -> None:
    answered = dataclasses.replace(TICKET, comments=(reply(NOW + timedelta(minutes=7)),))
    (ack,) = follow_ups(answered, [PAGE], {"support-manager"})
    assert (ack.key, ack.at, ack.level, ack.channel) == (
        "zendesk:1:L2:notify~acknowledge",
        NOW + timedelta(minutes=7),
        None,
        "support-manager",
    )
    assert split_follow_key(ack.key) == ("zendesk:1:L2:notify", "acknowledge")
    assert follow_ups(answered, [PAGE, ack], {"support-manager"}) == []

    solved_at = NOW + timedelta(hours=2)
    solved = dataclasses.replace(
        answered,
        status=Status.SOLVED,
        history=(Change(solved_at, "status", "open", "solved"),),
    )
    (resolve,) = follow_ups(solved, [PAGE, ack], {"support-manager"})
    assert (resolve.key, resolve.at) == ("zendesk:1:L2:notify~resolve", solved_at)
    assert follow_ups(solved, [PAGE, ack, resolve], {"support-manager"}) == []


def test_an_assignee_the_sidecar_did_not_set_acknowledges() -> None:
    own = Assign(
        key="zendesk:1:L2:assign",
        ticket="zendesk:1",
        rule="sla-breached",
        at=NOW,
        level=2,
        user="tier2-bot",
    )
    by_sidecar = dataclasses.replace(TICKET, history=(Change(NOW, "assignee", None, "tier2-bot"),))
    assert follow_ups(by_sidecar, [PAGE, own], {"support-manager"}) == []
    by_person = dataclasses.replace(
        TICKET, history=(Change(NOW + timedelta(minutes=3), "assignee", None, "alice"),)
    )
    (ack,) = follow_ups(by_person, [PAGE, own], {"support-manager"})
    assert ack.at == NOW + timedelta(minutes=3)


def test_chat_and_email_notifications_have_nothing_to_follow() -> None:
    solved = dataclasses.replace(TICKET, status=Status.SOLVED)
    assert follow_ups(solved, [PAGE], {"executive"}) == []


# -- through the cycle, against the emulators ----------------------------------------------------
class Helpdesk:
    """A ticket the test changes between cycles; every write is applied."""

    def __init__(self) -> None:
        self.ticket = TICKET

    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        return PullResult(tickets=(self.ticket,), cursor=self.ticket.updated_at.isoformat())

    def fetch(self, ticket_id: str) -> Ticket:
        return self.ticket

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        return [ActionResult(a.key, ActionStatus.APPLIED) for a in actions]

    def verify_webhook(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


@pytest.fixture
def emulators() -> Iterator[tuple[PagerDutyEmulator, OpsgenieEmulator]]:
    with PagerDutyEmulator(ROUTING_KEY) as pd, OpsgenieEmulator(API_KEY) as og:
        yield pd, og


def test_pages_follow_the_ticket_through_the_cycle(
    emulators: tuple[PagerDutyEmulator, OpsgenieEmulator], tmp_path: Path
) -> None:
    pd, og = emulators
    helpdesk = Helpdesk()
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    clock = [NOW]
    channels = {  # level 1 pages Opsgenie, level 2 PagerDuty (names as config/escalation.yaml)
        "team-lead": OpsgenieChannel("team-lead", API_KEY, base_url=og.base_url),
        "support-manager": PagerDutyChannel("support-manager", ROUTING_KEY, base_url=pd.base_url),
        "executive": PagerDutyChannel("executive", ROUTING_KEY, base_url=pd.base_url),
    }
    notifier = Notifier(channels, retry=RetryPolicy("notify", sleep=lambda s: None))
    source = Source("zendesk", "zendesk", 60, helpdesk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
    sidecar = Sidecar(
        load_config(ROOT / "config"),
        store,
        {"zendesk": source},
        notifier=notifier,
        log=EventLog(level="error"),
        clock=lambda: clock[0],
    )

    sidecar.cycle()
    (alert,) = pd.alerts
    assert (alert.dedup_key, alert.status) == ("zendesk:1:L2:notify", "triggered")

    # an agent answers: the page is acknowledged, once
    clock[0] = NOW + timedelta(minutes=10)
    helpdesk.ticket = dataclasses.replace(
        TICKET, updated_at=clock[0], comments=(reply(NOW + timedelta(minutes=9)),)
    )
    sidecar.cycle()
    assert alert.status == "acknowledged"
    sidecar.cycle()

    # the ticket is solved: the page is resolved, once
    clock[0] = NOW + timedelta(hours=3)
    helpdesk.ticket = dataclasses.replace(
        helpdesk.ticket,
        status=Status.SOLVED,
        updated_at=clock[0],
        history=(Change(clock[0], "status", "open", "solved"),),
    )
    sidecar.cycle()
    sidecar.cycle()

    assert alert.status == "resolved"
    events = [r.json()["event_action"] for r in pd.server.calls("POST", "^/v2/enqueue$")]
    assert events == ["trigger", "acknowledge", "resolve"]
    done = {a.key for a in store.applied("zendesk:1")}
    assert {"zendesk:1:L2:notify~acknowledge", "zendesk:1:L2:notify~resolve"} <= done
    notifier.close()
    store.close()
