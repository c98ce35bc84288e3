"""HubSpot's date-based API (issue 9): the connector speaks only dated paths when
``api_version`` is dated, and keeps working when the numbered paths are gone; the emulator
answers ``/crm/v3`` and ``/crm/v4`` as after HubSpot's cut-off."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import ActionStatus
from connectors.errors import FatalError
from connectors.hubspot import Settings
from connectors.hubspot.emulator import TOKEN, HubSpotEmulator
from connectors.retry import RetryPolicy
from engine.model import AddLabels, Assign, PostComment, Priority, SetPriority
from tests.action_fields import ActionFields
from tests.connectors.hubspot.hubspot_helpers import (
    NOW,
    connect,
    customer_says,
    seed_ticket,
    start_emulator,
)

LEGACY = re.compile(r"^/crm/v[34]/|^/conversations/v3/")


def _cycle(emulator: HubSpotEmulator, retry: RetryPolicy, version: str) -> list[ActionStatus]:
    """A pull, every kind of write, a webhook-driven fetch: what a day asks of the API."""
    connector = connect(emulator, retry, api_version=version)
    try:
        ids = emulator.seed(
            [
                seed_ticket("a", organization="Acme", comments=[customer_says("Help")]),
                seed_ticket("b", status="open"),
            ]
        )
        emulator.set_property(ids[1], "hs_pipeline_stage", "6")  # forces the pipelines read
        pulled = connector.pull(None, start=NOW - timedelta(days=1))
        assert sorted(t.id for t in pulled.tickets) == sorted(ids)
        ticket = next(t for t in pulled.tickets if t.id == ids[0])
        common: ActionFields = {"ticket": ticket.key, "rule": "r", "at": NOW}
        results = connector.apply(
            ticket,
            [
                AddLabels(key="k1", labels=("escalation-l1",), **common),
                SetPriority(key="k2", priority=Priority.HIGH, previous=Priority.NORMAL, **common),
                Assign(key="k3", user="agent.one@example.com", **common),
                PostComment(key="k4", public=True, body="Escalated", **common),
                PostComment(key="k5", public=False, body="Note", **common),
            ],
        )
        thread = emulator.comments(ids[0])[-1]["conversationsThreadId"]
        assert connector.fetch(f"thread:{thread}").id == ids[0]
        return [r.status for r in results]
    finally:
        connector.close()


@pytest.mark.parametrize("version", ["2026-09", "2026-03"])
def test_a_dated_connector_never_calls_v3_or_v4_and_outlives_the_cut_off(
    retry: RetryPolicy, version: str
) -> None:
    emulator = start_emulator(legacy_retired=True)
    try:
        statuses = _cycle(emulator, retry, version)
        assert statuses == [ActionStatus.APPLIED] * 5
        paths = [r.path for r in emulator.server.requests]
        assert [p for p in paths if LEGACY.search(p)] == []
        assert any(p.startswith(f"/crm/objects/{version}/tickets") for p in paths)
        assert any(p.startswith(f"/crm/associations/{version}/") for p in paths)
        assert any(p.startswith(f"/conversations/conversations/{version}/") for p in paths)
    finally:
        emulator.stop()


def test_the_default_is_the_newest_dated_version() -> None:
    settings = Settings.model_validate({"access_token": "x"})
    assert settings.api_version == "2026-09"
    with pytest.raises(ValidationError, match="api_version"):
        Settings.model_validate({"access_token": "x", "api_version": "2026-9"})


def test_after_the_cut_off_the_numbered_paths_answer_gone(
    retry: RetryPolicy,
) -> None:
    emulator = start_emulator(legacy_retired=True)
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for method, path in [
            ("GET", "/crm/v3/objects/tickets/1"),
            ("POST", "/crm/v4/associations/tickets/notes/batch/read"),
            ("GET", "/conversations/v3/conversations/threads"),
        ]:
            answer = httpx.request(method, f"{emulator.url}{path}", headers=auth, json={})
            assert answer.status_code == 410
            body = answer.json()
            assert body["status"] == "error"
            assert body["correlationId"]
            assert "date-based version" in body["message"]
        [tid] = emulator.seed([seed_ticket()])
        legacy = connect(emulator, retry, api_version="v3")
        with pytest.raises(FatalError, match="retired"):
            legacy.pull(None, start=NOW - timedelta(days=1))
        legacy.close()
        dated = connect(emulator, retry)
        assert [t.id for t in dated.pull(None, start=NOW - timedelta(days=1)).tickets] == [tid]
        dated.close()
    finally:
        emulator.stop()


def test_the_legacy_setting_still_works_until_the_cut_off(retry: RetryPolicy) -> None:
    emulator = start_emulator()
    try:
        assert _cycle(emulator, retry, "v3") == [ActionStatus.APPLIED] * 5
        paths = {r.path for r in emulator.server.requests}
        assert not any("/2026-" in p for p in paths)
        assert any(p.startswith("/crm/v4/associations/") for p in paths)
    finally:
        emulator.stop()
