"""A simulated month of support, run through the sidecar's own cycle into a store.

Ticket families with outcomes worked out by hand from the reference policy (all urgent tickets
are on the 24x7 calendar; November 2026 has no daylight-saving change: London is UTC). A stand-in
helpdesk holds the tickets, applies people's events at their instants and the sidecar's writes
as the helpdesk would; the cycle runs at every event and every due instant it reports, on a fake
clock. Each family's KPI contribution is derived in ``Expected`` independently of the report code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.base import ActionResult, ActionStatus, PullResult
from connectors.retry import RetryPolicy
from engine.model import (
    Action,
    AuthorRole,
    Change,
    Comment,
    Notify,
    Priority,
    Status,
    Ticket,
    apply_action,
)
from escalator.config import Config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.sources import Source
from escalator.store import StateStore

MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 12, 1, tzinfo=UTC)
DAYS = 20  # each family once a day, from 2 November
H = 3600


def at(day: int, hour: float) -> datetime:
    return MONTH_START + timedelta(days=day, hours=hour)


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    ticket: str  # id
    reply: AuthorRole | None = None  # a public comment by this role
    status: Status | None = None
    satisfaction: str | None = None


@dataclass(slots=True)
class World:
    tickets: dict[str, Ticket] = field(default_factory=dict)  # id -> as the helpdesk shows it
    events: list[Event] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)

    def add(self, ticket: Ticket, events: Sequence[Event]) -> None:
        opening = Comment(ticket.created_at, AuthorRole.CUSTOMER, True, "help", opening=True)
        self.tickets[ticket.id] = dataclasses.replace(ticket, comments=(opening,))
        self.events.extend(events)

    def happen(self, event: Event) -> None:
        t = self.tickets[event.ticket]
        changes: dict[str, object] = {"updated_at": event.at}
        if event.reply is not None:
            changes["comments"] = (*t.comments, Comment(event.at, event.reply, True, "..."))
        if event.status is not None:
            change = Change(event.at, "status", t.status.value, event.status.value)
            changes["status"] = event.status
            changes["history"] = (*t.history, change)
        if event.satisfaction is not None:
            changes["satisfaction"] = event.satisfaction
        self.tickets[event.ticket] = dataclasses.replace(t, **changes)  # type: ignore[arg-type]
        self.changed.add(event.ticket)


class WorldHelpdesk:
    """A helpdesk holding the world's tickets: pull returns what changed since the last pull."""

    def __init__(self, world: World, clock: list[datetime]) -> None:
        self.world = world
        self.clock = clock

    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        now = self.clock[0]
        ids = sorted(
            i
            for i in (self.world.changed if cursor else self.world.tickets)
            if self.world.tickets[i].created_at <= now
        )
        self.world.changed -= set(ids)
        return PullResult(tickets=tuple(self.world.tickets[i] for i in ids), cursor="c")

    def fetch(self, ticket_id: str) -> Ticket:
        return self.world.tickets[ticket_id]

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> list[ActionResult]:
        shown = self.world.tickets[ticket.id]
        for action in actions:
            shown = apply_action(shown, action)
        self.world.tickets[ticket.id] = dataclasses.replace(shown, updated_at=self.clock[0])
        return [ActionResult(a.key, ActionStatus.APPLIED) for a in actions]

    def verify_webhook(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


class Chat:
    def send(self, action: Notify, *, ticket_url: str | None = None, **_: object) -> ActionResult:
        return ActionResult(action.key, ActionStatus.APPLIED)


# -- the families --------------------------------------------------------------------------
def _ticket(tid: str, created: datetime, priority: Priority, **fields: object) -> Ticket:
    return Ticket(
        "zendesk",
        tid,
        created,
        created,
        Status.NEW,
        priority,
        title=f"ticket {tid}",
        url=f"https://acme.zendesk.com/agent/tickets/{tid}",
        **fields,  # type: ignore[arg-type]
    )


def build_world() -> World:
    world = World()
    for d in range(1, DAYS + 1):
        # A: major impact (urgent, enterprise): level 3 at creation; replies keep every target;
        # solved after 3 h; the customer confirms; rated good on even days, bad on odd ones
        a = f"A{d}"
        c = at(d, 10)
        world.add(
            _ticket(
                a,
                c,
                Priority.URGENT,
                organization=f"Globex-{d}",
                category="billing",
                customer_tier="enterprise",
            ),
            [
                Event(c + timedelta(minutes=30), a, reply=AuthorRole.AGENT),
                Event(c + timedelta(minutes=105), a, reply=AuthorRole.AGENT),
                Event(c + timedelta(hours=3), a, status=Status.SOLVED),
                Event(
                    c + timedelta(hours=4),
                    a,
                    reply=AuthorRole.CUSTOMER,
                    satisfaction="good" if d % 2 == 0 else "bad",
                ),
            ],
        )
        # B: late first response (urgent, standard): at risk at +45 min (level 1), breached at
        # +1 h (level 2); first reply at +1.5 h; solved at +6 h; the customer stays silent
        b = f"B{d}"
        c = at(d, 9)
        world.add(
            _ticket(
                b,
                c,
                Priority.URGENT,
                organization=f"Initech-{d}",
                category="account",
                customer_tier="standard",
            ),
            [
                Event(c + timedelta(minutes=90), b, reply=AuthorRole.AGENT),
                Event(c + timedelta(minutes=180), b, reply=AuthorRole.AGENT),
                Event(c + timedelta(minutes=270), b, reply=AuthorRole.AGENT),
                Event(c + timedelta(hours=6), b, status=Status.SOLVED),
            ],
        )
        # D (every 4th day): enterprise and ignored: level 3, first response and resolution
        # breached, never solved (credits under the enterprise contract); one organisation, so
        # from its third ticket on the recurrence rule holds too
        if d % 4 == 0:
            world.add(
                _ticket(
                    f"D{d}",
                    at(d, 12),
                    Priority.URGENT,
                    organization="Umbrella",
                    category="billing",
                    customer_tier="enterprise",
                ),
                [],
            )
        # F (every 5th day): 100 users affected (standard tier): level 3; solved at +2 h,
        # reopened by the customer at +3 h and left open
        if d % 5 == 0:
            f = f"F{d}"
            c = at(d, 14)
            world.add(
                _ticket(
                    f,
                    c,
                    Priority.URGENT,
                    organization=f"Hooli-{d}",
                    category="outage",
                    customer_tier="standard",
                    affected_users=100,
                ),
                [
                    Event(c + timedelta(minutes=20), f, reply=AuthorRole.AGENT),
                    Event(c + timedelta(hours=2), f, status=Status.SOLVED),
                    Event(c + timedelta(hours=3), f, reply=AuthorRole.CUSTOMER, status=Status.OPEN),
                    Event(c + timedelta(hours=3, minutes=30), f, reply=AuthorRole.AGENT),
                    Event(c + timedelta(hours=5), f, reply=AuthorRole.AGENT),
                ],
            )
        # Q: quiet tickets, answered in 10 minutes and solved within the hour: never escalated
        q = f"Q{d}"
        c = at(d, 15)
        world.add(
            _ticket(
                q,
                c,
                Priority.URGENT,
                organization=f"Soylent-{d}",
                category="question",
                customer_tier="standard",
            ),
            [
                Event(c + timedelta(minutes=10), q, reply=AuthorRole.AGENT),
                Event(c + timedelta(minutes=40), q, status=Status.SOLVED),
            ],
        )
    return world


@dataclass(frozen=True, slots=True)
class Expected:
    """The month's KPIs, derived by hand from the families above."""

    a: int = DAYS
    b: int = DAYS
    d: int = DAYS // 4
    f: int = DAYS // 5
    q: int = DAYS

    @property
    def tickets(self) -> int:
        return self.a + self.b + self.d + self.f + self.q

    @property
    def escalated(self) -> int:
        return self.a + self.b + self.d + self.f


def run_month(
    config: Config, store: StateStore, world: World, until: datetime = MONTH_END
) -> Sidecar:
    """Cycle at every event and every due instant the cycle reports, up to ``until``; the
    sidecar is left with its clock at the last cycle."""
    clock = [MONTH_START]
    helpdesk = WorldHelpdesk(world, clock)
    source = Source("zendesk", "zendesk", 60, helpdesk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
    sidecar = Sidecar(
        config, store, {"zendesk": source}, notifier=Chat(), log=EventLog(level="error"),
        clock=lambda: clock[0],
    )  # fmt: skip
    instants = sorted({e.at for e in world.events} | {t.created_at for t in world.tickets.values()})
    by_instant: dict[datetime, list[Event]] = {}
    for e in world.events:
        by_instant.setdefault(e.at, []).append(e)
    for t in world.tickets.values():
        world.changed.add(t.id)  # created: new to the helpdesk's change feed
    pending = list(instants)
    due: datetime | None = None
    while pending or (due is not None and due < until):
        nxt = pending[0] if pending else None
        if due is not None and (nxt is None or due < nxt):
            now = due
        else:
            assert nxt is not None
            now = nxt
            pending.pop(0)
        if now >= until:
            break
        clock[0] = now
        for event in by_instant.get(now, []):
            world.happen(event)
        report = sidecar.cycle(now=now)
        due = report.next_due
    return sidecar


def fill_store(config: Config, store: StateStore) -> World:
    world = build_world()
    run_month(config, store, world)
    return world


ROOT = Path(__file__).resolve().parents[2]
