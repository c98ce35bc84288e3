"""Jira webhook deliveries: signed body, replay by delivery id, size, freshness."""

from __future__ import annotations

import http.server
import queue
import threading
from datetime import UTC, datetime, timedelta

import pytest

from connectors.emulation import SeedTicket
from connectors.errors import WebhookRejected
from connectors.jira import JiraConnector, Settings
from connectors.jira.emulator import JiraEmulator
from connectors.retry import RetryPolicy

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)


def payload(key: str = "SUP-7", at: datetime = T0) -> dict[str, object]:
    return {
        "timestamp": int(at.timestamp() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue": {"id": "10007", "key": key, "fields": {}},
    }


def test_a_good_delivery_names_its_issue(emulator: JiraEmulator, connector: JiraConnector) -> None:
    headers, body = emulator.signed_delivery(payload())

    event = connector.verify_webhook(headers, body, now=T0)

    assert event.ticket_ids == ("SUP-7",)
    assert event.delivery_id == headers["X-Atlassian-Webhook-Identifier"]
    assert event.extra["event"] == "jira:issue_updated"


def test_a_bad_signature_is_refused(emulator: JiraEmulator, connector: JiraConnector) -> None:
    headers, body = emulator.signed_delivery(payload())
    tampered = body.replace(b"SUP-7", b"SUP-8")

    with pytest.raises(WebhookRejected) as refused:
        connector.verify_webhook(headers, tampered, now=T0)
    missing = {k: v for k, v in headers.items() if k != "X-Hub-Signature"}
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(missing, body, now=T0)

    assert refused.value.status == 401


def test_a_replayed_delivery_is_refused(emulator: JiraEmulator, connector: JiraConnector) -> None:
    headers, body = emulator.signed_delivery(payload())
    connector.verify_webhook(headers, body, now=T0)

    with pytest.raises(WebhookRejected, match="replayed") as refused:
        connector.verify_webhook(headers, body, now=T0 + timedelta(seconds=1))

    assert refused.value.status == 401


def test_a_forged_delivery_does_not_burn_the_real_ones_id(
    emulator: JiraEmulator, connector: JiraConnector
) -> None:
    headers, body = emulator.signed_delivery(payload())
    forged = {**headers, "X-Hub-Signature": "sha256=" + "0" * 64}
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(forged, body, now=T0)

    assert connector.verify_webhook(headers, body, now=T0).ticket_ids == ("SUP-7",)


def test_an_oversized_body_is_refused_before_anything_else(
    emulator: JiraEmulator, connector: JiraConnector
) -> None:
    big = {**payload(), "padding": "x" * 1_000_001}
    headers, body = emulator.signed_delivery(big)

    with pytest.raises(WebhookRejected) as refused:
        connector.verify_webhook(headers, body, now=T0)

    assert refused.value.status == 413


def test_a_stale_delivery_is_refused(emulator: JiraEmulator, connector: JiraConnector) -> None:
    headers, body = emulator.signed_delivery(payload(at=T0 - timedelta(hours=2)))

    with pytest.raises(WebhookRejected, match="stale"):
        connector.verify_webhook(headers, body, now=T0)


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook endpoint that queues what it is sent."""

    got: queue.Queue[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.got.put((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_the_emulator_announces_changes_to_a_webhook_url() -> None:
    handler: type[_Receiver] = type("Receiver", (_Receiver,), {"got": queue.Queue()})
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/jira"
    try:
        with JiraEmulator(webhook_url=url) as emu:
            settings = Settings.model_validate(emu.settings())
            connector = JiraConnector("jira", settings, retry=RetryPolicy("jira"))
            [key] = emu.seed([SeedTicket(title="t", created_at=T0)])
            headers, body = handler.got.get(timeout=5)
            event = connector.verify_webhook(headers, body, now=emu.server.clock.now())
            connector.close()
    finally:
        receiver.shutdown()
        receiver.server_close()

    assert event.ticket_ids == (key,)
