"""Changed-since pull: Cloud enhanced search (``/rest/api/3/search/jql``, ``nextPageToken``) or
Data Center search (``/rest/api/2/search``, ``startAt``/``total``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.base import MappingWarning, PullResult, Quarantined
from connectors.cursor import EdgeCursor
from connectors.errors import MalformedRecord, PagingLoop
from connectors.jira.client import JiraClient
from connectors.jira.cursor import decode_cursor, edge_rule, jql_minute, parse_jira_time
from connectors.jira.mapping import IssueMapper, issue_fields
from connectors.jira.settings import Settings
from connectors.jira.site import SiteFacts, user_id
from engine.model import Ticket


class IssuePager:
    """The pages of one Cloud search, made fresh per run; a repeated page token is a loop."""

    def __init__(
        self, client: JiraClient, jql: str, *, fields: list[str], expand: str | None, size: int
    ) -> None:
        self._client = client
        self._jql = jql
        self._fields = fields
        self._expand = expand
        self._size = size

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        token: str | None = None
        used: set[str] = set()
        while True:
            page = self._client.search_page(
                self._jql,
                token=token,
                max_results=self._size,
                fields=self._fields,
                expand=self._expand,
            )
            yield list(page.get("issues") or [])
            token = page.get("nextPageToken")
            if not token:  # absent on the last page (``isLast`` is not always sent)
                return
            if token in used:
                raise PagingLoop("jira search", token)
            used.add(token)


class OffsetPager:
    """The pages of one Data Center search (``startAt``); stops at ``total`` or a short page."""

    def __init__(
        self, client: JiraClient, jql: str, *, fields: list[str], expand: str | None, size: int
    ) -> None:
        self._client = client
        self._jql = jql
        self._fields = fields
        self._expand = expand
        self._size = size

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        start = 0
        while True:
            page = self._client.search_offset(
                self._jql,
                start_at=start,
                max_results=self._size,
                fields=self._fields,
                expand=self._expand,
            )
            issues = list(page.get("issues") or [])
            yield issues
            start += len(issues)
            if not issues or start >= int(page.get("total") or 0):
                return


def pull_jql(settings: Settings, since: datetime, zone: str) -> str:
    """The changed-since query; its date literal is in ``zone``, the API user's profile zone."""
    projects = ", ".join(f'"{p}"' for p in settings.projects)
    extra = f" AND ({settings.jql_filter})" if settings.jql_filter else ""
    minute = jql_minute(since, zone)
    return f'project in ({projects}){extra} AND updated >= "{minute}" ORDER BY updated ASC, key ASC'


def is_echo(
    issue: Mapping[str, Any],
    histories: Sequence[Mapping[str, Any]],
    sidecar: str | None,
    boundary: datetime,
) -> bool:
    """True when everything that happened to ``issue`` after ``boundary`` was the sidecar's.

    Counted: changelog entries and comments. Unexplained updates are never echoes.
    """
    if sidecar is None:
        return False
    fields = issue.get("fields") or {}
    events: list[tuple[datetime, str | None]] = []
    for entry in histories:
        events.append((parse_jira_time(entry["created"]), user_id(entry.get("author"))))
    for comment in (fields.get("comment") or {}).get("comments") or []:
        at = parse_jira_time(comment.get("updated") or comment["created"])
        events.append((at, user_id(comment.get("author"))))
    recent = [(at, who) for at, who in events if at > boundary]
    if not recent or any(who != sidecar for _, who in recent):
        return False
    newest = max(at for at, _ in recent)
    return newest >= parse_jira_time(fields["updated"]) - timedelta(seconds=5)


