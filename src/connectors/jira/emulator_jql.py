"""The JQL subset the emulator understands: ``AND``-ed clauses, ``ORDER BY``. Enough for the
connector's queries and an admin's simple ``jql_filter``; anything else is a 400 like Jira's.

Date literals are read in the searching user's profile zone, as Jira reads them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.jira.cursor import parse_jira_time

Issue = Mapping[str, Any]
Predicate = Callable[[Issue], bool]

_TOKEN = re.compile(r"""\s*(>=|<=|!=|=|>|<|\(|\)|,|"(?:[^"\\]|\\.)*"|'[^']*'|[^\s(),=<>!"']+)""")


class JqlError(ValueError):
    """Rendered as Jira's 400 ``{"errorMessages": [...]}``."""


@dataclass(frozen=True, slots=True)
class Query:
    where: Predicate
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    bounded: bool
    keys: frozenset[str] = frozenset()  # issue keys the query names (each must exist)

    def sort_key(self, field: str) -> Callable[[Issue], Any]:
        return _SORT_KEYS[field]


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise JqlError(f"Error in the JQL Query: unexpected character at {pos}.")
        out.append(match.group(1))
        pos = match.end()
    return out


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1].replace('\\"', '"')
    return token


def _jql_date(text: str, zone: ZoneInfo) -> datetime:
    for form in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=zone)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' for field 'updated' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format."
    )


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.partition("-")
    return project, int(number) if number.isdigit() else 0


def _stamp(issue: Issue, field: str) -> datetime:
    return parse_jira_time(str(issue["fields"][field]))


_SORT_KEYS: dict[str, Callable[[Issue], Any]] = {
    "updated": lambda i: _stamp(i, "updated"),
    "created": lambda i: _stamp(i, "created"),
    "key": lambda i: _key_order(str(i["key"])),
    "issuekey": lambda i: _key_order(str(i["key"])),
}


def _values(issue: Issue, field: str) -> list[str]:
    f = issue["fields"]
    if field in ("key", "issuekey"):
        return [str(issue["key"]).upper()]
    if field == "project":
        project = f.get("project") or {}
        return [str(project.get("key", "")).upper(), str(project.get("id", ""))]
    if field == "labels":
        return [str(x).upper() for x in f.get("labels") or []]
    if field == "status":
        return [str((f.get("status") or {}).get("name", "")).upper()]
    if field == "statuscategory":
        cat = (f.get("status") or {}).get("statusCategory") or {}
        return [str(cat.get("name", "")).upper(), str(cat.get("key", "")).upper()]
    if field == "priority":
        return [str((f.get("priority") or {}).get("name", "")).upper()]
    if field == "assignee":
        return [str((f.get("assignee") or {}).get("accountId", "")).upper()]
    raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")


def _clause(field: str, op: str, value: Any, zone: ZoneInfo) -> Predicate:
    field = field.casefold()
    if field in ("updated", "created"):
        if not isinstance(value, str) or op not in (">=", "<=", ">", "<", "="):
            raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
        limit = _jql_date(value, zone)
        compare: dict[str, Callable[[datetime], bool]] = {
            ">=": lambda t: t >= limit,
            "<=": lambda t: t <= limit,
            ">": lambda t: t > limit,
            "<": lambda t: t < limit,
            "=": lambda t: t == limit,
        }
        test = compare[op]
        return lambda issue: test(_stamp(issue, field))
    wanted = {v.upper() for v in (value if isinstance(value, list) else [value])}
    if op in ("=", "in"):
        return lambda issue: bool(wanted & set(_values(issue, field)))
    if op in ("!=", "not in"):
        return lambda issue: not wanted & set(_values(issue, field))
    raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")


class _Parser:
    def __init__(self, tokens: list[str], zone: ZoneInfo) -> None:
        self.tokens = tokens
        self.pos = 0
        self.clauses = 0
        self.zone = zone
        self.keys: set[str] = set()

    def clause(self, field: str, op: str, value: Any) -> Predicate:
        self.clauses += 1
        if field.casefold() in ("key", "issuekey") and op in ("=", "in"):
            self.keys |= {str(v).upper() for v in (value if isinstance(value, list) else [value])}
        return _clause(field, op, value, self.zone)

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise JqlError("Error in the JQL Query: the query ended unexpectedly.")
        self.pos += 1
        return token

    def expression(self) -> Predicate:
        parts = [self.term()]
        while (self.peek() or "").upper() == "AND":
            self.take()
            parts.append(self.term())
        return lambda issue: all(p(issue) for p in parts)

    def term(self) -> Predicate:
        if self.peek() == "(":
            self.take()
            inner = self.expression()
            if self.take() != ")":
                raise JqlError("Error in the JQL Query: expecting ')'.")
            return inner
        field = _unquote(self.take())
        op = self.take().lower()
        if op == "not":
            op = "not " + self.take().lower()
        if op in ("in", "not in"):
            if self.take() != "(":
                raise JqlError("Error in the JQL Query: expecting '(' after 'in'.")
            values: list[str] = []
            while True:
                values.append(_unquote(self.take()))
                sep = self.take()
                if sep == ")":
                    break
                if sep != ",":
                    raise JqlError("Error in the JQL Query: expecting ',' or ')'.")
            return self.clause(field, op, values)
        return self.clause(field, op, _unquote(self.take()))


def parse(jql: str, zone: str = "UTC") -> Query:
    tokens = _tokens(jql)
    upper = [t.upper() for t in tokens]
    order: list[tuple[str, bool]] = []
    for i in range(len(tokens) - 1):
        if upper[i] == "ORDER" and upper[i + 1] == "BY":
            tail, tokens = tokens[i + 2 :], tokens[:i]
            for part in " ".join(tail).split(","):
                words = part.split()
                if not words or words[0].casefold() not in _SORT_KEYS:
                    raise JqlError(f"Not able to sort using field '{part.strip()}'.")
                descending = len(words) > 1 and words[1].upper() == "DESC"
                order.append((words[0].casefold(), descending))
            break
    if not tokens:
        return Query(lambda issue: True, tuple(order), bounded=False)
    parser = _Parser(tokens, ZoneInfo(zone))
    where = parser.expression()
    if parser.peek() is not None:
        raise JqlError(f"Error in the JQL Query: unexpected '{parser.peek()}'.")
    return Query(where, tuple(order), bounded=parser.clauses > 0, keys=frozenset(parser.keys))
