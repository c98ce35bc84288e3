"""`escalator report` over 100,000 tickets: a month's KPIs read from a SQLite store, then
rendered as JSON, CSV, Markdown and HTML (with its three charts).

Target: under 5 s for reading and counting plus the JSON. The store is filled beforehand (not
timed) with a month of tickets and the ledger rows a sidecar would have written for them.
Run: .venv/bin/python benchmarks/report.py [--tickets N]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# the benchmarks folder holds engine.py: keep it off the import path, or it hides the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from engine.codec import action_to_dict
from engine.model import (
    AddLabels,
    AuthorRole,
    Change,
    Comment,
    PostComment,
    Priority,
    Status,
    Ticket,
)
from escalator.config import load_config
from escalator.report import parse_period, render, report_from_store
from escalator.store import open_store
from escalator.store import schema as tables
from escalator.store.connect import create_store_engine, parse_store_url

ROOT = Path(__file__).resolve().parent.parent
MONTH = "2026-11"
START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 2, tzinfo=UTC)
SYSTEMS = ("zendesk", "jira", "hubspot")
CATEGORIES = ("billing", "technical", "account", "shipping")
LEVEL_RULES = {1: "sla-at-risk", 2: "sla-breached", 3: "major-impact"}


def make_month(n: int, seed: int = 11) -> tuple[list[Ticket], list[dict[str, Any]]]:
    """``n`` tickets created in November and the ledger rows of their escalations."""
    rng = random.Random(seed)
    priorities = [Priority.LOW, Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
    tickets: list[Ticket] = []
    rows: list[dict[str, Any]] = []
    for i in range(n):
        system = SYSTEMS[i % 3]
        created = START + timedelta(seconds=rng.randint(0, 29 * 86400))
        first = created + timedelta(minutes=rng.randint(5, 600))
        solved = first + timedelta(hours=rng.randint(1, 72)) if rng.random() < 0.8 else None
        comments = [
            Comment(created, AuthorRole.CUSTOMER, True, "help", opening=True),
            Comment(first, AuthorRole.AGENT, True, "on it"),
        ]
        history = [Change(created + timedelta(minutes=1), "status", "new", "open")]
        if solved is not None:
            history.append(Change(solved, "status", "open", "solved"))
        ticket = Ticket(
            system=system,
            id=str(i),
            created_at=created,
            updated_at=solved or first,
            status=Status.SOLVED if solved else Status.OPEN,
            priority=rng.choice(priorities),
            title=f"ticket {i}",
            url=f"https://example.invalid/{system}/{i}",
            organization=f"org-{rng.randrange(3000)}",
            category=rng.choice(CATEGORIES),
            customer_tier="enterprise" if rng.random() < 0.1 else "standard",
            comments=tuple(comments),
            history=tuple(history),
            satisfaction=rng.choice((None, None, "good", "bad")) if solved else None,
        )
        tickets.append(ticket)
        if rng.random() < 0.3:  # escalated: one to three levels, an hour apart
            for level in range(1, rng.randint(1, 3) + 1):
                at = created + timedelta(minutes=30 + 60 * level)
                rule = LEVEL_RULES[level]
                action = AddLabels(
                    key=f"{ticket.key}:L{level}:add_labels",
                    ticket=ticket.key,
                    rule=rule,
                    at=at,
                    level=level,
                    labels=(f"escalation-l{level}",),
                )
                rows.append(_row(action, system, at))
            if solved is not None:
                ask = PostComment(
                    key=f"{ticket.key}:resolution-confirmation:comment",
                    ticket=ticket.key,
                    rule="resolution-confirmation",
                    at=solved,
                    public=True,
                    body="Could you confirm?",
                )
                rows.append(_row(ask, system, solved))
    return tickets, rows


def _row(action: AddLabels | PostComment, source: str, at: datetime) -> dict[str, Any]:
    return {
        "key": action.key,
        "ticket": action.ticket,
        "source": source,
        "kind": str(action.kind),
        "rule": action.rule,
        "status": tables.APPLIED,
        "payload": action_to_dict(action),
        "detail": "",
        "external_id": None,
        "attempts": 1,
        "begun_at": at,
        "finished_at": at,
    }


def fill(url: str, tickets: list[Ticket], rows: list[dict[str, Any]]) -> None:
    with open_store(url) as store:
        for system in SYSTEMS:
            store.save_tickets(system, [t for t in tickets if t.system == system])
    engine = create_store_engine(parse_store_url(url))
    with engine.begin() as conn:  # the ledger in one statement: begin/finish per row is slow
        conn.execute(tables.actions.insert(), rows)
    engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args(argv)
    config = load_config(ROOT / "config")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/state.db"
        fill(url, *make_month(args.tickets))
        gc.collect()  # as `escalator report` starts: nothing but the store in hand
        with open_store(url) as store:
            period = parse_period(None, MONTH, NOW)
            steps: list[tuple[str, float, float]] = []  # (step, wall s, cpu s)
            clock = (time.perf_counter(), time.process_time())

            def lap(step: str) -> None:
                nonlocal clock
                now = (time.perf_counter(), time.process_time())
                steps.append((step, now[0] - clock[0], now[1] - clock[1]))
                clock = now

            report = report_from_store(store, config, period, NOW)
            lap("read the store and count")
            as_json = render(report, "json")
            lap("json")
            render(report, "csv")
            lap("csv")
            render(report, "md")
            lap("md")
            html = render(report, "html")
            lap("html with 3 charts")
    print(f"report over {args.tickets} tickets ({report['escalated']} escalated), {MONTH}")
    print()
    print("step | seconds | cpu seconds")
    print("---|---|---")
    for step, wall, cpu in steps:
        print(f"{step} | {wall:.2f} | {cpu:.2f}")
    to_json = steps[:2]
    print(f"total to json | {sum(s[1] for s in to_json):.2f} | {sum(s[2] for s in to_json):.2f}")
    print(f"total, every format | {sum(s[1] for s in steps):.2f} | {sum(s[2] for s in steps):.2f}")
    print()
    print(f"json {len(as_json) // 1024} KiB, html {len(html) // 1024} KiB; target: json under 5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
