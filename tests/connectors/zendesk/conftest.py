"""Fixtures for the Zendesk connector tests: a running emulator and connectors pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.retry import RetryPolicy
from connectors.zendesk import Settings, ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from tests.fakes import Sleeps


@pytest.fixture
def emulator() -> Iterator[ZendeskEmulator]:
    # small pages everywhere the real API pages, so every walk takes several steps
    with ZendeskEmulator(page_size=2, audit_page_size=3, events_page_size=4) as emu:
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
        if isinstance(auth, dict):  # a whole auth section, as a test wrote it
            data = {**emulator.settings(), "auth": auth}
        else:
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
