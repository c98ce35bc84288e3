"""The common ticket model every connector translates into, and the actions the engine returns.

Slotted, frozen dataclasses: the engine evaluates 100,000 of them per re-plan, so they must be
cheap to build and read. Pydantic validates them where they enter (API payloads, timelines).
All instants are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeAlias, TypeVar, cast


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_ORDER.index(self)

    def raised(self, steps: int = 1) -> Priority:
        """One step up (low→normal→high→urgent), stopping at urgent."""
        return _PRIORITY_ORDER[min(self.rank + steps, len(_PRIORITY_ORDER) - 1)]


_PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    ON_HOLD = "on_hold"  # waiting on a third party
    SOLVED = "solved"
    CLOSED = "closed"


ACTIVE_STATUSES = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})
# by value: a dict lookup is several times cheaper than calling the enum (hot in re-plans, reports)
STATUS_BY_VALUE = {s.value: s for s in Status}


class AuthorRole(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    SIDECAR = "sidecar"  # written by this program; never counts as an agent reply
    # bots, AI agents, system and integration actors: never a human response, never a customer's
    BOT = "bot"


@dataclass(frozen=True, slots=True)
class Comment:
    at: datetime
    author_role: AuthorRole
    public: bool
    body: str = ""
    id: str | None = None
    author_id: str | None = None
    marker: str | None = None  # idempotency key found in a comment the sidecar wrote
    # the comment that created the ticket (its description): never a reply, whoever wrote it,
    # so an agent-created ticket still waits for its first response
    opening: bool = False

    @property
    def is_agent_reply(self) -> bool:
        """A public reply by a human agent: what meets first response and next update."""
        return self.public and self.author_role is AuthorRole.AGENT and not self.opening


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a tracked field (status, priority, group, assignee) in the ticket's history."""

    at: datetime
    field: str
    old: str | None
    new: str | None
    by: str | None = None  # who made the change, where the helpdesk's history says


@dataclass(frozen=True, slots=True)
class LinkedIssue:
    """An issue in another system that the sidecar created for this ticket (e.g. Jira ENG)."""

    system: str
    key: str
    url: str | None = None
    resolved_at: datetime | None = None
    marker: str | None = None  # idempotency key of the action that created it


@dataclass(frozen=True, slots=True)
class Ticket:
    system: str
    id: str
    created_at: datetime
    updated_at: datetime
    status: Status
    priority: Priority
    title: str = ""
    url: str | None = None
    requester: str | None = None
    organization: str | None = None
    assignee: str | None = None
    group: str | None = None
    labels: frozenset[str] = frozenset()
    category: str | None = None
    customer_tier: str | None = None
    affected_users: int | None = None
    comments: tuple[Comment, ...] = ()
    history: tuple[Change, ...] = ()  # oldest first
    linked_issues: tuple[LinkedIssue, ...] = ()
    # the customer's rating of the support they got ("good" / "neutral" / "bad"), where the
    # helpdesk has one; the report counts "good" among all rated
    satisfaction: str | None = None

    @property
    def key(self) -> str:
        """Unique across systems: ``zendesk:123``."""
        return f"{self.system}:{self.id}"


class ActionKind(StrEnum):
    SET_PRIORITY = "set_priority"
    ADD_LABELS = "add_labels"
    REMOVE_LABELS = "remove_labels"
    ASSIGN = "assign"
    COMMENT = "comment"
    CREATE_LINKED_ISSUE = "create_linked_issue"
    NOTIFY = "notify"


@dataclass(frozen=True, slots=True, kw_only=True)
class _ActionBase:
    key: str  # stable idempotency key: the same decision always has the same key
    ticket: str  # Ticket.key
    rule: str
    at: datetime  # the instant the decision was taken (the rule's condition held)
    level: int | None = None  # set when the action belongs to reaching a level


@dataclass(frozen=True, slots=True, kw_only=True)
class SetPriority(_ActionBase):
    kind: ClassVar[ActionKind] = ActionKind.SET_PRIORITY
    priority: Priority
    previous: Priority  # what it replaced: the SLA keeps following the person's priority


@dataclass(frozen=True, slots=True, kw_only=True)
class AddLabels(_ActionBase):
    kind: ClassVar[ActionKind] = ActionKind.ADD_LABELS
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveLabels(_ActionBase):
    kind: ClassVar[ActionKind] = ActionKind.REMOVE_LABELS
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Assign(_ActionBase):
    kind: ClassVar[ActionKind] = ActionKind.ASSIGN
    group: str | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostComment(_ActionBase):
    kind: ClassVar[ActionKind] = ActionKind.COMMENT
    public: bool
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateLinkedIssue(_ActionBase):
    kind: ClassVar[ActionKind] = ActionKind.CREATE_LINKED_ISSUE
    system: str
    project: str
    summary: str
    description: str
    priority: Priority


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify(_ActionBase):
    kind: ClassVar[ActionKind] = ActionKind.NOTIFY
    channel: str
    text: str


