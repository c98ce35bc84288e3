"""Chat notifications: the engine's ``Notify`` actions posted to Slack, Teams or a JSON webhook.

Webhook URLs are secrets: they are read from the environment, never logged, never in a repr
and never in an ``ActionResult.detail``.
"""

from __future__ import annotations

from escalator.notify.channel import Channel, ChannelType, channels_from_config
from escalator.notify.payloads import build_request
from escalator.notify.sender import Notifier, NotifyStats

__all__ = [
    "Channel",
    "ChannelType",
    "Notifier",
    "NotifyStats",
    "build_request",
    "channels_from_config",
]
