"""Customer satisfaction after escalation, from each helpdesk's own ratings through its
emulator's HTTP API: Zendesk's ``satisfaction_rating``, JSM request feedback (1-5 stars) and
HubSpot's CSAT survey responses (0-2), each mapped by its connector and counted by the report.

The vendor shapes are cited beside each connector's own tests (test_jira_feedback.py,
test_hubspot_feedback.py, test_zendesk_meaning.py).
"""

from __future__ import annotations

import io
import shutil
import time
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


def _urgent(now: datetime, tag: str, i: int) -> SeedTicket:
    """Urgent, enterprise: major impact, escalated to level 3 at the first cycle."""
    return SeedTicket(f"{tag} checkout down {i}", now - timedelta(minutes=5), status="open",
                      priority="urgent", organization=f"{tag}-org-{i}", category="billing",
                      customer_tier="enterprise")  # fmt: skip


def _config_dir(tmp_path: Path) -> Path:
    """The example config, with HubSpot's survey search every second instead of 15 minutes
    (a test cannot wait a quarter of an hour for the second search)."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    sources = target / "sources.yaml"
    text = sources.read_text()
    anchor = "    sender_actor_id: A-7001\n"
    assert anchor in text
    sources.write_text(text.replace(anchor, anchor + "    feedback_every_seconds: 1\n"))
    return target


def _settle(sidecar: Any) -> None:
    for _ in range(6):
        done = sidecar.cycle()
        assert not done.failed_sources, done.failed_sources
        if not done.written:
            return
    raise AssertionError("the sidecar never settled")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    tmp = tmp_path_factory.mktemp("satisfaction")
    config = load_config(_config_dir(tmp))
    world = DemoWorld()
    world.start()
    try:
        zd = world.zendesk.seed([_urgent(now, "zd", i) for i in range(3)])
        jira = world.jira.seed([_urgent(now, "jira", i) for i in range(3)])
        hs = world.hubspot.seed([_urgent(now, "hs", i) for i in range(3)])
        with (
            open_store(f"sqlite:///{tmp / 'state.db'}") as store,
            open_sidecar(config, world.env(), store=store, log_stream=io.StringIO()) as sidecar,
        ):
            _settle(sidecar)  # all nine escalated; the customers have not rated yet
            for ticket_id in zd[:2]:
                world.zendesk.update(ticket_id, status="solved")
            for ticket_id in jira[:2]:
                world.jira.resolve(ticket_id)
            for ticket_id in hs[:2]:
                world.hubspot.update(ticket_id, status="solved")
            _settle(sidecar)  # solved, as the sidecar has seen; now only the ratings come
            for ticket_id, score in zip(zd, ("good", "bad"), strict=False):
                world.zendesk.rate(ticket_id, score)
            for ticket_id, stars in zip(jira, (5, 3), strict=False):
                world.jira.rate(ticket_id, stars)
            for ticket_id, value in zip(hs, (2, 0), strict=False):
                # a survey answer does not touch the ticket: only the survey search finds it
                world.hubspot.submit_feedback(ticket_id, value)
            time.sleep(1.1)  # HubSpot's survey search is due again
            _settle(sidecar)
            later = datetime.now(UTC)
            return report_from_store(store, config, parse_period("1d", None, later), later)
    finally:
        world.stop()


def test_each_helpdesks_ratings_count_as_good_or_not(report: dict[str, Any]) -> None:
    # rated: zendesk good + bad, JSM 5 stars (good) + 3 (neutral), HubSpot promoter + detractor
    assert report["escalated"] == 9
    assert report["satisfaction"] == {"rated": 6, "good": 3, "share_good": 0.5}


def test_a_rating_confirms_the_fix(report: dict[str, Any]) -> None:
    """Resolution confirmation: a customer who rated after the fix has answered."""
    confirmation = report["confirmation"]
    assert (confirmation["asked"], confirmation["confirmed"]) == (6, 6)
