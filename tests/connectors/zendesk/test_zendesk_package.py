from __future__ import annotations

import os
import re
from typing import Any

import yaml

import connectors.zendesk as package
from connectors.base import Connector
from connectors.registry import load
from connectors.retry import RetryPolicy
from connectors.zendesk import Settings, ZendeskConnector, create
from connectors.zendesk.emulator import ZendeskEmulator

EXAMPLE = """
url: ${ZENDESK_URL}
auth:
  kind: oauth_client_credentials
  client_id: ${ZENDESK_CLIENT_ID}
  client_secret: ${ZENDESK_CLIENT_SECRET}
  scope: "read write"
webhook_secret: ${ZENDESK_WEBHOOK_SECRET}
page_size: 1000
fields:
  category: {custom_field_id: 360001}
  customer_tier: {organization_field: customer_tier}
  affected_users: {custom_field_id: 360002}
"""


def _resolve(text: str, env: dict[str, str]) -> Any:
    return yaml.safe_load(re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], text))


def test_public_names_are_pinned() -> None:
    assert sorted(package.__all__) == [
        "ApiTokenAuth",
        "ClientCredentialsAuth",
        "FieldMapping",
        "FieldSource",
        "RefreshTokenAuth",
        "Settings",
        "ZendeskConnector",
        "create",
    ]


def test_registry_builds_a_connector_from_the_example_yaml(emulator: ZendeskEmulator) -> None:
    module = load("zendesk")
    assert module.Settings is Settings
    settings = Settings.model_validate(_resolve(EXAMPLE, {**os.environ, **emulator.env()}))
    connector = create("zendesk", settings, retry=RetryPolicy("zendesk"))
    try:
        assert isinstance(connector, Connector)
        assert isinstance(connector, ZendeskConnector)
        expected = Settings.model_validate(emulator.settings())
        assert (settings.url, settings.auth, settings.fields, settings.webhook_secret) == (
            expected.url,
            expected.auth,
            expected.fields,
            expected.webhook_secret,
        )
    finally:
        connector.close()
