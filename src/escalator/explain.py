"""``escalator explain``: one ticket's story — SLA targets, each rule fired or not and why, each
write and its result, and what people changed — from the live store or a simulated timeline.

Times are told in the ticket's SLA calendar zone; ``--json`` gives UTC instants to the second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.codec import format_instant
from engine.criteria import Population
from engine.explain import ConditionCheck, TicketCheck, check_ticket, inputs_at, ticket_as_of
from engine.model import (
    Action,
    Assign,
    AuthorRole,
    SetPriority,
    Ticket,
)
from engine.policy import Policy
from escalator.store import StateStore

# what the ledger's outcome means to a person reading the story
RESULTS = {
    "applied": "written",
    "already": "already true",
    "failed": "failed",
    "conflict": "skipped: a person changed the ticket meanwhile",
    "pending": "in flight",
}


class ExplainError(LookupError):
    """The ticket cannot be found, or the id names several; the message lists the choices."""


@dataclass(frozen=True, slots=True)
class Fired:
    at: datetime
    rule: str
    reason: str
    level: int | None = None


@dataclass(frozen=True, slots=True)
class Written:
    at: datetime  # when the result was recorded
    decided_at: datetime | None
    key: str
    kind: str
    rule: str
    result: str  # a RESULTS key
    detail: str = ""


@dataclass(slots=True)
class Story:
    """Everything known about one ticket: the ticket, what was applied, decided and written."""

    ticket: Ticket
    applied: list[Action]
    fired: list[Fired]
    written: list[Written]
    population: Population
    ids: dict[str, str] = field(default_factory=dict)  # ticket key -> id shown (timelines)


def resolve_key(wanted: str, keys: Sequence[str]) -> str:
    """``zendesk:42`` as given, or ``42`` when exactly one system has it."""
    if wanted in keys:
        return wanted
    matches = sorted(k for k in keys if k.split(":", 1)[-1] == wanted)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ExplainError(f"{wanted!r} names several tickets: {', '.join(matches)}")
    raise ExplainError(f"no ticket {wanted!r} in the store")


def story_from_store(store: StateStore, wanted: str) -> Story:
    from escalator.report.facts import decode_ticket

    # every ticket: to resolve a bare id, and for the criteria that count other tickets
    tickets = [decode_ticket(p) for p in store.ticket_payloads()]
    by_key = {t.key: t for t in tickets}
    key = resolve_key(wanted, list(by_key))
    fired = [
        Fired(e.at, str(e.detail.get("rule")), str(e.detail.get("reason")), e.detail.get("level"))
        for e in reversed(store.audit_log(key, limit=10_000))  # oldest first
        if e.event == "decision"
    ]
    # the ledger has every outcome, including what the ticket already showed (never written)
    written = [
        Written(
            at=e.finished_at or e.begun_at,
            decided_at=datetime.fromisoformat(e.payload["at"]),
            key=e.key,
            kind=e.kind,
            rule=e.rule,
            result=e.status,
        )
        for e in store.ledger(key)
    ]
    written.sort(key=lambda w: (w.decided_at or w.at, w.key))
    return Story(by_key[key], store.applied(key), fired, written, Population(tickets))


def story_from_simulation(
    policy: Policy, tickets: Sequence[Ticket], events: Sequence[Any], until: datetime, wanted: str
) -> Story:
    """Replay a timeline up to ``until`` and tell one ticket's story from it."""
    from engine.simulation import simulate

    key = resolve_key(wanted, [t.key for t in tickets])
    result = simulate(policy, tickets, events, until)
    applied = [a for a in (*result.actions, *result.satisfied) if a.ticket == key]
    applied.sort(key=lambda a: a.at)
    satisfied = {a.key for a in result.satisfied}
    fired = [Fired(d.at, d.rule, d.reason, d.level) for d in result.decisions if d.ticket == key]
    written = [
        Written(
            a.at, a.at, a.key, a.kind.value, a.rule, "already" if a.key in satisfied else "applied"
        )
        for a in applied
    ]
    return Story(result.tickets[key], applied, fired, written, Population(tickets))


