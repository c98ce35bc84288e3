"""The live board at ``GET /``: tickets at risk or breached across all helpdesks, sorted by
time to breach; escalations of the last 24 hours; each source's health; the config version.

Server-rendered HTML that refreshes itself (no script, no build step). It shows customers'
names and ticket titles, so it needs ``ESCALATOR_BOARD_TOKEN`` (``Authorization: Bearer`` or
``?token=``) or ``ESCALATOR_BOARD_USER`` + ``ESCALATOR_BOARD_PASSWORD`` (basic auth); without
them configured it answers 401 to everyone. ``/metrics`` gains, from the same state, gauges of
tickets at risk and breached per source and level (no customer data in labels).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, select_autoescape
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from engine.calendar import from_epoch, to_epoch
from engine.codec import format_instant
from engine.criteria import Context, Population
from engine.model import ACTIVE_STATUSES, TargetName, Ticket
from engine.planner import Memory, choose_sla_policy, sla_priority
from engine.policy import Policy
from engine.sla import build_clocks

if TYPE_CHECKING:
    from escalator.runner import Runner

REFRESH_SECONDS = 30
CACHE_SECONDS = 5.0  # scrapes and refreshes within this share one computation
_TEMPLATE = Path(__file__).with_name("board.html.j2")


@dataclass(frozen=True, slots=True)
class BoardRow:
    ticket: Ticket
    level: int
    state: str  # "breached" | "at risk"
    target: str  # the target closest to (or furthest past) its breach
    due: datetime
    seconds_to_breach: int  # negative once breached


def board_rows(
    policy: Policy, tickets: list[Ticket], memories: Mapping[str, Memory], now: datetime
) -> list[BoardRow]:
    """Active tickets with a target at risk or breached, soonest to breach (or longest
    breached) first."""
    t = to_epoch(now)
    population = Population(tickets)
    empty = Memory()
    rows = []
    for ticket in tickets:
        if ticket.status not in ACTIVE_STATUSES or ticket.created_at > now:
            continue
        memory = memories.get(ticket.key, empty)
        ctx = Context(ticket, t, memory.level, population, policy.at_risk_percent)
        sla_policy = choose_sla_policy(policy, ctx)
        priority = sla_priority(ticket, memory)
        if sla_policy is None or priority not in sla_policy.targets:
            continue
        clocks = build_clocks(
            ticket,
            sla_policy.targets[priority],
            policy.runs_while,
            t,
            created=to_epoch(ticket.created_at),
        )
        answered = any(c.is_agent_reply for c in ticket.comments)
        worst: tuple[int, str, str] | None = None  # (due, target, state)
        for clock in clocks:
            if not clock.started or clock.met_at is not None:
                continue
            if clock.name is TargetName.FIRST_RESPONSE and answered:
                continue  # answered, if late: that breach is over
            due = clock.due()
            if due is None:
                continue
            if clock.cycle_breach is not None and clock.cycle_breach <= t:
                state = "breached"
            elif clock.running and 100 * clock.elapsed() >= policy.at_risk_percent * clock.target:
                state = "at risk"
            else:
                continue
            if worst is None or due < worst[0]:
                worst = (due, clock.name.value, state)
        if worst is not None:
            due, target, state = worst
            rows.append(BoardRow(ticket, memory.level, state, target, from_epoch(due), due - t))
    rows.sort(key=lambda r: (r.seconds_to_breach, r.ticket.key))
    return rows


class Board:
    """The board's state, computed from the runner at most every few seconds."""

    def __init__(self, runner: Runner, clock: Callable[[], datetime] | None = None) -> None:
        self.runner = runner
        self.clock = clock or runner.sidecar.clock
        self._lock = threading.Lock()
        self._cached: tuple[float, list[BoardRow]] | None = None

    def rows(self) -> list[BoardRow]:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            sidecar = self.runner.sidecar
            tickets, memories = sidecar.snapshot()
            rows = board_rows(sidecar.config.policy, tickets, memories, self.clock())
            self._cached = (time.monotonic(), rows)
            return rows

    def escalations(self, now: datetime) -> list[dict[str, Any]]:
        """Levels reached in the last 24 hours, newest first (from the audit log)."""
        since = now - timedelta(hours=24)
        policy = self.runner.sidecar.config.policy
        out = []
        for entry in self.runner.sidecar.store.audit_log(None, limit=2000):
            if entry.at < since:
                break
            level = entry.detail.get("level")
            if entry.event != "decision" or level is None:
                continue
            name = policy.levels[level].name if level in policy.levels else str(level)
            out.append(
                {
                    "at": format_instant(entry.at),
                    "ticket": entry.ticket,
                    "level": level,
                    "level_name": name,
                    "rule": entry.detail.get("rule"),
                }
            )
        return out

    def render(self) -> str:
        now = self.clock()
        runner = self.runner
        checks = runner.readiness()
        sources = [
            {
                "name": name.removeprefix("source:"),
                "ok": check.get("ok"),
                "last_poll": check.get("last_poll"),
                "detail": check.get("detail", ""),
            }
            for name, check in checks.items()
            if name.startswith("source:")
        ]
        return _ENV.from_string(_TEMPLATE.read_text(encoding="utf-8")).render(
            now=format_instant(now),
            rows=self.rows(),
            escalations=self.escalations(now),
            sources=sources,
            version=runner.sidecar.config.policy.version,
            active=runner.active,
            refresh=REFRESH_SECONDS,
            duration=_duration,
            instant=format_instant,
        )

    def collect(self) -> Iterator[Metric]:
        """Gauges for /metrics: tickets at risk and breached, per source and level."""
        at_risk = GaugeMetricFamily(
            "escalator_tickets_at_risk",
            "Active tickets with an SLA target at risk (not yet breached)",
            labels=["source", "level"],
        )
        breached = GaugeMetricFamily(
            "escalator_tickets_breached",
            "Active tickets with an SLA target breached and not yet met",
            labels=["source", "level"],
        )
        counts: dict[tuple[str, str, str], int] = {}
        for row in self.rows():
            key = (row.state, row.ticket.system, str(row.level))
            counts[key] = counts.get(key, 0) + 1
        for (state, source, level), n in sorted(counts.items()):
            (breached if state == "breached" else at_risk).add_metric([source, level], n)
        yield at_risk
        yield breached


