"""``escalator demo``: the emulators, the sidecar running on them, and what it does, live."""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from connectors.base import ActionStatus
from engine.codec import action_from_dict
from engine.model import Action, Ticket
from escalator.app import open_sidecar
from escalator.config import ConfigError, load_config
from escalator.cycle import CycleReport
from escalator.demo import (
    DemoWorld,
    demo_jira_flavour,
    use_demo_hubspot_api,
    use_demo_jira_flavour,
    with_every_source,
)
from escalator.runner import Runner
from escalator.simulate_report import describe
from escalator.store import open_store
from escalator.store.records import LedgerEntry


def run_demo(config_path: Path, seconds: float, console: Console) -> int:
    try:
        jira_flavour = demo_jira_flavour(os.environ)
    except ValueError as exc:
        console.print(f"ESCALATOR_DEMO_JIRA_FLAVOUR: {exc}", markup=False)
        return 2
    world = DemoWorld(jira_flavour=jira_flavour)
    world.start()
    try:
        ids = world.seed()
        env = world.env()
        try:
            if config_path.is_dir():  # every registered helpdesk runs, a new one included
                config_path = with_every_source(config_path, Path(tempfile.mkdtemp()) / "config")
            config = load_config(config_path)
            use_demo_hubspot_api(config, os.environ)
            use_demo_jira_flavour(config, world)
        except ConfigError as exc:
            for problem in exc.problems:
                console.print(str(problem), markup=False)
            return 2
        except ValueError as exc:  # ESCALATOR_DEMO_HUBSPOT_API names no API version
            console.print(f"ESCALATOR_DEMO_HUBSPOT_API: {exc}", markup=False)
            return 2
        console.rule("[bold]Escalation sidecar demo")
        console.print(
            "Emulators on 127.0.0.1: "
            + ", ".join(f"{kind} {e.server.base_url}" for kind, e in world.emulators.items())
        )
        console.print(
            f"Seeded {sum(len(v) for v in ids.values())} tickets created minutes to days ago; "
            f"watching for {seconds:.0f} s. Times are UTC.\\n"
        )
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{tmp}/demo-state.db")
            with (
                (Path(tmp) / "sidecar.log").open("w") as log_file,
                open_sidecar(config, env, store=store, log_stream=log_file) as sidecar,
            ):
                titles: dict[str, str] = {}
                seen_chat = 0

                def show(report: CycleReport) -> None:
                    nonlocal seen_chat
                    if not titles or any(a.ticket not in titles for a, _ in report.written):
                        titles.update({t.key: t.title for t in sidecar.store.load_tickets()})
                    for action, result in report.written:
                        stamp = datetime.now(UTC).strftime("%H:%M:%S")
                        ok = result.status in (ActionStatus.APPLIED, ActionStatus.ALREADY)
                        mark = "[green]✓[/green]" if ok else f"[red]✗ {result.detail}[/red]"
                        level = f"L{action.level}" if action.level else "  "
                        console.print(
                            f"[cyan]{stamp}[/cyan] [bold]{action.ticket:<14}[/bold] "
                            f"[magenta]{action.rule:<22}[/magenta] {level} "
                            f"{describe(action)[:70]} {mark}",
                            highlight=False,
                        )
                    for channel, payload in world.chat.messages[seen_chat:]:
                        text = _chat_text(payload)
                        first = text.splitlines()[0] if text else "(card)"
                        console.print(
                            f"         [yellow]chat #{channel}[/yellow] {first[:90]}",
                            highlight=False,
                        )
                    seen_chat = len(world.chat.messages)

                runner = Runner(sidecar, on_report=show)
                runner.start()
                try:
                    time.sleep(seconds)
                finally:
                    runner.stop()
                second = sidecar.cycle()
                fresh = [
                    sidecar.sources[name].connector.fetch(t.id)
                    for name in sidecar.sources
                    for t in sidecar.store.load_tickets(name)
                ]
                summarise(fresh, sidecar.store.ledger(), console)
                console.print(
                    f"A further sync now writes {len(second.written)} actions: every write "
                    "happened exactly once."
                )
                store.close()
        return 0
    finally:
        world.stop()


def _chat_text(payload: dict[str, Any]) -> str:
    """The readable line of a Slack, Teams (Adaptive Card) or generic webhook message."""
    if payload.get("text"):
        return str(payload["text"])
    for attachment in payload.get("attachments") or []:
        for block in (attachment.get("content") or {}).get("body") or []:
            if block.get("text"):
                return str(block["text"])
    return ""


def summarise(tickets: list[Ticket], ledger: Sequence[LedgerEntry], console: Console) -> None:
    """Each ticket as it now stands, and the writes that changed something (decisions the
    ticket already showed are recorded, not written, and not counted here)."""
    table = Table(title="Summary")
    for column in ("ticket", "title", "status", "priority", "level", "labels", "writes"):
        table.add_column(column)
    written: dict[str, list[Action]] = {}
    for entry in ledger:
        if entry.status == ActionStatus.APPLIED.value:
            written.setdefault(entry.ticket, []).append(action_from_dict(entry.payload))
    kinds: Counter[str] = Counter()
    for ticket in sorted(tickets, key=lambda t: t.key):
        done = written.get(ticket.key, [])
        kinds.update(a.kind.value for a in done)
        level = max((a.level or 0 for a in done), default=0)
        table.add_row(
            ticket.key,
            ticket.title[:32],
            ticket.status.value,
            ticket.priority.value,
            str(level or ""),
            ", ".join(sorted(ticket.labels)),
            str(len(done)),
        )
    console.print(table)
    console.print("Writes by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