Action: TypeAlias = (
    SetPriority | AddLabels | RemoveLabels | Assign | PostComment | CreateLinkedIssue | Notify
)

ACTION_TYPES: dict[ActionKind, type[Action]] = {
    t.kind: t
    for t in (SetPriority, AddLabels, RemoveLabels, Assign, PostComment, CreateLinkedIssue, Notify)
}


def _quick_init(
    cls: type[Any], through: Mapping[str, Callable[[Any, Any], None]] | None = None
) -> None:
    """Give the frozen dataclass ``cls`` an ``__init__`` of the same signature and defaults that
    sets each slot through its descriptor (or ``through[name]``) instead of calling
    ``object.__setattr__`` per field as the generated one does: twice as fast, and a first
    plan builds about a million actions and decisions. Frozen all the same: only
    ``__setattr__`` refuses changes, and it is not involved."""
    env: dict[str, Any] = {}
    positional: list[str] = []
    keywords: list[str] = []
    body: list[str] = []
    through = through or {}
    for f in fields(cls):
        name = f.name
        if f.default is not MISSING:
            env[f"_{name}_default"] = f.default
            param = f"{name}=_{name}_default"
        elif f.default_factory is not MISSING:  # pragma: no cover - none here; say so if added
            raise TypeError(f"{cls.__name__}.{name}: a default factory is not supported")
        else:
            param = name
        (keywords if f.kw_only else positional).append(param)
        env[f"_{name}_set"] = through.get(name) or getattr(cls, name).__set__
        body.append(f"    _{name}_set(self, {name})")
    params = ", ".join(["self", *positional, *(["*", *keywords] if keywords else [])])
    namespace: dict[str, Any] = {}
    exec(f"def __init__({params}):\n" + "\n".join(body), env, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init


for _action_type in ACTION_TYPES.values():
    _quick_init(_action_type)

# The texts of an action (a comment's body, a notification's text, a linked issue's summary
# and description) may be rendered when first read rather than when decided: a first plan
# decides hundreds of thousands of actions, and their words are needed only where one is
# written, shown or compared. The text is the same either way: rendering is pure.
# (function, *arguments): the text is ``function(*arguments)``. A plain tuple rather than a
# partial: one small object for each text a first plan defers (a partial costs three)
Render = tuple[Any, ...]
_TextAction = TypeVar("_TextAction", PostComment, Notify, CreateLinkedIssue)
_TEXT_FIELDS: dict[type[Action], tuple[str, ...]] = {
    PostComment: ("body",),
    Notify: ("text",),
    CreateLinkedIssue: ("summary", "description"),
}


def _deferring(base: type[Action], names: tuple[str, ...]) -> type[Action]:
    """A subclass of ``base`` whose ``names`` may be given as renderings (``Render``): each is
    rendered on first read, then kept. Equal to, hashed and shown like the ``base`` action with
    the same values: only the moment of rendering differs."""
    compared = tuple(f.name for f in fields(base) if f.compare)

    def eq(self: Any, other: object) -> Any:  # bool, or NotImplemented
        if not isinstance(other, base):
            return NotImplemented
        return all(bool(getattr(self, n) == getattr(other, n)) for n in compared)

    def values(self: Any) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(base) if f.init}

    def show(self: Any) -> str:
        return repr(base(**values(self)))

    def reduce(self: Any) -> tuple[Any, ...]:  # pickled and copied as the rendered action
        return _rebuilt, (base, values(self))

    namespace: dict[str, Any] = {
        "__slots__": tuple(f"_{name}_render" for name in names),
        "__eq__": eq,
        "__hash__": base.__hash__,
        "__repr__": show,
        "__reduce__": reduce,
    }
    lazy = type(f"Deferred{base.__name__}", (base,), namespace)
    texts = {name: _text(base.__dict__[name], lazy.__dict__[f"_{name}_render"]) for name in names}
    for name, text in texts.items():
        setattr(lazy, name, text)
    _quick_init(lazy, {name: text.__set__ for name, text in texts.items()})
    return lazy


