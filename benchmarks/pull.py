"""Full pull of N changed tickets from each helpdesk's emulator: tickets/s and API calls.

For each connector: start its emulator on 127.0.0.1, seed N changed tickets (comments, status
and priority history), build the connector the way the app does (registry + Settings +
create + RetryPolicy), pull from the first cursor until a pull brings nothing new, and count
the requests the emulator saw. A second pass injects a few 429s (Retry-After 1 s, slept for
real) spread over the pull, to show what rate limiting costs.

Target: the defaults finish in under ~3 minutes on 2 cores.
Run: .venv/bin/python benchmarks/pull.py [--tickets N] [--only zendesk,jira,hubspot]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# benchmarks/engine.py would shadow the ``engine`` package the connectors import
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from connectors import registry
from connectors.emulation import Emulator, EmulatorServer, SeedComment, SeedTicket
from connectors.retry import RetryPolicy

KINDS = tuple(registry.known_kinds())  # every registered helpdesk, built in or not
RETRY_AFTER = 1.0  # seconds each injected 429 asks for; waited for real
API_PATHS = {  # requests that count as API calls when a 429 is injected into them
    "zendesk": r"^/api/",
    "jira": r"^/rest/",
    "hubspot": r"^/(crm|conversations)/",
}  # any other helpdesk: every path (r"^/")
STEADY = "steady"

SUBJECTS = (
    "Cannot log in after password reset",
    "Invoice shows the wrong VAT number",
    "Export to CSV times out",
    "Mobile app crashes on startup",
    "Webhook deliveries delayed",
    "Charged twice for the annual plan",
    "SSO redirect loop with Okta",
    "Dashboard widgets load blank",
    "Need to add 40 seats before Friday",
    "API returns 502 for bulk endpoint",
)
CUSTOMER_LINES = (
    "This is blocking our whole team, please advise.",
    "We tried clearing the cache and it still happens.",
    "Any update? Our finance team is waiting on this.",
    "Attached the logs from this morning's failure.",
    "It started right after your last release.",
)
AGENT_LINES = (
    "Thanks for the report, I am looking into it now.",
    "Could you send the request id from the error page?",
    "Engineering has reproduced it; a fix is being prepared.",
    "Internal: checked the billing ledger, duplicate capture confirmed.",
    "We deployed a workaround, can you confirm it works for you?",
)
CATEGORIES = ("billing", "technical", "account")
TIERS = ("standard", "standard", "gold", "enterprise")
GROUPS = ("Tier 2 Support", "Support Managers", "Executive Escalations")


# each emulator as the benchmark wants it: Zendesk's export pages hold up to 1,000 tickets
EMULATOR_OPTIONS: dict[str, dict[str, Any]] = {"zendesk": {"page_size": 1000}}


def new_emulator(kind: str) -> Emulator:
    """The emulator of any registered helpdesk (``KeyError`` for an unknown kind); the
    contract it keeps is ``connectors.emulation.Emulator``'s."""
    made: Emulator = registry.emulator_class(kind)(**EMULATOR_OPTIONS.get(kind, {}))
    return made


