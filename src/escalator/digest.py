"""The review of open escalations: a digest sent at its scheduled instant through any channel.

The schedule is the engine's (``engine.digest.Digest.next_at``: a time of day on each business
day of a calendar). The content is built here from the tickets and what was applied to them:
every open escalation the digest's filter admits, grouped by level (highest first), with its
age, the time to its next breach, its owner and its last update. Each send is a ``Notify``
keyed ``digest:<name>:<instant>`` and goes through the ledger (recorded before and after), so
a restart at the same instant does not send it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from connectors.base import ActionResult, ActionStatus
from engine.calendar import from_epoch, to_epoch
from engine.criteria import Context, Population
from engine.digest import Digest
from engine.model import ACTIVE_STATUSES, Notify, Ticket
from engine.planner import Memory, plan_ticket
from engine.policy import Policy

if TYPE_CHECKING:  # the runner hands these in; importing them here would make a cycle
    from apscheduler.schedulers.base import BaseScheduler

    from escalator.cycle import Sidecar


@dataclass(frozen=True, slots=True)
class OpenEscalation:
    ticket: Ticket
    level: int
    since: int  # epoch seconds the ticket first reached a level
    next_breach: int | None  # the earliest due instant of a running target
    breach_target: str | None
    owner: str
    last_update: int


def open_escalations(
    policy: Policy,
    digest: Digest,
    tickets: Sequence[Ticket],
    memories: Mapping[str, Memory],
    now: int,
) -> list[OpenEscalation]:
    """Every active ticket at a level above 0 that ``digest``'s filter admits, highest level
    first, then oldest escalation first."""
    population = Population(tickets)
    rows: list[OpenEscalation] = []
    for ticket in tickets:
        memory = memories.get(ticket.key)
        if memory is None or memory.level <= 0 or ticket.status not in ACTIVE_STATUSES:
            continue
        if to_epoch(ticket.created_at) > now:
            continue
        ctx = Context(ticket, now, memory.level, population, policy.at_risk_percent)
        if not digest.when.holds(ctx):
            continue
        sla = plan_ticket(policy, ticket, memory, now, population).sla
        running = sorted(
            (to_epoch(t.due), t.name.value.replace("_", " "))
            for t in (sla.targets if sla else ())
            if t.running and t.due is not None
        )
        # the next breach ahead; when every running target is past due, the earliest of them
        ahead = [r for r in running if r[0] > now]
        first = (ahead or running)[0] if running else None
        since = min((to_epoch(at) for _, at in memory.reached), default=now)
        rows.append(
            OpenEscalation(
                ticket=ticket,
                level=memory.level,
                since=since,
                next_breach=first[0] if first else None,
                breach_target=first[1] if first else None,
                owner=ticket.assignee or ticket.group or "unassigned",
                last_update=to_epoch(ticket.updated_at),
            )
        )
    rows.sort(key=lambda r: (-r.level, r.since, r.ticket.key))
    return rows


def digest_text(policy: Policy, digest: Digest, rows: Sequence[OpenEscalation], now: int) -> str:
    """The agenda for the progress meeting, as plain text (every channel renders it)."""
    zone = digest.calendar.zone

    def when(epoch: int) -> str:
        return from_epoch(epoch).astimezone(zone).strftime(policy.time_format)

    lines = [f"Open escalations at {when(now)} ({digest.name}): {len(rows)}"]
    if not rows:
        lines.append("None open.")
    for level in sorted({r.level for r in rows}, reverse=True):
        group = [r for r in rows if r.level == level]
        name = policy.levels[level].name if level in policy.levels else f"level {level}"
        lines.append("")
        lines.append(f"Level {level} ({name}): {len(group)}")
        for r in group:
            t = r.ticket
            if r.next_breach is None:
                breach = "no running target"
            elif r.next_breach <= now:
                breach = f"{r.breach_target} breached {duration(now - r.next_breach)} ago"
            else:
                breach = f"{r.breach_target} breaches in {duration(r.next_breach - now)}"
            lines.append(
                f'- {t.key} "{t.title}": escalated {duration(now - r.since)} ago; {breach}; '
                f"owner {r.owner}; last update {when(r.last_update)}"
                + (f"; {t.url}" if t.url else "")
            )
    return "\n".join(lines)


def duration(seconds: int) -> str:
    """``2d 3h``, ``3h 5m``, ``5m`` (``0m`` under a minute)."""
    days, rest = divmod(max(0, seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def digest_action(digest: Digest, at: int, text: str) -> Notify:
    instant = from_epoch(at)
    return Notify(
        key=f"digest:{digest.name}:{instant.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        ticket=f"digest:{digest.name}",
        rule=digest.name,
        at=instant,
        channel=digest.channel,
        text=text,
    )


def send_digest(sidecar: Sidecar, digest: Digest, at: int) -> ActionResult | None:
    """Build and send ``digest`` for its instant ``at``; None when it was sent before."""
    policy = sidecar.config.policy
    tickets, memories = sidecar.snapshot()
    text = digest_text(policy, digest, open_escalations(policy, digest, tickets, memories, at), at)
    action = digest_action(digest, at, text)
    store = sidecar.store
    if not store.begin(action, "digest"):
        return None  # sent (or being sent) already: a restart at the same instant
    notifier = sidecar.notifier
    if notifier is None:
        result = ActionResult(action.key, ActionStatus.FAILED, "no notification channels set up")
    else:
        result = notifier.send(action)
    store.finish(action.key, result.status, result.detail, result.external_id)
    sidecar.log.info("digest.sent", digest=digest.name, key=action.key, status=result.status.value)
    return result


class DigestJobs:
    """One APScheduler date job per digest, at its next instant, re-armed after each send."""

    def __init__(
        self, scheduler: BaseScheduler, sidecar: Sidecar, may_send: Callable[[], bool]
    ) -> None:
        self._scheduler = scheduler
        self._sidecar = sidecar
        self._may_send = may_send

    def arm(self, after: datetime | None = None) -> None:
        """(Re-)schedule every digest of the current config; drop those no longer in it."""
        digests = {d.name: d for d in self._sidecar.config.policy.digests}
        for job in self._scheduler.get_jobs():
            if job.id.startswith("digest:") and job.id[len("digest:") :] not in digests:
                job.remove()
        now = to_epoch(after or self._sidecar.clock())
        for digest in digests.values():
            self._arm_one(digest, now)

    def _arm_one(self, digest: Digest, after: int) -> None:
        at = digest.next_at(after)
        if at is None:
            return
        self._scheduler.add_job(
            self.fire,
            "date",
            run_date=from_epoch(at),
            args=[digest.name, at],
            id=f"digest:{digest.name}",
            replace_existing=True,
        )

    def fire(self, name: str, at: int) -> None:
        """The job: send digest ``name`` for its instant ``at``, then arm its next instant."""
        digest = next((d for d in self._sidecar.config.policy.digests if d.name == name), None)
        if digest is None:
            return
        try:
            if self._may_send():  # a standby sends nothing: the active process does
                send_digest(self._sidecar, digest, at)
        except Exception as exc:  # a store or channel fault: the next instant tries again
            self._sidecar.log.error("digest.failed", digest=name, error=str(exc))
        finally:
            self._arm_one(digest, at)
