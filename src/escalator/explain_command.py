"""The ``explain`` command's body, kept out of ``cli.py``: where the story comes from, and how
it is printed."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from escalator.config import Config, ConfigError
from escalator.explain import (
    ExplainError,
    explain,
    render_text,
    story_from_simulation,
    story_from_store,
)

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2


def parse_instant(text: str) -> datetime:
    """ISO 8601; a time without a zone is UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def run_explain(
    config: Config,
    wanted: str,
    at: str | None,
    timeline: Path | None,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    try:
        now = parse_instant(at) if at else None
    except ValueError:
        err.print(f"--at {at!r}: expected an ISO 8601 instant like 2026-03-09T10:30:00Z")
        return EXIT_USAGE
    try:
        if timeline is not None:
            from engine.simulation import SimulationError
            from escalator.timeline import load_timeline

            try:
                tl = load_timeline(timeline)
            except ConfigError as exc:
                for problem in exc.problems:
                    err.print(str(problem), markup=False)
                return EXIT_USAGE
            now = now or tl.until
            version, policy = config.policy.version, config.policy
            try:
                story = story_from_simulation(config.policy, tl.tickets, tl.events, now, wanted)
            except SimulationError as exc:
                err.print(f"{timeline}: {exc}", markup=False)
                return EXIT_USAGE
        else:
            from escalator.app import store_url
            from escalator.logs import EventLog
            from escalator.policies import PolicyBook
            from escalator.store import open_store

            now = now or datetime.now(UTC)
            with open_store(store_url(config, os.environ)) as store:
                story = story_from_store(store, wanted)
                # judged by the policy version it started under (a snapshot kept in the store)
                book = PolicyBook(store, config, EventLog(level="error"), read_only=True)
                version, policy = book.policy_for(story.ticket.key)
    except ExplainError as exc:
        err.print(str(exc.args[0]), markup=False)
        return EXIT_NOT_FOUND
    data = explain(policy, story, now)
    data["policy_version"] = version
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        out.print(render_text(data), markup=False, end="")
    return 0