class IssuePull:
    """One connector's pulls: JQL watermark with overlap, dedupe, quarantine, echo suppression."""

    def __init__(
        self,
        client: JiraClient,
        settings: Settings,
        mapper: IssueMapper,
        site: SiteFacts,
        *,
        source: str,
        now: Callable[[], datetime],
        own_comments: Mapping[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._mapper = mapper
        self._site = site
        self._own_comments = own_comments if own_comments is not None else {}
        self._source = source
        self._now = now
        self.last_echoes: tuple[str, ...] = ()

    def pull(self, cursor: str | None, *, start: datetime) -> PullResult:
        started_at = self._now()
        calls_before = self._client.requests_made
        mark = decode_cursor(cursor) if cursor else EdgeCursor(start)
        rule = edge_rule(timedelta(seconds=self._settings.overlap_seconds))
        since = mark.query_from(rule)
        pager_kind = IssuePager if self._settings.is_cloud else OffsetPager
        pager = pager_kind(
            self._client,
            pull_jql(self._settings, since, self._site.time_zone),
            fields=issue_fields(self._site.fields),
            expand="changelog",
            size=self._settings.page_size,
        )
        tickets: list[Ticket] = []
        warnings: list[MappingWarning] = []
        quarantined: list[Quarantined] = []
        delivered: list[tuple[str, datetime]] = []
        echoes: list[str] = []
        for issues in pager.pages():
            for raw in issues:
                key = raw.get("key")
                try:
                    updated = parse_jira_time(raw["fields"]["updated"])
                except (KeyError, TypeError, ValueError) as exc:
                    quarantined.append(Quarantined(self._source, key, f"no usable updated: {exc}"))
                    continue
                if not mark.is_new(str(key), updated, rule):
                    continue  # delivered by the previous pull at this same ``updated``
                delivered.append((str(key), updated))
                boundary = mark.edge.get(str(key), since)
                try:
                    histories = self.histories_of(raw)
                    if self._settings.suppress_echoes and is_echo(
                        raw, histories, self._mapper.sidecar_account, boundary
                    ):
                        echoes.append(str(key))
                        continue
                    mapped = self._mapper.map(raw, self.comments_of(raw), histories)
                    tickets.append(mapped.ticket)
                    warnings.extend(mapped.warnings)
                except MalformedRecord as exc:
                    quarantined.append(Quarantined(self._source, exc.record_id or key, str(exc)))
                except (KeyError, TypeError, ValueError) as exc:
                    quarantined.append(
                        Quarantined(self._source, key, f"{type(exc).__name__}: {exc}")
                    )
        self.last_echoes = tuple(echoes)
        after = mark.advanced(delivered, started_at=started_at, rule=rule)
        return PullResult(
            tickets=tuple(tickets),
            cursor=after.encode(),
            quarantined=tuple(quarantined),
            api_calls=self._client.requests_made - calls_before,
            warnings=tuple(warnings),
        )

    def histories_of(self, raw: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        """The embedded changelog, or the whole of it when the embedded page is cut short."""
        embedded = raw.get("changelog") or {}
        histories: list[Mapping[str, Any]] = list(embedded.get("histories") or [])
        if int(embedded.get("total") or 0) > len(histories):
            return self._client.changelog(str(raw["key"]))
        return histories

    def comments_of(self, raw: Mapping[str, Any]) -> Sequence[Mapping[str, Any]] | None:
        """Embedded comments, or the full list when they are cut short or carry our markers."""
        embedded = (raw.get("fields") or {}).get("comment") or {}
        comments = embedded.get("comments") or []
        total = embedded.get("total", len(comments))
        sidecar = self._mapper.sidecar_account
        ours = [c for c in comments if user_id(c.get("author")) == sidecar]
        unknown = [c for c in ours if str(c.get("id")) not in self._own_comments]
        if total > len(comments) or (sidecar is not None and unknown):
            return self._client.comments(str(raw["key"]))  # markers live in comment properties
        if ours:  # written by this process: their properties are known without a read
            return [
                {**c, "properties": self._own_comments[str(c.get("id"))]}
                if c in ours
                else c
                for c in comments
            ]
        return None
