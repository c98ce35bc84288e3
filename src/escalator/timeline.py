"""The timeline YAML that ``escalator simulate`` replays, validated with positions."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from engine.model import AuthorRole, Comment, Priority, Status, Ticket
from engine.simulation import PERSON_FIELDS, TicketEvent
from escalator.config.budget import LoadBudget
from escalator.config.errors import ConfigError, Problem
from escalator.config.validation import validation_problems
from escalator.config.yamlsource import Located, Path_, load_located


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimelineTicket(_Strict):
    id: str
    system: str = "zendesk"
    created_at: AwareDatetime
    priority: Priority = Priority.NORMAL
    status: Status = Status.NEW
    title: str = ""
    url: str | None = None
    requester: str | None = None
    organization: str | None = None
    category: str | None = None
    customer_tier: str | None = None
    affected_users: int | None = None
    group: str | None = None
    assignee: str | None = None
    labels: list[str] = Field(default_factory=list)


class TimelineComment(_Strict):
    author: Literal["agent", "customer", "bot"]
    public: bool = True
    body: str = ""


class TimelineEvent(_Strict):
    at: AwareDatetime
    ticket: str
    comment: TimelineComment | None = None
    set: dict[str, Any] | None = None
    linked_issue: Literal["resolved"] | None = None


# what a person may set, and to what: checked at load, so a bad value names its line
_SETTABLE: dict[str, TypeAdapter[Any]] = {
    "status": TypeAdapter(Status),
    "priority": TypeAdapter(Priority),
    "labels": TypeAdapter(list[str] | None),
    "affected_users": TypeAdapter(int | None),
    **{
        name: TypeAdapter(str | None)
        for name in ("category", "customer_tier", "assignee", "group", "title", "organization")
    },
}


FIRST_YEAR, LAST_YEAR = 1972, 2189  # inside the years the engine's calendars are built for
MAX_SPAN = timedelta(days=3 * 366)  # the engine replays every due instant in between


class TimelineModel(_Strict):
    until: AwareDatetime
    tickets: list[TimelineTicket] = Field(min_length=1)
    events: list[TimelineEvent] = Field(default_factory=list)


class Timeline:
    """Tickets and events in the engine's model; ``ids`` maps ticket keys back to timeline ids."""

    def __init__(self, model: TimelineModel, changes: list[dict[str, Any]] | None = None) -> None:
        """``changes``: each event's ``set``, its values checked (as ``load_timeline`` does)."""
        self.until = model.until
        self.ids: dict[str, str] = {}
        self.tickets: list[Ticket] = []
        key_of: dict[str, str] = {}
        for t in model.tickets:
            ticket = Ticket(
                system=t.system,
                id=t.id,
                created_at=t.created_at,
                updated_at=t.created_at,
                status=t.status,
                priority=t.priority,
                title=t.title,
                url=t.url,
                requester=t.requester,
                organization=t.organization,
                assignee=t.assignee,
                group=t.group,
                labels=frozenset(t.labels),
                category=t.category,
                customer_tier=t.customer_tier,
                affected_users=t.affected_users,
            )
            self.tickets.append(ticket)
            self.ids[ticket.key] = t.id
            key_of[t.id] = ticket.key
        self.events = [
            TicketEvent(
                at=e.at,
                ticket=key_of.get(e.ticket, e.ticket),
                comment=(
                    Comment(e.at, AuthorRole(e.comment.author), e.comment.public, e.comment.body)
                    if e.comment
                    else None
                ),
                changes=dict(e.set or {}) if changes is None else changes[i],
                linked_issue_resolved=e.linked_issue == "resolved",
            )
            for i, e in enumerate(model.events)
        ]


def load_timeline(path: str | Path) -> Timeline:
    # a timeline may be a recorded busy week: more room than a config, still bounded
    budget = LoadBudget(seconds=10.0, max_nodes=1_000_000, max_file_bytes=4_000_000)
    located = load_located(Path(path), budget)
    try:
        model = TimelineModel.model_validate(located.data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, located, TimelineModel)) from None
    problems = _time_problems(model, located)
    checked: list[dict[str, Any]] = [{} for _ in model.events]
    ids = {t.id for t in model.tickets}
    for i, t in enumerate(model.tickets):
        if [x.id for x in model.tickets].count(t.id) > 1:
            problems.append(
                located.problem(("tickets", i, "id"), f"ticket id {t.id!r} is used twice")
            )
    for i, e in enumerate(model.events):
        if e.ticket not in ids:
            problems.append(
                located.problem(("events", i, "ticket"), f"unknown ticket {e.ticket!r}")
            )
        for name, raw in (e.set or {}).items():
            if name in _SETTABLE and name in PERSON_FIELDS:
                try:
                    checked[i][name] = _SETTABLE[name].validate_python(raw)
                except ValidationError as exc:
                    problems.append(
                        located.problem(
                            ("events", i, "set", name),
                            f"events.{i}.set.{name}: {exc.errors()[0]['msg']}",
                        )
                    )
                continue
            checked[i][name] = raw
            if name not in PERSON_FIELDS:
                problems.append(
                    located.problem(
                        ("events", i, "set", name),
                        f"cannot set {name!r} (settable: {', '.join(sorted(PERSON_FIELDS))})",
                        key=True,
                    )
                )
        if e.comment is None and not e.set and e.linked_issue is None:
            problems.append(
                located.problem(("events", i), "an event needs comment, set or linked_issue")
            )
    if problems:
        raise ConfigError(problems)
    return Timeline(model, checked)


def _time_problems(model: TimelineModel, located: Located) -> list[Problem]:
    """Instants the engine's calendars cannot place, and a replay longer than it should take."""
    instants: list[tuple[Path_, datetime]] = [(("until",), model.until)]
    instants += [(("tickets", i, "created_at"), t.created_at) for i, t in enumerate(model.tickets)]
    instants += [(("events", i, "at"), e.at) for i, e in enumerate(model.events)]
    problems = [
        located.problem(
            path,
            f"{'.'.join(map(str, path))}: {at.date()} is outside the years "
            f"{FIRST_YEAR}-{LAST_YEAR} a timeline may use",
        )
        for path, at in instants
        if not FIRST_YEAR <= at.year <= LAST_YEAR
    ]
    start = min(t.created_at for t in model.tickets)
    if not problems and model.until - start > MAX_SPAN:
        problems.append(
            located.problem(
                ("until",),
                f"until: the timeline spans {(model.until - start).days:,} days from its first "
                f"ticket; at most {MAX_SPAN.days:,}",
            )
        )
    return problems