def _duration(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 3600:
        return f"{sign}{s // 60} min"
    if s < 2 * 86400:
        return f"{sign}{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{sign}{s // 86400} d {s % 86400 // 3600} h"


_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


# -- access ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BoardAccess:
    token: str | None
    user: str | None
    password: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BoardAccess:
        return cls(
            env.get("ESCALATOR_BOARD_TOKEN") or None,
            env.get("ESCALATOR_BOARD_USER") or None,
            env.get("ESCALATOR_BOARD_PASSWORD") or None,
        )

    @property
    def configured(self) -> bool:
        return self.token is not None or (self.user is not None and self.password is not None)

    def allows(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if self.token is not None:
            offered = value if scheme.lower() == "bearer" else request.query_params.get("token")
            if offered is not None and hmac.compare_digest(offered.encode(), self.token.encode()):
                return True
        if self.user is not None and self.password is not None and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            same_user = hmac.compare_digest(user.encode(), self.user.encode())
            same_password = hmac.compare_digest(password.encode(), self.password.encode())
            return same_user and same_password
        return False


def board_routes(runner: Runner, env: Mapping[str, str]) -> list[Route]:
    """``GET /`` (the board), and the board's gauges registered on the sidecar's metrics."""
    board = Board(runner)
    access = BoardAccess.from_env(env)
    with contextlib.suppress(ValueError):  # an app made again for the same runner: once is enough
        runner.sidecar.metrics.registry.register(board)

    # a plain function: Starlette runs it in its thread pool, so computing the board (it waits
    # for the cycle lock) never holds up the event loop that answers webhooks and probes
    def index(request: Request) -> Response:
        if not access.configured:
            return PlainTextResponse(
                "401 Unauthorized: the board is off. Set ESCALATOR_BOARD_TOKEN, or "
                "ESCALATOR_BOARD_USER and ESCALATOR_BOARD_PASSWORD, to open it.\n",
                status_code=401,
            )
        if not access.allows(request):
            headers = {"WWW-Authenticate": 'Basic realm="escalator board"'} if access.user else {}
            return PlainTextResponse(
                "401 Unauthorized: the board needs the board token (Authorization: Bearer, or "
                "?token=) or the board's user and password.\n",
                status_code=401,
                headers=headers,
            )
        return HTMLResponse(board.render(), headers={"Cache-Control": "no-store"})

    return [Route("/", index)]
