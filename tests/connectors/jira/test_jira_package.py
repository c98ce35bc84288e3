"""The package's public face: what it exports, how the registry finds it, its YAML section."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

import connectors.jira
from connectors import registry
from connectors.base import Connector
from connectors.jira import JiraConnector, Settings, create
from connectors.jira.emulator import JiraEmulator
from connectors.retry import RetryPolicy

EXAMPLE = """
url: https://acme.atlassian.net
auth: basic
email: ${JIRA_EMAIL}
api_token: ${JIRA_API_TOKEN}
projects: [SUP]
fields: {category: customfield_10050, customer_tier: customfield_10051,
         affected_users: customfield_10052, organization: customfield_10002}
groups:
  Tier 2 Support: {assignee: 5f00tier2000000000000001}
  Support Managers: {component: Support Managers}
webhook_secret: ${JIRA_WEBHOOK_SECRET}
"""


def test_exports_are_pinned() -> None:
    assert connectors.jira.__all__ == ["JiraConnector", "Settings", "create"]


def test_the_registry_finds_the_package_and_it_builds_a_connector(emulator: JiraEmulator) -> None:
    package = registry.load("jira")
    settings = package.Settings.model_validate(emulator.settings())

    connector = package.create("jira", settings, retry=RetryPolicy("jira"))

    assert isinstance(connector, Connector)
    assert isinstance(connector, JiraConnector)
    connector.close()


def test_the_example_yaml_section_validates_once_secrets_are_filled_in() -> None:
    env = {"JIRA_EMAIL": "bot@acme.test", "JIRA_API_TOKEN": "t", "JIRA_WEBHOOK_SECRET": "s"}
    text = EXAMPLE
    for name, value in env.items():
        text = text.replace("${" + name + "}", value)

    settings = Settings.model_validate(yaml.safe_load(text))

    assert settings.groups["Support Managers"].component == "Support Managers"
    assert "api_token=SecretStr('**********')" in repr(settings)  # secrets stay hidden
    assert create("jira", settings, retry=RetryPolicy("jira")).name == "jira"


def test_missing_credentials_are_named() -> None:
    with pytest.raises(ValidationError, match="auth 'pat' needs pat"):
        Settings.model_validate({"url": "https://x", "auth": "pat", "projects": ["SUP"]})
