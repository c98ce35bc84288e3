"""The contexts templates are rendered with, for one ticket in one plan: built lazily, so
only the rules that fire pay for them (the planner decides; this module words it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.calendar import from_epoch, to_epoch
from engine.criteria import Context, requested_level, requester
from engine.model import AuthorRole, Priority, Render, TargetName
from engine.policy import Level, Policy, Rule, SlaPolicy, Template
from engine.sla import TargetClock

if TYPE_CHECKING:
    from engine.planner import Memory


def _duration(seconds: int) -> str:
    """``1d 2h 5m`` (whole minutes; ``0m`` under one)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    return " ".join([*parts, f"{rest // 60}m"]) if rest // 60 or not parts else " ".join(parts)


class Renderer:
    """Builds template contexts for one ticket, lazily: only firing rules pay for it."""

    # slotted: a first plan makes one per ticket, and the texts it defers keep it
    __slots__ = ("_base", "_ctx", "_policy", "_priority", "_reached", "_sla_policy", "ticket_key")

    def __init__(
        self,
        policy: Policy,
        ctx: Context,
        memory: Memory,
        sla_policy: SlaPolicy | None,
        priority: Priority,
        ticket_key: str,
    ) -> None:
        self._policy = policy
        self._ctx = ctx
        self.ticket_key = ticket_key  # one copy for the ticket and every action decided
        # as of this plan: a text rendered later must not see levels the memory records since
        self._reached = tuple(memory.reached)
        self._sla_policy = sla_policy
        self._priority = priority
        self._base: dict[str, Any] | None = None

    def _format(self, epoch: int | None, clock: TargetClock | None = None) -> str | None:
        if epoch is None:
            return None
        zone = (clock.calendar.zone if clock is not None else None) or self._zone()
        return from_epoch(epoch).astimezone(zone).strftime(self._policy.time_format)

    def _zone(self) -> Any:
        if self._ctx.clocks:
            return self._ctx.clocks[0].calendar.zone
        first = next(iter(self._policy.calendars.values()), None)
        return first.zone if first is not None else None

    def _shared(self) -> dict[str, Any]:
        if self._base is not None:
            return self._base
        ctx, t = self._ctx, self._ctx.ticket
        sla: dict[str, Any] = {}
        for clock in ctx.clocks:
            sla[clock.name.value] = {
                "due": self._format(clock.due(), clock),
                "met_at": self._format(clock.met_at, clock),
                "breached_at": self._format(clock.breached_at, clock),
                "running": clock.running,
                "elapsed_percent": (100 * clock.elapsed()) // clock.target if clock.target else 0,
            }
        promise = [
            (due, c)
            for c in ctx.clocks
            if c.running
            and c.name in (TargetName.FIRST_RESPONSE, TargetName.NEXT_UPDATE)
            and (due := c.due()) is not None
            and due >= ctx.now
        ]
        earliest = min(promise, key=lambda p: p[0]) if promise else None
        self._base = {
            "ticket": {
                "id": t.id,
                "key": self.ticket_key,
                "system": t.system,
                "title": t.title,
                "url": t.url,
                "status": t.status.value,
                "priority": t.priority.value,
                "sla_priority": self._priority.value,
                "organization": t.organization,
                "requester": t.requester,
                "category": t.category,
                "customer_tier": t.customer_tier,
                "affected_users": t.affected_users,
                "group": t.group,
                "assignee": t.assignee,
            },
            "sla": sla,
            "sla_policy": self._sla_policy.name if self._sla_policy else None,
            "promised_update": self._format(*earliest) if earliest else None,
            "levels_reached": self._levels_reached(),
            "breaches": [
                {"target": c.name.value.replace("_", " "), "at": self._format(c.breached_at, c)}
                for c in ctx.clocks
                if c.breached_at is not None
            ],
            # what was changed on the ticket, by whom it was assigned to: the review's "who acted"
            "changes": [
                {
                    "at": self._format(to_epoch(c.at)),
                    "field": c.field,
                    "old": c.old,
                    "new": c.new,
                }
                for c in t.history
            ],
            "now": self._format(ctx.now),
            # an agent's request for escalation, and their latest internal note: its reason
            "request": self._request(),
            "agent_note": next(
                (
                    c.body
                    for c in reversed(t.comments)
                    if not c.public and c.author_role is AuthorRole.AGENT and not c.opening
                ),
                None,
            ),
        }
        return self._base

    def _request(self) -> dict[str, Any]:
        ticket = self._ctx.ticket
        level, label = requested_level(self._policy.requests, ticket)
        return {
            "level": level or None,
            "label": label,
            "by": requester(ticket, label) if label else None,
        }

    def _levels_reached(self) -> list[dict[str, Any]]:
        """Each level reached, when, and how long the ticket stayed there (until the next
        level, or until now)."""
        reached = [(n, to_epoch(w)) for n, w in self._reached if n in self._policy.levels]
        out = []
        for i, (n, at) in enumerate(reached):
            left = reached[i + 1][1] if i + 1 < len(reached) else self._ctx.now
            out.append(
                {
                    "number": n,
                    "name": self._policy.levels[n].name,
                    "at": self._format(at),
                    "left_at": self._format(left),
                    "time_at_level": _duration(max(0, left - at)),
                }
            )
        return out

    def later(
        self, template: Template, rule: Rule, level: Level | None, matched: TargetClock | None
    ) -> Render:
        """``template`` rendered for ``rule`` when called: what an action's text is read by."""
        return (Renderer.render, self, template, rule, level, matched)

    def render(
        self, template: Template, rule: Rule, level: Level | None, matched: TargetClock | None
    ) -> str:
        return template(self.context(rule, level, matched))

    def context(
        self, rule: Rule, level: Level | None, matched: TargetClock | None
    ) -> dict[str, Any]:
        context = dict(self._shared())
        context["rule"] = {"name": rule.name, "description": rule.description}
        context["level"] = (
            {
                "number": level.number,
                "name": level.name,
                "group": level.group,
                "channel": level.channel,
            }
            if level is not None
            else None
        )
        context["target"] = (
            {
                "name": matched.name.value,
                "label": matched.name.value.replace("_", " "),
                "due": self._format(matched.due(), matched),
            }
            if matched is not None
            else None
        )
        return context
