"""The timeline YAML that ``escalator simulate`` replays, validated with positions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from engine.model import AuthorRole, Comment, Priority, Status, Ticket
from engine.simulation import PERSON_FIELDS, TicketEvent
from escalator.config.errors import ConfigError
from escalator.config.validation import validation_problems
from escalator.config.yamlsource import load_located


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


class TimelineModel(_Strict):
    until: AwareDatetime
    tickets: list[TimelineTicket] = Field(min_length=1)
    events: list[TimelineEvent] = Field(default_factory=list)


class Timeline:
    """Tickets and events in the engine's model; ``ids`` maps ticket keys back to timeline ids."""

    def __init__(self, model: TimelineModel) -> None:
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
                changes=dict(e.set or {}),
                linked_issue_resolved=e.linked_issue == "resolved",
            )
            for e in model.events
        ]


def load_timeline(path: str | Path) -> Timeline:
    located = load_located(Path(path))
    try:
        model = TimelineModel.model_validate(located.data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, located, TimelineModel)) from None
    problems = []
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
        for name in e.set or {}:
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
    return Timeline(model)
