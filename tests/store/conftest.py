"""Fixtures: every store test runs on SQLite (tmp_path) and on a throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from escalator.store import StateStore, open_store
from tests.pg import fresh_postgres_url, postgres_server, postgres_url

__all__ = ["fresh_postgres_url", "postgres_server", "postgres_url"]  # fixtures, re-exported


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state/state.db"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()
