"""A busy simulated day against the three emulators: API calls per source per hour, against the
minimum a perfect client would need.

Tickets arrive through the day across Zendesk, Jira and HubSpot (5,000 by default); customers
and agents write on open tickets, agents solve some. The sidecar runs its real cycle (pull
through the emulators' HTTP APIs, plan, write back) every poll interval, with the emulators'
clocks and its own moved together through the simulated day, and the emulators count every
request.

The minimum a perfect client would need, per source and poll:
- reads: one call per poll when nothing changed, else the pages of changed tickets at the
  API's largest page size (Zendesk's ticket export: 1,000; Jira search: 100; HubSpot search:
  200; a HubSpot page is four calls, see PAGE_CALLS), plus where the comments come from:
  Zendesk's event export (one page), HubSpot's threads list (which threads changed) and its
  floor of one read per thread with a new message;
- writes: one call per real change the sidecar made: per ticket it updated (one coalesced
  call, which in Zendesk carries one comment: a second needs a second update; HubSpot
  batches 100 tickets a call), plus each comment or note where the API writes them apart
  from the ticket (Jira, HubSpot), plus each linked issue created (and its remote link back,
  which Jira's create cannot carry).
Target: at most 1.2 times the minimum per source.

Run: .venv/bin/python benchmarks/api_budget.py [--tickets 5000] [--hours 8]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

# benchmarks/engine.py would shadow the ``engine`` package the connectors import
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from connectors.base import ActionStatus
from connectors.emulation import SeedComment, SeedTicket
from engine.model import ActionKind
from escalator.app import open_sidecar
from escalator.clock import Clock
from escalator.config import load_config
from escalator.demo import DemoWorld
from escalator.store import open_store

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("zendesk", "jira", "hubspot")
SHARE = {"zendesk": 0.4, "jira": 0.3, "hubspot": 0.3}  # where the day's tickets arrive
PAGE = {"zendesk": 1000, "jira": 100, "hubspot": 200}
# calls one page of changed tickets needs at the least: HubSpot's search returns neither the
# history of a property nor associations, so a page is the search, a batch read with
# propertiesWithHistory, and the ticket-to-note and ticket-to-company association reads
PAGE_CALLS = {"zendesk": 1, "jira": 1, "hubspot": 4}
API_PATH = {"zendesk": "/api/", "jira": "/rest/", "hubspot": "/"}
DAY_START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday, 08:00 in London
CATEGORIES = ("billing", "technical", "account", "shipping")
TIERS = ("standard", "standard", "standard", "enterprise")


def stopped_at(instant: datetime) -> Callable[[], datetime]:
    """A clock that stays at ``instant``."""
    return lambda: instant


@dataclass
class Hour:
    calls: Counter[str] = field(default_factory=Counter)
    minimum: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)


def _ticket(rng: random.Random, n: int, at: datetime) -> SeedTicket:
    return SeedTicket(
        f"Ticket {n}: {rng.choice(('login fails', 'invoice wrong', 'export slow', 'app crash'))}",
        at,
        status=rng.choice(("new", "new", "open")),
        priority=rng.choice(("low", "normal", "normal", "high", "urgent")),
        organization=f"org-{rng.randrange(400)}",
        category=rng.choice(CATEGORIES),
        customer_tier=rng.choice(TIERS),
        affected_users=rng.choice((None, 1, 3, 20, 80)),
    )


def _requests(world: DemoWorld) -> dict[str, int]:
    """Requests each emulator has answered so far (its API paths only)."""
    counts = {}
    for kind in KINDS:
        requests = getattr(world, kind).server.requests
        counts[kind] = sum(1 for r in requests if r.path.startswith(API_PATH[kind]))
    return counts


def run(tickets: int, hours: int, polls_per_hour: int, seed: int = 5) -> list[Hour]:  # noqa: PLR0915
    rng = random.Random(seed)
    world = DemoWorld()
    world.start()
    clocks = [getattr(world, kind).server.clock for kind in KINDS]
    interval = timedelta(hours=1) / polls_per_hour
    polls = hours * polls_per_hour
    per_poll = tickets / polls
    report_hours = [Hour() for _ in range(hours)]
    open_ids: dict[str, list[str]] = {kind: [] for kind in KINDS}
    threads: set[str] = set()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{tmp}/state.db")
            config = load_config(ROOT / "config")
            app_clock = Clock()  # moved through the day with the emulators': connectors too
            with (
                Path(tmp, "sidecar.log").open("w") as quiet,  # figures here, not logs
                open_sidecar(
                    config, world.env(), store=store, log_stream=quiet, clock=app_clock
                ) as sidecar,
            ):
                for source in sidecar.sources.values():
                    # the day runs in minutes: pacing to a per-minute budget would only wait
                    source.retry.budget = None
                made = 0
                for poll in range(polls):
                    now = DAY_START + poll * interval
                    for clock in clocks:
                        clock.set(now)
                    app_clock.follow(stopped_at(now))
                    changed: dict[str, set[str]] = defaultdict(set)
                    new_threads: set[str] = set()
                    # arrivals in this window
                    due = round((poll + 1) * per_poll) - made
                    for i in range(due):
                        kind = rng.choices(KINDS, [SHARE[k] for k in KINDS])[0]
                        at = now - interval + interval * (i + 1) / (due + 1)
                        (ticket_id,) = getattr(world, kind).seed([_ticket(rng, made + i, at)])
                        open_ids[kind].append(ticket_id)
                        changed[kind].add(ticket_id)
                        if kind == "hubspot":  # customers write in through the inbox
                            world.hubspot.open_thread(ticket_id)
                            new_threads.add(ticket_id)
                    made += due
                    # people at work: replies on about 3% of open tickets a window, some solved
                    for kind in KINDS:
                        emulator = getattr(world, kind)
                        pool = open_ids[kind]
                        for ticket_id in rng.sample(pool, k=min(len(pool), len(pool) // 33)):
                            author = rng.choice(("customer", "agent"))
                            emulator.add_comment(
                                ticket_id, SeedComment(now, author, True, f"{author} writes")
                            )
                            changed[kind].add(ticket_id)
                            if kind == "hubspot":
                                new_threads.add(ticket_id)
                            if author == "agent" and rng.random() < 0.3:
                                emulator.update(ticket_id, status="solved")
                                pool.remove(ticket_id)
                    before = _requests(world)
                    result = sidecar.cycle()
                    after = _requests(world)
                    hour = report_hours[poll // polls_per_hour]
                    writes = _minimum_writes(result.written)
                    threads |= new_threads
                    for kind in KINDS:
                        hour.calls[kind] += after[kind] - before[kind]
                        pages = math.ceil(len(changed[kind]) / PAGE[kind])
                        reads = max(1, pages * PAGE_CALLS[kind])
                        if kind == "hubspot" and new_threads:
                            # the threads list says which threads changed; then one read each
                            reads += math.ceil(len(new_threads) / 100) + len(new_threads)
                        elif kind == "zendesk" and changed[kind]:
                            reads += 1  # comments come from the event export, not the ticket one
                        hour.minimum[kind] += reads + writes[kind]
                        hour.changed[kind] += len(changed[kind])
                        hour.written[kind] += writes[kind]
            store.close()
    finally:
        world.stop()
    return report_hours


def _minimum_writes(written: Sequence[tuple[object, object]]) -> Counter[str]:
    """One call per ticket updated (HubSpot: per 100), plus separate comments and creations."""
    updated: dict[str, set[str]] = defaultdict(set)
    extra: Counter[str] = Counter()
    zendesk_comments: Counter[str] = Counter()  # one comment per Zendesk update: more cost more
    for action, result in written:
        kind_of = action.ticket.split(":", 1)[0]  # type: ignore[attr-defined]
        if result.status is not ActionStatus.APPLIED:  # type: ignore[attr-defined]
            continue
        kind = action.kind  # type: ignore[attr-defined]
        if kind is ActionKind.NOTIFY:
            continue
        if kind is ActionKind.CREATE_LINKED_ISSUE:
            extra["jira"] += 2  # the issue, then its remote link back (no create takes one)
        elif kind is ActionKind.COMMENT and kind_of in ("jira", "hubspot"):
            extra[kind_of] += 1
        elif kind is ActionKind.COMMENT and kind_of == "zendesk":
            zendesk_comments[action.ticket] += 1  # type: ignore[attr-defined]
            updated[kind_of].add(action.ticket)  # type: ignore[attr-defined]
        else:
            updated[kind_of].add(action.ticket)  # type: ignore[attr-defined]
    out = Counter(extra)
    for kind_of, ids in updated.items():
        out[kind_of] += math.ceil(len(ids) / 100) if kind_of == "hubspot" else len(ids)
    out["zendesk"] += sum(n - 1 for n in zendesk_comments.values() if n > 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--hours", type=int, default=8)
    parser.add_argument("--polls-per-hour", type=int, default=12, help="a poll every 5 minutes")
    args = parser.parse_args(argv)
    started = time.monotonic()
    hours = run(args.tickets, args.hours, args.polls_per_hour)
    print(
        f"{args.tickets:,} tickets over {args.hours} h, a poll every "
        f"{60 // args.polls_per_hour} min ({time.monotonic() - started:.0f} s to simulate)\n"
    )
    print(f"{'hour':<6}" + "".join(f"| {k:<31}" for k in KINDS))
    print(f"{'':<6}" + "| calls   minimum  ratio  changed " * len(KINDS))
    totals = Hour()
    for n, hour in enumerate(hours):
        row = f"{DAY_START.hour + n:02}:00 "
        for kind in KINDS:
            calls, minimum = hour.calls[kind], hour.minimum[kind]
            row += f"| {calls:>5}  {minimum:>7}  {calls / minimum:>5.2f}  {hour.changed[kind]:>7} "
            totals.calls[kind] += calls
            totals.minimum[kind] += minimum
        print(row)
    print()
    for kind in KINDS:
        ratio = totals.calls[kind] / totals.minimum[kind]
        verdict = "met" if ratio <= 1.2 else "NOT met"
        print(
            f"{kind:<8} {totals.calls[kind] / len(hours):>8.0f} calls/h, minimum "
            f"{totals.minimum[kind] / len(hours):>8.0f}/h, ratio {ratio:.2f} "
            f"(target <= 1.2: {verdict})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
