"""Fixtures for the Jira connector: a real emulator on 127.0.0.1 and a connector pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.emulation import SeedComment, SeedTicket
from connectors.jira import JiraConnector, Settings
from connectors.jira.emulator import JiraEmulator
from connectors.retry import RetryPolicy
from tests.fakes import Sleeps as RecordingSleep

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the named "now" every test starts from


@pytest.fixture
def emulator() -> Iterator[JiraEmulator]:
    emu = JiraEmulator(page_size=3)
    emu.server.clock.set(T0)
    with emu:
        yield emu


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def retry(sleep: RecordingSleep) -> RetryPolicy:
    return RetryPolicy("jira", sleep=sleep, initial_backoff=0.01)


@pytest.fixture
def make_connector(
    emulator: JiraEmulator, retry: RetryPolicy
) -> Iterator[Callable[..., JiraConnector]]:
    made: list[JiraConnector] = []

    def make(**overrides: Any) -> JiraConnector:
        settings = Settings.model_validate({**emulator.settings(), **overrides})
        connector = JiraConnector("jira", settings, retry=retry, now=emulator.server.clock.now)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


@pytest.fixture
def connector(make_connector: Callable[..., JiraConnector]) -> JiraConnector:
    return make_connector()


def seed_ticket(i: int, **overrides: Any) -> SeedTicket:
    """Ticket ``i`` created ``i`` minutes after T0 - 1 day, with one customer comment."""
    created = T0 - timedelta(days=1) + timedelta(minutes=i)
    fields: dict[str, Any] = {
        "title": f"Printer {i} on fire",
        "created_at": created,
        "organization": "Acme",
        "category": "technical",
        "customer_tier": "enterprise",
        "affected_users": 12,
        "comments": [
            SeedComment(
                at=created + timedelta(seconds=30), author="customer", public=True, body="help"
            )
        ],
    }
    fields.update(overrides)
    return SeedTicket(**fields)


@pytest.fixture
def seed() -> Callable[..., SeedTicket]:
    return seed_ticket
