"""One instant, settled: carry out a plan, re-plan what it changed, until nothing new is decided.

A plan can make another rule hold at the same instant: a breach raises the priority to urgent,
which makes the major-impact rule hold for an enterprise customer. ``simulate``, ``plan``,
``sync`` and ``run`` all settle through this loop, so they reach the same actions at the same
instant. How a round is carried out is the caller's: the simulator and ``plan`` apply actions
to their own copy of the ticket, the cycle writes them to the helpdesk.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from engine.model import Plan, TicketPlan

MAX_ROUNDS = 16


class UnsettledError(RuntimeError):
    """The plan kept deciding new actions at one instant (a policy whose rules feed each other)."""


def settle(
    first: Plan,
    carry_out: Callable[[Plan], Collection[str]],
    replan: Callable[[Collection[str]], Plan],
    *,
    max_rounds: int = MAX_ROUNDS,
) -> Plan:
    """Carry out ``first``, then re-plan (at the same instant) the tickets each round changed.

    ``carry_out`` returns the keys of the tickets whose state or memory the round changed;
    ``replan`` plans those again. The result is one plan: each ticket's actions, satisfied
    actions and decisions of every round, with its level and next due time from the last.
    """
    merged: dict[str, TicketPlan] = {tp.ticket: tp for tp in first.tickets}
    plan = first
    for _ in range(max_rounds):
        changed = carry_out(plan)
        if not changed:
            return _as_plan(first, merged)
        plan = replan(changed)
        for tp in plan.tickets:
            before = merged.get(tp.ticket)
            merged[tp.ticket] = tp if before is None else _merge(before, tp)
        if not any(tp.actions or tp.satisfied for tp in plan.tickets):
            return _as_plan(first, merged)
    raise UnsettledError(f"still deciding new actions after {max_rounds} rounds at {first.now}")


def _merge(before: TicketPlan, after: TicketPlan) -> TicketPlan:
    return TicketPlan(
        ticket=after.ticket,
        level=after.level,
        sla_of=after.sla_of,
        actions=(*before.actions, *after.actions),
        satisfied=(*before.satisfied, *after.satisfied),
        decisions=(*before.decisions, *after.decisions),
        due_epoch=after.due_epoch,
    )


def _as_plan(first: Plan, merged: dict[str, TicketPlan]) -> Plan:
    return Plan(now=first.now, tickets=tuple(merged.values()))