def _text(cell: Any, later: Any) -> property:
    """A text kept in slot ``cell``, else rendered by what slot ``later`` holds."""

    def read(self: Any) -> str:
        try:
            value: str = cell.__get__(self)
            return value
        except AttributeError:  # not rendered yet
            pass
        render = later.__get__(self)
        if render is None:  # another thread rendered it meanwhile
            value = cell.__get__(self)
            return value
        value = render[0](*render[1:])
        cell.__set__(self, value)
        later.__set__(self, None)  # the context it rendered from can go
        return value

    def write(self: Any, value: str | Render) -> None:  # from ``__init__`` only (frozen)
        if isinstance(value, tuple):
            later.__set__(self, value)
        else:
            cell.__set__(self, value)

    return property(read, write)


def _rebuilt(base: type[Action], values: dict[str, Any]) -> Action:
    return base(**values)


_DEFERRED = {base: _deferring(base, names) for base, names in _TEXT_FIELDS.items()}


def deferred(kind: type[_TextAction], **values: Any) -> _TextAction:
    """A ``kind`` action whose texts may be given as renderings (``Render``), each rendered the
    first time it is read; every other field as given."""
    lazy: Any = _DEFERRED[kind]
    return cast(_TextAction, lazy(**values))


class TargetName(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_UPDATE = "next_update"
    RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class TargetState:
    """One SLA target of one ticket, as of the plan's ``now``."""

    name: TargetName
    calendar: str
    target_seconds: int
    elapsed_seconds: int  # business seconds counted so far in the current cycle
    running: bool
    due: datetime | None  # when it breaches if it keeps running; None while paused or stopped
    met_at: datetime | None = None
    breached_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SlaState:
    policy: str
    priority: Priority  # the priority the targets follow (a person's, never the sidecar's)
    targets: tuple[TargetState, ...] = ()

    def target(self, name: TargetName) -> TargetState | None:
        for t in self.targets:
            if t.name is name:
                return t
        return None


@dataclass(frozen=True, slots=True)
class Decision:
    """Why a rule fired for a ticket: the audit log's line."""

    ticket: str
    rule: str
    at: datetime
    reason: str
    level: int | None = None


_quick_init(Decision)  # a first plan decides 3 or 4 for each ticket


@dataclass(slots=True)  # not frozen: a re-plan builds 100,000 of these, and frozen costs 3x
class TicketPlan:
    ticket: str
    level: int
    # the SLA state is built on demand: a re-plan of every ticket rarely needs all of them
    sla_of: Callable[[], SlaState | None] = field(default=lambda: None, repr=False, compare=False)
    actions: tuple[Action, ...] = ()
    # decided, but the ticket already shows it: recorded, never written
    satisfied: tuple[Action, ...] = ()
    decisions: tuple[Decision, ...] = ()
    # the next instant (epoch seconds) a time-based rule falls due, if nothing changes
    due_epoch: int | None = None

    @property
    def sla(self) -> SlaState | None:
        return self.sla_of()

    @property
    def next_due(self) -> datetime | None:
        if self.due_epoch is None:
            return None
        return datetime.fromtimestamp(self.due_epoch, UTC)


@dataclass(frozen=True, slots=True)
class Plan:
    now: datetime
    tickets: tuple[TicketPlan, ...] = field(default=())

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(a for t in self.tickets for a in t.actions)

    @property
    def next_due(self) -> datetime | None:
        dues = [t.due_epoch for t in self.tickets if t.due_epoch is not None]
        return datetime.fromtimestamp(min(dues), UTC) if dues else None


def apply_action(ticket: Ticket, action: Action) -> Ticket:
    """What the helpdesk would show after the connector wrote ``action``."""
    if isinstance(action, SetPriority):
        change = Change(action.at, "priority", ticket.priority.value, action.priority.value)
        return replace(ticket, priority=action.priority, history=(*ticket.history, change))
    if isinstance(action, AddLabels):
        return replace(ticket, labels=ticket.labels | set(action.labels))
    if isinstance(action, RemoveLabels):
        return replace(ticket, labels=ticket.labels - set(action.labels))
    if isinstance(action, Assign):
        return replace(
            ticket,
            group=action.group if action.group is not None else ticket.group,
            assignee=action.user if action.user is not None else ticket.assignee,
        )
    if isinstance(action, PostComment):
        comment = Comment(
            action.at, AuthorRole.SIDECAR, action.public, action.body, marker=action.key
        )
        return replace(ticket, comments=(*ticket.comments, comment))
    if isinstance(action, CreateLinkedIssue):
        issue = LinkedIssue(
            action.system, f"{action.project}-{len(ticket.linked_issues) + 1}", marker=action.key
        )
        return replace(ticket, linked_issues=(*ticket.linked_issues, issue))
    return ticket  # notifications leave the ticket as it is
