"""Jira Data Center end to end: ``escalator sync --once`` and ``escalator run`` as subprocesses
on the emulators, the Jira source set to ``flavour: datacenter`` (REST v2, a PAT, wiki text,
Server priority names), judged by the reference policy in ``config/``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.emulation import SeedComment, SeedTicket
from connectors.jira.emulator import PAT, JiraEmulator
from escalator.demo import DemoWorld
from tests.e2e.sidecar_process import ROOT, SidecarProcess, e2e_config, wait_for
from tests.ports import free_port

pytestmark = pytest.mark.slow


def datacenter_config(target: Path, jira: JiraEmulator, poll_interval: str = "30s") -> Path:
    """The shipped config/ with its ``jira`` source pointed at a Data Center site."""
    config = e2e_config(target, poll_interval=poll_interval)
    sources = config / "sources.yaml"
    data = yaml.safe_load(sources.read_text())
    section = data["sources"]["jira"]
    for key, value in jira.source_overrides().items():
        if value is None:
            section.pop(key, None)
        else:
            section[key] = value
    sources.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def sync_once(world: DemoWorld, config: Path, store: str) -> list[dict[str, Any]]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NO_PROXY": "127.0.0.1",
        **world.env(),
        "ESCALATOR_STORE": store,
    }
    done = subprocess.run(
        [sys.executable, "-m", "escalator.cli", "sync", "--once", "--config", str(config),
         "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


@pytest.fixture
def dc_world() -> Iterator[DemoWorld]:
    world = DemoWorld(jira_flavour="datacenter")
    world.start()
    yield world
    world.stop()


def test_pull_write_and_the_reference_policy_against_data_center(
    dc_world: DemoWorld, tmp_path: Path
) -> None:
    jira = dc_world.jira
    now = datetime.now(UTC)
    major, late, calm = jira.seed([
        SeedTicket("Checkout is down", now - timedelta(minutes=5), status="open",
                   priority="urgent", organization="Globex", category="technical",
                   customer_tier="enterprise"),
        SeedTicket("Export times out", now - timedelta(hours=2), status="open",
                   priority="urgent", organization="Initech", category="billing",
                   comments=[SeedComment(now - timedelta(hours=2), "customer", True,
                                         "Still *broken*")]),
        SeedTicket("Question about invoices", now - timedelta(minutes=10), status="open",
                   priority="low", organization="Hooli", category="billing"),
    ])  # fmt: skip
    assert jira.record(major)["fields"]["priority"]["name"] == "Blocker"  # Server names
    config = datacenter_config(tmp_path / "config", jira)
    store = f"sqlite:///{tmp_path}/state.db"

    synced = sync_once(dc_world, config, store)

    keys = {a["key"] for a in synced}
    assert {f"jira:{major}:major-impact:add_labels", f"jira:{major}:L3:comment",
            f"jira:{major}:engineering:create_linked_issue"} <= keys  # fmt: skip
    assert {f"jira:{late}:sla-breached:add_labels", f"jira:{late}:sla-at-risk:comment"} <= keys
    assert not [k for k in keys if k.startswith(f"jira:{calm}:")]
    issue = jira.record(major)["fields"]
    assert {"major-incident", "escalation-l3", "engineering"} <= set(issue["labels"])
    assert issue["assignee"]["name"] == "erin.exec"  # Executive Escalations, by username
    breached = jira.record(late)["fields"]
    assert {"sla-breached", "escalation-l2"} <= set(breached["labels"])
    bodies = [c["body"] for c in jira.comments(late) if c["author"]["name"] == "escalation-sidecar"]
    assert bodies
    assert all(isinstance(b, str) for b in bodies)  # wiki text, never ADF
    [eng] = jira.issue_keys("ENG")
    eng_fields = jira.record(eng)["fields"]
    assert eng_fields["priority"]["name"] == "Blocker"  # urgent, mapped back to Server names
    assert isinstance(eng_fields["description"], str)
    paths = {r.path for r in jira.server.requests}
    assert not [p for p in paths if p.startswith("/rest/api/3")]
    assert {r.headers["authorization"] for r in jira.server.requests} == {f"Bearer {PAT}"}

    # nothing is written twice; engineering's fix is announced once, in wiki text
    assert sync_once(dc_world, config, store) == []
    jira.resolve(eng)
    fixed = sync_once(dc_world, config, store)
    assert [a["key"] for a in fixed] == [f"jira:{major}:engineering-fixed:comment"]
    announced = jira.comments(major)[-1]
    assert announced["jsdPublic"] is True
    assert announced["body"].startswith("Good news: our engineering team has put a fix in place")
    assert sync_once(dc_world, config, store) == []


def test_a_signed_data_center_webhook_makes_run_act_at_once(tmp_path: Path) -> None:
    port = free_port()
    world = DemoWorld(sidecar_url=f"http://127.0.0.1:{port}", jira_flavour="datacenter")
    world.start()
    config = datacenter_config(tmp_path / "config", world.jira, poll_interval="30s")
    env = {**world.env(), "ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db"}
    sidecar = SidecarProcess(config, env, port, tmp_path / "sidecar.log").start()
    try:
        sidecar.wait_healthy()
        sidecar.wait_ready(15)
        start = time.monotonic()
        (key,) = world.jira.seed([
            SeedTicket("Payments rejected", datetime.now(UTC), status="new", priority="urgent",
                       organization="Globex", category="billing", customer_tier="enterprise"),
        ])  # fmt: skip

        def labelled() -> bool:
            return "escalation-l3" in world.jira.record(key)["fields"]["labels"]

        wait_for(labelled, 10)
        assert time.monotonic() - start < 5  # polls are 30 s apart: the webhook did it
        rejected = [e for e in sidecar.events() if e.get("event") == "webhook.rejected"]
        assert rejected == []
    finally:
        sidecar.stop()
        world.stop()
