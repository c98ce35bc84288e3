"""Fuzzing every webhook endpoint: no delivery crashes or hangs the sidecar, and every bad one
gets a 4xx.

Two kinds of input per source: random bytes under random (and real-looking) headers, which
must be refused (401, 400 or 413, never a 5xx); and random JSON payloads signed with the
emulator's real secret, which pass the signature and must then be accepted (202) or refused
as malformed (400), never a 5xx.

CI runs a few thousand examples per endpoint; the nightly run goes much further:

    HYPOTHESIS_PROFILE=nightly .venv/bin/pytest tests/app/test_webhook_fuzz.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from escalator.app import open_sidecar
from escalator.config import load_config
from escalator.demo import DemoWorld
from escalator.http import create_app
from escalator.runner import Runner

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("zendesk", "jira", "hubspot")
NIGHTLY = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"
FUZZ = settings(
    max_examples=50_000 if NIGHTLY else 1_500,
    deadline=timedelta(seconds=5),  # a hang would blow this
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=not NIGHTLY,
    database=None,
)

HEADER_NAMES = st.sampled_from(
    [
        "X-Zendesk-Webhook-Signature",
        "X-Zendesk-Webhook-Signature-Timestamp",
        "X-Hub-Signature",
        "X-HubSpot-Signature",
        "X-HubSpot-Signature-v3",
        "X-HubSpot-Request-Timestamp",
        "X-Atlassian-Webhook-Identifier",
        "Authorization",
        "Content-Type",
        "Content-Length",
    ]
)
HEADER_VALUES = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
REAL_KEYS = st.sampled_from(
    ["ticket", "id", "issue", "key", "objectId", "subscriptionType", "webhookEvent", "detail",
     "event", "type", "messageId", "changes", "fields", "occurredAt", "eventId"]
)  # fmt: skip
PAYLOADS = st.one_of(
    st.dictionaries(REAL_KEYS, JSON, max_size=5),
    st.lists(st.dictionaries(REAL_KEYS, JSON, max_size=5), max_size=3),
    JSON,
)


@pytest.fixture(scope="module")
def world() -> Iterator[DemoWorld]:
    world = DemoWorld()
    world.start()
    yield world
    world.stop()


@pytest.fixture(scope="module")
def client(world: DemoWorld) -> Iterator[TestClient]:
    config = load_config(ROOT / "config")
    with open_sidecar(config, world.env()) as sidecar:
        runner = Runner(sidecar)  # not started: accepted deliveries only queue a job
        with TestClient(create_app(runner), base_url="http://127.0.0.1") as client:
            yield client


@pytest.mark.parametrize("source", SOURCES)
def test_random_deliveries_are_refused_with_a_4xx(client: TestClient, source: str) -> None:
    @FUZZ
    @given(
        body=st.binary(max_size=512),
        headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=5),
    )
    def deliver(body: bytes, headers: dict[str, str]) -> None:
        headers.pop("Content-Length", None)  # the client sets the true length
        response = client.post(f"/webhooks/{source}", content=body, headers=headers)
        assert 400 <= response.status_code < 500, (response.status_code, response.text)

    deliver()


@pytest.mark.parametrize("source", SOURCES)
def test_signed_payloads_of_any_shape_never_fail_the_server(
    client: TestClient, world: DemoWorld, source: str
) -> None:
    emulator = getattr(world, source)

    @FUZZ
    @given(payload=PAYLOADS)
    def deliver(payload: Any) -> None:
        headers, body = _signed(emulator, payload)
        response = client.post(f"/webhooks/{source}", content=body, headers=headers)
        assert response.status_code in (202, 400, 401, 413), (response.status_code, body)

    deliver()


def _signed(emulator: Any, payload: Any) -> tuple[dict[str, str], bytes]:
    """The emulator's own signing, over any JSON value (its API takes a dict)."""
    if isinstance(payload, dict):
        return emulator.signed_delivery(payload)  # type: ignore[no-any-return]
    wrapped: tuple[dict[str, str], bytes] = emulator.signed_delivery({"_": payload})
    return wrapped
