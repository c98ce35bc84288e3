"""Webhook signature v3: good, bad, stale, replayed, oversized; cross-checked with the SDK."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hubspot.utils.signature import Signature

from connectors.errors import WebhookRejected
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import CLIENT_SECRET, HubSpotEmulator
from connectors.hubspot.webhook import signature_v3
from tests.connectors.hubspot.hubspot_helpers import NOW


def _delivery(emulator: HubSpotEmulator) -> tuple[dict[str, str], bytes]:
    return emulator.signed_delivery(
        [
            {"objectId": 1001, "subscriptionType": "ticket.propertyChange"},
            {"objectId": 1002, "subscriptionType": "ticket.creation"},
            {"objectId": 1001, "subscriptionType": "ticket.propertyChange"},
            {"objectId": 77, "subscriptionType": "contact.creation"},
        ]
    )


def test_good_delivery_names_each_ticket_once(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    headers, body = _delivery(emulator)
    event = connector.verify_webhook(headers, body, now=NOW)
    assert event.ticket_ids == ("1001", "1002")


def test_signature_matches_the_sdk_helper() -> None:
    uri, body, ts = (
        "https://sidecar.example.com/webhooks/hubspot",
        '[{"objectId":1}]',
        "1795000000000",
    )
    ours = signature_v3(CLIENT_SECRET, "POST", uri, body.encode(), ts)
    assert ours == Signature.get_signature(CLIENT_SECRET, body, "v3", uri, "POST", ts)


def test_bad_signature_is_refused(emulator: HubSpotEmulator, connector: HubSpotConnector) -> None:
    headers, body = _delivery(emulator)
    with pytest.raises(WebhookRejected) as refused:
        connector.verify_webhook(headers, body.replace(b"1001", b"1009"), now=NOW)
    assert refused.value.status == 401


def test_stale_and_replayed_deliveries_are_refused(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    headers, body = _delivery(emulator)
    with pytest.raises(WebhookRejected, match="stale"):
        connector.verify_webhook(headers, body, now=NOW + timedelta(minutes=5, seconds=1))
    connector.verify_webhook(headers, body, now=NOW + timedelta(minutes=4))
    with pytest.raises(WebhookRejected, match="replayed"):
        connector.verify_webhook(headers, body, now=NOW + timedelta(minutes=4))


def test_oversized_body_is_413(emulator: HubSpotEmulator, connector: HubSpotConnector) -> None:
    events = [{"objectId": i, "padding": "x" * 1000} for i in range(1100)]
    headers, body = emulator.signed_delivery(events)
    with pytest.raises(WebhookRejected) as refused:
        connector.verify_webhook(headers, body, now=NOW)
    assert refused.value.status == 413
