"""``/readyz`` tells the truth while the helpdesks are down: each source that cannot make
progress is reported unhealthy within two poll intervals, with the reason, and ready again
once it answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from escalator.demo import DemoWorld
from tests.e2e.sidecar_process import SidecarProcess, e2e_config, wait_for
from tests.ports import free_port

pytestmark = pytest.mark.slow

POLL_SECONDS = 2


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    yield world
    world.stop()


def test_sources_that_fail_are_unready_within_two_poll_intervals(
    world: DemoWorld, tmp_path: Path
) -> None:
    config = e2e_config(tmp_path / "config", poll_interval=f"{POLL_SECONDS}s")
    env = {**world.env(), "ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db"}
    process = SidecarProcess(config, env, free_port(), tmp_path / "sidecar.log").start()
    try:
        process.wait_healthy()
        process.wait_ready(15)
        for emulator in (world.zendesk, world.jira, world.hubspot):
            # every request answers 503 from now on, as a helpdesk in an outage does
            emulator.server.inject("GET", ".*", status=503, count=1_000_000)
            emulator.server.inject("POST", ".*", status=503, count=1_000_000)
        down_at = time.monotonic()
        wait_for(lambda: process.get("/readyz").status_code == 503, 2 * POLL_SECONDS + 3)
        assert time.monotonic() - down_at <= 2 * POLL_SECONDS + 3
        checks = process.get("/readyz").json()["checks"]
        for name in ("zendesk", "jira", "hubspot"):
            assert checks[f"source:{name}"]["ok"] is False

        for emulator in (world.zendesk, world.jira, world.hubspot):
            emulator.server.clear_faults()
        process.wait_ready(4 * POLL_SECONDS + 20)
    finally:
        process.stop()
