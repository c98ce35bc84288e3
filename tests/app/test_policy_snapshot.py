"""Each ticket is judged by the policy it started under: an admin's edit applies to new tickets,
a ticket in flight keeps its targets (after a restart too) until it is solved or the admin
says ``escalator migrate-policy``."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from connectors.retry import RetryPolicy
from engine.model import Priority, Status, TargetName, Ticket
from escalator.cli import app
from escalator.config import load_config
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.sources import Source
from escalator.store import StateStore, open_store
from tests.fakes import StandInHelpdesk

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday morning in London


def _ticket(ticket_id: str, created: datetime) -> Ticket:
    return Ticket("zendesk", ticket_id, created, created, Status.OPEN, Priority.URGENT)


def _sidecar(config_dir: Path, store: StateStore, helpdesk: StandInHelpdesk) -> Sidecar:
    source = Source("zendesk", "zendesk", 60, helpdesk, RetryPolicy("zendesk"))  # type: ignore[arg-type]
    return Sidecar(
        load_config(config_dir),
        store,
        {"zendesk": source},
        log=EventLog(level="error"),
        clock=lambda: NOW,
    )


def _resolution_target(car: Sidecar, key: str) -> int:
    plan, _ = car.plan(NOW)
    (tp,) = [tp for tp in plan.tickets if tp.ticket == key]
    assert tp.sla is not None
    target = tp.sla.target(TargetName.RESOLUTION)
    assert target is not None
    return target.target_seconds


def test_a_ticket_keeps_the_policy_it_started_under(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    helpdesk = StandInHelpdesk()
    helpdesk.tickets["1"] = _ticket("1", NOW - timedelta(minutes=10))
    car = _sidecar(config_dir, store, helpdesk)
    v1 = car.config.policy.version
    car.cycle()
    assert _resolution_target(car, "zendesk:1") == 8 * 3600

    # the admin gives urgent tickets 4 hours instead of 8
    sla = config_dir / "sla.yaml"
    sla.write_text(sla.read_text().replace("resolution: 8h}", "resolution: 4h}"))
    car.config = load_config(config_dir)
    v2 = car.config.policy.version
    assert v2 != v1
    helpdesk.tickets["2"] = _ticket("2", NOW - timedelta(minutes=5))
    car.cycle()
    assert _resolution_target(car, "zendesk:1") == 8 * 3600  # in flight: v1's target
    assert _resolution_target(car, "zendesk:2") == 4 * 3600  # new: v2's
    assert store.policy_versions() == {"zendesk:1": v1, "zendesk:2": v2}

    # a restart on v2 rebuilds v1 from the store's snapshot
    restarted = _sidecar(config_dir, store, helpdesk)
    assert _resolution_target(restarted, "zendesk:1") == 8 * 3600

    # explain tells the story by the version the ticket is judged by, and names it
    told = CliRunner().invoke(
        app,
        ["explain", "zendesk:1", "--json", "--at", "2026-12-01T09:00:00Z",
         "--config", str(config_dir)],
        env={"ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db"},
    )  # fmt: skip
    assert told.exit_code == 0, told.output
    story = json.loads(told.output)
    assert story["policy_version"] == v1
    targets = {t["name"]: t["target_seconds"] for t in story["sla"]["targets"]}
    assert targets["resolution"] == 8 * 3600

    # the admin moves open tickets on
    result = CliRunner().invoke(
        app,
        ["migrate-policy", "--config", str(config_dir)],
        env={"ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db"},
    )
    assert result.exit_code == 0, result.output
    assert "1 open ticket" in result.output
    moved = _sidecar(config_dir, store, helpdesk)
    assert _resolution_target(moved, "zendesk:1") == 4 * 3600
    store.close()


def test_a_solved_ticket_moves_on_to_the_current_policy(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    helpdesk = StandInHelpdesk()
    helpdesk.tickets["1"] = _ticket("1", NOW - timedelta(minutes=10))
    car = _sidecar(config_dir, store, helpdesk)
    car.cycle()
    sla = config_dir / "sla.yaml"
    sla.write_text(sla.read_text().replace("resolution: 8h}", "resolution: 4h}"))
    car.config = load_config(config_dir)
    helpdesk.tickets["1"] = replace(helpdesk.tickets["1"], status=Status.SOLVED, updated_at=NOW)
    car.cycle()
    assert store.policy_versions()["zendesk:1"] == car.config.policy.version
    store.close()
