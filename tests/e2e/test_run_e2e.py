"""`escalator run` as a subprocess against the three emulators: webhooks, the SLA clock,
health, metrics, graceful shutdown and logs without secrets."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.emulation import SeedTicket
from escalator.demo import DemoWorld
from tests.e2e.sidecar_process import SidecarProcess, wait_for

# heavy or a real subprocess: out of `pytest -m "not slow"`, in `make test`
pytestmark = pytest.mark.slow


def tags(world: DemoWorld, ticket_id: str) -> set[str]:
    return set(world.zendesk.record(ticket_id)["tags"])


def test_webhook_then_clock_then_shutdown(world: DemoWorld, sidecar: SidecarProcess) -> None:
    sidecar.wait_ready(15)

    # a major incident arrives: the Zendesk webhook makes the sidecar act at once
    start = time.monotonic()
    (major,) = world.zendesk.seed(
        [
            SeedTicket(
                "Checkout is down",
                datetime.now(UTC),
                status="new",
                priority="urgent",
                organization="Globex",
                category="billing",
                customer_tier="enterprise",
            )
        ]
    )
    wait_for(lambda: "escalation-l3" in tags(world, major), 10)
    by_webhook = time.monotonic() - start
    assert by_webhook < 5, by_webhook  # the poll interval is 30 s: this was the webhook
    assert {"major-incident", "escalation-l3"} <= tags(world, major)
    assert world.zendesk.record(major)["group_id"] == world.zendesk.group_id(
        "Executive Escalations"
    )

    # an urgent ticket 44 min 55 s old: at risk (75% of 1 h) in 5 s; the clock job fires then
    due = datetime.now(UTC) + timedelta(seconds=5)
    (risky,) = world.hubspot.seed(
        [
            SeedTicket(
                "Uploads fail",
                due - timedelta(minutes=45),
                status="new",
                priority="urgent",
                organization="Vandelay",
                category="technical",
            )
        ]
    )

    def labelled() -> datetime | None:
        raw = world.hubspot.record(risky)["properties"].get("escalation_labels") or ""
        return datetime.now(UTC) if "sla-at-risk" in raw.split(";") else None

    # the due instant from the creation time as the helpdesk stored it; the engine counts
    # whole seconds, so a creation at 10:00:00.7 is due at 10:45:00
    created = world.hubspot.record(risky)["properties"]["createdate"]
    stored = datetime.fromisoformat(created.replace("Z", "+00:00")).replace(microsecond=0)
    due = stored + timedelta(minutes=45)
    written_at = wait_for(labelled, 20, 0.05)
    lag = (written_at - due).total_seconds()
    assert -0.05 <= lag < 2.0, lag  # written within seconds of its due time, not at a poll

    metrics = sidecar.get("/metrics").text
    assert 'escalator_actions_total{kind="add_labels",source="zendesk",status="applied"}' in metrics
    assert "escalator_webhooks_total" in metrics
    assert "escalator_clock_lag_seconds_bucket" in metrics
    assert "escalator_api_calls_total" in metrics

    started = time.monotonic()
    assert sidecar.terminate() == 0
    assert time.monotonic() - started < 10

    events = sidecar.events()
    assert any(
        e["event"] == "action" and e.get("ticket", "").startswith("hubspot:") for e in events
    )
    assert all({"ts", "level", "event"} <= set(e) for e in events)
    text = sidecar.log_path.read_text()
    for name, secret in world.env().items():
        if any(word in name for word in ("TOKEN", "SECRET", "WEBHOOK_URL")):
            assert secret not in text, f"{name} leaked into the log"


def test_webhooks_are_verified(world: DemoWorld, sidecar: SidecarProcess) -> None:
    url = f"{sidecar.url}/webhooks/zendesk"
    headers, body = world.zendesk.signed_delivery({"ticket_id": "1"})
    assert httpx.post(url, headers=headers, content=body).status_code == 202
    # the same delivery again is a replay
    assert httpx.post(url, headers=headers, content=body).status_code == 401
    fresh_headers, fresh_body = world.zendesk.signed_delivery({"ticket_id": "2"})
    forged = {**fresh_headers, "X-Zendesk-Webhook-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert httpx.post(url, headers=forged, content=fresh_body).status_code == 401
    big = b"{" + b" " * 1_100_000 + b"}"
    assert httpx.post(url, headers=fresh_headers, content=big).status_code == 413
    assert httpx.post(f"{sidecar.url}/webhooks/nowhere", content=b"{}").status_code == 404


def test_sighup_reloads_a_valid_config_and_keeps_the_old_on_errors(
    world: DemoWorld, sidecar: SidecarProcess
) -> None:
    assert sidecar.proc is not None
    templates = sidecar.config / "templates.yaml"
    good = templates.read_text()
    templates.write_text(good.replace("{{ target.due }}", "{{ target.due }"))
    sidecar.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(e["event"] == "config.rejected" for e in sidecar.events()), 10)
    assert sidecar.get("/healthz").status_code == 200
    templates.write_text(good.replace("SLA at risk", "SLA warning"))
    wait_for(lambda: any(e["event"] == "config.reloaded" for e in sidecar.events()), 10)