def _outcome(key: str, satisfied: set[str]) -> str:
    return "already" if key in satisfied else "applied"


def explain(policy: Policy, story: Story, now: datetime) -> dict[str, Any]:
    """The story as one JSON-ready object (instants in UTC, to the second)."""
    ticket = story.ticket
    if ticket.updated_at > now:  # the store holds it as it is now: tell it as it was then
        ticket = ticket_as_of(ticket, now)
    check = check_ticket(policy, ticket, story.applied, now, story.population)
    fired_by_rule: dict[str, list[Fired]] = {}
    for f in story.fired:
        if f.at <= now:
            fired_by_rule.setdefault(f.rule, []).append(f)
    rules = []
    for rc in check.rules:
        fired = fired_by_rule.get(rc.rule, [])
        entry: dict[str, Any] = {
            "rule": rc.rule,
            "description": rc.description,
            "fired": bool(fired),
            "escalate_to": rc.escalate_to,
        }
        if fired:
            rule = policy.rule_named(rc.rule)
            first = fired[0]
            seen = (
                inputs_at(policy, rule, ticket, story.applied, first.at, story.population)
                if rule is not None
                else ()
            )
            entry["fired_at"] = sorted({format_instant(f.at) or "" for f in fired})
            entry["reasons"] = [f.reason for f in fired]
            entry["inputs"] = [_condition(c) for c in seen]
        else:
            entry["holds_now"] = rc.holds
            entry["failed"] = [_condition(c) for c in rc.failed]
            entry["next_at"] = format_instant(rc.next_at)
        rules.append(entry)
    return {
        "ticket": ticket.key,
        "title": ticket.title,
        "url": ticket.url,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "organization": ticket.organization,
        "category": ticket.category,
        "customer_tier": ticket.customer_tier,
        "created_at": format_instant(ticket.created_at),
        "now": format_instant(now),
        "zone": check.zone,
        "level": check.level,
        "sla": _sla(check),
        "rules": rules,
        "actions": [
            {
                "at": format_instant(w.decided_at or w.at),
                "recorded_at": format_instant(w.at),
                "key": w.key,
                "kind": w.kind,
                "rule": w.rule,
                "result": RESULTS.get(w.result, w.result),
                "detail": w.detail,
            }
            for w in story.written
            if (w.decided_at or w.at) <= now
        ],
        "people": people_changes(ticket, story.applied, now),
    }


def _condition(c: ConditionCheck) -> dict[str, Any]:
    return {
        "condition": c.condition,
        "holds": c.holds,
        "seen": c.seen,
        "next_at": format_instant(c.next_at),
    }


def _sla(check: TicketCheck) -> dict[str, Any]:
    return {
        "policy": check.sla_policy,
        "priority": check.sla_priority,
        "targets": [
            {
                "name": t.name.value,
                "calendar": t.calendar,
                "target_seconds": t.target_seconds,
                "elapsed_seconds": t.elapsed_seconds,
                "percent_used": t.percent_used,
                "running": t.running,
                "due": format_instant(t.due),
                "met_at": format_instant(t.met_at),
                "breached_at": format_instant(t.breached_at),
                "paused": [
                    {
                        "from": format_instant(p.start),
                        "to": format_instant(p.end),
                        "status": p.status.value,
                    }
                    for p in t.paused
                ],
            }
            for t in check.targets
        ],
    }


