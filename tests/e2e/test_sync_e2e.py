"""`escalator plan` and `escalator sync --once` against the three running emulators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from escalator.demo import DemoWorld
from tests.e2e.one_per_level import seed_one_per_level
from tests.e2e.sidecar_process import ROOT

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    seed_one_per_level(world, datetime.now(UTC))
    yield world
    world.stop()


def run_cli(world: DemoWorld, tmp_path: Path, *args: str) -> str:
    """``escalator ARGS --config config/`` against ``world``; its standard output."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NO_PROXY": "127.0.0.1",
        "COLUMNS": "250",
        **world.env(),
        "ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db",
    }
    done = subprocess.run(
        [sys.executable, "-m", "escalator.cli", *args, "--config", str(ROOT / "config")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def escalator(world: DemoWorld, tmp_path: Path, *args: str) -> Any:
    return json.loads(run_cli(world, tmp_path, *args, "--json"))


def writes(world: DemoWorld) -> int:
    servers = (world.zendesk.server, world.jira.server, world.hubspot.server)
    return sum(
        1
        for s in servers
        for r in s.requests
        if r.method in ("PUT", "POST", "PATCH")
        and "/search" not in r.path
        and "oauth" not in r.path
        and "/batch/read" not in r.path
    )


def test_plan_then_sync_then_nothing(world: DemoWorld, tmp_path: Path) -> None:
    before = writes(world)
    planned = escalator(world, tmp_path, "plan")
    assert writes(world) == before, "plan must not write to any helpdesk"
    keys = {a["key"] for a in planned}
    zd = next(a["ticket"] for a in planned if a["ticket"].startswith("zendesk:"))
    jira = next(a["ticket"] for a in planned if a["ticket"].startswith("jira:"))
    hub = next(a["ticket"] for a in planned if a["ticket"].startswith("hubspot:"))
    assert {
        f"{zd}:major-impact:add_labels",
        f"{zd}:L3:add_labels",
        f"{zd}:L3:assign",
        f"{zd}:L3:comment",
        f"{zd}:L3:notify",
        f"{zd}:engineering:create_linked_issue",
    } <= keys
    # already urgent: raising the priority is recorded as shown, not written
    assert f"{jira}:sla-breached:set_priority" not in keys
    assert {
        f"{jira}:sla-breached:add_labels",
        f"{jira}:sla-at-risk:comment",
        f"{jira}:L2:add_labels",
    } <= keys
    assert {f"{hub}:recurring-problem:add_labels", f"{hub}:L1:add_labels"} <= keys

    synced = escalator(world, tmp_path, "sync", "--once")
    assert {a["key"] for a in synced} == keys
    assert writes(world) > before

    zendesk = world.zendesk.record(zd.split(":", 1)[1])
    assert {"major-incident", "escalation-l3", "engineering"} <= set(zendesk["tags"])
    issue = world.jira.record(jira.split(":", 1)[1])
    assert {"sla-breached", "escalation-l2"} <= set(issue["fields"]["labels"])
    assert "escalation-l1" not in issue["fields"]["labels"]
    hubspot = world.hubspot.record(hub.split(":", 1)[1])
    assert set(hubspot["properties"]["escalation_labels"].split(";")) == {
        "recurring",
        "escalation-l1",
    }
    eng = [key for key in world.jira._issues if key.startswith("ENG-")]
    assert len(eng) == 1
    assert len(world.chat.messages) == 3  # one notification per level reached

    after_first = writes(world)
    assert escalator(world, tmp_path, "sync", "--once") == []
    assert writes(world) == after_first, "a second sync must write nothing"


def test_audit_explains_decisions_and_writes(world: DemoWorld, tmp_path: Path) -> None:
    synced = escalator(world, tmp_path, "sync", "--once")
    ticket = next(a["ticket"] for a in synced if a["rule"] == "major-impact")
    out = run_cli(world, tmp_path, "audit", "--ticket", ticket)
    assert "major-impact: priority in ['urgent'] and (customer_tier in ['enterprise']" in out
    assert "reached level 3 (Executive)" in out
    assert "add_labels (major-impact) applied" in out
