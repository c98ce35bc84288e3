"""``run`` decides what ``simulate`` decides: the demo world through both, instant by instant.

The demo's support day is seeded into the three emulators. ``simulate`` replays it with exact,
event-driven time and stamps each action at the second its rule first holds. The sidecar's own
cycle (pull through the emulators' HTTP APIs, plan, write back) is then run at each of those
instants with its clock set there. Both must decide the same actions at the same instants,
including those a decision makes hold at the very same second (a breach raises a ticket to
urgent, which makes the major-impact rule hold for an enterprise customer): a cycle that
planned only once per instant would leave those to a later poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import ActionStatus
from connectors.emulation import SeedTicket
from engine.codec import format_instant
from engine.simulation import simulate
from escalator import cycle
from escalator.app import open_sidecar
from escalator.config import load_config
from escalator.demo import DemoWorld
from escalator.store import open_store
from tests.e2e.sidecar_process import ROOT


def stopped_at(instant: datetime) -> Callable[[], datetime]:
    """A clock that stays at ``instant``."""
    return lambda: instant


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    try:
        yield world
    finally:
        world.stop()


@pytest.mark.parametrize("planning", ["incremental", "full"])
def test_sync_at_each_instant_decides_what_simulate_decides(
    world: DemoWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planning: str
) -> None:
    """Incremental: each cycle plans only the tickets that changed or fell due (with the
    hourly full check); full: every cycle re-plans every ticket. Both decide what simulate
    decides, so they decide the same."""
    if planning == "full":
        monkeypatch.setattr(cycle, "FULL_REPLAN_EVERY", timedelta(0))
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    world.seed(now)
    # the chains of one instant: the breach raises a high ticket of an enterprise customer to
    # urgent, so major-impact holds at that second; it reaches level 2, so the engineering
    # hand-off of a technical ticket holds at that second too
    (chained_id,) = world.zendesk.seed(
        [
            SeedTicket(
                "Payments API answers slowly",
                now - timedelta(days=3),
                status="open",
                priority="high",
                organization="Globex",
                category="technical",
                customer_tier="enterprise",
                affected_users=3,
            )
        ]
    )
    config = load_config(ROOT / "config")
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    with open_sidecar(config, world.env(), store=store) as sidecar:
        sidecar.clock = lambda: now
        for name in sidecar.sources:
            sidecar.poll(name)
        pulled = store.load_tickets()
        assert len(pulled) == 11

        expected = simulate(config.policy, pulled, [], until=now)
        instants = sorted({a.at for a in (*expected.actions, *expected.satisfied)})
        assert len(instants) >= 4  # a day of escalations, not a single instant

        written: set[tuple[str, str]] = set()
        planned = []
        for instant in instants:
            sidecar.clock = stopped_at(instant)
            report = sidecar.cycle()
            planned.append(report.planned)
            assert not report.failed_sources
            for action, result in report.written:
                assert result.status is ActionStatus.APPLIED, (action.key, result.detail)
                written.add((action.key, _stamp(action.at)))
        recorded = {
            (a.key, _stamp(a.at))
            for actions in store.applied_by_ticket().values()
            for a in actions
        } - written

    assert written == {(a.key, _stamp(a.at)) for a in expected.actions}
    assert sidecar.metrics.render().decode().count("escalator_incremental_plan_missed_total 0.0")
    if planning == "incremental":  # after the first cycle, only what changed or fell due
        assert min(planned[1:]) < len(pulled), planned
    else:
        assert all(n >= len([t for t in pulled if t.created_at <= instants[0]]) for n in planned)
    assert recorded == {(a.key, _stamp(a.at)) for a in expected.satisfied}
    # the same-instant chains the parity is about are in this world
    chained = {a.rule for a in expected.actions if a.ticket == f"zendesk:{chained_id}"}
    assert {"sla-breached", "major-impact", "engineering"} <= chained
    breach = next(a.at for a in expected.actions if a.rule == "sla-breached")
    assert next(a.at for a in expected.actions if a.rule == "major-impact") == breach
    store.close()


def _stamp(instant: datetime) -> str:
    return format_instant(instant) or ""


def test_plan_changes_nothing_and_sync_then_writes_what_it_showed(
    world: DemoWorld, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    world.seed(now)
    config = load_config(ROOT / "config")
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    with open_sidecar(config, world.env(), store=store) as sidecar:
        sidecar.clock = lambda: now
        preview, _ = sidecar.preview()
        # nothing in the store moved: no cursor, no ticket, no ledger entry
        assert all(store.get_cursor(name) is None for name in sidecar.sources)
        assert store.load_tickets() == []
        assert store.applied_by_ticket() == {}
        report = sidecar.cycle()
    shown = {a.key for a in preview.actions}
    written = {a.key for a, r in report.written if r.status is ActionStatus.APPLIED}
    assert shown
    assert written == shown
    store.close()


def test_the_cycle_writes_hubspot_property_changes_in_batches(
    world: DemoWorld, tmp_path: Path
) -> None:
    """HubSpot's batch update carries many tickets' property changes in one call."""
    now = datetime.now(UTC).replace(microsecond=0)
    world.seed(now)
    for n in range(3):  # more breached tickets of the same customer: several writes at once
        world.hubspot.seed(
            [
                SeedTicket(
                    f"Invoice export broken {n}",
                    now - timedelta(days=3),
                    status="open",
                    priority="high",
                    organization="Acme",
                    category="billing",
                )
            ]
        )
    config = load_config(ROOT / "config")
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    with open_sidecar(config, world.env(), store=store) as sidecar:
        sidecar.clock = lambda: now
        report = sidecar.cycle()
    hubspot_writes = {
        a.ticket for a, r in report.written
        if a.ticket.startswith("hubspot:") and r.status is ActionStatus.APPLIED
        and a.kind.value in ("set_priority", "add_labels", "remove_labels", "assign")
    }  # fmt: skip
    assert len(hubspot_writes) >= 3
    batches = world.hubspot.server.calls("POST", r".*/tickets/batch/update")
    singles = world.hubspot.server.calls("PATCH", r".*/tickets/\d+")
    assert batches
    assert len(batches) + len(singles) < len(hubspot_writes)
    store.close()


def test_a_plans_linked_issues_are_checked_for_duplicates_in_one_search(
    world: DemoWorld, tmp_path: Path
) -> None:
    """Three technical tickets reach level 2 together: three ENG issues, one duplicate check."""
    now = datetime.now(UTC).replace(microsecond=0)
    world.zendesk.seed(
        [
            SeedTicket(
                f"API errors {n}",
                now - timedelta(days=3),
                status="open",
                priority="high",
                organization=f"Org {n}",
                category="technical",
            )
            for n in range(3)
        ]
    )
    config = load_config(ROOT / "config")
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    with open_sidecar(config, world.env(), store=store) as sidecar:
        sidecar.clock = lambda: now
        report = sidecar.cycle()
    created = [
        a for a, r in report.written
        if a.kind.value == "create_linked_issue" and r.status is ActionStatus.APPLIED
    ]  # fmt: skip
    assert len(created) == 3
    jira = world.jira.server
    searches = [
        r for r in (*jira.calls("GET", "/search"), *jira.calls("POST", "/search"))
        if "labels in" in (r.query.get("jql", [""])[0] + r.body.decode(errors="replace"))
    ]  # fmt: skip
    assert len(searches) == 1
    store.close()
