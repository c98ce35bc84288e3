"""The emulator's searches: Cloud's ``/search/jql`` (``nextPageToken``, bounded queries only,
the old ``/search`` gone), Data Center's ``/search`` (``startAt``/``total``), Cloud's paged
``/changelog``; and a page that fails on purpose, to break a pagination midway."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from copy import deepcopy
from typing import Any, Protocol

from connectors.emulation import EmulatorServer, Request, Response
from connectors.jira.emulator_jql import JqlError, parse
from connectors.jira.emulator_site import MISSING_KEY, digest, error, list_arg


class SearchableSite(Protocol):
    server: EmulatorServer
    user_zone: str
    page_size: int
    version: int

    def all_issues(self) -> Iterable[dict[str, Any]]: ...

    def find_issue(self, key_or_id: str) -> dict[str, Any] | None: ...

    def render_issue(
        self,
        issue: dict[str, Any],
        fields: list[str],
        expand: set[str],
        props: list[str],
        *,
        search: bool = False,
        full: bool = False,
    ) -> dict[str, Any]: ...


class IssueSearch:
    """Search routes of one emulated site (called under the site's lock)."""

    def __init__(self, site: SearchableSite) -> None:
        self._site = site
        self._cache: tuple[str, int, list[dict[str, Any]]] | None = None
        self.failing_pages: dict[int, tuple[int, int]] = {}  # page index -> (status, times)

    def gone(self, request: Request) -> Response:
        return error(
            410,
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
            "A full migration guideline is available at "
            "https://developer.atlassian.com/changelog/#CHANGE-2046",
        )

    def _failing(self, offset: int, size: int) -> Response | None:
        """A planned failure of the page at ``offset`` (pagination that breaks midway)."""
        page = offset // max(size, 1)
        planned = self.failing_pages.get(page)
        if planned is None:
            return None
        status, times = planned
        if times <= 1:
            del self.failing_pages[page]
        else:
            self.failing_pages[page] = (status, times - 1)
        return Response(status, self._site.server.fault_body(status))

    def _query(self, jql: str) -> Any:
        """The parsed query, or the 400 Jira gives (unbounded, or a key that does not exist)."""
        try:
            query = parse(jql, zone=self._site.user_zone)
        except JqlError as exc:
            return error(400, str(exc))
        if not query.bounded:
            return error(
                400,
                "Unbounded JQL queries are not allowed here. Please add a search restriction "
                "to your query.",
            )
        missing = [k for k in query.keys if self._site.find_issue(k) is None]
        if missing:
            return error(400, *(MISSING_KEY.format(k) for k in missing))
        return query

    def token_page(self, request: Request) -> Response:
        jql = request.arg("jql") or ""
        query = self._query(jql)
        if isinstance(query, Response):
            return query
        token = request.arg("nextPageToken")
        offset = 0
        if token:
            try:
                data = json.loads(base64.urlsafe_b64decode(token.encode()))
                offset = int(data["o"])
                if data["q"] != digest(jql):
                    raise ValueError("token of another query")
            except (ValueError, KeyError, TypeError):
                return error(400, "The provided next page token is invalid or expired.")
        size = min(int(request.arg("maxResults") or "50"), self._site.page_size, 5000)
        failed = self._failing(offset, size)
        if failed is not None:
            return failed
        matched = self._matching(jql, query)
        page = matched[offset : offset + size]
        fields = list_arg(request, "fields") or ["id"]
        expand = set(list_arg(request, "expand"))
        props = list_arg(request, "properties")
        body: dict[str, Any] = {
            "issues": [
                self._site.render_issue(i, fields, expand, props, search=True) for i in page
            ],
            "isLast": offset + size >= len(matched),
        }
        if offset + size < len(matched):
            raw = json.dumps({"q": digest(jql), "o": offset + size}).encode()
            body["nextPageToken"] = base64.urlsafe_b64encode(raw).decode()
        return Response(200, body)

    def offset_page(self, request: Request) -> Response:
        """Data Center ``GET /rest/api/2/search``: ``startAt``/``maxResults`` (default 50)/
        ``total``; it answers unbounded queries too."""
        jql = request.arg("jql") or ""
        try:
            query = parse(jql, zone=self._site.user_zone)
        except JqlError as exc:
            return error(400, str(exc))
        missing = [k for k in query.keys if self._site.find_issue(k) is None]
        if missing:
            return error(400, *(MISSING_KEY.format(k) for k in missing))
        start = int(request.arg("startAt") or "0")
        size = min(int(request.arg("maxResults") or "50"), self._site.page_size, 1000)
        failed = self._failing(start, size)
        if failed is not None:
            return failed
        matched = self._matching(jql, query)
        fields = list_arg(request, "fields") or ["*navigable"]
        expand = set(list_arg(request, "expand"))
        return Response(
            200,
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(matched),
                "issues": [
                    self._site.render_issue(i, fields, expand, [], search=True)
                    for i in matched[start : start + size]
                ],
            },
        )

    def _matching(self, jql: str, query: Any) -> list[dict[str, Any]]:
        cached = self._cache
        if cached and cached[0] == jql and cached[1] == self._site.version:
            return cached[2]
        matched = [i for i in self._site.all_issues() if query.where(i)]
        order = list(query.order) or [("key", False)]
        for field, descending in reversed(order):
            matched.sort(key=query.sort_key(field), reverse=descending)
        self._cache = (jql, self._site.version, matched)
        return matched

    def changelog(self, request: Request) -> Response:
        """Cloud ``GET /rest/api/3/issue/{key}/changelog`` (``PageBeanChangelog``, at most 100)."""
        issue = self._site.find_issue(request.params["key"])
        if issue is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        start = int(request.arg("startAt") or "0")
        size = min(int(request.arg("maxResults") or "100"), 100)
        histories = issue["_histories"]
        page = histories[start : start + size]
        return Response(
            200,
            {
                "self": f"{issue['self']}/changelog?startAt={start}&maxResults={size}",
                "maxResults": size,
                "startAt": start,
                "total": len(histories),
                "isLast": start + size >= len(histories),
                "values": deepcopy(page),
            },
        )
