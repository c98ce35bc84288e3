"""Per-ticket facts the KPIs are counted from, derived from what the store keeps.

The store holds each ticket as the helpdesk last showed it (``engine.codec`` JSON) and a ledger
of what the sidecar decided and wrote. From those: the SLA clocks as of the report's end (the
engine's own ``build_clocks``), the levels reached and when (the level labels the sidecar
wrote), the confirmation request and what the customer did after it. Tickets are decoded by
hand, not through pydantic: a report reads 100,000 of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from engine.calendar import to_epoch
from engine.criteria import (
    AllOf,
    Always,
    AnyOf,
    Context,
    Criterion,
    NoneOf,
    Population,
    Recurrence,
    Surge,
)
from engine.explain import ticket_as_of
from engine.model import (
    ACTIVE_STATUSES,
    STATUS_BY_VALUE,
    AuthorRole,
    Change,
    Comment,
    LinkedIssue,
    Priority,
    SetPriority,
    Status,
    TargetName,
    Ticket,
)
from engine.planner import Memory, choose_sla_policy, sla_priority
from engine.policy import CommentStep, Policy, SlaPolicy
from engine.sla import build_clocks

# (ticket, kind, rule, payload) of an action applied or found already there: the ledger as
# ``StateStore.applied_payloads`` reads it
Applied = tuple[str, str, str, dict[str, Any]]
AGENT = AuthorRole.AGENT
FINAL = frozenset({Status.SOLVED, Status.CLOSED})


class Reach(NamedTuple):  # a tuple: a report makes hundreds of thousands of these
    """A ticket reached ``level`` at ``at`` (epoch seconds) through ``rule``."""

    level: int
    at: int
    rule: str


class TargetFact(NamedTuple):
    name: TargetName
    met_at: int | None
    breached_at: int | None
    overrun: int | None  # seconds from the breach to the event that ended it (or the end)


@dataclass(slots=True)
class TicketFacts:
    ticket: Ticket
    created: int
    sla_priority: Priority
    resolved_at: int | None  # entered solved/closed (the current stretch), if it is now
    reaches: list[Reach] = field(default_factory=list)
    targets: dict[TargetName, TargetFact] = field(default_factory=dict)
    rules: set[str] = field(default_factory=set)  # rules that decided something for it
    confirmation_at: int | None = None  # when the sidecar asked the customer to confirm
    agent_actions: list[int] = field(default_factory=list)  # agent comments, epoch, sorted

    @property
    def level(self) -> int:
        return max((r.level for r in self.reaches), default=0)

    @property
    def escalated(self) -> bool:
        return bool(self.reaches)

    def target(self, name: TargetName) -> TargetFact | None:
        return self.targets.get(name)

    def confirmation(self) -> str | None:
        """confirmed / reopened / silent after the confirmation request; None if never asked."""
        asked = self.confirmation_at
        if asked is None:
            return None
        t = self.ticket
        if t.status in ACTIVE_STATUSES:
            return "reopened"
        replied = any(
            c.author_role is AuthorRole.CUSTOMER and c.public and to_epoch(c.at) > asked
            for c in t.comments
        )
        return "confirmed" if replied or t.satisfaction is not None else "silent"


# -- decoding -------------------------------------------------------------------------------------
_instant = datetime.fromisoformat
# enum members by value: a dict lookup is several times cheaper than calling the enum
_PRIORITY = {p.value: p for p in Priority}
_ROLE = {r.value: r for r in AuthorRole}


def decode_ticket(d: dict[str, Any]) -> Ticket:
    """``engine.codec.ticket_to_dict`` back into a Ticket, without validation overhead.
    Keys the model has had from the start are read directly; later ones may be missing from
    tickets a previous version stored (``opening``, ``by``, ``satisfaction``)."""
    return Ticket(
        d["system"],
        d["id"],
        _instant(d["created_at"]),
        _instant(d["updated_at"]),
        STATUS_BY_VALUE[d["status"]],
        _PRIORITY[d["priority"]],
        d["title"] or "",
        d["url"],
        d["requester"],
        d["organization"],
        d["assignee"],
        d["group"],
        frozenset(d["labels"] or ()),
        d["category"],
        d["customer_tier"],
        d["affected_users"],
        tuple(
            [
                Comment(
                    _instant(c["at"]),
                    _ROLE[c["author_role"]],
                    c["public"],
                    c["body"] or "",
                    c["id"],
                    c["author_id"],
                    c["marker"],
                    c.get("opening", False),
                )
                for c in d["comments"] or ()
            ]
        ),
        tuple(
            [
                Change(_instant(h["at"]), h["field"], h["old"], h["new"], h.get("by"))
                for h in d["history"] or ()
            ]
        ),
        tuple(
            [
                LinkedIssue(
                    i["system"],
                    i["key"],
                    i["url"],
                    _instant(i["resolved_at"]) if i["resolved_at"] else None,
                    i["marker"],
                )
                for i in d["linked_issues"] or ()
            ]
        ),
        d.get("satisfaction"),
    )


# -- which rules mean what ------------------------------------------------------------------------
def _uses(criterion: Criterion, kinds: tuple[type[Criterion], ...]) -> bool:
    """``criterion`` is, or contains, a criterion of one of ``kinds``."""
    if isinstance(criterion, kinds):
        return True
    if isinstance(criterion, AllOf | AnyOf):
        return any(_uses(c, kinds) for c in criterion.children)
    if isinstance(criterion, NoneOf):
        return _uses(criterion.child, kinds)
    return False


def recurrence_rules(policy: Policy) -> frozenset[str]:
    """Rules that fire on repeated problems (a recurrence criterion)."""
    return frozenset(r.name for r in policy.rules if _uses(r.when, (Recurrence,)))


def confirmation_rules(policy: Policy) -> frozenset[str]:
    """Rules that ask the customer, publicly, once the ticket is solved: the confirmation."""
    return frozenset(
        r.name
        for r in policy.rules
        if Status.SOLVED in r.statuses
        and any(isinstance(s, CommentStep) and s.public for s in r.steps)
    )


# -- facts ----------------------------------------------------------------------------------------
def ticket_facts(
    policy: Policy,
    payloads: Iterable[dict[str, Any]],
    applied: Iterable[Applied],
    as_of: datetime,
) -> list[TicketFacts]:
    """Facts of every ticket created by ``as_of``, each as it was at that instant."""
    end = to_epoch(as_of)
    tickets = []
    for payload in payloads:
        ticket = decode_ticket(payload)
        if to_epoch(ticket.created_at) > end:  # as of ``as_of``, that instant included
            continue
        if ticket.updated_at > as_of:
            ticket = ticket_as_of(ticket, as_of)
        tickets.append(ticket)
    # choosing a ticket's SLA policy looks at other tickets only if a policy's `when` counts
    # them (recurrence, surge): index every ticket only then
    across = any(_uses(p.when, (Recurrence, Surge)) for p in policy.sla_policies)
    population = Population(tickets if across else ())
    confirm = confirmation_rules(policy)
    by_ticket: dict[str, list[Applied]] = {}
    for done in applied:
        by_ticket.setdefault(done[0], []).append(done)
    # one SLA policy for every ticket (no `when`): chosen once, not per ticket
    first = policy.sla_policies[0] if policy.sla_policies else None
    fixed = first if first is not None and isinstance(first.when, Always) else None
    out = []
    for ticket in tickets:
        key = ticket.key
        entries = by_ticket.get(key, ())
        out.append(_facts(policy, ticket, key, entries, end, population, confirm, fixed))
    return out


def _facts(
    policy: Policy,
    ticket: Ticket,
    key: str,
    entries: Sequence[Applied],
    end: int,
    population: Population,
    confirm: frozenset[str],
    fixed: SlaPolicy | None,
) -> TicketFacts:
    reaches: dict[int, Reach] = {}
    rules: set[str] = set()
    priority_sets: list[SetPriority] = []
    confirmation_at: int | None = None
    for _, kind, rule, p in entries:
        at = to_epoch(_instant(p["at"]))
        if at > end:  # decided after ``as_of``
            continue
        rules.add(rule)
        level = p.get("level")
        if kind == "add_labels" and level is not None and level not in reaches:
            reaches[level] = Reach(level, at, rule)  # the level label marks arrival
        elif kind == "set_priority":
            priority_sets.append(
                SetPriority(
                    key=p["key"],
                    ticket=p["ticket"],
                    rule=rule,
                    at=_instant(p["at"]),
                    level=level,
                    priority=Priority(p["priority"]),
                    previous=Priority(p["previous"]),
                )
            )
        elif kind == "comment" and p.get("public") and rule in confirm:
            confirmation_at = at if confirmation_at is None else min(confirmation_at, at)
    priority = (
        sla_priority(ticket, Memory(priority_sets=tuple(priority_sets)))
        if priority_sets
        else ticket.priority
    )
    created = int(ticket.created_at.timestamp())
    agent_actions: list[int] = []
    replies: list[int] = []  # public agent replies: what the SLA counts
    for c in ticket.comments:
        if c.author_role is AGENT and not c.opening:
            at = int(c.at.timestamp())
            agent_actions.append(at)
            if c.public:
                replies.append(at)
    if len(agent_actions) > 1:  # usually in order already, and mostly one or two
        agent_actions.sort()
        replies.sort()
    facts = TicketFacts(
        ticket=ticket,
        created=created,
        sla_priority=priority,
        resolved_at=_resolved_at(ticket, end),
        reaches=sorted(reaches.values(), key=lambda r: (r.at, r.level)) if reaches else [],
        rules=rules,
        confirmation_at=confirmation_at,
        agent_actions=agent_actions,
    )
    sla_policy = fixed
    if sla_policy is None:
        ctx = Context(ticket, end, facts.level, population, policy.at_risk_percent)
        sla_policy = choose_sla_policy(policy, ctx)
    if sla_policy is not None and priority in sla_policy.targets:
        clocks = build_clocks(
            ticket,
            sla_policy.targets[priority],
            policy.runs_while,
            end,
            replies=replies,
            created=created,
        )
        for clock in clocks:
            breached = clock.breached_at if clock.breached_at is not None else None
            if breached is not None and breached > end:
                breached = None
            overrun = None
            if breached is not None:
                overrun = _ended(clock.name, breached, replies, facts.resolved_at, end) - breached
            facts.targets[clock.name] = TargetFact(clock.name, clock.met_at, breached, overrun)
    return facts


def _resolved_at(ticket: Ticket, end: int) -> int | None:
    """When the ticket entered solved/closed, if it is there now (the current stretch)."""
    if ticket.status not in FINAL:
        return None
    entered = to_epoch(ticket.created_at)
    for change in ticket.history:
        if change.field != "status":
            continue
        at = to_epoch(change.at)
        if at > end:
            break
        was_final = change.old in ("solved", "closed")
        if change.new in ("solved", "closed") and not was_final:
            entered = at
    return entered


def _ended(
    name: TargetName, breached: int, replies: Sequence[int], resolved: int | None, end: int
) -> int:
    """The event that ended a breached target's cycle: a reply, the resolution, or the end."""
    if name is TargetName.RESOLUTION:
        return resolved if resolved is not None else end
    after = next((r for r in replies if r >= breached), None)
    return after if after is not None else end
