"""The one door to a Jira site: every call goes through the source's single ``RetryPolicy``.

One transport, httpx, for reads and writes. The ``jira`` SDK (pycontribs) is not used: its
Cloud search needs a serverInfo call first and re-reads the field list for its own name
translation, its comment and create helpers cannot send our entity properties, and it re-GETs
after writes; each of those is a call this connector does not need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from connectors.errors import NotFoundError
from connectors.jira.auth import JiraAuth
from connectors.jira.http_errors import error_for, error_messages
from connectors.jira.mapping import properties_of
from connectors.jira.settings import Settings
from connectors.retry import RetryPolicy

T = TypeVar("T")
SERVICE_DESK = "/rest/servicedeskapi"


class JiraClient:
    """Jira Cloud REST v3 (ADF bodies) or Data Center REST v2 (wiki text) for one site; counts
    the HTTP attempts it makes."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy,
        http: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry
        self.requests_made = 0
        self.api = settings.api_path
        self._auth = JiraAuth.from_settings(settings)
        self._http = http or httpx.Client(
            base_url=settings.site_url,
            headers={
                "Authorization": self._auth.header(),
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeout=settings.timeout_seconds,
        )

    # -- transport -----------------------------------------------------------------------
    def http_call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        landed: Callable[[], Any] | None = None,
    ) -> Any:
        """One JSON request through httpx; the parsed body, or None for 204.

        ``landed``, for a create that is not idempotent: before each retry it looks for what
        an earlier attempt may have made (its answer lost with a reset connection or a
        timeout) and returns it, so the create is not sent twice."""
        tries = 0

        def attempt() -> Any:
            nonlocal tries
            tries += 1
            if tries > 1 and landed is not None:
                made = landed()
                if made is not None:
                    return made
            self.requests_made += 1
            try:
                response = self._http.request(
                    method, path, params=params, json=json, headers=headers
                )
            except httpx.TransportError as exc:
                raise error_for(None, {}, type(exc).__name__) from None
            if response.status_code >= 400:
                try:
                    body: Any = response.json()
                except ValueError:
                    body = response.text
                raise error_for(response.status_code, response.headers, error_messages(body))
            return response.json() if response.content else None

        return self.retry.call(attempt)

    def close(self) -> None:
        self._http.close()

    # -- reads ---------------------------------------------------------------------------
    def myself(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http_call("GET", f"{self.api}/myself")
        return result

    def fields(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.http_call("GET", f"{self.api}/field")
        return result

    def search_page(
        self,
        jql: str,
        *,
        token: str | None,
        max_results: int,
        fields: list[str],
        expand: str | None = None,
        properties: str | None = None,
    ) -> dict[str, Any]:
        """One page of ``GET /rest/api/3/search/jql`` (Cloud enhanced search, ``nextPageToken``)."""
        params = {"jql": jql, "maxResults": str(max_results), "fields": ",".join(fields)}
        if token:
            params["nextPageToken"] = token
        if expand:
            params["expand"] = expand
        if properties:
            params["properties"] = properties
        result: dict[str, Any] = self.http_call("GET", f"{self.api}/search/jql", params=params)
        return result

    def search_offset(
        self,
        jql: str,
        *,
        start_at: int,
        max_results: int,
        fields: list[str],
        expand: str | None = None,
    ) -> dict[str, Any]:
        """One page of Data Center ``GET /rest/api/2/search`` (``startAt``/``total`` paging)."""
        params = {
            "jql": jql,
            "startAt": str(start_at),
            "maxResults": str(max_results),
            "fields": ",".join(fields),
        }
        if expand:
            params["expand"] = expand
        result: dict[str, Any] = self.http_call("GET", f"{self.api}/search", params=params)
        return result

    def issue(
        self, key: str, *, fields: list[str], expand: str | None, properties: str | None = None
    ) -> dict[str, Any]:
        params = {"fields": ",".join(fields)}
        if expand:
            params["expand"] = expand
        if properties:
            params["properties"] = properties
        result: dict[str, Any] = self.http_call("GET", f"{self.api}/issue/{key}", params=params)
        return result

    def comments(self, key: str) -> list[dict[str, Any]]:
        """Every comment of ``key`` with its entity properties (marker, JSM internal flag)."""
        size = self.settings.comment_page_size
        out: list[dict[str, Any]] = []
        while True:
            params = {
                "startAt": str(len(out)),
                "maxResults": str(size),
                "orderBy": "created",
                "expand": "properties",
            }
            page = self.http_call("GET", f"{self.api}/issue/{key}/comment", params=params)
            batch = list(page.get("comments") or [])
            out.extend(batch)
            if not batch or len(out) >= int(page.get("total") or 0):
                return out

    def changelog(self, key: str) -> list[dict[str, Any]]:
        """Every history entry of ``key``: Cloud pages ``/changelog``; Data Center has no such
        resource and returns the whole changelog with the issue."""
        if not self.settings.is_cloud:
            raw = self.issue(key, fields=["updated"], expand="changelog")
            return list((raw.get("changelog") or {}).get("histories") or [])
        size = self.settings.changelog_page_size
        out: list[dict[str, Any]] = []
        while True:
            params = {"startAt": str(len(out)), "maxResults": str(size)}
            page = self.http_call("GET", f"{self.api}/issue/{key}/changelog", params=params)
            batch = list(page.get("values") or [])
            out.extend(batch)
            if not batch or page.get("isLast") is True or len(out) >= int(page.get("total") or 0):
                return out

    def customers(self, service_desk: str, query: str | None = None) -> list[dict[str, Any]]:
        """The service desk's customers, or those matching ``query`` (a name or address)
        (JSM API, ``start``/``limit``/``isLastPage`` paging)."""
        out: list[dict[str, Any]] = []
        while True:
            params = {"start": str(len(out)), "limit": "50"}
            if query:
                params["query"] = query
            page = self.http_call(
                "GET",
                f"{SERVICE_DESK}/servicedesk/{service_desk}/customer",
                params=params,
                headers={"X-ExperimentalApi": "opt-in"},  # the customer list is experimental
            )
            batch = list(page.get("values") or [])
            out.extend(batch)
            if not batch or page.get("isLastPage", True):
                return out

    def request_feedback(self, key: str) -> dict[str, Any] | None:
        """The customer's rating of a JSM request (``{"type": "csat", "rating": 1-5,
        "comment": {...}}``), or None when there is none (404). Cloud's "Get feedback":
        https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-requestidorkey-feedback-get
        """
        try:
            feedback: dict[str, Any] = self.http_call(
                "GET",
                f"{SERVICE_DESK}/request/{key}/feedback",
                headers={"X-ExperimentalApi": "opt-in"},  # marked experimental when added
            )
        except NotFoundError:
            return None
        return feedback

    def statuses(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.http_call("GET", f"{self.api}/status")
        return result

    # -- writes (httpx) ------------------------------------------------------------------
    def edit_issue(self, key: str, body: dict[str, Any]) -> None:
        # httpx: the SDK's Issue.update needs a fetched Issue and re-GETs it after the PUT;
        # one PUT is all an edit needs.
        notify = "true" if self.settings.notify_users else "false"
        self.http_call("PUT", f"{self.api}/issue/{key}", params={"notifyUsers": notify}, json=body)

    def add_comment(
        self, key: str, body: dict[str, Any] | str, properties: list[dict[str, Any]]
    ) -> dict[str, Any]:
        # httpx: the SDK's add_comment can only add the JSM internal flag, not our marker property.
        payload = {"body": body, "properties": properties}

        def landed() -> dict[str, Any] | None:  # the same marker property: our earlier attempt
            return next((c for c in self.comments(key) if same_properties(c, properties)), None)

        result: dict[str, Any] = self.http_call(
            "POST",
            f"{self.api}/issue/{key}/comment",
            params={"expand": "properties"},
            json=payload,
            landed=landed,
        )
        return result

    def create_issue(
        self,
        fields: dict[str, Any],
        properties: list[dict[str, Any]],
        *,
        landed: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        # httpx: the SDK's create_issue cannot send entity properties with the create (so the
        # marker would need a second, crash-prone call) and re-GETs the new issue.
        result: dict[str, Any] = self.http_call(
            "POST",
            f"{self.api}/issue",
            json={"fields": fields, "properties": properties},
            landed=landed,
        )
        return result

    def upsert_remote_link(self, key: str, link: dict[str, Any]) -> dict[str, Any]:
        # httpx: the SDK's add_remote_link first lists application links (admin-only, a wasted
        # call and a warning for everyone else).
        path = f"{self.api}/issue/{key}/remotelink"
        result: dict[str, Any] = self.http_call("POST", path, json=link)
        return result


def same_properties(raw: dict[str, Any], properties: list[dict[str, Any]]) -> bool:
    """``raw`` (a comment as read) carries every entity property of ``properties``."""
    have = properties_of(raw)
    return all(have.get(str(p["key"])) == p["value"] for p in properties)
