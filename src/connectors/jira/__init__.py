"""Jira Cloud / Jira Service Management connector (REST v3, the ``jira`` SDK plus httpx).

Small parts: ``settings`` (YAML section), ``auth``, ``client`` (the one door, one retry policy),
``cursor`` (watermark), ``mapping`` (issue -> Ticket), ``pull``, ``write``, ``links`` (ENG
issues), ``webhook``, ``emulator`` (the API on 127.0.0.1 for tests and the demo).
"""

from __future__ import annotations

from connectors.jira.connector import JiraConnector
from connectors.jira.settings import Settings
from connectors.retry import RetryPolicy

__all__ = ["JiraConnector", "Settings", "create"]


def create(name: str, settings: Settings, *, retry: RetryPolicy) -> JiraConnector:
    return JiraConnector(name, settings, retry=retry)
