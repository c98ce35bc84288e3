"""The escalation KPIs of a period, as one JSON-ready dict: every format renders this dict.

Scope: the tickets created in the period, each as it stood at the period's end (or now, if
that is earlier). A ticket is escalated once it reached level 1 or above; it was resolved
within SLA when it is solved and its resolution target was met. Time at a level runs until the
next level, the resolution, or the period's end. Service credits count the breaches that
happened in the period, whenever their ticket was created. Shares are fractions rounded to
four places; durations are wall-clock seconds.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.calendar import from_epoch, to_epoch
from engine.codec import format_instant
from engine.model import TargetName
from engine.policy import Policy
from escalator.config.contracts import ContractModel
from escalator.report.credits import service_credits
from escalator.report.facts import TicketFacts, recurrence_rules

UNKNOWN = "(none)"
OUTCOMES = ("confirmed", "reopened", "silent")
ESCALATION_DIMENSIONS = (
    "category",
    "level",
    "rule",
    "source",
    "organization",
)  # after the sidecar asked to confirm the fix
TIMELINES = 25  # the slowest escalated tickets whose timeline the summary shows
# buckets of the time-at-level distribution: (label, upper bound in seconds)
BUCKETS = (("< 1 h", 3600), ("1–4 h", 4 * 3600), ("4–8 h", 8 * 3600), ("8–24 h", 86400),
           ("1–3 d", 3 * 86400), ("≥ 3 d", None))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    label: str


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _stats(values: Sequence[int]) -> dict[str, Any]:
    return {
        "count": len(values),
        "mean_seconds": round(statistics.fmean(values)) if values else None,
        "median_seconds": round(statistics.median(values)) if values else None,
    }


def _by(
    rows: Iterable[tuple[TicketFacts, bool]], key: Callable[[TicketFacts], str]
) -> dict[str, dict[str, Any]]:
    """Escalated tickets and how many were resolved within SLA, per ``key``."""
    totals: Counter[str] = Counter()
    good: Counter[str] = Counter()
    for f, ok in rows:
        k = key(f)
        totals[k] += 1
        good[k] += ok
    return {
        k: {"escalated": totals[k], "within_sla": good[k], "share": share(good[k], totals[k])}
        for k in sorted(totals)
    }


def _within_sla(f: TicketFacts) -> bool:
    resolution = f.targets.get(TargetName.RESOLUTION)
    return (
        f.resolved_at is not None
        and resolution is not None
        and resolution.met_at is not None
        and resolution.breached_at is None
    )


def iso(epoch: int) -> str:
    """``engine.codec.format_instant`` of an epoch, cheaply: a report writes thousands."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def build_report(
    policy: Policy,
    facts: Sequence[TicketFacts],
    period: Period,
    contracts: dict[str, ContractModel] | None = None,
) -> dict[str, Any]:
    start, end = to_epoch(period.start), to_epoch(period.end)
    scope = [f for f in facts if start <= f.created < end]
    escalated = [f for f in scope if f.escalated]
    rated_sla = [(f, _within_sla(f)) for f in escalated]
    levels = policy.levels

    def src(f: TicketFacts) -> str:
        return f.ticket.system

    def cat(f: TicketFacts) -> str:
        return f.ticket.category or UNKNOWN

    def org(f: TicketFacts) -> str:
        return f.ticket.organization or UNKNOWN

    # escalations: each level a ticket reached is one escalation
    events = [(f, r) for f in escalated for r in f.reaches]
    by: dict[str, Counter[str]] = {k: Counter() for k in ESCALATION_DIMENSIONS}
    cat_level: Counter[tuple[str, int]] = Counter()
    for f, r in events:  # one pass: a month can hold a hundred thousand escalations
        ticket = f.ticket
        category = ticket.category or UNKNOWN
        by["category"][category] += 1
        by["level"][str(r.level)] += 1
        by["rule"][r.rule] += 1
        by["source"][ticket.system] += 1
        by["organization"][ticket.organization or UNKNOWN] += 1
        cat_level[(category, r.level)] += 1
    escalations: dict[str, Any] = {"total": len(events)}
    for k in ESCALATION_DIMENSIONS:
        escalations[f"by_{k}"] = dict(sorted(by[k].items()))

    # time to resolution and at each level
    resolved = [f for f in escalated if f.resolved_at is not None]
    at_level: dict[int, list[int]] = defaultdict(list)
    for f in escalated:
        stop = f.resolved_at if f.resolved_at is not None else end
        for i, r in enumerate(f.reaches):
            left = f.reaches[i + 1].at if i + 1 < len(f.reaches) else stop
            at_level[r.level].append(max(0, min(left, stop) - r.at))

    # repeated problems: tickets a recurrence rule fired for
    repeat_rules = recurrence_rules(policy)
    repeats = Counter((org(f), cat(f)) for f in scope if not f.rules.isdisjoint(repeat_rules))

    # SLA attainment, and every breach
    met: Counter[TargetName] = Counter()
    missed: Counter[TargetName] = Counter()
    breaches: list[dict[str, Any]] = []
    weekly: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in scope:
        if not f.targets:
            continue
        week = weekly[_week(f.created)]
        for name, t in f.targets.items():
            if t.breached_at is not None:
                missed[name] += 1
                week[1] += 1
                breaches.append(
                    {
                        "ticket": f.ticket.key,
                        "url": f.ticket.url,
                        "organization": f.ticket.organization,
                        "target": name.value,
                        "priority": f.sla_priority.value,
                        "breached_at": iso(t.breached_at),
                        "by_seconds": t.overrun,
                    }
                )
            elif t.met_at is not None:
                met[name] += 1
                week[0] += 1
    attainment = {
        name.value: {
            "met": met[name],
            "breached": missed[name],
            "share": share(met[name], met[name] + missed[name]),
        }
        for name in TargetName
    }
    breaches.sort(key=lambda b: (b["breached_at"], b["ticket"], b["target"]))

    # team responsiveness: from reaching a level to the assigned group's first agent comment
    waits: dict[str, list[int]] = defaultdict(list)
    waiting: Counter[str] = Counter()
    for f, r in events:
        level = levels.get(r.level)
        group = level.group if level is not None else None
        if group is None:
            continue
        first = next((a for a in f.agent_actions if a >= r.at), None)
        if first is None:
            waiting[group] += 1
        else:
            waits[group].append(first - r.at)
    responsiveness = {
        g: {**_stats(waits.get(g, [])), "no_action_yet": waiting[g]}
        for g in sorted(set(waits) | set(waiting))
    }

    rated = [f for f in escalated if f.ticket.satisfaction is not None]
    good = sum(1 for f in rated if f.ticket.satisfaction == "good")
    outcomes = Counter(c for f in escalated if (c := f.confirmation()) is not None)
    asked = sum(outcomes.values())

    return {
        "period": {
            "from": format_instant(period.start),
            "to": format_instant(period.end),
            "label": period.label,
        },
        "tickets": len(scope),
        "escalated": len(escalated),
        "resolved_within_sla": {
            "overall": _by(rated_sla, lambda f: "all").get(
                "all", {"escalated": 0, "within_sla": 0, "share": None}
            ),
            "by_priority": _by(rated_sla, lambda f: f.sla_priority.value),
            "by_source": _by(rated_sla, src),
            "by_category": _by(rated_sla, cat),
            "by_level": _by(rated_sla, lambda f: str(f.level)),
        },
        "time_to_resolution": _stats(
            [f.resolved_at - f.created for f in resolved if f.resolved_at]
        ),
        "time_at_level": {str(n): _stats(at_level[n]) for n in sorted(at_level)},
        "time_at_level_distribution": [
            {"level": n, "bucket": label, "escalations": k}
            for n in sorted(at_level)
            for label, k in _buckets(at_level[n])
        ],
        "escalations": escalations,
        "escalations_by_category_and_level": [
            {"category": c, "level": n, "escalations": k} for (c, n), k in sorted(cat_level.items())
        ],
        "recurrence": [
            {"organization": o, "category": c, "hits": n}
            for (o, c), n in sorted(repeats.items(), key=lambda x: (-x[1], x[0]))
        ],
        "sla_attainment": attainment,
        "sla_attainment_by_week": [
            {"week": w, "met": m, "breached": b, "share": share(m, m + b)}
            for w, (m, b) in sorted(weekly.items())
        ],
        "breaches": breaches,
        "responsiveness": responsiveness,
        "satisfaction": {"rated": len(rated), "good": good, "share_good": share(good, len(rated))},
        "confirmation": {
            "asked": asked,
            **{k: outcomes[k] for k in OUTCOMES},
            **{f"share_{k}": share(outcomes[k], asked) for k in OUTCOMES},
        },
        "reviews": _reviews(policy, scope),
        "common_problems": _common_problems(scope),
        "timelines": _timelines(escalated, levels),
        "credits": service_credits(facts, contracts or {}, start, end),
    }


