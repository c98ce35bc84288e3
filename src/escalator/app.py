"""Wiring: config + environment -> store, connectors, notifier, log -> a ``Sidecar``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from escalator.clock import Clock
from escalator.config import Config
from escalator.config.yamlsource import walk_strings
from escalator.cycle import Sidecar
from escalator.logs import EventLog
from escalator.metrics import Metrics
from escalator.notify import Notifier, channels_from_config
from escalator.sources import build_sources
from escalator.store import StateStore, open_store

_SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def store_url(config: Config, env: Mapping[str, str]) -> str:
    url = env.get("ESCALATOR_STORE") or config.model.service.store
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def secret_values(config: Config, env: Mapping[str, str]) -> list[str]:
    """Every value the config reads from the environment: what logs must never show."""
    values: list[str] = []
    for section in ("sources", "channels"):
        for _, text in walk_strings(config.located.data.get(section, {})):
            values.extend(env[name] for name in _SECRET.findall(text) if name in env)
    return values


@contextmanager
def open_sidecar(
    config: Config,
    env: Mapping[str, str] | None = None,
    *,
    log_stream: IO[str] | None = None,
    store: StateStore | None = None,
    clock: Clock | None = None,
) -> Iterator[Sidecar]:
    env = os.environ if env is None else env
    log = EventLog(log_stream, config.model.service.log_level, secret_values(config, env))
    log.capture_stdlib()
    own_store = store is None
    state = store if store is not None else open_store(store_url(config, env))
    sidecar: Sidecar | None = None
    notifier: Notifier | None = None
    try:
        channels = channels_from_config(config, env)
        notifier = Notifier(channels) if channels else None
        # one clock for the app; the connectors read it too when a caller moves the helpdesks'
        # clocks along with it (a simulated day), else the wall clock, as the helpdesk does
        app_clock = clock or Clock()
        sources = build_sources(config, env, clock=clock)
        sidecar = Sidecar(
            config, state, sources, notifier=notifier, log=log, metrics=Metrics(), clock=app_clock
        )
        yield sidecar
    finally:
        if sidecar is not None:
            sidecar.close()
        if notifier is not None:
            notifier.close()
        if own_store:
            state.close()
