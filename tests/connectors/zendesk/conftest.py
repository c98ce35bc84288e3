"""Fixtures for the Zendesk connector tests: a running emulator and connectors pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.emulation import SeedComment, SeedTicket
from connectors.retry import RetryPolicy
from connectors.zendesk import Settings, ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator

# a fixed instant in the past: the export only serves data older than one minute
T0 = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)


class Sleeps(list[float]):
    """A recording stand-in for time.sleep: retries are counted, never waited for."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def emulator() -> Iterator[ZendeskEmulator]:
    with ZendeskEmulator(page_size=2) as emu:
        yield emu


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy("zendesk", max_attempts=4, max_wait=30.0, sleep=sleeps)


@pytest.fixture
def make_connector(
    emulator: ZendeskEmulator, retry: RetryPolicy
) -> Iterator[Callable[..., ZendeskConnector]]:
    made: list[ZendeskConnector] = []

    def make(**overrides: Any) -> ZendeskConnector:
        auth = overrides.pop("auth", "oauth_client_credentials")
        token_file = overrides.pop("token_file", None)
        data = emulator.settings(auth=auth, token_file=token_file)
        data.update(overrides)
        connector = ZendeskConnector("zendesk", Settings.model_validate(data), retry=retry)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


@pytest.fixture
def connector(make_connector: Callable[..., ZendeskConnector]) -> ZendeskConnector:
    return make_connector()


def seed_ticket(index: int = 0, **fields: Any) -> SeedTicket:
    created = T0 + timedelta(minutes=index)
    defaults: dict[str, Any] = {
        "title": f"Printer {index} on fire",
        "created_at": created,
        "organization": "Acme Corp",
        "customer_tier": "gold",
        "category": "billing",
        "affected_users": 12,
        "labels": ["vip"],
        "comments": [
            SeedComment(at=created, author="customer", public=True, body="It is on fire"),
            SeedComment(
                at=created + timedelta(minutes=30), author="agent", public=True, body="On it"
            ),
            SeedComment(
                at=created + timedelta(minutes=40), author="agent", public=False, body="Ask ops"
            ),
        ],
    }
    defaults.update(fields)
    return SeedTicket(**defaults)
