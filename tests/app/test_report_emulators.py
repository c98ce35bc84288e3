"""`escalator report` on a store the real connectors filled from the three helpdesk emulators
(their HTTP APIs, real-shaped payloads): the escalation counts the reference policy requires,
worked out by hand per seeded ticket."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.emulation import SeedTicket
from escalator.app import open_sidecar
from escalator.config import load_config
from escalator.demo import DemoWorld
from escalator.report import parse_period, report_from_store
from escalator.store import open_store

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = ("zendesk", "jira", "hubspot")
MAJOR = 3  # urgent + enterprise: major-impact, level 3 at once
LATE = 3  # urgent, created 2 h ago, never answered: first response breached, level 2
QUIET = 2  # low, created 10 minutes ago: nothing holds


def seeds(now: datetime, tag: str) -> list[SeedTicket]:
    out = [
        SeedTicket(f"{tag} checkout down {i}", now - timedelta(minutes=5), status="open",
                   priority="urgent", organization=f"{tag}-major-{i}", category="billing",
                   customer_tier="enterprise")
        for i in range(MAJOR)
    ]  # fmt: skip
    out += [
        SeedTicket(f"{tag} export times out {i}", now - timedelta(hours=2), status="open",
                   priority="urgent", organization=f"{tag}-late-{i}", category="account",
                   customer_tier="standard")
        for i in range(LATE)
    ]  # fmt: skip
    # three billing tickets of one organisation within the hour: the newest is a repeat (level 1)
    out += [
        SeedTicket(f"{tag} invoice wrong again {i}", now - timedelta(minutes=60 + 5 * i),
                   status="open", priority="normal", organization=f"{tag}-repeat",
                   category="billing", customer_tier="standard")
        for i in range(3)
    ]  # fmt: skip
    out += [
        SeedTicket(f"{tag} how do I export {i}", now - timedelta(minutes=10), status="open",
                   priority="low", organization=f"{tag}-quiet-{i}", category="account",
                   customer_tier="standard")
        for i in range(QUIET)
    ]  # fmt: skip
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC).replace(microsecond=0)
    world = DemoWorld()
    world.start()
    try:
        world.zendesk.seed(seeds(now, "zd"))
        world.jira.seed(seeds(now, "jira"))
        for ticket_id in world.hubspot.seed(seeds(now, "hs")):
            world.hubspot.open_thread(ticket_id)
        config = load_config(ROOT / "config")
        path = tmp_path_factory.mktemp("emulated") / "state.db"
        with (
            open_store(f"sqlite:///{path}") as store,
            open_sidecar(config, world.env(), store=store, log_stream=io.StringIO()) as sidecar,
        ):
            for _ in range(5):
                done = sidecar.cycle()
                assert not done.failed_sources, done.failed_sources
                if not done.written:
                    break
            else:
                raise AssertionError("the sidecar never settled")
            later = datetime.now(UTC)
            yield report_from_store(store, config, parse_period("1d", None, later), later)
    finally:
        world.stop()


def test_escalations_counted_per_level_rule_and_source(report: dict[str, Any]) -> None:
    per_system = MAJOR + LATE + 3 + QUIET
    assert report["tickets"] == len(SYSTEMS) * per_system
    assert report["escalated"] == len(SYSTEMS) * (MAJOR + LATE + 1)
    e = report["escalations"]
    assert e["by_level"] == {"1": 3, "2": 3 * LATE, "3": 3 * MAJOR}
    assert e["by_rule"] == {
        "major-impact": 3 * MAJOR,
        "recurring-problem": 3,
        "sla-breached": 3 * LATE,
    }
    assert e["by_source"] == dict.fromkeys(SYSTEMS, MAJOR + LATE + 1)
    assert e["by_organization"]["zd-repeat"] == 1
    assert report["recurrence"] == [
        {"organization": f"{tag}-repeat", "category": "billing", "hits": 1}
        for tag in ("hs", "jira", "zd")
    ]


def test_every_breach_is_listed_with_a_link_into_its_helpdesk(report: dict[str, Any]) -> None:
    breaches = report["breaches"]
    # the late tickets' first response, an hour after they were created, two hours ago
    assert sorted(b["target"] for b in breaches) == ["first_response"] * (3 * LATE)
    assert {b["ticket"].split(":")[0] for b in breaches} == set(SYSTEMS)
    for b in breaches:
        assert str(b["url"]).startswith("http"), b
        assert 3500 <= b["by_seconds"] <= 3600 + 120  # an hour ago, give or take the run
    assert report["sla_attainment"]["first_response"]["breached"] == 3 * LATE
    assert report["resolved_within_sla"]["overall"]["within_sla"] == 0  # nothing solved yet
