"""A busy support day for the end-to-end tests (the ``busy_day`` fixture of conftest.py).

It seeds the three emulators with tickets whose escalations are all decided at once
(a few hundred writes), works out what a clean run writes for them on a second, identically
seeded world, and checks that a world the sidecar crashed on shows exactly that: every comment
and linked issue once, the labels and levels the rules require, every notification at least once.
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from connectors import registry
from connectors.emulation import SeedTicket
from connectors.jira.links import link_label
from escalator.app import open_sidecar
from escalator.config import Config, load_config
from escalator.demo import DemoWorld, with_every_source
from escalator.store import open_store
from escalator.store import schema as tables
from escalator.store.connect import create_store_engine, parse_store_url
from tests.e2e.sidecar_process import ROOT, SidecarProcess

MAJOR = 14  # urgent + enterprise: major-impact, level 3
LATE = 14  # urgent, created 2 h ago: first response at risk and breached, level 2
REPEATS = 2  # organisations with three tickets of one category: the newest is recurring, level 1
_NOTIFIED = re.compile(r"Escalation level (\d) \([^)]*\): (\w+:[\w-]+) ")


@dataclass(frozen=True, slots=True)
class Expected:
    """What the rules require of one seeded ticket, worked out by hand."""

    labels: frozenset[str]
    level: int  # 0: no rule holds


def busy_tickets(now: datetime, tag: str) -> list[tuple[SeedTicket, Expected]]:
    """One system's share of the day; every decision holds now, none falls due within the hour."""
    out: list[tuple[SeedTicket, Expected]] = []
    for i in range(MAJOR):
        technical = i % 2 == 1
        labels = {"major-incident", "escalation-l3"} | ({"engineering"} if technical else set())
        ticket = SeedTicket(
            f"{tag} checkout down {i}",
            now - timedelta(minutes=5),
            status="open",
            priority="urgent",
            organization=f"{tag}-major-{i}",
            category="technical" if technical else "billing",
            customer_tier="enterprise",
        )
        out.append((ticket, Expected(frozenset(labels), 3)))
    for i in range(LATE):
        technical = i % 2 == 1
        labels = {"sla-at-risk", "sla-breached", "escalation-l2"}
        ticket = SeedTicket(
            f"{tag} export times out {i}",
            now - timedelta(hours=2),
            status="open",
            priority="urgent",
            organization=f"{tag}-late-{i}",
            category="technical" if technical else "account",
            customer_tier="standard",
        )
        labels |= {"engineering"} if technical else set()
        out.append((ticket, Expected(frozenset(labels), 2)))
    for group in range(REPEATS):
        for i in range(3):
            ticket = SeedTicket(
                f"{tag} invoice wrong again {group}.{i}",
                now - timedelta(minutes=60 + 5 * i),
                status="open",
                priority="normal",
                organization=f"{tag}-repeat-{group}",
                category="billing",
                customer_tier="standard",
            )
            # only the newest has two others before it; the older two escalate nothing
            newest = i == 0
            expected = Expected(
                frozenset({"recurring", "escalation-l1"} if newest else ()), 1 if newest else 0
            )
            out.append((ticket, expected))
    return out


