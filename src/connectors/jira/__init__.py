"""Jira Cloud / Jira Service Management (REST v3) and Jira Data Center (REST v2) connector.

Small parts: ``settings`` (YAML section, ``flavour: cloud|datacenter``), ``auth``, ``client``
(the one door, httpx, one retry policy), ``site`` (the API user, custom fields by name and
customers, read once), ``cursor`` (Jira's side of ``connectors.cursor``), ``mapping`` and
``fieldvalues`` (issue -> Ticket), ``pull``, ``write``, ``links`` (ENG issues), ``webhook``, and
``emulator`` with its ``emulator_*`` parts (the API on 127.0.0.1 for tests and the demo, in both
flavours).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from connectors.jira.connector import JiraConnector
from connectors.jira.settings import Settings
from connectors.retry import RetryPolicy

__all__ = ["JiraConnector", "Settings", "create"]


def create(
    name: str,
    settings: Settings,
    *,
    retry: RetryPolicy,
    now: Callable[[], datetime] | None = None,
) -> JiraConnector:
    """``now``: the app's clock (the wall clock when not given)."""
    if now is None:
        return JiraConnector(name, settings, retry=retry)
    return JiraConnector(name, settings, retry=retry, now=now)
