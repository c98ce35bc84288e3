"""The shape of the YAML admins edit, as pydantic models (also exported as JSON Schema)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from engine.model import Priority, Status, TargetName
from escalator.config.contracts import ContractModel

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(value: Any) -> int:
    """``90``, ``"45s"``, ``"30m"``, ``"4h"``, ``"1d2h"`` -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30m, 4h or 1d")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and any(match.groups()):
            d, h, m, s = (int(g) if g else 0 for g in match.groups())
            return ((d * 24 + h) * 60 + m) * 60 + s
    raise ValueError(f"expected a duration like 30m, 4h or 1d, got {value!r}")


Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda s: f"{s}s"),
    WithJsonSchema(
        {
            "type": ["string", "integer"],
            "pattern": r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$",
            "description": "seconds, or 30m, 4h, 1d2h",
        }
    ),
]

_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def parse_span(value: Any) -> tuple[int, int]:
    """``"09:00-17:00"`` -> minutes after midnight (end may be 24:00)."""
    if not isinstance(value, str) or not (m := _SPAN.match(value.strip())):
        raise ValueError(f"expected opening hours like 09:00-17:00, got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
        raise ValueError(f"not a time of day in {value!r}")
    if end <= start:
        raise ValueError(f"{value!r} ends before it starts; split overnight hours across days")
    return start, end


Span = Annotated[
    tuple[int, int],
    BeforeValidator(parse_span),
    WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}-\d{2}:\d{2}$"}),
]
DayHours = Annotated[
    list[Span],
    BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
    WithJsonSchema({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- calendars --------------------------------------------------------------------------------
class HolidaysModel(Strict):
    country: str | None = Field(None, description="ISO country code for the holidays package")
    subdivision: str | None = Field(None, description="e.g. ENG for England")
    dates: list[date] = Field(default_factory=list, description="extra closed days")


class WeekModel(Strict):
    monday: DayHours = Field(default_factory=list)
    tuesday: DayHours = Field(default_factory=list)
    wednesday: DayHours = Field(default_factory=list)
    thursday: DayHours = Field(default_factory=list)
    friday: DayHours = Field(default_factory=list)
    saturday: DayHours = Field(default_factory=list)
    sunday: DayHours = Field(default_factory=list)


class CalendarModel(Strict):
    timezone: str
    always_open: bool = False
    hours: WeekModel | None = None
    holidays: HolidaysModel = HolidaysModel()

    @model_validator(mode="after")
    def _hours_or_always(self) -> CalendarModel:
        if not self.always_open and self.hours is None:
            raise ValueError("give opening 'hours' or set 'always_open: true'")
        return self


# -- SLA ----------------------------------------------------------------------------------------
class ClockModel(Strict):
    runs_while: list[Status]


class ClocksModel(Strict):
    first_response: ClockModel = ClockModel(
        runs_while=[Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD]
    )
    next_update: ClockModel = ClockModel(runs_while=[Status.NEW, Status.OPEN, Status.ON_HOLD])
    resolution: ClockModel = ClockModel(runs_while=[Status.NEW, Status.OPEN, Status.ON_HOLD])


class TargetsModel(Strict):
    calendar: str
    first_response: Duration | None = None
    next_update: Duration | None = None
    resolution: Duration | None = None


class SlaPolicyModel(Strict):
    name: Name
    when: WhenModel | None = None
    targets: dict[Priority, TargetsModel]


class SlaModel(Strict):
    at_risk_percent: int = Field(75, ge=1, le=100)
    clocks: ClocksModel = ClocksModel()
    policies: list[SlaPolicyModel] = Field(min_length=1)


# -- criteria -----------------------------------------------------------------------------------
class RangeModel(Strict):
    at_least: int | None = None
    at_most: int | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> RangeModel:
        if self.at_least is None and self.at_most is None:
            raise ValueError("give at_least, at_most or both")
        return self


class WindowModel(Strict):
    window: Duration
    at_least: int = Field(ge=1)


class RequestedModel(Strict):
    level: int = Field(ge=1)


class WhenModel(Strict):
    """All keys given must hold (and). ``any``/``all``/``not`` nest."""

    sla: Literal["at_risk", "breached"] | None = None
    targets: list[TargetName] | None = Field(
        None, description="restrict sla, sla_elapsed_percent and sla_minutes_left to these"
    )
    sla_elapsed_percent: int | None = Field(None, ge=1)
    sla_minutes_left: int | None = Field(None, ge=0)
    priority: list[Priority] | None = None
    status: list[Status] | None = None
    category: list[str] | None = None
    customer_tier: list[str] | None = None
    organization: list[str] | None = None
    system: list[str] | None = None
    group: list[str] | None = None
    labels: list[str] | None = None
    affected_users: RangeModel | None = None
    level: RangeModel | None = None
    agent_comments: RangeModel | None = None
    group_reassignments: RangeModel | None = None
    recurrence: WindowModel | None = None
    surge: WindowModel | None = None
    linked_issue: Literal["resolved"] | None = None
    requested: RequestedModel | None = Field(
        None, description="an agent asked for this level with a request label"
    )
    any: list[WhenModel] | None = None
    all: list[WhenModel] | None = None
    not_: WhenModel | None = Field(None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- escalation ---------------------------------------------------------------------------------
class AssignModel(Strict):
    group: str | None = None
    user: str | None = None

    @model_validator(mode="after")
    def _one(self) -> AssignModel:
        if self.group is None and self.user is None:
            raise ValueError("give a group, a user or both")
        return self


class RepeatModel(Strict):
    every: Duration = Field(description="business time of `calendar` between two sends")
    times: int = Field(ge=1, le=100)
    calendar: str | None = Field(None, description="default: the ticket's SLA calendar")


Acknowledger = Literal["reply", "assignee", "page"]


class TurnModel(Strict):
    """One turn of a round robin: the channel notified and/or the user assigned instead."""

    notify: str | None = Field(None, description="channel name")
    user: str | None = None

    @model_validator(mode="after")
    def _one(self) -> TurnModel:
        if self.notify is None and self.user is None:
            raise ValueError("give notify, user or both")
        return self


class LevelModel(Strict):
    name: str
    label: Name
    assign: AssignModel | None = None
    notify: str | None = Field(None, description="channel name")
    customer_update: str | None = Field(None, description="template posted publicly")
    notification: str | None = Field(None, description="template of the channel message")
    repeat: RepeatModel | None = Field(None, description="re-send until acknowledged")
    acknowledge: list[Acknowledger] | None = Field(
        None, min_length=1, description="what stops the repeat (default: all three)"
    )
    round_robin: list[TurnModel] | None = Field(
        None, min_length=2, description="contacts taking turns, one per escalation"
    )


class LinkedIssueModel(Strict):
    system: str
    project: str
    summary: str = Field(description="template name")
    description: str = Field(description="template name")


class NotifyModel(Strict):
    channel: str
    template: str


class StepModel(Strict):
    """Exactly one of these keys."""

    add_labels: list[Name] | None = None
    remove_labels: list[Name] | None = None
    set_priority: Priority | None = None
    raise_priority: int | None = Field(None, ge=1, le=3)
    assign: AssignModel | None = None
    public_comment: str | None = Field(None, description="template name")
    internal_note: str | None = Field(None, description="template name")
    create_linked_issue: LinkedIssueModel | None = None
    notify: NotifyModel | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StepModel:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            names = ", ".join(type(self).model_fields)
            raise ValueError(f"each step needs exactly one of: {names}")
        return self


class RuleModel(Strict):
    name: Name
    description: str = ""
    when: WhenModel
    then: list[StepModel] = Field(default_factory=list)
    escalate_to: int | None = Field(None, ge=1)
    # a post-escalation review: the report lists what such rules wrote, opened and still open
    review: bool = False
    step_down_to: int | None = Field(None, ge=0, description="de-escalate to this level")
    stand_down: str | None = Field(None, description="template of the stood-down notice")


# -- channels and sources -----------------------------------------------------------------------
_ENV_ONLY = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


def _env_only(value: str | None) -> str | None:
    if value is not None and not _ENV_ONLY.match(value):
        raise ValueError("a secret must come from the environment: write ${ENV_VAR}")
    return value


EnvSecret = Annotated[str, AfterValidator(_env_only)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
CHAT_KINDS = ("slack", "teams", "webhook")


class ChannelModel(Strict):
    """One notification channel. One flat model rather than a tagged union, so that every
    error points at its own key; which keys a kind takes is checked below."""

    type: Literal["slack", "teams", "webhook", "email", "pagerduty", "opsgenie"]
    # slack, teams, webhook
    url: str | None = Field(None, description="use ${ENV_VAR}: the URL is a secret")
    # email over SMTP (port: 587 for starttls, 465 for tls, 25 for none)
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] | None = None
    username: EnvSecret | None = None
    password: EnvSecret | None = None
    ca_file: str | None = Field(None, description="PEM bundle trusted beside the system's")
    sender: Email | None = None
    to: list[Email] | None = Field(None, min_length=1)
    timeout: Duration | None = None
    # pagerduty (Events API v2) and opsgenie (Alert API); base_url for the EU regions
    routing_key: EnvSecret | None = None
    severity: Literal["critical", "error", "warning", "info"] | None = None
    source: str | None = None
    api_key: EnvSecret | None = None
    api_token: EnvSecret | None = Field(
        None, description="pagerduty: a REST API key, to see a responder's acknowledgement"
    )
    api_url: str | None = None
    priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    teams: list[str] | None = None
    base_url: str | None = None

    @model_validator(mode="after")
    def _keys_of_its_kind(self) -> ChannelModel:
        kind = "chat" if self.type in CHAT_KINDS else self.type
        required, allowed = _CHANNEL_KEYS[kind]
        given = {k for k in type(self).model_fields if k != "type" and getattr(self, k) is not None}
        missing = [k for k in required if k not in given]
        if missing:
            raise ValueError(f"a {self.type} channel needs {', '.join(missing)}")
        stray = sorted(given - set(required) - set(allowed))
        if stray:
            raise ValueError(f"a {self.type} channel takes no {', '.join(stray)}")
        return self


# kind -> (required keys, optional keys)
_CHANNEL_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "chat": (("url",), ()),
    "email": (
        ("host", "sender", "to"),
        ("port", "security", "username", "password", "ca_file", "timeout"),
    ),
    "pagerduty": (("routing_key",), ("severity", "source", "base_url", "api_token", "api_url")),
    "opsgenie": (("api_key",), ("priority", "teams", "base_url")),
}


class SourceModel(BaseModel):
    """A helpdesk connection. Keys beyond these are the connector's own settings."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str
    enabled: bool = True
    poll_interval: Duration = 60
    # the sidecar's share of the helpdesk's rate limit; a safe default per kind when unset
    max_requests_per_minute: int | None = Field(None, ge=1, le=100_000)
    webhook_secret: str | None = None


class ServiceModel(Strict):
    store: str = "sqlite:///var/escalator-state.db"
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(8080, ge=0, le=65535)
    max_webhook_bytes: int = Field(1_000_000, ge=1)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class RequestLabelsModel(Strict):
    labels: dict[Name, int] = Field(default_factory=dict, description="label -> level")


class RequestsModel(Strict):
    """Labels (tags) agents add to ask for escalation; ``sources`` override per source."""

    labels: dict[Name, int] = Field(default_factory=dict, description="label -> level")
    sources: dict[Name, RequestLabelsModel] = Field(default_factory=dict)


_TIME_OF_DAY = re.compile(r"^(\d{2}):(\d{2})$")


def parse_time_of_day(value: Any) -> int:
    """``"09:00"`` -> minutes after midnight."""
    m = _TIME_OF_DAY.match(value.strip()) if isinstance(value, str) else None
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"expected a time of day like 09:00, got {value!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


TimeOfDay = Annotated[
    int,
    BeforeValidator(parse_time_of_day),
    PlainSerializer(lambda m: f"{m // 60:02d}:{m % 60:02d}"),
    WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}$"}),
]


class DigestModel(Strict):
    """A review of open escalations sent at ``at`` on each day ``calendar`` is open."""

    channel: str
    at: TimeOfDay
    calendar: str
    filter: WhenModel | None = Field(None, description="ticket fields and level only")


class ConfigModel(Strict):
    calendars: dict[Name, CalendarModel]
    sla: SlaModel
    levels: dict[int, LevelModel]
    rules: list[RuleModel]
    templates: dict[Name, str] = Field(default_factory=dict)
    channels: dict[Name, ChannelModel] = Field(default_factory=dict)
    sources: dict[Name, SourceModel] = Field(default_factory=dict)
    service: ServiceModel = ServiceModel()
    contracts: dict[Name, ContractModel] = Field(
        default_factory=dict, description="service credits per contract (contracts.yaml)"
    )
    time_format: str = "%A %d %B %Y, %H:%M %Z"
    requests: RequestsModel = RequestsModel()
    digests: dict[Name, DigestModel] = Field(default_factory=dict)

    @field_validator("levels")
    @classmethod
    def _levels_from_one(cls, levels: dict[int, LevelModel]) -> dict[int, LevelModel]:
        if sorted(levels) != list(range(1, len(levels) + 1)):
            raise ValueError("levels must be numbered 1, 2, 3, … without gaps")
        return levels


SlaPolicyModel.model_rebuild()