def engineering_issues_required(systems: int) -> int:
    """Technical tickets that reach level 2 or more, in every system."""
    return systems * (MAJOR // 2 + LATE // 2)


@dataclass(frozen=True, slots=True)
class TicketState:
    """What one ticket shows in its helpdesk, read through the connector and raw."""

    labels: frozenset[str]
    priority: str
    group: str | None
    assignee: str | None
    status: str
    markers: tuple[tuple[str, int], ...]  # sidecar comment marker -> times it is on the ticket
    raw_comments: int  # every comment, note and message the emulator holds for it


@dataclass(slots=True)
class WorldState:
    tickets: dict[str, TicketState]  # by ticket key
    eng_issues: Counter[str]  # ENG issues per the action label that names their origin action
    notified: Counter[tuple[str, int]]  # chat messages per (ticket key, level)


@dataclass(slots=True)
class Ledger:
    status: dict[str, str]  # action key -> pending / applied / already / failed / conflict
    notify_keys: set[str] = field(default_factory=set)
    linked_keys: set[str] = field(default_factory=set)


class BusyDay:
    """Seeds a busy day, and knows what a clean run writes for it."""

    def __init__(self, tmp_path: Path) -> None:
        self.now = datetime.now(UTC)
        self.tmp_path = tmp_path
        self.config_path = with_every_source(ROOT / "config", tmp_path / "config")
        self.config: Config = load_config(self.config_path)
        # every registered helpdesk: a new one joins the day by being registered
        self.systems = tuple(registry.known_kinds())
        self.plan = {system: busy_tickets(self.now, system[:2]) for system in self.systems}
        self._reference: tuple[dict[str, list[str]], WorldState, Ledger] | None = None

    # -- seeding --------------------------------------------------------------------------
    def seed(self, world: DemoWorld) -> dict[str, list[str]]:
        # seed_demo: HubSpot's public replies go out through the inbox, which it opens
        return {
            system: world.emulators[system].seed_demo([t for t, _ in self.plan[system]])
            for system in self.systems
        }

    def expected(self, ids: dict[str, list[str]]) -> dict[str, Expected]:
        return {
            f"{system}:{ticket_id}": expected
            for system in self.systems
            for ticket_id, (_, expected) in zip(ids[system], self.plan[system], strict=True)
        }

    # -- the clean run ----------------------------------------------------------------------
    def reference(self) -> tuple[dict[str, list[str]], WorldState, Ledger]:
        """A second world seeded the same way, synced in-process until a cycle writes nothing."""
        if self._reference is None:
            world = DemoWorld()
            world.start()
            try:
                ids = self.seed(world)
                url = f"sqlite:///{self.tmp_path}/reference.db"
                with (
                    open_store(url) as store,
                    open_sidecar(
                        self.config, world.env(), store=store, log_stream=io.StringIO()
                    ) as sidecar,
                ):
                    for _ in range(5):
                        if not sidecar.cycle().written:
                            break
                    else:
                        raise AssertionError("the clean run never settled")
                self._reference = (ids, self.observe(world, ids), read_ledger(url))
            finally:
                world.stop()
        return self._reference

    # -- reading a world back ---------------------------------------------------------------
    def observe(self, world: DemoWorld, ids: dict[str, list[str]]) -> WorldState:
        tickets: dict[str, TicketState] = {}
        raw = world.emulators
        with (
            open_store("sqlite://") as scratch,
            open_sidecar(
                self.config, world.env(), store=scratch, log_stream=io.StringIO()
            ) as reader,
        ):
            for system in self.systems:
                connector = reader.sources[system].connector
                for ticket_id in ids[system]:
                    t = connector.fetch(ticket_id)
                    markers = Counter(c.marker for c in t.comments if c.marker)
                    tickets[t.key] = TicketState(
                        labels=t.labels,
                        priority=t.priority.value,
                        group=t.group,
                        assignee=t.assignee,
                        status=t.status.value,
                        markers=tuple(sorted(markers.items())),
                        raw_comments=len(raw[system].comments(ticket_id)),
                    )
        eng: Counter[str] = Counter()
        for key in world.jira.issue_keys("ENG"):
            for label in world.jira.record(key)["fields"]["labels"]:
                if label.startswith("sidecar-"):
                    eng[label] += 1
        notified: Counter[tuple[str, int]] = Counter()
        for _, payload in list(world.chat.messages):
            found = _NOTIFIED.search(str(payload))
            assert found, f"a chat message without its escalation line: {payload}"
            notified[(found.group(2), int(found.group(1)))] += 1
        return WorldState(tickets, eng, notified)

    # -- the verdict ------------------------------------------------------------------------
    @staticmethod
    def settle(process: SidecarProcess, timeout: float = 60.0) -> None:
        """Let a run pull every source and finish the cycle after it (which writes all that
        is due); stop it. Quiet spells are no sign of being done (a slow call or a retry wait
        makes one), and SIGTERM abandons what a cycle has left: wait for the cycle's report."""
        deadline = time.monotonic() + timeout
        while True:
            events = [e["event"] for e in process.events()]
            pulled = [i for i, e in enumerate(events) if e == "poll.done"]
            if len(pulled) >= 3 and "cycle.done" in events[pulled[2] :]:
                break
            assert time.monotonic() < deadline, process.log_path.read_text()[-3000:]
            time.sleep(0.05)
        assert process.terminate() == 0

    def check_applied_once(self, world: DemoWorld, ids: dict[str, list[str]], url: str) -> None:
        """Nothing is left to write; everything the clean run wrote is on ``world`` exactly
        once, notifications at least once; the store remembers the same decisions."""
        ref_ids, ref, ref_ledger = self.reference()
        assert ids == ref_ids, "the two worlds were not seeded identically"

        # `escalator plan` on the same store: nothing pending, nothing left to write
        with open_store(url) as store:
            assert store.pending() == []
            with open_sidecar(
                self.config, world.env(), store=store, log_stream=io.StringIO()
            ) as sidecar:
                preview, _ = sidecar.preview(pull=True)
        assert not preview.actions, [a.key for a in preview.actions][:10]
        seen = self.observe(world, ids)
        ledger = read_ledger(url)

        # the store: nothing pending or failed, and the same done decisions as the clean run
        stuck = {k: s for k, s in ledger.status.items() if s not in tables.DONE_STATUSES}
        assert not stuck, f"actions left unfinished: {sorted(stuck.items())[:10]}"
        assert set(ledger.status) == set(ref_ledger.status)

        # the clean run did what the rules say (independent of any run)
        expected = self.expected(ids)
        for key, want in expected.items():
            state = ref.tickets[key]
            levels = {label for label in state.labels if label.startswith("escalation-l")}
            assert levels == ({f"escalation-l{want.level}"} if want.level else set()), key
            assert want.labels <= state.labels, (key, state.labels)
            assert all(c == 1 for _, c in state.markers), (key, state.markers)
        assert sum(ref.eng_issues.values()) == engineering_issues_required(len(self.systems))
        assert set(ref.notified.values()) == {1}

        # the crashed world: each comment once, every label, assignee and priority as required
        for key, want in expected.items():
            state, clean = seen.tickets[key], ref.tickets[key]
            twice = [m for m, c in state.markers if c > 1]
            assert not twice, f"{key}: comments posted more than once: {twice}"
            assert state.markers == clean.markers, (key, state.markers, clean.markers)
            assert state.raw_comments == clean.raw_comments, (key, "comments in the emulator")
            assert want.labels <= state.labels, (key, state.labels)
            assert state == clean, (key, state, clean)

        # one ENG issue per technical ticket at level >= 2, each created once
        twice = [label for label, c in seen.eng_issues.items() if c > 1]
        assert not twice, f"engineering issues created more than once: {twice}"
        assert sum(seen.eng_issues.values()) == engineering_issues_required(len(self.systems))
        assert set(seen.eng_issues) == {link_label(k) for k in ledger.linked_keys}
        assert set(seen.eng_issues) == set(ref.eng_issues)

        # notifications are at-least-once: a crash between sending and recording re-sends
        assert set(seen.notified) == set(ref.notified)
        assert len(ledger.notify_keys) == len(ref.notified)


def read_ledger(url: str) -> Ledger:
    """Every action key in the store with its status (read with a plain engine)."""
    engine = create_store_engine(parse_store_url(url))
    a = tables.actions
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(a.c.key, a.c.status, a.c.kind)).all()
    finally:
        engine.dispose()
    ledger = Ledger({key: status for key, status, _ in rows})
    ledger.notify_keys = {key for key, _, kind in rows if kind == "notify"}
    ledger.linked_keys = {key for key, _, kind in rows if kind == "create_linked_issue"}
    return ledger
