"""From validated YAML models to the engine's ``Policy``, checking every cross-reference."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holidays_lib

from engine.calendar import BusinessCalendar
from engine.criteria import (
    ALL_TARGETS,
    AllOf,
    Always,
    AnyOf,
    Between,
    Criterion,
    FieldIn,
    HasLabels,
    LinkedIssueResolved,
    NoneOf,
    Recurrence,
    SlaBreached,
    SlaThreshold,
    Surge,
)
from engine.model import TargetName
from engine.policy import (
    AddLabelsStep,
    AssignStep,
    CommentStep,
    Level,
    LinkedIssueStep,
    NotifyStep,
    Policy,
    RaisePriorityStep,
    RemoveLabelsStep,
    Rule,
    SetPriorityStep,
    SlaPolicy,
    Step,
    Template,
)
from engine.sla import PriorityTargets
from escalator.config.errors import Problem, did_you_mean
from escalator.config.schema import (
    WEEKDAYS,
    CalendarModel,
    ConfigModel,
    StepModel,
    WhenModel,
)
from escalator.config.templates import compile_template, usage_problem
from escalator.config.yamlsource import Located, Path_


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _countries() -> dict[str, list[str]]:
    return dict(holidays_lib.list_supported_countries())


class Compiler:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, model: ConfigModel, located: Located, version: str) -> None:
        self.model = model
        self.located = located
        self.version = version
        self.problems: list[Problem] = []
        self.templates: dict[str, Template] = {}

    def problem(self, path: Path_, message: str, *, key: bool = False) -> None:
        self.problems.append(self.located.problem(path, message, key=key))

    # -- whole ---------------------------------------------------------------------------------
    def compile(self) -> Policy | None:
        m = self.model
        self._compile_templates()
        calendars = {
            name: cal
            for name, spec in m.calendars.items()
            if (cal := self._calendar(name, spec)) is not None
        }
        sla_policies = tuple(self._sla_policies(calendars))
        levels = {n: self._level(n) for n in m.levels}
        rules = tuple(self._rule(i) for i in range(len(m.rules)))
        self._check_unique_rule_names()
        if self.problems:
            return None
        clocks = m.sla.clocks
        return Policy(
            version=self.version,
            calendars=calendars,
            runs_while={
                TargetName.FIRST_RESPONSE: frozenset(clocks.first_response.runs_while),
                TargetName.NEXT_UPDATE: frozenset(clocks.next_update.runs_while),
                TargetName.RESOLUTION: frozenset(clocks.resolution.runs_while),
            },
            at_risk_percent=m.sla.at_risk_percent,
            sla_policies=sla_policies,
            levels=levels,
            rules=rules,
            time_format=m.time_format,
        )

    # -- templates -----------------------------------------------------------------------------
    def _compile_templates(self) -> None:
        for name, source in self.model.templates.items():
            render, problems = compile_template(name, source)
            path: Path_ = ("templates", name)
            pos = self.located.where(path)
            block = self.located.block.get(path, False)
            for p in problems:
                # a block scalar's text starts on the line after its indicator
                line = pos.line + p.line if block else pos.line + p.line - 1
                column = self.located.where(path, key=True).column + 2 if block else pos.column
                self.problems.append(Problem(pos.file, line, column, p.message))
            if render is not None:
                self.templates[name] = render

    def _template(
        self, name: str, path: Path_, *, level: bool = False, target: bool = False
    ) -> Template:
        """The template ``name`` for a place where ``level`` / ``target`` are (not) known."""
        if name in self.templates:
            problem = usage_problem(self.model.templates[name], level=level, target=target)
            if problem is not None:
                self.problem(path, f"template {name!r} cannot be used here: {problem}")
            return self.templates[name]
        if name not in self.model.templates:
            self.problem(
                path, f"unknown template {name!r}{did_you_mean(name, self.model.templates)}"
            )
        return _broken_template

    # -- calendars -----------------------------------------------------------------------------
    def _calendar(self, name: str, spec: CalendarModel) -> BusinessCalendar | None:
        path: Path_ = ("calendars", name)
        try:
            if spec.timezone not in _zones():
                raise ZoneInfoNotFoundError(spec.timezone)
            zone = ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(
                (*path, "timezone"),
                f"unknown time zone {spec.timezone!r}{did_you_mean(spec.timezone, _zones())}",
            )
            return None
        closed_on = self._holidays(path, spec)
        if spec.always_open:
            return BusinessCalendar(name, zone, always_open=True)
        hours = spec.hours
        assert hours is not None  # the model requires hours unless always_open
        weekly = {i: list(getattr(hours, day)) for i, day in enumerate(WEEKDAYS)}
        if not any(weekly.values()):
            self.problem((*path, "hours"), "the calendar is never open")
            return None
        return BusinessCalendar(name, zone, weekly, closed_on=closed_on)

    def _holidays(self, path: Path_, spec: CalendarModel) -> Callable[[int], Iterable[date]]:
        extra = tuple(spec.holidays.dates)
        country, subdivision = spec.holidays.country, spec.holidays.subdivision
        if country is None:
            if subdivision is not None:
                self.problem((*path, "holidays", "subdivision"), "a subdivision needs a country")
            return lambda year: extra
        countries = _countries()
        if country not in countries:
            self.problem(
                (*path, "holidays", "country"),
                f"unknown holiday country {country!r}{did_you_mean(country, countries)}",
            )
            return lambda year: extra
        if subdivision is not None and subdivision not in countries[country]:
            self.problem(
                (*path, "holidays", "subdivision"),
                f"unknown subdivision {subdivision!r} of {country}"
                f"{did_you_mean(subdivision, countries[country])}",
            )
            return lambda year: extra

        def closed_on(year: int) -> Iterable[date]:
            found = holidays_lib.country_holidays(country, subdiv=subdivision, years=year)
            return [*found.keys(), *(d for d in extra if d.year == year)]

        return closed_on

    # -- SLA -------------------------------------------------------------------------------------
    def _sla_policies(self, calendars: dict[str, BusinessCalendar]) -> Iterable[SlaPolicy]:
        for i, spec in enumerate(self.model.sla.policies):
            path: Path_ = ("sla", "policies", i)
            when = Always() if spec.when is None else self._when(spec.when, (*path, "when"))
            if when.time_based:
                self.problem(
                    (*path, "when"),
                    "an SLA policy is chosen by ticket fields; "
                    "SLA and time criteria cannot choose it",
                )
            targets: dict[Any, PriorityTargets] = {}
            for priority, t in spec.targets.items():
                cal = calendars.get(t.calendar)
                if cal is None:
                    if t.calendar not in self.model.calendars:
                        self.problem(
                            (*path, "targets", priority.value, "calendar"),
                            f"unknown calendar {t.calendar!r}"
                            f"{did_you_mean(t.calendar, self.model.calendars)}",
                        )
                    continue
                targets[priority] = PriorityTargets(
                    cal, t.first_response, t.next_update, t.resolution
                )
            yield SlaPolicy(spec.name, when, targets)

    # -- levels and rules ----------------------------------------------------------------------
    def _channel(self, name: str, path: Path_) -> None:
        if name not in self.model.channels:
            self.problem(path, f"unknown channel {name!r}{did_you_mean(name, self.model.channels)}")

    def _level(self, number: int) -> Level:
        spec = self.model.levels[number]
        path: Path_ = ("levels", number)
        if spec.notify is not None:
            self._channel(spec.notify, (*path, "notify"))
        update = spec.customer_update
        notification = spec.notification
        return Level(
            number=number,
            name=spec.name,
            label=spec.label,
            group=spec.assign.group if spec.assign else None,
            user=spec.assign.user if spec.assign else None,
            channel=spec.notify,
            customer_update=(
                self._template(update, (*path, "customer_update"), level=True) if update else None
            ),
            notification=(
                self._template(notification, (*path, "notification"), level=True)
                if notification
                else None
            ),
        )

    def _rule(self, index: int) -> Rule:
        spec = self.model.rules[index]
        path: Path_ = ("rules", index)
        if spec.escalate_to is not None and spec.escalate_to not in self.model.levels:
            self.problem(
                (*path, "escalate_to"),
                f"unknown level {spec.escalate_to} "
                f"(levels are {', '.join(map(str, sorted(self.model.levels)))})",
            )
        when = self._when(spec.when, (*path, "when"))
        steps = tuple(
            self._step(s, (*path, "then", i), sla=when.time_based) for i, s in enumerate(spec.then)
        )
        return Rule(
            name=spec.name,
            when=when,
            steps=steps,
            escalate_to=spec.escalate_to,
            statuses=frozenset(spec.when.status or ()),
            description=spec.description,
        )

    def _check_unique_rule_names(self) -> None:
        seen: set[str] = set()
        for i, rule in enumerate(self.model.rules):
            if rule.name in seen:
                self.problem(("rules", i, "name"), f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)

    def _step(self, spec: StepModel, path: Path_, *, sla: bool) -> Step:
        """``sla``: the rule's condition is about SLA targets, so ``target`` is known."""
        if spec.add_labels is not None:
            return AddLabelsStep(tuple(spec.add_labels))
        if spec.remove_labels is not None:
            return RemoveLabelsStep(tuple(spec.remove_labels))
        if spec.set_priority is not None:
            return SetPriorityStep(spec.set_priority)
        if spec.raise_priority is not None:
            return RaisePriorityStep(spec.raise_priority)
        if spec.assign is not None:
            return AssignStep(spec.assign.group, spec.assign.user)
        if spec.public_comment is not None:
            return CommentStep(
                True, self._template(spec.public_comment, (*path, "public_comment"), target=sla)
            )
        if spec.internal_note is not None:
            return CommentStep(
                False, self._template(spec.internal_note, (*path, "internal_note"), target=sla)
            )
        if spec.create_linked_issue is not None:
            li = spec.create_linked_issue
            here = (*path, "create_linked_issue")
            return LinkedIssueStep(
                li.system,
                li.project,
                self._template(li.summary, (*here, "summary"), target=sla),
                self._template(li.description, (*here, "description"), target=sla),
            )
        assert spec.notify is not None  # StepModel holds exactly one
        self._channel(spec.notify.channel, (*path, "notify", "channel"))
        return NotifyStep(
            spec.notify.channel,
            self._template(spec.notify.template, (*path, "notify", "template"), target=sla),
        )

    def _when(self, w: WhenModel, path: Path_) -> Criterion:
        parts: list[Criterion] = []
        targets = frozenset(w.targets) if w.targets else ALL_TARGETS
        if w.sla == "at_risk":
            parts.append(SlaThreshold(targets, label="at risk"))
        elif w.sla == "breached":
            parts.append(SlaBreached(targets))
        if w.sla_elapsed_percent is not None:
            parts.append(
                SlaThreshold(
                    targets,
                    percent=w.sla_elapsed_percent,
                    running_only=False,
                    label=f"{w.sla_elapsed_percent}% elapsed",
                )
            )
        if w.sla_minutes_left is not None:
            parts.append(
                SlaThreshold(
                    targets,
                    seconds_left=w.sla_minutes_left * 60,
                    label=f"≤ {w.sla_minutes_left} min before breach",
                )
            )
        if w.targets and not (w.sla or w.sla_elapsed_percent or w.sla_minutes_left is not None):
            self.problem(
                (*path, "targets"),
                "'targets' only narrows sla, sla_elapsed_percent "
                "or sla_minutes_left, and none is given",
            )
        for name in (
            "priority",
            "status",
            "category",
            "customer_tier",
            "organization",
            "system",
            "group",
        ):
            values = getattr(w, name)
            if values is not None:
                parts.append(FieldIn(name, frozenset(str(v) for v in values)))
        if w.labels is not None:
            parts.append(HasLabels(frozenset(w.labels)))
        for quantity in ("affected_users", "level", "agent_comments", "group_reassignments"):
            r = getattr(w, quantity)
            if r is not None:
                parts.append(Between(quantity, r.at_least, r.at_most))
        if w.level and w.level.at_least is not None and w.level.at_least > len(self.model.levels):
            self.problem((*path, "level", "at_least"), f"unknown level {w.level.at_least}")
        if w.recurrence is not None:
            parts.append(Recurrence(w.recurrence.window, w.recurrence.at_least))
        if w.surge is not None:
            parts.append(Surge(w.surge.window, w.surge.at_least))
        if w.linked_issue is not None:
            parts.append(LinkedIssueResolved())
        if w.any is not None:
            parts.append(
                AnyOf(tuple(self._when(c, (*path, "any", i)) for i, c in enumerate(w.any)))
            )
        if w.all is not None:
            parts.append(
                AllOf(tuple(self._when(c, (*path, "all", i)) for i, c in enumerate(w.all)))
            )
        if w.not_ is not None:
            parts.append(NoneOf(self._when(w.not_, (*path, "not"))))
        if not parts:
            return Always()
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _broken_template(context: Any) -> str:  # pragma: no cover - only exists while erroring
    raise RuntimeError("template failed to compile")
