"""Nothing is lost to quarantine: a Jira ticket in a status the config does not map is
quarantined (the cursor moves on past it), listed by ``escalator quarantine`` with what was
wrong, and planned like any other once the admin fixes the mapping and the config reloads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.emulation import SeedTicket
from escalator.app import open_sidecar
from escalator.cli import app
from escalator.config import load_config
from escalator.demo import DemoWorld
from escalator.sources import build_sources
from escalator.store import open_store
from tests.e2e.sidecar_process import ROOT

HALF_MAPPED = "    status_category_map: {indeterminate: open, done: solved}\n"
FULLY_MAPPED = "    status_category_map: {new: new, indeterminate: open, done: solved}\n"


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    yield world
    world.stop()


def _with_jira_line(config_dir: Path, line: str) -> None:
    sources = config_dir / "sources.yaml"
    text = sources.read_text()
    for old in (HALF_MAPPED, FULLY_MAPPED):
        text = text.replace(old, "")
    sources.write_text(text.replace("    kind: jira\n", "    kind: jira\n" + line, 1))


def test_a_quarantined_ticket_is_planned_once_its_cause_is_fixed(
    world: DemoWorld, tmp_path: Path
) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    _with_jira_line(config_dir, HALF_MAPPED)  # an admin's map that forgot the "To Do" category
    now = datetime.now(UTC).replace(microsecond=0)
    (key,) = world.jira.seed(
        [
            SeedTicket(
                "Single sign-on broken for everyone",
                now - timedelta(hours=3),
                status="new",  # the workflow's "Open" status, in the "new" category
                priority="urgent",
                organization="Initech",
                category="account",
                customer_tier="enterprise",
                affected_users=300,
            )
        ]
    )
    store_url = f"sqlite:///{tmp_path}/state.db"
    store = open_store(store_url)
    with open_sidecar(load_config(config_dir), world.env(), store=store) as sidecar:
        first = sidecar.cycle()
        assert first.pulled["jira"] == 0
        assert not [a for a, _ in first.written if a.ticket == f"jira:{key}"]
        (entry,) = store.quarantined("jira")
        assert entry.record_id == key
        assert "status 'Open'" in entry.reason
        assert "not mapped" in entry.reason
        assert store.get_cursor("jira") is not None  # the pull went on past it

        listed = CliRunner().invoke(
            app,
            ["quarantine", "--json", "--config", str(config_dir)],
            env={"ESCALATOR_STORE": store_url},
        )
        assert listed.exit_code == 0, listed.output
        (row,) = json.loads(listed.output)
        assert (row["source"], row["record"]) == ("jira", key)
        assert "not mapped" in row["reason"]

        # the admin fixes the map; the reload fetches quarantined records again
        _with_jira_line(config_dir, FULLY_MAPPED)
        fixed = load_config(config_dir)
        sidecar.reconfigure(fixed, build_sources(fixed, world.env()))
        assert sidecar.retry_quarantined() == 1
        assert store.quarantined() == []
        second = sidecar.cycle()
    escalations = {a.rule for a, r in second.written if a.ticket == f"jira:{key}"}
    assert "major-impact" in escalations
    store.close()
