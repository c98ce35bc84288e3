"""Connectors built from the config's ``sources`` section, one per configured helpdesk."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from connectors import registry
from connectors.base import Connector, IssueTracker
from connectors.budget import RequestBudget
from connectors.retry import RetryPolicy
from escalator.config import Config, ConfigError, Problem
from escalator.config.environment import SECRET
from escalator.config.errors import did_you_mean
from escalator.config.schema import SourceModel
from escalator.config.yamlsource import walk_strings

# keys of a source section that belong to the app, not to the connector's settings
APP_KEYS = ("kind", "enabled", "poll_interval", "max_requests_per_minute")

# the share of each helpdesk's documented limit the sidecar takes by default, leaving the rest
# to the account's other integrations (``max_requests_per_minute`` in a source overrides it):
# Zendesk: half of the smallest plan's 200/min (Suite Team), account-wide;
# HubSpot: half of Free/Starter's 100 per 10 s, shared by every app of the account;
# Jira Cloud: API-token traffic meets only per-second burst limits, about 10/s a tenant
DEFAULT_REQUESTS_PER_MINUTE = {"zendesk": 100, "hubspot": 300, "jira": 600}
FALLBACK_REQUESTS_PER_MINUTE = 60


@dataclass(slots=True)
class Source:
    name: str
    kind: str
    poll_interval: int
    connector: Connector
    retry: RetryPolicy

    @property
    def tracker(self) -> IssueTracker | None:
        return self.connector if isinstance(self.connector, IssueTracker) else None


RetryFactory = Callable[[str], RetryPolicy]


def connector_settings(config: Config, name: str, env: Mapping[str, str] | None = None) -> Any:
    """The connector's ``Settings`` for source ``name``, secrets resolved; ConfigError if bad."""
    spec = config.model.sources[name]
    try:
        package = registry.load(spec.kind)
    except KeyError:
        raise ConfigError(
            [
                config.located.problem(
                    ("sources", name, "kind"),
                    f"unknown source kind {spec.kind!r}"
                    f"{did_you_mean(spec.kind, registry.known_kinds())}"
                    f" (known: {', '.join(registry.known_kinds())})",
                )
            ]
        ) from None
    raw = dict(config.resolved("sources", name, env=env))
    for key in APP_KEYS:
        raw.pop(key, None)
    try:
        return package.Settings.model_validate(raw)
    except ValidationError as exc:
        # the connector's error locations are relative to the source's section
        raise ConfigError(_anchor(exc, config, name)) from None


def _anchor(exc: ValidationError, config: Config, name: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ("sources", name, *err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            out.append(
                config.located.problem(
                    loc,
                    f"unknown key {err['loc'][-1]!r} for a "
                    f"{config.model.sources[name].kind} source",
                    key=True,
                )
            )
        elif err["type"] == "missing":
            out.append(config.located.problem(loc[:-1], f"missing required key {loc[-1]!r}"))
        else:
            where = ".".join(str(p) for p in loc)
            out.append(config.located.problem(loc, f"{where}: {message}"))
    return out


def source_problems(config: Config, env: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem the connectors find in their settings, switched-off sources included.

    A variable that ``env`` does not give (``validate --no-secrets`` passes ``{}``) is filled
    with a placeholder, so every other setting is still checked; the values read from it are
    not judged here (``Config.secret_problems`` says what is missing).
    """
    env = os.environ if env is None else env
    usable = {k: v for k, v in env.items() if v.strip()}
    unknown: set[tuple[str, int, int]] = set()
    filled = dict(usable)
    for path, text in walk_strings(config.located.data.get("sources", {}), ("sources",)):
        names = [n for n in SECRET.findall(text) if n not in usable]
        for name in names:
            filled[name] = _placeholder(name)
        if names:
            pos = config.located.where(path)
            unknown.add((pos.file, pos.line, pos.column))
    # a value the environment check already faults (e.g. not a URL) is not faulted twice
    unknown |= {(p.file, p.line, p.column) for p in config.secret_problems(env)}
    problems: list[Problem] = []
    for name in config.model.sources:
        try:
            connector_settings(config, name, filled)
        except ConfigError as exc:
            problems.extend(p for p in exc.problems if (p.file, p.line, p.column) not in unknown)
    return problems


def _placeholder(variable: str) -> str:
    return "https://placeholder.invalid" if variable.endswith("URL") else "placeholder"


def request_budget(spec: SourceModel) -> RequestBudget:
    per_minute = spec.max_requests_per_minute or DEFAULT_REQUESTS_PER_MINUTE.get(
        spec.kind, FALLBACK_REQUESTS_PER_MINUTE
    )
    return RequestBudget(per_minute)


def build_sources(
    config: Config,
    env: Mapping[str, str] | None = None,
    *,
    retry: RetryFactory | None = None,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Source]:
    """Connect every enabled source; raises ConfigError listing what is wrong. ``clock``: the
    app's one clock, which the connectors read too."""
    sources: dict[str, Source] = {}
    problems: list[Problem] = []
    for name, spec in config.model.sources.items():
        if not spec.enabled:
            continue
        try:
            settings = connector_settings(config, name, env)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        policy = retry(name) if retry else RetryPolicy(name, budget=request_budget(spec))
        connector = registry.load(spec.kind).create(name, settings, retry=policy, now=clock)
        sources[name] = Source(name, spec.kind, spec.poll_interval, connector, policy)
    if problems:
        for source in sources.values():
            source.connector.close()
        raise ConfigError(problems)
    return sources
