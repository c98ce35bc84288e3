"""Fixtures of the end-to-end tests: the throwaway PostgreSQL server, a busy support day
(``busy_day.BusyDay``), and ``escalator run`` as a subprocess beside the emulators that
announce their webhooks to it (``port``, ``world``, ``sidecar``; a module may seed its own
``world``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from escalator.demo import DemoWorld
from tests.e2e.busy_day import BusyDay
from tests.e2e.sidecar_process import SidecarProcess, e2e_config
from tests.pg import fresh_postgres_url, postgres_server, postgres_url
from tests.ports import free_port

__all__ = ["fresh_postgres_url", "postgres_server", "postgres_url"]  # fixtures, re-exported


@pytest.fixture(scope="session")
def busy_day(tmp_path_factory: pytest.TempPathFactory) -> BusyDay:
    """One day for the session: its clean run is worked out once, on first use."""
    return BusyDay(tmp_path_factory.mktemp("busy-day"))


@pytest.fixture
def quiet_world() -> Iterator[DemoWorld]:
    """The three emulators and the chat receiver, no webhooks, nothing seeded yet."""
    world = DemoWorld()
    world.start()
    yield world
    world.stop()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def world(port: int) -> Iterator[DemoWorld]:
    """The emulators, announcing their webhooks to the sidecar on ``port``."""
    world = DemoWorld(sidecar_url=f"http://127.0.0.1:{port}")
    world.start()
    yield world
    world.stop()


@pytest.fixture
def sidecar(world: DemoWorld, port: int, tmp_path: Path) -> Iterator[SidecarProcess]:
    """``escalator run`` on the example config (polling every 30 s), healthy."""
    config = e2e_config(tmp_path / "config", poll_interval="30s")
    env = {**world.env(), "ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db"}
    process = SidecarProcess(config, env, port, tmp_path / "sidecar.log").start()
    process.wait_healthy()
    yield process
    process.stop()
