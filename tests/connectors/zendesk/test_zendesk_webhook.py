from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.errors import WebhookRejected
from connectors.zendesk import ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from connectors.zendesk.webhook import ticket_ids
from tests.connectors.zendesk.zendesk_seeds import seed_ticket


def test_good_delivery_names_the_ticket(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    payload = emulator.ticket_event_payload(tid)
    headers, body = emulator.signed_delivery(payload)
    event = connector.verify_webhook(headers, body, now=emulator.server.clock.now())
    assert event.ticket_ids == (tid,)
    assert event.delivery_id == payload["id"]
    assert event.extra["type"] == "zen:event-type:ticket.comment_added"


def test_bad_replayed_stale_and_oversized_are_refused(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    now = emulator.server.clock.now()
    headers, body = emulator.signed_delivery(emulator.ticket_event_payload(tid))

    tampered = body.replace(tid.encode(), b"999999")
    with pytest.raises(WebhookRejected) as bad:
        connector.verify_webhook(headers, tampered, now=now)
    assert bad.value.status == 401
    assert "signature" in bad.value.reason

    connector.verify_webhook(headers, body, now=now)
    with pytest.raises(WebhookRejected, match="replayed"):
        connector.verify_webhook(headers, body, now=now)

    stale_headers, stale_body = emulator.signed_delivery(emulator.ticket_event_payload(tid))
    with pytest.raises(WebhookRejected, match="stale"):
        connector.verify_webhook(stale_headers, stale_body, now=now + timedelta(minutes=6))

    huge = json.dumps({"ticket_id": tid, "pad": "x" * 1_100_000}).encode()
    with pytest.raises(WebhookRejected) as big:
        connector.verify_webhook(headers, huge, now=now)
    assert big.value.status == 413

    unsigned = {k: v for k, v in headers.items() if "Signature" not in k}
    with pytest.raises(WebhookRejected) as missing:
        connector.verify_webhook(unsigned, body, now=now)
    assert missing.value.status == 401


def test_trigger_templates_name_tickets_too() -> None:
    assert ticket_ids({"ticket_id": "42"}) == ("42",)
    assert ticket_ids({"ticket": {"id": 7}, "ticket_ids": [7, "8"]}) == ("7", "8")
    with pytest.raises(WebhookRejected):
        ticket_ids(["not", "an", "object"])


def test_emulator_delivers_signed_webhooks_on_changes(connector: ZendeskConnector) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            arrived.set()

        def log_message(self, *args: object) -> None:
            return

    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{sink.server_address[1]}/hooks/zendesk"
        with ZendeskEmulator(webhook_url=url) as emu:
            emu.webhook_secret = (
                connector.settings.webhook_secret.get_secret_value()
                if connector.settings.webhook_secret
                else ""
            )
            (tid,) = emu.seed([seed_ticket(0)])
            assert arrived.wait(5)
            headers, body = received[0]
            event = connector.verify_webhook(headers, body, now=emu.server.clock.now())
            assert event.ticket_ids == (tid,)
    finally:
        sink.shutdown()
        sink.server_close()
