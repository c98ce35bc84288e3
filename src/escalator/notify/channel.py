"""The notification channels as the sender needs them, with their secrets read from the
environment: chat webhooks (Slack, Teams, JSON), email over SMTP, PagerDuty and Opsgenie.

Every secret (a webhook URL, an SMTP password, a routing key, an API key) is hidden from
``repr``; ``secrets_of`` lists them so logs and details can be redacted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args
from urllib.parse import urlsplit

from escalator.config.errors import ConfigError, Problem
from escalator.config.yamlsource import walk_strings

if TYPE_CHECKING:
    from escalator.config import Config

ChannelType = Literal["slack", "teams", "webhook"]
CHANNEL_TYPES: tuple[str, ...] = get_args(ChannelType)
SmtpSecurity = Literal["starttls", "tls", "none"]
DEFAULT_SMTP_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True, slots=True, repr=False)
class Channel:
    """A chat incoming webhook."""

    name: str
    type: ChannelType
    url: str  # a secret (it authorises posting): never printed

    def __repr__(self) -> str:
        return f"Channel(name={self.name!r}, type={self.type!r}, url=<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True, repr=False)
class EmailChannel:
    name: str
    host: str
    port: int
    security: SmtpSecurity
    sender: str
    to: tuple[str, ...]
    username: str | None = None
    password: str | None = None  # a secret: never printed
    ca_file: str | None = None
    timeout: float = 30.0
    type: Literal["email"] = "email"

    def __repr__(self) -> str:
        auth = "<hidden>" if self.password else None
        return (
            f"EmailChannel(name={self.name!r}, host={self.host!r}, port={self.port}, "
            f"security={self.security!r}, to={list(self.to)!r}, password={auth})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True, repr=False)
class PagerDutyChannel:
    name: str
    routing_key: str  # a secret: never printed
    severity: str = "critical"
    source: str = "escalation-sidecar"
    base_url: str = "https://events.pagerduty.com"
    type: Literal["pagerduty"] = "pagerduty"
    # a REST API key (read-only is enough): lets the sidecar see a responder's acknowledgement,
    # which the Events API cannot tell; a secret, never printed
    api_token: str | None = None
    api_url: str = "https://api.pagerduty.com"

    def __repr__(self) -> str:
        return (
            f"PagerDutyChannel(name={self.name!r}, base_url={self.base_url!r}, "
            "routing_key=<hidden>)"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True, repr=False)
class OpsgenieChannel:
    name: str
    api_key: str  # a secret: never printed
    priority: str = "P3"
    teams: tuple[str, ...] = ()
    base_url: str = "https://api.opsgenie.com"
    type: Literal["opsgenie"] = "opsgenie"

    def __repr__(self) -> str:
        return f"OpsgenieChannel(name={self.name!r}, base_url={self.base_url!r}, api_key=<hidden>)"

    __str__ = __repr__


AnyChannel = Channel | EmailChannel | PagerDutyChannel | OpsgenieChannel


def secrets_of(channel: AnyChannel) -> list[str]:
    """The values of ``channel`` that must never reach a log or a detail."""
    if isinstance(channel, Channel):
        values = [channel.url]
    elif isinstance(channel, EmailChannel):
        values = [channel.password or ""]
    elif isinstance(channel, PagerDutyChannel):
        values = [channel.routing_key, channel.api_token or ""]
    else:
        values = [channel.api_key]
    return [v for v in values if v]


def channels_from_config(
    config: Config, env: Mapping[str, str] | None = None
) -> dict[str, AnyChannel]:
    """The configured channels with their secrets read from ``env`` (default: the environment).

    Raises ``ConfigError`` naming ``file:line:column`` when a ``${VAR}`` is unset or a value is
    unusable; the message never quotes a secret.
    """
    if not config.model.channels:
        return {}
    env = os.environ if env is None else env
    raw: dict[str, dict[str, Any]] = config.resolved("channels", env=env)
    channels: dict[str, AnyChannel] = {}
    problems: list[Problem] = []

    def problem(name: str, key: str, message: str) -> None:
        problems.append(
            config.located.problem(("channels", name, key), f"channel {name!r}: {message}")
        )

    for name, model in config.model.channels.items():
        secret = raw[name]  # only secrets are taken from here: the rest is the parsed model
        if model.type in CHANNEL_TYPES:
            url = str(secret["url"]).strip()
            if not _is_http_url(url):
                scheme = urlsplit(url).scheme or "none"
                message = f"the URL must be http or https with a host (scheme {scheme!r})"
                problem(name, "url", message)
                continue
            channels[name] = Channel(name=name, type=model.type, url=url)  # type: ignore[arg-type]
        elif model.type == "email":
            security = model.security or "starttls"
            if model.ca_file and not Path(model.ca_file).is_file():
                problem(name, "ca_file", f"no CA file at {model.ca_file}")
                continue
            if (model.username is None) != (model.password is None):
                problem(name, "username", "give both username and password, or neither")
                continue
            if model.password is not None and security == "none":
                # smtplib would send the password in the clear
                problem(name, "security", "a password needs security: starttls or tls")
                continue
            channels[name] = EmailChannel(
                name=name,
                host=str(model.host),
                port=model.port or DEFAULT_SMTP_PORTS[security],
                security=security,
                sender=str(model.sender),
                to=tuple(model.to or ()),
                username=str(secret["username"]) if model.username else None,
                password=str(secret["password"]) if model.password else None,
                ca_file=model.ca_file,
                timeout=float(model.timeout or 30),
            )
        elif model.type == "pagerduty":
            # read with ${VAR} resolved: a base URL may come from the environment too
            base = str(secret.get("base_url") or "https://events.pagerduty.com").rstrip("/")
            if not _is_http_url(base):
                problem(name, "base_url", "the base URL must be http or https with a host")
                continue
            api_url = str(secret.get("api_url") or "https://api.pagerduty.com").rstrip("/")
            if not _is_http_url(api_url):
                problem(name, "api_url", "the API URL must be http or https with a host")
                continue
            channels[name] = PagerDutyChannel(
                name=name,
                routing_key=str(secret["routing_key"]).strip(),
                severity=model.severity or "critical",
                source=model.source or "escalation-sidecar",
                base_url=base,
                api_token=str(secret["api_token"]).strip() if model.api_token else None,
                api_url=api_url,
            )
        else:
            base = str(secret.get("base_url") or "https://api.opsgenie.com").rstrip("/")
            if not _is_http_url(base):
                problem(name, "base_url", "the base URL must be http or https with a host")
                continue
            channels[name] = OpsgenieChannel(
                name=name,
                api_key=str(secret["api_key"]).strip(),
                priority=model.priority or "P3",
                teams=tuple(model.teams or ()),
                base_url=base,
            )
    if problems:
        raise ConfigError(problems)
    return channels


def channel_problems(config: Config, env: Mapping[str, str] | None = None) -> list[Problem]:
    """What ``validate`` reports about the channels beyond unset variables (those are
    ``Config.secret_problems``): a URL that is not http(s), a missing CA file, a username
    without a password. An unset variable is filled with a placeholder, not judged."""
    env = os.environ if env is None else env
    filled = {k: v for k, v in env.items() if v.strip()}
    for _, text in walk_strings(config.located.data.get("channels", {}), ("channels",)):
        for name in _SECRET.findall(text):
            filled.setdefault(name, _PLACEHOLDER)
    try:
        channels_from_config(config, filled)
    except ConfigError as exc:
        unknown = {(p.file, p.line, p.column) for p in config.secret_problems(env)}
        return [p for p in exc.problems if (p.file, p.line, p.column) not in unknown]
    return []


_SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDER = "https://placeholder.invalid/unset"  # URL-shaped: it stands for any secret


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