def people_changes(
    ticket: Ticket, applied: Sequence[Action], now: datetime
) -> list[dict[str, Any]]:
    """Changes and comments not made by the sidecar, oldest first."""
    ours: set[tuple[str, str | None]] = set()
    for a in applied:
        if isinstance(a, SetPriority):
            ours.add(("priority", a.priority.value))
        elif isinstance(a, Assign):
            ours.update({("group", a.group), ("assignee", a.user)})
    out: list[dict[str, Any]] = []
    claimed: set[tuple[str, str | None]] = set()
    for c in ticket.history:
        if c.at > now:
            continue
        mark = (c.field, c.new)
        if mark in ours and mark not in claimed:
            claimed.add(mark)  # the sidecar's own write, read back from the helpdesk
            continue
        out.append(
            {
                "at": format_instant(c.at),
                "what": f"{c.field}: {c.old} → {c.new}",
                "by": c.by or "person",  # who, where the helpdesk's history says
            }
        )
    for comment in ticket.comments:
        if comment.at > now or comment.author_role is AuthorRole.SIDECAR or comment.marker:
            continue
        kind = (
            "opened the ticket"
            if comment.opening
            else ("public reply" if comment.public else "internal note")
        )
        out.append(
            {"at": format_instant(comment.at), "what": kind, "by": comment.author_role.value}
        )
    out.sort(key=lambda e: e["at"])
    return out


# -- text ----------------------------------------------------------------------------------------
def render_text(data: dict[str, Any]) -> str:
    """The story for a person, with every time in the SLA calendar's zone."""
    zone = ZoneInfo(data["zone"]) if data.get("zone") else None

    def local(instant: str | None) -> str:
        if instant is None:
            return "—"
        when = datetime.fromisoformat(instant)
        return (when.astimezone(zone) if zone else when).strftime("%a %d %b %Y %H:%M:%S %Z")

    lines = [
        f"{data['ticket']}  {data['title']}",
        f"  {data['status']}, priority {data['priority']}, level {data['level']}; "
        f"organisation {data['organization'] or '—'}, category {data['category'] or '—'}",
        f"  created {local(data['created_at'])}; as of {local(data['now'])}"
        + (f" ({data['zone']})" if data["zone"] else ""),
        "",
        f"SLA policy {data['sla']['policy'] or '—'} (priority {data['sla']['priority']})"
        + (f"; judged by policy version {data['policy_version']}" if data.get("policy_version")
           else ""),
    ]
    for t in data["sla"]["targets"]:
        state = (
            f"breached {local(t['breached_at'])}"
            if t["breached_at"]
            else f"met {local(t['met_at'])}"
            if t["met_at"]
            else ("running" if t["running"] else "paused")
        )
        lines.append(f"  {t['name']:<15} due {local(t['due'])}; {state}; {t['percent_used']}% used")
        for p in t["paused"]:
            lines.append(f"      paused ({p['status']}) {local(p['from'])} → {local(p['to'])}")
    lines += ["", "Rules"]
    for r in data["rules"]:
        if r["fired"]:
            lines.append(f"  ✔ {r['rule']}: fired {', '.join(local(a) for a in r['fired_at'])}")
            seen = "; ".join(f"{i['condition']} ({i['seen']})" for i in r["inputs"] if i["seen"])
            lines.append(
                f"      because {'; '.join(r['reasons'])}" + (f" — saw {seen}" if seen else "")
            )
        else:
            why = "; ".join(f"{c['condition']} (saw {c['seen']})" for c in r["failed"])
            if r["holds_now"]:
                why = "it holds now: the next cycle acts on it"
            lines.append(f"  ✘ {r['rule']}: not fired" + (f" — {why}" if why else ""))
            if r["next_at"]:
                lines.append(f"      would hold at {local(r['next_at'])}")
    lines += ["", "Actions"]
    for a in data["actions"] or []:
        lines.append(f"  {local(a['at'])}  {a['kind']:<20} {a['result']:<14} {a['key']}")
    if not data["actions"]:
        lines.append("  none")
    lines += ["", "What people did"]
    for p in data["people"] or []:
        lines.append(f"  {local(p['at'])}  {p['by']}: {p['what']}")
    if not data["people"]:
        lines.append("  nothing")
    return "\n".join(lines) + "\n"