# -- the tickets ----------------------------------------------------------------------------
def make_seeds(n: int, now: datetime, seed: int = 11) -> list[SeedTicket]:
    """``n`` tickets from the last week, each with 1-4 comments, customer first."""
    rng = random.Random(seed)
    orgs = [f"Customer {i:03d} Ltd" for i in range(max(1, n // 10))]
    tickets = []
    for i in range(n):
        created = now - timedelta(minutes=rng.randint(30, 7 * 24 * 60))
        at = created
        comments = []
        for c in range(rng.randint(1, 4)):
            at += timedelta(minutes=rng.randint(1, 120))
            at = min(at, now - timedelta(minutes=5))  # nothing in the export's withheld minute
            customer = c % 2 == 0
            lines = CUSTOMER_LINES if customer else AGENT_LINES
            comments.append(
                SeedComment(
                    at=at,
                    author="customer" if customer else "agent",
                    public=customer or rng.random() < 0.7,
                    body=rng.choice(lines),
                )
            )
        tickets.append(
            SeedTicket(
                title=f"{rng.choice(SUBJECTS)} (#{i})",
                created_at=created,
                status=rng.choice(("new", "open", "open", "pending")),
                priority=rng.choice(("low", "normal", "normal", "high", "urgent")),
                organization=rng.choice(orgs),
                requester=f"user{i % 500}@customer.example",
                category=rng.choice(CATEGORIES),
                customer_tier=rng.choice(TIERS),
                affected_users=rng.choice((None, 1, 3, 25, 120)),
                labels=rng.sample(["vip", "outage", "renewal", "mobile"], rng.randint(0, 2)),
                comments=comments,
            )
        )
    return tickets


def add_history(emulator: Emulator, ids: Sequence[str], seed: int = 13) -> int:
    """A third of the tickets get a person's status change, some a priority or group change."""
    rng = random.Random(seed)
    changed = 0
    for ticket_id in ids:
        if rng.random() < 1 / 3:
            emulator.update(
                ticket_id,
                status=rng.choice(("open", "pending", "on_hold")),
                priority=rng.choice((None, None, "high", "urgent")),
                group=rng.choice((None, None, None, *GROUPS)),
            )
            changed += 1
    return changed


# -- one pass -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Figures:
    kind: str
    label: str
    tickets: int
    seconds: float
    api_calls: int
    pulls: int
    retries: int
    rate_limited: int
    waited: float

    @property
    def per_second(self) -> float:
        return self.tickets / self.seconds if self.seconds > 0 else 0.0

    @property
    def calls_per_1000(self) -> float:
        return self.api_calls * 1000 / self.tickets if self.tickets else 0.0


class SpreadFaults:
    """Injects one 429 each time the request log passes a threshold: spread over the pull."""

    def __init__(self, server: EmulatorServer, path: str, thresholds: Sequence[int]) -> None:
        self._server = server
        self._path = path
        self._left = sorted(thresholds)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="inject-429", daemon=True)

    def __enter__(self) -> SpreadFaults:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while self._left and not self._done.wait(0.002):
            if len(self._server.requests) >= self._left[0]:
                self._left.pop(0)
                self._server.inject("*", self._path, status=429, retry_after=RETRY_AFTER)


def pull_all(
    kind: str, n: int, *, faults: int = 0, steady_calls: int = 0, log: Callable[[str], None]
) -> Figures:
    """Seed ``n`` tickets into a fresh emulator and pull them all; ``faults`` 429s on the way."""
    emulator = new_emulator(kind)
    emulator.start()
    connector = None
    try:
        now = emulator.server.clock.now()
        began = time.perf_counter()
        ids = emulator.seed(make_seeds(n, now))
        changed = add_history(emulator, ids)
        log(
            f"{kind}: seeded {len(ids)} tickets ({changed} with status history) "
            f"in {time.perf_counter() - began:.1f} s"
        )
        package = registry.load(kind)
        settings = package.Settings.model_validate(emulator.settings(kind))
        retry = RetryPolicy(kind)  # real sleeps: the waits are part of the figures
        connector = package.create(kind, settings, retry=retry)
        # spread the 429s over the calls the steady pass needed (first one early on)
        total = max(steady_calls, 4)
        thresholds = [1 + (total * i) // (faults + 1) for i in range(faults)]
        requests_before = len(emulator.server.requests)
        seen: set[str] = set()
        cursor: str | None = None
        pulls = 0
        started = time.perf_counter()
        with SpreadFaults(
            emulator.server, API_PATHS.get(kind, r"^/"), [requests_before + t for t in thresholds]
        ):
            while True:
                result = connector.pull(cursor, start=now - timedelta(days=30))
                pulls += 1
                cursor = result.cursor
                fresh = {t.key for t in result.tickets} - seen
                seen |= fresh
                if not fresh:
                    break
        seconds = time.perf_counter() - started
        calls = len(emulator.server.requests) - requests_before
    finally:
        if connector is not None:
            connector.close()
        emulator.stop()
    if len(seen) != n:
        log(f"{kind}: WARNING pulled {len(seen)} of {n} seeded tickets")
    label = STEADY if not faults else f"{faults}x429, Retry-After {RETRY_AFTER:g}s"
    return Figures(
        kind,
        label,
        len(seen),
        seconds,
        calls,
        pulls,
        retry.stats.retries,
        retry.stats.rate_limited,
        retry.stats.waited_seconds,
    )


# -- output ---------------------------------------------------------------------------------
HEADERS = (
    "connector",
    "pass",
    "tickets",
    "pulls",
    "wall s",
    "tickets/s",
    "API calls",
    "calls/1k tickets",
    "retries",
    "429s",
    "waited s",
)


def table(rows: Sequence[Figures]) -> str:
    cells = [
        (
            f.kind,
            f.label,
            str(f.tickets),
            str(f.pulls),
            f"{f.seconds:.2f}",
            f"{f.per_second:.0f}",
            str(f.api_calls),
            f"{f.calls_per_1000:.0f}",
            str(f.retries),
            str(f.rate_limited),
            f"{f.waited:.1f}",
        )
        for f in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]

    def line(values: Sequence[str]) -> str:
        left = (values[0].ljust(widths[0]), values[1].ljust(widths[1]))
        right = (v.rjust(w) for v, w in zip(values[2:], widths[2:], strict=True))
        return " | ".join((*left, *right))

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(HEADERS), rule, *(line(c) for c in cells)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000, help="changed tickets per connector")
    parser.add_argument(
        "--only", default=",".join(KINDS), help="comma-separated connectors (default: all)"
    )
    parser.add_argument(
        "--429s", dest="faults", type=int, default=3, help="429s in the rate-limited pass (0: skip)"
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown connector(s): {', '.join(unknown)}; known: {', '.join(KINDS)}")

    def log(message: str) -> None:
        print(message, flush=True)

    rows: list[Figures] = []
    for kind in kinds:
        steady = pull_all(kind, args.tickets, log=log)
        rows.append(steady)
        log(f"{kind}: {steady.tickets} tickets in {steady.seconds:.2f} s, {steady.api_calls} calls")
        if args.faults > 0:
            throttled = pull_all(
                kind, args.tickets, faults=args.faults, steady_calls=steady.api_calls, log=log
            )
            rows.append(throttled)
            log(
                f"{kind}: with {args.faults} injected 429s: {throttled.seconds:.2f} s, "
                f"{throttled.api_calls} calls"
            )
    print()
    print(f"Pull of {args.tickets} changed tickets per connector (emulators on 127.0.0.1)")
    print(table(rows))
    print(
        "API calls = requests the emulator logged during the pull (token grants and rejected "
        "429s included);\nthe last pull of each pass is the quiet one that found nothing new."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
