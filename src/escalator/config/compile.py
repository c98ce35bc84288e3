"""From validated YAML models to the engine's ``Policy``, checking every cross-reference."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    Requested,
    SlaBreached,
    SlaThreshold,
    Surge,
)
from engine.digest import Digest
from engine.model import TargetName
from engine.policy import (
    ACKNOWLEDGERS,
    AddLabelsStep,
    AssignStep,
    CommentStep,
    Contact,
    Level,
    LinkedIssueStep,
    NotifyStep,
    Policy,
    RaisePriorityStep,
    RemoveLabelsStep,
    Repeat,
    Rule,
    SetPriorityStep,
    SlaPolicy,
    Step,
    Template,
)
from engine.sla import PriorityTargets
from escalator.config.budget import LoadBudget
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
from escalator.config.zones import zone_error, zone_warning

DAY = 86_400
MAX_SPAN = 366 * DAY  # SLA targets and windows: longer is a typo, and costs centuries of calendar
MAX_PERCENT = 1_000


@cache
def _countries() -> dict[str, list[str]]:
    return dict(holidays_lib.list_supported_countries())


class Compiler:
    """Collects every problem instead of stopping at the first."""

    def __init__(
        self,
        model: ConfigModel,
        located: Located,
        version: str,
        budget: LoadBudget | None = None,
    ) -> None:
        self.model = model
        self.located = located
        self.version = version
        self.budget = LoadBudget() if budget is None else budget
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.templates: dict[str, Template] = {}
        self._used_templates: set[str] = set()
        self._calendars: dict[str, BusinessCalendar] = {}
        self._request_labels: dict[str, dict[str, int]] = {}

    def problem(self, path: Path_, message: str, *, key: bool = False) -> None:
        self.problems.append(self.located.problem(path, message, key=key))

    def warn(self, path: Path_, message: str, *, key: bool = False) -> None:
        p = self.located.problem(path, message, key=key)
        self.warnings.append(Problem(p.file, p.line, p.column, p.message, "warning"))

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
        self._calendars = calendars
        requests = self._requests()
        self._request_labels = requests
        levels = {n: self._level(n) for n in m.levels}
        rules = tuple(self._rule(i) for i in range(len(m.rules)))
        digests = tuple(self._digests(calendars))
        self._check_unique_rule_names()
        self._warn_unused()
        self._check_polling()
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
            requests=requests,
            digests=digests,
            paging_channels=frozenset(
                name for name, c in m.channels.items() if c.type in ("pagerduty", "opsgenie")
            ),
        )

    # -- templates -----------------------------------------------------------------------------
    def _compile_templates(self) -> None:
        for name, source in self.model.templates.items():
            # each template has its own 0.5 s; none starts once the config's 1 s is spent
            self.budget.check_time()
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
        self._used_templates.add(name)
        if name in self.templates:
            problem = usage_problem(
                self.model.templates[name],
                level=level,
                target=target,
            )
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
        unknown = zone_error(spec.timezone)
        try:
            if unknown is not None:
                raise ZoneInfoNotFoundError(spec.timezone)
            zone = ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem((*path, "timezone"), unknown or f"unknown time zone {spec.timezone!r}")
            return None
        if (odd := zone_warning(spec.timezone)) is not None:
            self.warn((*path, "timezone"), odd)
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
                for target in ("first_response", "next_update", "resolution"):
                    seconds = getattr(t, target)
                    where = (*path, "targets", priority.value, target)
                    if seconds == 0:
                        self.problem(
                            where,
                            f"a {target} target of 0 is breached the moment a ticket is "
                            "created, escalating every ticket; leave the key out for no target",
                        )
                    elif seconds is not None and seconds > MAX_SPAN:
                        self.problem(
                            where, f"a {target} target of {_days(seconds)} is longer than a year"
                        )
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
        turns = tuple(Contact(turn.notify, turn.user) for turn in spec.round_robin or ())
        for i, turn in enumerate(spec.round_robin or ()):
            if turn.notify is not None:
                self._channel(turn.notify, (*path, "round_robin", i, "notify"))
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
            repeat=self._repeat(number),
            round_robin=turns,
        )

    def _repeat(self, number: int) -> Repeat | None:
        spec = self.model.levels[number]
        path: Path_ = ("levels", number)
        if spec.repeat is None:
            if spec.acknowledge is not None:
                self.problem(
                    (*path, "acknowledge"), "'acknowledge' stops a repeat, and no 'repeat' is given"
                )
            return None
        if spec.notify is None and not any(t.notify for t in spec.round_robin or ()):
            self.problem((*path, "repeat"), "a repeat needs a channel: give the level 'notify'")
        if spec.notification is None:
            self.problem((*path, "repeat"), "a repeat needs the level's 'notification' template")
        if spec.repeat.every < 60:
            self.problem((*path, "repeat", "every"), "repeat at most once a minute (every: 1m)")
        elif spec.repeat.every * spec.repeat.times > MAX_SPAN:
            self.problem((*path, "repeat"), "the repeats run longer than a year")
        calendar = None
        name = spec.repeat.calendar
        if name is not None:
            calendar = self._calendars.get(name)
            if calendar is None and name not in self.model.calendars:
                self.problem(
                    (*path, "repeat", "calendar"),
                    f"unknown calendar {name!r}{did_you_mean(name, self.model.calendars)}",
                )
        acknowledge = frozenset(spec.acknowledge) if spec.acknowledge else ACKNOWLEDGERS
        return Repeat(spec.repeat.every, spec.repeat.times, calendar, acknowledge)

    def _requests(self) -> dict[str, dict[str, int]]:
        """Request labels by system (``""``: every system), each level checked."""
        spec = self.model.requests
        top = len(self.model.levels)
        out: dict[str, dict[str, int]] = {}

        def checked(labels: dict[str, int], path: Path_) -> dict[str, int]:
            for label, level in labels.items():
                if not 1 <= level <= top:
                    self.problem((*path, label), f"unknown level {level} (levels are 1-{top})")
            return dict(labels)

        if spec.labels:
            out[""] = checked(spec.labels, ("requests", "labels"))
        for name, source in spec.sources.items():
            path: Path_ = ("requests", "sources", name)
            found = self.model.sources.get(name)
            if found is None:
                self.problem(
                    path,
                    f"unknown source {name!r}{did_you_mean(name, self.model.sources)}",
                    key=True,
                )
                continue
            labels = checked(source.labels, (*path, "labels"))
            if found.kind in out and out[found.kind] != labels:
                self.problem(path, f"another {found.kind} source asks with other labels", key=True)
            out[found.kind] = labels
        return out

    def _digests(self, calendars: dict[str, BusinessCalendar]) -> Iterable[Digest]:
        for name, spec in self.model.digests.items():
            path: Path_ = ("digests", name)
            self._channel(spec.channel, (*path, "channel"))
            calendar = calendars.get(spec.calendar)
            if calendar is None:
                if spec.calendar not in self.model.calendars:
                    self.problem(
                        (*path, "calendar"),
                        f"unknown calendar {spec.calendar!r}"
                        f"{did_you_mean(spec.calendar, self.model.calendars)}",
                    )
                continue
            when: Criterion = Always()
            if spec.filter is not None:
                self._check_conditions(spec.filter, (*path, "filter"), top=True)
                when = self._when(spec.filter, (*path, "filter"))
                if when.time_based:
                    self.problem(
                        (*path, "filter"),
                        "a digest lists escalations by ticket fields and level; "
                        "SLA and time criteria cannot filter it",
                    )
            yield Digest(name, spec.channel, spec.at, calendar, when)

    def _rule(self, index: int) -> Rule:
        spec = self.model.rules[index]
        path: Path_ = ("rules", index)
        if spec.escalate_to is not None and spec.escalate_to not in self.model.levels:
            self.problem(
                (*path, "escalate_to"),
                f"unknown level {spec.escalate_to} "
                f"(levels are {', '.join(map(str, sorted(self.model.levels)))})",
            )
        self._check_conditions(spec.when, (*path, "when"), top=True)
        when = self._when(spec.when, (*path, "when"))
        stand_down = None
        if spec.step_down_to is not None:
            when = self._step_down(index, when)
            if spec.stand_down is not None:
                stand_down = self._template(spec.stand_down, (*path, "stand_down"), level=True)
        elif spec.stand_down is not None:
            self.problem((*path, "stand_down"), "'stand_down' needs 'step_down_to'")
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
            review=spec.review,
            step_down_to=spec.step_down_to,
            stand_down=stand_down,
        )

    def _step_down(self, index: int, when: Criterion) -> Criterion:
        """A step-down rule only holds above the level it steps down to."""
        spec = self.model.rules[index]
        path: Path_ = ("rules", index, "step_down_to")
        target = spec.step_down_to
        assert target is not None
        if target >= len(self.model.levels):
            levels = ", ".join(map(str, sorted(self.model.levels)))
            self.problem(
                path,
                f"cannot step down to level {target}: it must be below the top level "
                f"(levels are {levels}; 0 is no escalation)",
            )
        if spec.escalate_to is not None:
            self.problem(path, "a rule either escalates or steps down, not both")
        if when.time_based:
            self.problem(
                ("rules", index, "when"),
                "a step-down holds when the cause is gone (ticket fields, linked issue, "
                "status); SLA and time criteria cannot step down",
            )
        above = Between("level", target + 1, None)
        return AllOf((above, when))

    def _check_unique_rule_names(self) -> None:
        seen: set[str] = set()
        for i, rule in enumerate(self.model.rules):
            if rule.name in seen:
                self.problem(("rules", i, "name"), f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        for i, rule in enumerate(self.model.rules):
            if not rule.then and rule.escalate_to is None and rule.step_down_to is None:
                self.warn(
                    ("rules", i, "name"),
                    f"rule {rule.name!r} has no steps and no escalate_to: it does nothing",
                )

    def _warn_unused(self) -> None:
        for name in self.model.templates:
            if name not in self._used_templates:
                self.warn(("templates", name), f"template {name!r} is not used", key=True)

    def _check_conditions(self, w: WhenModel, path: Path_, *, top: bool = False) -> None:
        """An empty condition holds for every ticket: a rule on it escalates everything."""
        if not w.model_fields_set:
            if top:
                self.problem(
                    path,
                    "an empty 'when' holds for every ticket: this rule would fire on every "
                    "active ticket; give at least one condition",
                )
            elif path[-1] == "not":
                self.problem(path, "'not: {}' holds for no ticket: this rule can never fire")
            else:
                self.problem(
                    path, "an empty condition holds for every ticket; give at least one key"
                )
            return
        for key in ("any", "all"):
            for i, inner in enumerate(getattr(w, key) or ()):
                self._check_conditions(inner, (*path, key, i))
        if w.not_ is not None:
            self._check_conditions(w.not_, (*path, "not"))

    def _step(self, spec: StepModel, path: Path_, *, sla: bool) -> Step:  # noqa: PLR0911
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
            self._check_hand_off(li.system, (*here, "system"))
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

    def _check_bounds(self, w: WhenModel, path: Path_) -> None:
        """Conditions that can hold for no ticket, and spans the engine would need centuries
        of calendar for, are typos."""
        for name in (
            "priority", "status", "category", "customer_tier", "organization", "system",
            "group", "any",
        ):  # fmt: skip
            if getattr(w, name) == []:
                self.problem(
                    (*path, name),
                    f"'{name}: []' holds for no ticket: give at least one value, "
                    "or leave the key out",
                )
        for name in ("labels", "all", "targets"):
            if getattr(w, name) == []:
                self.problem(
                    (*path, name),
                    f"'{name}: []' narrows nothing: give at least one value, or leave the key out",
                )
        for name in ("affected_users", "level", "agent_comments", "group_reassignments"):
            r = getattr(w, name)
            if r is not None and None not in (r.at_least, r.at_most) and r.at_least > r.at_most:
                self.problem(
                    (*path, name),
                    f"{name}: at_least {r.at_least} is more than at_most {r.at_most}, "
                    "which holds for no ticket",
                )
        for name in ("recurrence", "surge"):
            window = getattr(w, name)
            if window is not None and window.window > MAX_SPAN:
                self.problem(
                    (*path, name, "window"),
                    f"a {name} window of {_days(window.window)} is longer than a year",
                )
        if w.sla_minutes_left is not None and w.sla_minutes_left * 60 > MAX_SPAN:
            self.problem((*path, "sla_minutes_left"), "more than a year of minutes")
        if w.sla_elapsed_percent is not None and w.sla_elapsed_percent > MAX_PERCENT:
            self.problem(
                (*path, "sla_elapsed_percent"),
                f"{w.sla_elapsed_percent}% is more than the {MAX_PERCENT}% a target can run",
            )

    def _check_polling(self) -> None:
        for name, source in self.model.sources.items():
            if not 1 <= source.poll_interval <= DAY:
                self.problem(
                    ("sources", name, "poll_interval"),
                    f"a poll_interval of {source.poll_interval} s: give 1s to 1d",
                )

    def _check_hand_off(self, system: str, path: Path_) -> None:
        """A linked issue needs a source of that kind to create it in."""
        sources = self.model.sources
        kinds = {s.kind for s in sources.values()}
        enabled = {s.kind for s in sources.values() if s.enabled}
        if system in enabled:
            return
        if system in kinds:
            self.warn(
                path,
                f"the {system} source is switched off (enabled: false): "
                "this step fails until it is switched on",
            )
        elif sources:
            self.problem(
                path,
                f"no {system} source is configured to create the issue in "
                f"(sources: {', '.join(sorted(kinds))}){did_you_mean(system, kinds)}",
            )
        else:
            self.warn(
                path,
                f"no {system} source is configured: simulate works, "
                "but plan, sync and run cannot create the issue",
            )

    def _when(self, w: WhenModel, path: Path_) -> Criterion:  # noqa: PLR0912
        self._check_bounds(w, path)
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
        if w.requested is not None:
            if w.requested.level > len(self.model.levels):
                self.problem((*path, "requested", "level"), f"unknown level {w.requested.level}")
            if not self.model.requests.labels and not self.model.requests.sources:
                self.problem(
                    (*path, "requested"),
                    "no request labels are configured: add 'requests: {labels: …}'",
                )
            parts.append(Requested(w.requested.level, self._request_labels))
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


def _days(seconds: int) -> str:
    return f"{seconds / DAY:,.0f} days"


def _broken_template(context: Any) -> str:  # pragma: no cover - only exists while erroring
    raise RuntimeError("template failed to compile")
