"""Fixtures of the end-to-end tests: the throwaway PostgreSQL server, and a busy support day
(``busy_day.BusyDay``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from escalator.demo import DemoWorld
from tests.e2e.busy_day import BusyDay
from tests.pg import fresh_postgres_url, postgres_server, postgres_url

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
