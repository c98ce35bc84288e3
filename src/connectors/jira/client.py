"""The one door to a Jira site: every call goes through the source's single ``RetryPolicy``.

Reads use the ``jira`` SDK (pycontribs), with its own ``ResilientSession`` retries switched off
(``max_retries=0``) so the policy is the only thing that retries or sleeps. Writes the SDK cannot
make in one request go through httpx; each such method says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import requests
from jira import JIRA, JIRAError

from connectors.errors import ConnectorError
from connectors.jira.auth import JiraAuth
from connectors.jira.http_errors import error_for, error_messages
from connectors.jira.settings import Settings
from connectors.retry import RetryPolicy

T = TypeVar("T")
API = "/rest/api/3"


class JiraClient:
    """Jira REST v3 (ADF bodies) for one site; counts the HTTP attempts it makes."""

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
        self._auth = JiraAuth.from_settings(settings)
        self._sdk: JIRA | None = None
        self._http = http or httpx.Client(
            base_url=settings.site_url,
            headers={
                "Authorization": self._auth.header(),
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeout=settings.timeout_seconds,
        )

    # -- transports ----------------------------------------------------------------------
    @property
    def sdk(self) -> JIRA:
        """The SDK client, built on first use (its constructor GETs serverInfo)."""
        if self._sdk is None:
            self._sdk = self.retry.call(self._guard_sdk(self._build_sdk))
        return self._sdk

    def _build_sdk(self) -> JIRA:
        kwargs = self._auth.sdk_kwargs()
        options: dict[str, Any] = {"rest_api_version": "3", "check_update": False}
        options.update(kwargs.pop("options", {}))
        return JIRA(
            server=self.settings.site_url,
            options=options,
            max_retries=0,  # the RetryPolicy is the one place that retries
            timeout=self.settings.timeout_seconds,
            logging=False,
            **kwargs,
        )

    def _guard_sdk(self, fn: Callable[[], T]) -> Callable[[], T]:
        def attempt() -> T:
            self.requests_made += 1
            try:
                return fn()
            except JIRAError as exc:
                response = exc.response
                headers = response.headers if response is not None else {}
                raise error_for(exc.status_code, headers, exc.text or "") from None
            except requests.RequestException as exc:
                raise error_for(None, {}, type(exc).__name__) from None

        return attempt

    def sdk_call(self, fn: Callable[[JIRA], T]) -> T:
        sdk = self.sdk
        return self.retry.call(self._guard_sdk(lambda: fn(sdk)))

    def http_call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """One JSON request through httpx; the parsed body, or None for 204."""

        def attempt() -> Any:
            self.requests_made += 1
            try:
                response = self._http.request(method, path, params=params, json=json)
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
        if self._sdk is not None:
            self._sdk._session.close()  # JIRA.close is untyped; this is all it does

    # -- reads (SDK) ---------------------------------------------------------------------
    def myself(self) -> dict[str, Any]:
        return self.sdk_call(lambda j: j.myself())

    def is_cloud(self) -> bool:
        return bool(self.sdk.deploymentType == "Cloud")

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
        """One page of ``GET /rest/api/3/search/jql`` (enhanced search, ``nextPageToken``)."""
        page = self.sdk_call(
            lambda j: j.enhanced_search_issues(
                jql,
                nextPageToken=token,
                maxResults=max_results,
                fields=list(fields),
                expand=expand,
                properties=properties,
                json_result=True,
            )
        )
        if page is None:  # the SDK's @cloud_api returns None unless serverInfo says Cloud
            raise ConnectorError("enhanced search needs Jira Cloud (serverInfo deploymentType)")
        result: dict[str, Any] = page
        return result

    def issue(
        self, key: str, *, fields: list[str], expand: str | None, properties: str | None = None
    ) -> dict[str, Any]:
        raw = self.sdk_call(
            lambda j: j.issue(key, fields=",".join(fields), expand=expand, properties=properties)
        ).raw
        result: dict[str, Any] = raw
        return result

    def comments(self, key: str) -> list[dict[str, Any]]:
        """Every comment of ``key`` with its entity properties (marker, JSM internal flag)."""
        size = self.settings.comment_page_size
        out: list[dict[str, Any]] = []
        while True:
            start = len(out)

            def page_at(j: JIRA, start: int = start) -> list[Any]:
                return list(
                    j.comments(
                        key,
                        expand="properties",
                        start_at=start,
                        max_results=size,
                        order_by="created",
                    )
                )

            page = self.sdk_call(page_at)
            out.extend(c.raw for c in page)
            if len(page) < size:
                return out

    def statuses(self) -> list[dict[str, Any]]:
        return [s.raw for s in self.sdk_call(lambda j: j.statuses())]

    # -- writes (httpx) ------------------------------------------------------------------
    def edit_issue(self, key: str, body: dict[str, Any]) -> None:
        # httpx: the SDK's Issue.update needs a fetched Issue and re-GETs it after the PUT;
        # one PUT is all an edit needs.
        notify = "true" if self.settings.notify_users else "false"
        self.http_call("PUT", f"{API}/issue/{key}", params={"notifyUsers": notify}, json=body)

    def add_comment(
        self, key: str, body: dict[str, Any], properties: list[dict[str, Any]]
    ) -> dict[str, Any]:
        # httpx: the SDK's add_comment can only add the JSM internal flag, not our marker property.
        payload = {"body": body, "properties": properties}
        result: dict[str, Any] = self.http_call(
            "POST", f"{API}/issue/{key}/comment", params={"expand": "properties"}, json=payload
        )
        return result

    def create_issue(
        self, fields: dict[str, Any], properties: list[dict[str, Any]]
    ) -> dict[str, Any]:
        # httpx: the SDK's create_issue cannot send entity properties with the create (so the
        # marker would need a second, crash-prone call) and re-GETs the new issue.
        result: dict[str, Any] = self.http_call(
            "POST", f"{API}/issue", json={"fields": fields, "properties": properties}
        )
        return result

    def upsert_remote_link(self, key: str, link: dict[str, Any]) -> dict[str, Any]:
        # httpx: the SDK's add_remote_link first lists application links (admin-only, a wasted
        # call and a warning for everyone else).
        result: dict[str, Any] = self.http_call("POST", f"{API}/issue/{key}/remotelink", json=link)
        return result
