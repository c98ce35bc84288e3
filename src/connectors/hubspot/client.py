"""Every HubSpot call the connector makes, each through the one RetryPolicy and the budget.

``api_version`` picks the paths (``paths.ApiPaths``). hubspot-api-client 12 knows only the
numbered paths (``/crm/v3``, ``/crm/v4``), so with a date-based version every call goes through
httpx; with the legacy ``v3`` the CRM calls go through the SDK (its generated APIs, built once
and reused: the SDK's discovery properties build a fresh urllib3 pool on every access), its
transport retries switched off so ``RetryPolicy`` is the only place that retries, responses read
raw (``_preload_content=False``) as the JSON the spec describes. The Conversations API is not in
the SDK, so it always uses httpx.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import httpx
import urllib3
from hubspot import HubSpot
from urllib3.util.retry import Retry

from connectors.errors import (
    AuthError,
    ConnectorError,
    PagingLoop,
    RetryableError,
    refuses_credentials,
)
from connectors.hubspot.auth import TokenSource
from connectors.hubspot.errors import error_for, from_sdk
from connectors.hubspot.limiter import RequestBudget
from connectors.hubspot.paths import ApiPaths
from connectors.retry import RetryPolicy

T = TypeVar("T")
JSON = dict[str, Any]

NOTE_TO_TICKET = 228  # hubspot.crm.association_type.AssociationType.NOTE_TO_TICKET
BATCH_READ_MAX = 100
HISTORY_BATCH_MAX = 50  # batch reads that ask for propertiesWithHistory take fewer ids


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(slots=True)
class ClientStats:
    """What the app exports per source besides ``RetryPolicy.stats``."""

    api_calls: int = 0
    rate_limit_remaining: int | None = None  # last X-HubSpot-RateLimit-Remaining seen
    rate_limit_max: int | None = None


class HubSpotClient:
    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        retry: RetryPolicy,
        budget: RequestBudget,
        *,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
        paths: ApiPaths | None = None,
    ) -> None:
        self.paths = paths or ApiPaths("2026-09")
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._retry = retry
        self._budget = budget
        self._timeout = timeout
        self.stats = ClientStats()
        self.http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token_in_use = ""
        # total=0: urllib3 raises at once, RetryPolicy decides whether to try again
        sdk = HubSpot(access_token="pending", host=self.base_url, retry=Retry(total=0))
        crm = sdk.crm
        self._search = crm.tickets.search_api
        self._object_search = crm.objects.search_api  # feedback submissions
        self._tickets = crm.tickets.basic_api
        self._tickets_batch = crm.tickets.batch_api
        self._notes = crm.objects.notes.basic_api
        self._notes_batch = crm.objects.notes.batch_api
        self._companies_batch = crm.companies.batch_api
        self._associations = crm.associations.v4.batch_api
        self._owners = crm.owners.owners_api
        self._pipelines = crm.pipelines.pipelines_api
        self._apis = (
            self._search, self._object_search, self._tickets, self._tickets_batch, self._notes,
            self._notes_batch, self._companies_batch, self._associations, self._owners,
            self._pipelines,
        )  # fmt: skip

    def close(self) -> None:
        self.http.close()
        for api in self._apis:
            api.api_client.rest_client.pool_manager.clear()

    # -- the one way a call is made ------------------------------------------------------
    def _call(
        self,
        what: str,
        fn: Callable[[str], T],
        *,
        search: bool = False,
        landed: Callable[[], T | None] | None = None,
    ) -> T:
        """``landed``, for a create that is not idempotent: before each retry it looks for
        what an earlier attempt may have made (its answer lost with a reset connection or a
        timeout) and returns it, so the create is not sent twice."""
        tries = 0

        def attempt() -> T:
            nonlocal tries
            tries += 1
            if tries > 1 and landed is not None:
                made = landed()
                if made is not None:
                    return made
            refused = False
            while True:
                self._budget.acquire(search=search)
                self.stats.api_calls += 1
                try:
                    return fn(self._tokens.token())
                except AuthError as exc:
                    # a missing scope (403) is not cured by a new token
                    if refused or not self._tokens.renewable or not refuses_credentials(exc):
                        raise
                    refused = True  # an expired OAuth token: renew once, then give up
                    self._tokens.invalidate()

        return self._retry.call(attempt)

    def _sdk(self, what: str, invoke: Callable[[], Any], *, search: bool = False) -> Any:
        def run(token: str) -> Any:
            if token != self._token_in_use:
                for api in self._apis:
                    api.api_client.configuration.access_token = token
                self._token_in_use = token
            try:
                response = invoke()
            except urllib3.exceptions.HTTPError as exc:
                raise RetryableError(f"{what}: {exc!r}") from exc
            except ConnectorError:
                raise
            except Exception as exc:
                raise from_sdk(exc, what) from exc
            self._note_limits(response.headers)
            return json.loads(response.data or b"null")

        return self._call(what, run, search=search)

    def _http(
        self,
        what: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | Sequence[str]] | None = None,
        body: JSON | None = None,
        search: bool = False,
        landed: Callable[[], Any] | None = None,
    ) -> Any:
        def run(token: str) -> Any:
            try:
                response = self.http.request(
                    method,
                    path,
                    params=params,
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError as exc:
                raise RetryableError(f"{what}: {exc!r}") from exc
            self._note_limits(response.headers)
            if response.status_code >= 300:
                raise error_for(response.status_code, response.headers, response.content, what)
            return response.json() if response.content else None

        return self._call(what, run, search=search, landed=landed)

    def _note_limits(self, headers: Mapping[str, str] | None) -> None:
        if not headers:
            return
        remaining = headers.get("X-HubSpot-RateLimit-Remaining")
        maximum = headers.get("X-HubSpot-RateLimit-Max")
        if remaining is not None and remaining.isdigit():
            self.stats.rate_limit_remaining = int(remaining)
        if maximum is not None and maximum.isdigit():
            self.stats.rate_limit_max = int(maximum)

    def _raw(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self._timeout}

    # -- tickets -------------------------------------------------------------------------
    def search_tickets(self, body: JSON) -> JSON:
        if self.paths.dated:
            path = f"{self.paths.objects('tickets')}/search"
            found: JSON = self._http("tickets search", "POST", path, body=body, search=True)
            return found
        result: JSON = self._sdk(
            "tickets search",
            lambda: self._search.do_search(public_object_search_request=body, **self._raw()),
            search=True,
        )
        return result

    def search_feedback(self, body: JSON) -> JSON:
        """Survey responses (``feedback_submissions``, read-only), searched like tickets:
        https://developers.hubspot.com/docs/api/crm/feedback-submissions"""
        what = "feedback submissions search"
        if self.paths.dated:
            path = f"{self.paths.objects('feedback_submissions')}/search"
            found: JSON = self._http(what, "POST", path, body=body, search=True)
            return found
        result: JSON = self._sdk(
            what,
            lambda: self._object_search.do_search(
                "feedback_submissions", public_object_search_request=body, **self._raw()
            ),
            search=True,
        )
        return result

    def read_tickets(
        self, ids: Sequence[str], properties: Sequence[str], history: Sequence[str]
    ) -> list[JSON]:
        size = HISTORY_BATCH_MAX if history else BATCH_READ_MAX
        return self._batch_read("tickets", self._tickets_batch, ids, properties, history, size)

    def get_ticket(
        self, ticket_id: str, properties: Sequence[str], history: Sequence[str] = ()
    ) -> JSON:
        if self.paths.dated:
            params: dict[str, str | Sequence[str]] = {
                "properties": ",".join(properties),
                "archived": "false",
            }
            if history:
                params["propertiesWithHistory"] = ",".join(history)
            path = f"{self.paths.objects('tickets')}/{ticket_id}"
            found: JSON = self._http("ticket read", "GET", path, params=params)
            return found
        extra: dict[str, Any] = {"properties_with_history": list(history)} if history else {}
        result: JSON = self._sdk(
            "ticket read",
            lambda: self._tickets.get_by_id(
                ticket_id, properties=list(properties), archived=False, **extra, **self._raw()
            ),
        )
        return result

    def update_ticket(self, ticket_id: str, properties: Mapping[str, str]) -> JSON:
        body = {"properties": dict(properties)}
        if self.paths.dated:
            path = f"{self.paths.objects('tickets')}/{ticket_id}"
            found: JSON = self._http("ticket update", "PATCH", path, body=body)
            return found
        result: JSON = self._sdk(
            "ticket update",
            lambda: self._tickets.update(ticket_id, simple_public_object_input=body, **self._raw()),
        )
        return result

    def update_tickets(self, changes: Mapping[str, Mapping[str, str]]) -> list[JSON]:
        """Batch update, up to 100 tickets a call; the updated records come back."""
        records: list[JSON] = []
        ids = list(changes)
        for part in chunks(ids, BATCH_READ_MAX):
            body = {"inputs": [{"id": i, "properties": dict(changes[i])} for i in part]}
            if self.paths.dated:
                path = f"{self.paths.objects('tickets')}/batch/update"
                result = self._http("tickets batch update", "POST", path, body=body)
            else:
                result = self._sdk(
                    "tickets batch update",
                    partial(
                        self._tickets_batch.update,
                        batch_input_simple_public_object_batch_input=body,
                        **self._raw(),
                    ),
                )
            records.extend((result or {}).get("results") or [])
        return records

    # -- notes, companies, associations ---------------------------------------------------
    def create_note(self, ticket_id: str, properties: Mapping[str, str]) -> JSON:
        body = {
            "properties": dict(properties),
            "associations": [
                {
                    "to": {"id": ticket_id},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": NOTE_TO_TICKET,
                        }
                    ],
                }
            ],
        }
        wanted = properties.get("hs_note_body")

        def landed() -> JSON | None:  # the same body (it carries our marker) on the ticket
            if not wanted:
                return None
            ids = self.associated_ids("tickets", "notes", [ticket_id]).get(ticket_id) or []
            notes = self.read_notes(ids, ["hs_note_body"]) if ids else []
            return next(
                (n for n in notes if (n.get("properties") or {}).get("hs_note_body") == wanted),
                None,
            )

        if self.paths.dated:
            found: JSON = self._http(
                "note create", "POST", self.paths.objects("notes"), body=body, landed=landed
            )
            return found
        result: JSON = self._sdk(
            "note create",
            lambda: self._notes.create(simple_public_object_input_for_create=body, **self._raw()),
        )
        return result

    def read_notes(self, ids: Sequence[str], properties: Sequence[str]) -> list[JSON]:
        return self._batch_read("notes", self._notes_batch, ids, properties)

    def read_companies(self, ids: Sequence[str]) -> list[JSON]:
        return self._batch_read("companies", self._companies_batch, ids, ["name"])

    def _batch_read(
        self,
        object_type: str,
        api: Any,
        ids: Sequence[str],
        properties: Sequence[str],
        history: Sequence[str] = (),
        size: int = BATCH_READ_MAX,
    ) -> list[JSON]:
        what = f"{object_type} batch read"
        records: list[JSON] = []
        for part in chunks(ids, size):
            body = {
                "inputs": [{"id": i} for i in part],
                "properties": list(properties),
                "propertiesWithHistory": list(history),
            }
            if self.paths.dated:
                path = f"{self.paths.objects(object_type)}/batch/read"
                result = self._http(what, "POST", path, params={"archived": "false"}, body=body)
            else:
                result = self._sdk(
                    what,
                    partial(
                        api.read,
                        batch_read_input_simple_public_object_id=body,
                        archived=False,
                        **self._raw(),
                    ),
                )
            records.extend((result or {}).get("results") or [])
        return records

    def associated_ids(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[str]]:
        """``{from id: [to ids]}`` through the batch read, 100 a call, following per-object
        paging."""
        found: dict[str, list[str]] = {i: [] for i in ids}
        pending: list[JSON] = [{"id": i} for i in ids]
        what = f"{from_type}->{to_type} associations"
        while pending:
            part, pending = pending[:BATCH_READ_MAX], pending[BATCH_READ_MAX:]
            body = {"inputs": part}
            if self.paths.dated:
                path = f"{self.paths.associations(from_type, to_type)}/batch/read"
                result = self._http(what, "POST", path, body=body)
            else:
                result = self._sdk(
                    what,
                    partial(
                        self._associations.get_page,
                        from_type,
                        to_type,
                        batch_input_public_fetch_associations_batch_request=body,
                        **self._raw(),
                    ),
                )
            for row in (result or {}).get("results") or []:
                origin = str(row["from"]["id"])
                found.setdefault(origin, []).extend(str(t["toObjectId"]) for t in row["to"])
                after = ((row.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    pending.append({"id": origin, "after": after})
        return found

    # -- owners, pipelines ----------------------------------------------------------------
    def owner_id_for_email(self, email: str) -> str | None:
        if self.paths.dated:
            params: dict[str, str | int] = {"email": email, "limit": 1}
            result = self._http("owners", "GET", self.paths.owners, params=params)
        else:
            result = self._sdk(
                "owners", lambda: self._owners.get_page(email=email, limit=1, **self._raw())
            )
        owners = (result or {}).get("results") or []
        return str(owners[0]["id"]) if owners else None

    def ticket_pipelines(self) -> list[JSON]:
        if self.paths.dated:
            result = self._http("pipelines", "GET", self.paths.pipelines("tickets"))
        else:
            result = self._sdk(
                "pipelines", lambda: self._pipelines.get_all("tickets", **self._raw())
            )
        pipelines: list[JSON] = (result or {}).get("results") or []
        return pipelines

    # -- conversations (httpx) -------------------------------------------------------------
    def thread_for_ticket(self, ticket_id: str) -> JSON | None:
        result = self._http(
            "threads",
            "GET",
            self.paths.threads,
            params={"associatedTicketId": ticket_id, "association": "TICKET", "limit": 10},
        )
        threads = [t for t in (result or {}).get("results") or [] if not t.get("archived")]
        return threads[0] if threads else None

    def changed_threads(self, since: str, page_size: int = 100) -> Iterator[list[JSON]]:
        """Pages of threads whose latest message is after ``since`` (ISO instant), oldest first,
        each with its associated ticket. HubSpot wants ``latestMessageTimestampAfter`` whenever
        the sort is ``latestMessageTimestamp``."""
        after: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, str | int | Sequence[str]] = {
                "sort": "latestMessageTimestamp",
                "latestMessageTimestampAfter": since,
                "association": "TICKET",
                "limit": page_size,
            }
            if after:
                params["after"] = after
            result = self._http("changed threads", "GET", self.paths.threads, params=params)
            yield [t for t in (result or {}).get("results") or [] if not t.get("archived")]
            after = (((result or {}).get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            if after in seen:
                raise PagingLoop("hubspot changed threads", after)
            seen.add(after)

    def get_thread(self, thread_id: str) -> JSON:
        """One thread with its associated ticket (``threadAssociations``)."""
        result: JSON = self._http(
            "thread", "GET", f"{self.paths.threads}/{thread_id}", params={"association": "TICKET"}
        )
        return result

    def thread_messages(self, thread_id: str) -> list[JSON]:
        messages: list[JSON] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, str | int] = {"limit": 100}
            if after:
                params["after"] = after
            result = self._http(
                "thread messages",
                "GET",
                f"{self.paths.threads}/{thread_id}/messages",
                params=params,
            )
            messages.extend((result or {}).get("results") or [])
            after = (((result or {}).get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return messages
            if after in seen:
                raise PagingLoop(f"hubspot thread {thread_id} messages", after)
            seen.add(after)

    def post_message(self, thread_id: str, message: JSON) -> JSON:
        def landed() -> JSON | None:  # the same text (it carries our marker) in the thread
            text = message.get("richText") or message.get("text")
            return next(
                (
                    m
                    for m in self.thread_messages(thread_id)
                    if text and (m.get("richText") or m.get("text")) == text
                ),
                None,
            )

        result: JSON = self._http(
            "message send",
            "POST",
            f"{self.paths.threads}/{thread_id}/messages",
            body=message,
            landed=landed,
        )
        return result
