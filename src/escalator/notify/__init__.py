"""Notifications: the engine's ``Notify`` actions sent to chat webhooks (Slack, Teams, JSON),
email over SMTP, PagerDuty (Events API v2) and Opsgenie alerts.

Secrets (webhook URLs, SMTP passwords, routing and API keys) are read from the environment,
never logged, never in a repr and never in an ``ActionResult.detail``.
"""

from __future__ import annotations

from escalator.notify.channel import (
    AnyChannel,
    Channel,
    ChannelType,
    EmailChannel,
    OpsgenieChannel,
    PagerDutyChannel,
    channels_from_config,
)
from escalator.notify.payloads import build_request
from escalator.notify.sender import Notifier, NotifyStats

__all__ = [
    "AnyChannel",
    "Channel",
    "ChannelType",
    "EmailChannel",
    "Notifier",
    "NotifyStats",
    "OpsgenieChannel",
    "PagerDutyChannel",
    "build_request",
    "channels_from_config",
]
