"""`escalator sync --once`, a real process, with the level channels configured as email,
Opsgenie and PagerDuty: each level reached reaches its people once, from YAML to the wire."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalator.demo import DemoWorld
from escalator.notify.emulators.opsgenie import OpsgenieEmulator
from escalator.notify.emulators.pagerduty import PagerDutyEmulator
from escalator.notify.keys import message_id
from tests.app.smtp_server import PASSWORD, USERNAME, Mailroom, make_certificate, smtp_server
from tests.e2e.one_per_level import seed_one_per_level

ROOT = Path(__file__).resolve().parents[2]
ROUTING_KEY = "PDSECRETroutingkey0123456789abcd"
API_KEY = "OGSECRET-eb243592-faa2-4ba2-a551"
SENDER = "escalations@acme.example"


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    """One ticket per level: Zendesk reaches 3, Jira 2, HubSpot 1 (as the sync e2e seeds)."""
    world = DemoWorld()
    world.start()
    seed_one_per_level(world, datetime.now(UTC))
    yield world
    world.stop()


def config_with_paging(target: Path, smtp_port: int, ca_file: Path) -> Path:
    shutil.copytree(ROOT / "config", target)
    (target / "channels.yaml").write_text(
        "channels:\n"
        "  team-lead:\n"
        "    type: email\n"
        "    host: 127.0.0.1\n"
        f"    port: {smtp_port}\n"
        "    security: starttls\n"
        '    username: "${SMTP_USERNAME}"\n'
        '    password: "${SMTP_PASSWORD}"\n'
        f"    ca_file: {ca_file}\n"
        f"    sender: {SENDER}\n"
        "    to: [team-lead@acme.example]\n"
        "  support-manager:\n"
        "    type: opsgenie\n"
        '    api_key: "${OPSGENIE_API_KEY}"\n'
        '    base_url: "${OPSGENIE_URL}"\n'
        "  executive:\n"
        "    type: pagerduty\n"
        '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
        '    base_url: "${PAGERDUTY_URL}"\n'
    )
    return target


@pytest.mark.slow
def test_sync_pages_each_level_once(world: DemoWorld, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    with (
        smtp_server("starttls", cert, key) as (smtp_port, mailroom),
        PagerDutyEmulator(ROUTING_KEY) as pagerduty,
        OpsgenieEmulator(API_KEY) as opsgenie,
    ):
        config = config_with_paging(tmp_path / "config", smtp_port, cert)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "NO_PROXY": "127.0.0.1",
            **world.env(),
            "ESCALATOR_STORE": f"sqlite:///{tmp_path}/state.db",
            "SMTP_USERNAME": USERNAME,
            "SMTP_PASSWORD": PASSWORD,
            "OPSGENIE_API_KEY": API_KEY,
            "OPSGENIE_URL": opsgenie.base_url,
            "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
            "PAGERDUTY_URL": pagerduty.base_url,
        }
        for _ in range(2):  # the second sync must notify nobody again
            done = subprocess.run(
                [sys.executable, "-m", "escalator.cli", "sync", "--once", "--config", str(config)],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                check=False,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            for secret in (PASSWORD, API_KEY, ROUTING_KEY):
                assert secret not in done.stdout + done.stderr

        check_one_each(mailroom, opsgenie, pagerduty)


def check_one_each(
    mailroom: Mailroom, opsgenie: OpsgenieEmulator, pagerduty: PagerDutyEmulator
) -> None:
    (alert,) = pagerduty.alerts  # level 3: the executive is paged once
    assert alert.dedup_key.startswith("zendesk:")
    assert alert.dedup_key.endswith(":L3:notify")
    assert alert.status == "triggered"
    (og_alert,) = opsgenie.alerts  # level 2
    assert og_alert.alias.startswith("jira:")
    assert og_alert.alias.endswith(":L2:notify")
    assert og_alert.count == 1
    (mail,) = mailroom.transactions  # level 1
    key = mail["X-Escalation-Key"]
    assert key.startswith("hubspot:")
    assert key.endswith(":L1:notify")
    assert mail["Message-ID"] == message_id(key, SENDER)
    assert mailroom.auth_ok == 1
