"""A notification channel as the sender needs it: name, kind and the (secret) URL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args
from urllib.parse import urlsplit

from escalator.config.errors import ConfigError, Problem

if TYPE_CHECKING:
    from escalator.config import Config

ChannelType = Literal["slack", "teams", "webhook"]
CHANNEL_TYPES: tuple[str, ...] = get_args(ChannelType)


@dataclass(frozen=True, slots=True, repr=False)
class Channel:
    name: str
    type: ChannelType
    url: str  # a secret (it authorises posting): never printed

    def __repr__(self) -> str:
        return f"Channel(name={self.name!r}, type={self.type!r}, url=<hidden>)"

    __str__ = __repr__


def channels_from_config(
    config: Config, env: Mapping[str, str] | None = None
) -> dict[str, Channel]:
    """The configured channels with their URLs read from ``env`` (default: the environment).

    Raises ``ConfigError`` naming ``file:line:column`` when a ``${VAR}`` is unset or a URL
    is not http(s); the message never quotes the URL itself.
    """
    if not config.model.channels:
        return {}
    env = os.environ if env is None else env
    raw: dict[str, dict[str, object]] = config.resolved("channels", env=env)
    channels: dict[str, Channel] = {}
    problems: list[Problem] = []
    for name, model in config.model.channels.items():
        url = str(raw[name]["url"]).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            scheme = parts.scheme or "none"
            problems.append(
                config.located.problem(
                    ("channels", name, "url"),
                    f"channel {name!r}: the URL must be http or https with a host "
                    f"(scheme {scheme!r})",
                )
            )
            continue
        channels[name] = Channel(name=name, type=model.type, url=url)
    if problems:
        raise ConfigError(problems)
    return channels