def _buckets(values: Sequence[int]) -> list[tuple[str, int]]:
    counts = dict.fromkeys((label for label, _ in BUCKETS), 0)
    for v in values:
        label = next(lab for lab, upper in BUCKETS if upper is None or v < upper)
        counts[label] += 1
    return list(counts.items())


def _week(epoch: int) -> str:
    return _week_of_day(epoch // 86400)


@functools.cache
def _week_of_day(day: int) -> str:
    """The ISO week of a UTC day (days since the epoch): asked for 100,000 times, of a few."""
    year, week, _ = datetime.fromtimestamp(day * 86400, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _reviews(policy: Policy, scope: Sequence[TicketFacts]) -> dict[str, Any]:
    """Post-escalation reviews (rules marked ``review: true``) opened, and those still open: a
    review's linked issue (if it made one) not yet resolved."""
    rules = {r.name for r in policy.rules if r.review}
    opened = []
    for f in scope:
        for rule in sorted(rules & f.rules):
            issues = [i for i in f.ticket.linked_issues if i.marker and f":{rule}:" in i.marker]
            opened.append(
                {
                    "ticket": f.ticket.key,
                    "url": f.ticket.url,
                    "rule": rule,
                    "issue": issues[0].key if issues else None,
                    "open": bool(issues) and issues[0].resolved_at is None,
                }
            )
    return {
        "opened": len(opened),
        "still_open": sum(1 for r in opened if r["open"]),
        "list": opened,
    }


def _common_problems(scope: Sequence[TicketFacts]) -> list[dict[str, Any]]:
    tickets: Counter[str] = Counter()
    escalated: Counter[str] = Counter()
    for f in scope:
        c = f.ticket.category or UNKNOWN
        tickets[c] += 1
        escalated[c] += f.escalated
    ranked = sorted(tickets, key=lambda c: (-escalated[c], -tickets[c], c))
    return [{"category": c, "tickets": tickets[c], "escalated": escalated[c]} for c in ranked[:10]]


def _timelines(escalated: Sequence[TicketFacts], levels: Any) -> list[dict[str, Any]]:
    """The slowest escalated tickets, each with its levels and its resolution."""
    resolved = [f for f in escalated if f.resolved_at is not None]
    resolved.sort(key=lambda f: (-(f.resolved_at or 0) + f.created, f.ticket.key))
    return [
        {
            "ticket": f.ticket.key,
            "url": f.ticket.url,
            "title": f.ticket.title,
            "created_at": format_instant(from_epoch(f.created)),
            "levels": [
                {
                    "level": r.level,
                    "name": levels[r.level].name if r.level in levels else str(r.level),
                    "at": format_instant(from_epoch(r.at)),
                    "rule": r.rule,
                }
                for r in f.reaches
            ],
            "resolved_at": format_instant(from_epoch(f.resolved_at or 0)),
            "seconds": (f.resolved_at or 0) - f.created,
        }
        for f in resolved[:TIMELINES]
    ]
