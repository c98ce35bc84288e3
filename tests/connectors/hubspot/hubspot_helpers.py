"""Fixtures: the HubSpot emulator on 127.0.0.1 with a frozen clock, and a connector on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.emulation import SeedComment, SeedTicket
from connectors.hubspot import HubSpotConnector, Settings
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.retry import RetryPolicy
from tests.fakes import Sleeps

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


def start_emulator(**kwargs: int | bool) -> HubSpotEmulator:
    emulator = HubSpotEmulator(**kwargs)  # type: ignore[arg-type]
    emulator.server.clock.set(NOW)
    emulator.start()
    return emulator


@pytest.fixture
def emulator() -> Iterator[HubSpotEmulator]:
    emulator = start_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy("hubspot", sleep=sleeps)


def connect(emulator: HubSpotEmulator, retry: RetryPolicy, **overrides: object) -> HubSpotConnector:
    settings = Settings.model_validate({**emulator.settings(), **overrides})
    return HubSpotConnector("hubspot", settings, retry=retry, now=emulator.server.clock.now)


@pytest.fixture
def connector(emulator: HubSpotEmulator, retry: RetryPolicy) -> Iterator[HubSpotConnector]:
    connector = connect(emulator, retry)
    yield connector
    connector.close()


def seed_ticket(title: str = "Printer on fire", **kwargs: object) -> SeedTicket:
    fields: dict[str, object] = {"created_at": NOW.replace(hour=8), **kwargs}
    return SeedTicket(title=title, **fields)  # type: ignore[arg-type]


def customer_says(text: str, minute: int = 5) -> SeedComment:
    return SeedComment(NOW.replace(hour=8, minute=minute), "customer", True, text)
