"""Service credits: per organisation and month, the breaches a contract pays for and the credit.

A breach counts in the month (UTC) it happened. Each breach matching a credit term (target and
the priority the SLA followed) earns that term's percentage of the monthly fee; the month's
total is capped at the contract's cap. An organisation's own contract wins over its tier's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.calendar import from_epoch
from engine.codec import format_instant
from escalator.config.contracts import ContractModel
from escalator.report.facts import TicketFacts


def contract_for(
    contracts: Mapping[str, ContractModel], organization: str | None, tier: str | None
) -> tuple[str, ContractModel] | None:
    if organization is not None:
        for name, c in contracts.items():
            if organization in c.organizations:
                return name, c
    if tier is not None:
        for name, c in contracts.items():
            if tier in c.tiers:
                return name, c
    return None


def service_credits(
    facts: Sequence[TicketFacts], contracts: Mapping[str, ContractModel], start: int, end: int
) -> list[dict[str, Any]]:
    """Credits owed for breaches between ``start`` and ``end`` (epoch seconds)."""
    if not contracts:
        return []
    owed: dict[tuple[str, str], dict[str, Any]] = {}
    lines: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in facts:
        t = f.ticket
        if t.organization is None:
            continue  # a credit is owed to a customer organisation
        if not any(x.breached_at is not None for x in f.targets.values()):
            continue
        found = contract_for(contracts, t.organization, t.customer_tier)
        if found is None:
            continue
        name, contract = found
        for target in f.targets.values():
            at = target.breached_at
            if at is None or not start <= at < end:
                continue
            term = next(
                (
                    c
                    for c in contract.credits
                    if c.target is target.name and f.sla_priority in c.priorities
                ),
                None,
            )
            if term is None:
                continue
            month = datetime.fromtimestamp(at, UTC).strftime("%Y-%m")
            key = (t.organization, month)
            owed.setdefault(key, {"contract": name, "terms": contract})
            lines[key].append(
                {
                    "ticket": t.key,
                    "url": t.url,
                    "target": target.name.value,
                    "priority": f.sla_priority.value,
                    "breached_at": format_instant(from_epoch(at)),
                    "percent": term.percent,
                }
            )
    out = []
    for (organization, month), info in sorted(owed.items()):
        contract = info["terms"]
        breaches = sorted(
            lines[(organization, month)], key=lambda b: (b["breached_at"], b["ticket"])
        )
        earned = round(sum(b["percent"] for b in breaches), 4)
        percent = min(earned, contract.cap_percent)
        out.append(
            {
                "organization": organization,
                "month": month,
                "contract": info["contract"],
                "breaches": breaches,
                "earned_percent": earned,
                "credited_percent": percent,
                "capped": earned > contract.cap_percent,
                "monthly_fee": contract.monthly_fee,
                "credit": round(contract.monthly_fee * percent / 100, 2),
                "currency": contract.currency,
            }
        )
    return out
