"""A new helpdesk is one package: Fakedesk (``tests/fourth/fakedesk``, a test-only fourth
connector with its emulator) is registered here, and with no edit anywhere else it runs
through the demo's world builder, the end-to-end harness (``escalator run`` as a subprocess
on an ``e2e_config``) and both emulator benchmarks."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors import registry
from connectors.emulation import SeedTicket
from escalator.demo import DemoWorld
from tests.e2e.sidecar_process import ROOT, SidecarProcess, e2e_config, wait_for
from tests.ports import free_port

pytestmark = pytest.mark.slow

FOURTH = ROOT / "tests" / "fourth"
BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture
def fakedesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the package the way a plug-in is: named in the environment (subprocesses
    inherit it) and importable."""
    monkeypatch.setenv(registry.ENVIRONMENT, "fakedesk=fakedesk")
    path = os.pathsep.join(p for p in (str(FOURTH), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.syspath_prepend(str(FOURTH))
    assert "fakedesk" in registry.known_kinds()
    yield
    for name in [m for m in sys.modules if m == "fakedesk" or m.startswith("fakedesk.")]:
        del sys.modules[name]


def test_the_demo_world_and_escalator_run_drive_a_registered_helpdesk(
    fakedesk: None, tmp_path: Path
) -> None:
    port = free_port()
    world = DemoWorld(sidecar_url=f"http://127.0.0.1:{port}")
    world.start()
    try:
        assert set(world.emulators) == {"zendesk", "jira", "hubspot", "fakedesk"}
        ids = world.seed()
        assert len(ids["fakedesk"]) == 2  # the demo's day for a helpdesk it has no day for
        config = e2e_config(tmp_path / "config", poll_interval="2s")
        assert "fakedesk:" in (config / "sources.yaml").read_text()
        env = {**world.env(), "ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db"}
        process = SidecarProcess(config, env, port, tmp_path / "sidecar.log").start()
        try:
            process.wait_healthy()
            fake = world.emulators["fakedesk"]
            # the urgent enterprise ticket: major-impact, level 3, within a poll or two
            wait_for(lambda: "major-incident" in fake.labels(ids["fakedesk"][0]), 30)
            assert "escalation-l3" in fake.labels(ids["fakedesk"][0])
            # a webhook from the new helpdesk is verified and acted on at once
            terminal = SeedTicket(
                "Card terminal offline",
                datetime.now(UTC) - timedelta(minutes=1),
                status="open",
                priority="urgent",
                organization="Initech",
                category="billing",
                customer_tier="enterprise",
            )
            (late,) = fake.seed([terminal])
            wait_for(lambda: "major-incident" in fake.labels(late), 10)
            comments = [c for c in fake.comments(ids["fakedesk"][0]) if c.get("marker")]
            assert len({c["marker"] for c in comments}) == len(comments)  # each written once
        finally:
            process.stop()
    finally:
        world.stop()


def test_both_emulator_benchmarks_run_on_a_registered_helpdesk(
    fakedesk: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.app.bench_script import load_script, table_rows

    pull = load_script("pull")
    assert "fakedesk" in pull.KINDS
    assert pull.main(["--only", "fakedesk", "--tickets", "60", "--429s", "1"]) == 0
    rows = table_rows(capsys.readouterr().out, "connector")
    assert [r["connector"] for r in rows] == ["fakedesk", "fakedesk"]
    assert all(r["tickets"] == "60" for r in rows)

    latency = load_script("latency")
    assert "fakedesk" in latency.SYSTEMS
    assert latency.main(["--n", "4"]) == 0  # one change per helpdesk on each path
    out = capsys.readouterr().out
    paths = {r["path"]: r for r in table_rows(out, "path ")}
    assert all(paths[p]["missed"] == "0" for p in ("webhook", "poll", "clock")), paths
    assert "fakedesk" in out
