"""What ``escalator simulate`` prints: one JSON object, or a readable timeline."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from engine.codec import format_instant
from engine.model import (
    Action,
    AddLabels,
    Assign,
    CreateLinkedIssue,
    Notify,
    PostComment,
    RemoveLabels,
    SetPriority,
    TargetName,
)
from engine.simulation import SimulationResult


def action_fields(action: Action) -> dict[str, Any]:
    """The fields of an action that say what it does, by kind."""
    if isinstance(action, SetPriority):
        return {"priority": action.priority.value}
    if isinstance(action, AddLabels | RemoveLabels):
        return {"labels": list(action.labels)}
    if isinstance(action, Assign):
        return {"group": action.group, "user": action.user}
    if isinstance(action, PostComment):
        return {"public": action.public, "body": action.body}
    if isinstance(action, CreateLinkedIssue):
        return {"system": action.system, "project": action.project}
    if isinstance(action, Notify):
        return {"channel": action.channel}
    raise TypeError(action)  # pragma: no cover


def result_json(result: SimulationResult, ids: dict[str, str]) -> dict[str, Any]:
    actions = []
    for action in result.actions:
        entry: dict[str, Any] = {
            "at": format_instant(action.at),
            "ticket": ids.get(action.ticket, action.ticket),
            "rule": action.rule,
            "kind": action.kind.value,
            **action_fields(action),
        }
        if action.level is not None:
            entry["level"] = action.level
        actions.append(entry)
    tickets: dict[str, Any] = {}
    for key, plan in result.plans.items():
        sla: dict[str, Any] = {}
        for name in TargetName:
            state = plan.sla.target(name) if plan.sla else None
            sla[name.value] = {
                "due": format_instant(state.due) if state else None,
                "met_at": format_instant(state.met_at) if state else None,
                "breached_at": format_instant(state.breached_at) if state else None,
            }
        tickets[ids.get(key, key)] = {"level": plan.level, "sla": sla}
    return {"actions": actions, "tickets": tickets}


def describe(action: Action) -> str:
    if isinstance(action, SetPriority):
        return f"priority {action.previous.value} → {action.priority.value}"
    if isinstance(action, AddLabels):
        return "add labels " + ", ".join(action.labels)
    if isinstance(action, RemoveLabels):
        return "remove labels " + ", ".join(action.labels)
    if isinstance(action, Assign):
        return "assign " + " / ".join(x for x in (action.group, action.user) if x)
    if isinstance(action, PostComment):
        first = action.body.strip().splitlines()[0] if action.body.strip() else ""
        return f"{'public reply' if action.public else 'internal note'}: {first[:70]}"
    if isinstance(action, CreateLinkedIssue):
        return f"create {action.system} issue in {action.project} ({action.priority.value})"
    if isinstance(action, Notify):
        return f"notify #{action.channel}"
    raise TypeError(action)  # pragma: no cover


def print_timeline(result: SimulationResult, ids: dict[str, str], console: Console) -> None:
    table = Table(title="Escalation timeline", show_lines=False)
    table.add_column("at (UTC)", style="cyan", no_wrap=True)
    table.add_column("ticket", style="bold")
    table.add_column("rule", style="magenta")
    table.add_column("level", justify="right")
    table.add_column("action")
    for action in result.actions:
        table.add_row(
            format_instant(action.at) or "",
            ids.get(action.ticket, action.ticket),
            action.rule,
            str(action.level) if action.level is not None else "",
            describe(action),
        )
    console.print(table)
    summary = Table(title="State at the end")
    summary.add_column("ticket", style="bold")
    summary.add_column("level", justify="right")
    for name in TargetName:
        summary.add_column(name.value.replace("_", " "))
    for key, plan in result.plans.items():
        cells = []
        for name in TargetName:
            state = plan.sla.target(name) if plan.sla else None
            if state is None:
                cells.append("—")
            elif state.breached_at:
                cells.append(f"[red]breached {format_instant(state.breached_at)}[/red]")
            elif state.met_at:
                cells.append(f"[green]met {format_instant(state.met_at)}[/green]")
            elif state.due:
                cells.append(f"due {format_instant(state.due)}")
            else:
                cells.append("paused")
        summary.add_row(ids.get(key, key), str(plan.level), *cells)
    console.print(summary)
    console.print(
        f"{len(result.actions)} actions, {len(result.satisfied)} already shown by the ticket."
    )
