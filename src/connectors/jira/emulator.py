"""A Jira emulator on 127.0.0.1 (JSM flavoured), for tests, the demo and benchmarks, in two
flavours:

- ``cloud``: REST v3. serverInfo (``deploymentType`` Cloud), the field list, enhanced search
  with ``nextPageToken`` (the old ``/search`` answers 410), paged changelogs, ADF bodies, users
  by ``accountId`` with ``accountType``. Follows the Cloud OpenAPI in ``shared/specs/jira``.
- ``datacenter``: REST v2 only, following Atlassian's Jira Data Center references:
  search with ``startAt``/``maxResults``/``total`` (default page 50)
  https://support.atlassian.com/jira/kb/
  how-to-use-the-maxresults-api-parameter-for-jira-issue-search-rest-api ;
  comment bodies as wiki text
  https://developer.atlassian.com/server/jira/platform/jira-rest-api-example-add-comment-8946422 ;
  Personal Access Tokens as ``Authorization: Bearer``
  https://confluence.atlassian.com/enterprise/using-personal-access-tokens-1026032365.html ;
  webhooks signed ``X-Hub-Signature: sha256=<hex HMAC>`` when a secret is set (Jira DC 10+)
  https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html ;
  the JSM customer list https://developer.atlassian.com/server/jira-servicedesk/rest/v1103/ .
  Users carry ``key``/``name``, no ``accountId``/``accountType``; priorities are Blocker..Trivial.
  No machine-readable Data Center spec is stored beside the repository, so there is no DC
  contract test; these pages are what the routes follow.

Realistic mode (the default) sends what real sites send: agent-reported tickets, an automation
(``app``) auto-reply, JSM's own low-id fields, custom field ids of this site only, nulls,
timestamps at the site's own offset (``-0800``), long changelogs embedded only a first page, an
API user in a zone behind UTC (JQL dates are read in that zone, as Jira does).
Errors are ``{"errorMessages": [...], "errors": {...}}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Sequence
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from connectors.emulation import (
    Emulator,
    Request,
    Response,
    SeedComment,
    SeedTicket,
)
from connectors.jira.adf import to_adf
from connectors.jira.cursor import parse_jira_time
from connectors.jira.emulator_samples import (
    AUTO_REPLY,
    AUTOMATION_NAME,
    FIELD_NAMES,
    JSM_FIELDS,
    REALISTIC_CUSTOM,
    TIDY_CUSTOM,
    custom_schema,
    rank_item,
)
from connectors.jira.emulator_search import IssueSearch
from connectors.jira.emulator_site import (
    AGENT_ACCOUNT,
    API_TOKEN,
    AUTOMATION_ACCOUNT,
    CATEGORIES,
    CLOUD_PRIORITIES,
    CUSTOM,
    DC_ACCOUNTS,
    EMAIL,
    EMBEDDED_COMMENTS,
    EXEC_ACCOUNT,
    GROUPS,
    OAUTH_TOKEN,
    PAT,
    PRIORITY_NAMES,
    PROJECTS,
    SERVER_PRIORITIES,
    SERVER_PRIORITY_NAMES,
    SERVICE_DESK_ID,
    SIDECAR_ACCOUNT,
    STATUS_NAMES,
    STATUSES,
    TIER2_ACCOUNT,
    WEBHOOK_SECRET,
    JiraServer,
    V,
    changelog_item,
    error,
    list_arg,
    option,
    short_id,
)
from connectors.jira.webhook import sign

Flavour = Literal["cloud", "datacenter"]
__all__ = [
    "AGENT_ACCOUNT",
    "API_TOKEN",
    "AUTOMATION_ACCOUNT",
    "CUSTOM",
    "EMAIL",
    "EXEC_ACCOUNT",
    "GROUPS",
    "OAUTH_TOKEN",
    "PAT",
    "PRIORITY_NAMES",
    "SIDECAR_ACCOUNT",
    "STATUS_NAMES",
    "TIER2_ACCOUNT",
    "WEBHOOK_SECRET",
    "JiraEmulator",
]  # the names tests, the demo and benchmarks use


class JiraEmulator(Emulator):
    """In-memory Jira site: projects SUP (service desk) and ENG (engineering)."""

    def __init__(
        self,
        *,
        page_size: int = 100,
        webhook_url: str | None = None,
        flavour: Flavour = "cloud",
        realistic: bool = True,
        embedded_histories: int = 100,
        user_zone: str | None = None,
        site_zone: str | None = None,
    ) -> None:
        self.server = JiraServer("jira")
        self.flavour: Flavour = flavour
        self.realistic = realistic
        self.page_size = page_size
        self.embedded_histories = embedded_histories  # search and GET embed this many
        self.webhook_url = webhook_url
        # the API user's profile zone (JQL dates are read in it) and the site's own offset
        self.user_zone = user_zone or ("America/Los_Angeles" if realistic else "Europe/London")
        # a realistic site writes timestamps at its own offset: -0800 (Cloud), +0100 (DC)
        own_zone = "America/Los_Angeles" if flavour == "cloud" else "Europe/Berlin"
        self.site_zone = ZoneInfo(site_zone or (own_zone if realistic else "UTC"))
        self.custom = dict(REALISTIC_CUSTOM if realistic else TIDY_CUSTOM)
        self.priorities = SERVER_PRIORITIES if flavour == "datacenter" else CLOUD_PRIORITIES
        if realistic:  # an older site carries both schemes' names
            self.priorities = {**CLOUD_PRIORITIES, **SERVER_PRIORITIES}
        self.priority_names = SERVER_PRIORITY_NAMES if flavour == "datacenter" else PRIORITY_NAMES
        self._lock = threading.RLock()
        self._issues: dict[str, dict[str, Any]] = {}
        self._comments: dict[str, list[dict[str, Any]]] = {}
        self._issue_props: dict[str, dict[str, Any]] = {}
        self._links: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._customers: list[str] = []  # the service desk's customer list
        self._next_number = {p: 1 for p in PROJECTS}
        self._next_id = 10000
        self.version = 0
        self._seeded = 0
        self.search = IssueSearch(self)
        for account, name, kind in (
            (SIDECAR_ACCOUNT, "Escalation Sidecar", "atlassian"),
            (AGENT_ACCOUNT, "Alex Agent", "atlassian"),
            (TIER2_ACCOUNT, "Tier Two", "atlassian"),
            (EXEC_ACCOUNT, "Erin Executive", "atlassian"),
            (AUTOMATION_ACCOUNT, AUTOMATION_NAME, "app"),
        ):
            self._user(account, name, kind)
        self._routes()

    # -- identities ---------------------------------------------------------------------------
    def account(self, cloud_id: str) -> str:
        """How this site names one of the emulator's people (Data Center: a username)."""
        return DC_ACCOUNTS.get(cloud_id, cloud_id) if self.flavour == "datacenter" else cloud_id

    @property
    def api(self) -> str:
        return "/rest/api/3" if self.flavour == "cloud" else "/rest/api/2"

    def _stamp(self, at: datetime) -> str:
        """Jira's form at the site's own offset: ``2026-11-20T01:00:00.000-0800``."""
        local = at.astimezone(self.site_zone)
        return (
            local.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{local.microsecond // 1000:03d}"
            + (local.strftime("%z"))
        )

    def _body(self, text: str) -> Any:
        """A comment or description body: ADF on Cloud v3, wiki text on Data Center v2."""
        return to_adf(text) if self.flavour == "cloud" else text

    # -- people's side ---------------------------------------------------------------------
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        keys: list[str] = []
        with self._lock:
            for seed in tickets:
                self._seeded += 1
                customer = self._customer(seed.requester)
                # realistic: every third ticket was reported by an agent (a phone call)
                by_agent = self.realistic and self._seeded % 3 == 0
                reporter = self._users[self.account(AGENT_ACCOUNT)] if by_agent else customer
                key, issue = self._new_issue("SUP")
                status_name = STATUS_NAMES[seed.status]
                last = max([seed.created_at, *(c.at for c in seed.comments)])
                issue["fields"].update(
                    {
                        "summary": seed.title,
                        "description": self._body(f"{seed.title}.") if self.realistic else None,
                        "issuetype": {"id": "10100", "name": "Service Request"},
                        "status": self._status(status_name),
                        "priority": self._priority(self.priority_names[seed.priority]),
                        "labels": list(seed.labels),
                        "reporter": reporter,
                        "created": self._stamp(seed.created_at),
                        "updated": self._stamp(seed.updated_at or last),
                        **self._custom_values(seed),
                    }
                )
                if self.realistic:
                    self._realistic_extras(key, seed.created_at)
                for comment in seed.comments:
                    self._comment(key, comment, customer)
                keys.append(key)
            self.version += 1
        for key in keys:
            self._announce(key, "jira:issue_created")
        return keys

    def _custom_values(self, seed: SeedTicket) -> dict[str, Any]:
        ids = self.custom
        users = seed.affected_users
        tier = option(seed.customer_tier)
        values: dict[str, Any] = {
            ids["category"]: option(seed.category),
            ids["customer_tier"]: tier,
            ids["affected_users"]: float(users) if users is not None else None,
            ids["organization"]: (
                [{"id": short_id(seed.organization), "name": seed.organization}]
                if seed.organization
                else []
            ),
        }
        if self.realistic:
            values[ids["customer_tier"]] = [tier] if tier else None  # a multi-select
            values[ids["affected_users"]] = f"{users:,}" if users is not None else None  # text
            for field_id, _, _, value in JSM_FIELDS:
                values[field_id] = deepcopy(value)
            values.update({"duedate": None, "resolution": None, "environment": None})
        return values

    def _realistic_extras(self, key: str, created: datetime) -> None:
        """The automation's public auto-reply, and board rankings that make a long changelog."""
        bot = self.account(AUTOMATION_ACCOUNT)
        self._store_comment(key, bot, self._body(AUTO_REPLY), created + timedelta(seconds=1), {},
                            public=True)  # fmt: skip
        for i in range(6):
            self._history(key, bot, [rank_item()], at=created + timedelta(seconds=2 + i))

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        with self._lock:
            self._comment(ticket_id, comment, self._requester(ticket_id))
            self._touch(ticket_id, max(comment.at, self._updated(ticket_id)))
        self._announce(ticket_id, "comment_created")

    def add_comment_by(
        self, ticket_id: str, author: str, body: str, at: datetime, *, public: bool = True
    ) -> None:
        """A comment by a given account (an app, an agent who reported the issue...)."""
        with self._lock:
            props = {} if public else {"sd.public.comment": {"internal": True}}
            self._store_comment(ticket_id, self.account(author), self._body(body), at, props,
                                public=public)  # fmt: skip
            self._touch(ticket_id, max(at, self._updated(ticket_id)))
        self._announce(ticket_id, "comment_created")

    def add_customer(self, cloud_id: str, name: str, *, account_type: str = "atlassian") -> str:
        """A person on the service desk's customer list whatever their account type (e.g. a
        licensed user of another product raising a request); their id on this site."""
        with self._lock:
            self._user(cloud_id, name, account_type, f"{name.lower()}@example.com")
            self._customers.append(self.account(cloud_id))
        return self.account(cloud_id)

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        group: str | None = None,
        priority_name: str | None = None,
    ) -> None:
        with self._lock:
            fields = self._issues[ticket_id]["fields"]
            items: list[dict[str, Any]] = []
            if status is not None:
                new = self._status(STATUS_NAMES[status])
                items.append(changelog_item("status", fields["status"], new))
                fields["status"] = new
                resolved = new["statusCategory"]["key"] == "done"
                fields["resolutiondate"] = (
                    self._stamp(self.server.clock.now()) if resolved else None
                )
            if priority is not None or priority_name is not None:
                new = self._priority(priority_name or self.priority_names[str(priority)])
                items.append(changelog_item("priority", fields["priority"], new))
                fields["priority"] = new
            if group is not None:
                items += self._set_group(fields, GROUPS[group])
            self._history(ticket_id, self.account(AGENT_ACCOUNT), items)
            self._touch(ticket_id)
        self._announce(ticket_id, "jira:issue_updated")

    def add_labels(self, ticket_id: str, *labels: str, by: str = AGENT_ACCOUNT) -> None:
        """A person adds labels in the issue view: one changelog entry, as Jira records it
        (``field: labels``, space-separated ``fromString``/``toString``)."""
        with self._lock:
            fields = self._issues[ticket_id]["fields"]
            old = list(fields.get("labels") or [])
            new = list(dict.fromkeys([*old, *labels]))
            fields["labels"] = new
            item = {
                "field": "labels", "fieldtype": "jira", "fieldId": "labels",
                "from": None, "fromString": " ".join(old) or None,
                "to": None, "toString": " ".join(new),
            }  # fmt: skip
            self._history(ticket_id, self.account(by), [item])
            self._touch(ticket_id)
        self._announce(ticket_id, "jira:issue_updated")

    def corrupt(self, ticket_id: str, field: str, value: Any) -> None:
        """Make one issue malformed (tests of quarantine)."""
        with self._lock:
            self._issues[ticket_id]["fields"][field] = value
            self.version += 1

    def set_field(self, ticket_id: str, logical: str, value: Any) -> None:
        """Put a raw value in one of our custom fields (``category``, ``affected_users``...)."""
        self.corrupt(ticket_id, self.custom[logical], value)

    def fail_search_page(self, page: int, *, status: int = 500, times: int = 1) -> None:
        """The ``page``-th page (0-based) of every search answers ``status``, ``times`` times."""
        with self._lock:
            self.search.failing_pages[page] = (status, times)

    # -- inspection --------------------------------------------------------------------------
    def labels(self, ticket_id: str) -> set[str]:
        return set(self.record(ticket_id)["fields"]["labels"] or [])

    def record(self, ticket_id: str) -> dict[str, Any]:
        with self._lock:
            return self.render_issue(
                self._issues[ticket_id], ["*all"], {"changelog"}, [], full=True
            )

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self._render_comment(c, True) for c in self._comments.get(ticket_id, [])]

    def remote_links(self, ticket_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return deepcopy(self._links.get(ticket_id, []))

    def issue_keys(self, project: str) -> list[str]:
        with self._lock:
            return [k for k in self._issues if k.startswith(project + "-")]

    def resolve(self, ticket_id: str) -> None:
        """Engineering resolves the issue."""
        self.update(ticket_id, status="solved")

    # -- configuration for the connector ----------------------------------------------------
    def settings(self, name: str = "jira") -> dict[str, Any]:
        groups = {
            group: {k: (self.account(v) if k == "assignee" else v) for k, v in target.items()}
            for group, target in GROUPS.items()
        }
        out: dict[str, Any] = {
            "url": self.base_url,
            "projects": ["SUP"],
            "webhook_secret": WEBHOOK_SECRET,
            "service_desk_id": SERVICE_DESK_ID,
            "groups": groups,
        }
        if self.flavour == "datacenter":
            out.update({"flavour": "datacenter", "auth": "pat", "pat": PAT,
                        "bot_account_ids": [self.account(AUTOMATION_ACCOUNT)]})  # fmt: skip
        else:
            out.update({"auth": "basic", "email": EMAIL, "api_token": API_TOKEN})
        return out

    def source_overrides(self) -> dict[str, Any]:
        """What a ``jira`` section written for a Cloud site changes to speak to this emulator's
        flavour (secrets as ``${VAR}`` of ``env()``); empty for Cloud."""
        if self.flavour == "cloud":
            return {}
        return {
            "flavour": "datacenter",
            "auth": "pat",
            "pat": "${JIRA_PAT}",
            "email": None,
            "api_token": None,
            "service_desk_id": SERVICE_DESK_ID,
            "groups": self.settings()["groups"],
            "bot_account_ids": [self.account(AUTOMATION_ACCOUNT)],
        }

    def env(self) -> dict[str, str]:
        return {
            "JIRA_URL": self.base_url,
            "JIRA_EMAIL": EMAIL,
            "JIRA_API_TOKEN": API_TOKEN,
            "JIRA_PAT": PAT,
            "JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }

    def signed_delivery(self, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": sign(WEBHOOK_SECRET.encode(), body),
        }
        if self.flavour == "cloud":  # Data Center sends no delivery identifier
            headers["X-Atlassian-Webhook-Identifier"] = str(uuid.uuid4())
            headers["X-Atlassian-Webhook-Retry"] = "0"
        return headers, body

    def rate_limit(
        self,
        method: str,
        path_pattern: str,
        *,
        retry_after: float = 1,
        count: int = 1,
        reason: str = "jira-burst-based",
        http_date: bool = False,
    ) -> None:
        """The next ``count`` matching requests get Jira's 429 with its rate-limit headers;
        ``Retry-After`` in seconds, or as an HTTP-date ``retry_after`` seconds from now."""
        now = self.server.clock.now()
        reset = now + timedelta(minutes=1)
        headers = {
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
            "X-RateLimit-NearLimit": "true",
            "RateLimit-Reason": reason,
        }
        if http_date:  # a date on the wall clock the client compares it with
            wall = datetime.now(UTC) + timedelta(seconds=retry_after)
            headers["Retry-After"] = format_datetime(wall, usegmt=True)
        self.server.inject(
            method,
            path_pattern,
            status=429,
            count=count,
            retry_after=None if http_date else retry_after,
            headers=headers,
        )

    # -- HTTP --------------------------------------------------------------------------------
    def _routes(self) -> None:
        route = self.server.route
        v = r"/rest/api/(?P<v>3)" if self.flavour == "cloud" else r"/rest/api/(?P<v>2)"
        route("GET", f"{V}/serverInfo")(self._guard(self._server_info))  # the SDK asks v2
        route("GET", f"{v}/field")(self._guard(self._fields))
        route("GET", f"{v}/myself")(self._guard(self._myself))
        route("GET", f"{v}/priority")(self._guard(self._priorities))
        route("GET", f"{v}/status")(self._guard(self._statuses))
        if self.flavour == "cloud":
            route("GET", f"{v}/search/jql")(self._guard(self.search.token_page))
            route("GET", f"{V}/search")(self._guard(self.search.gone))
            route("POST", f"{V}/search")(self._guard(self.search.gone))
            route("GET", f"{v}/issue/(?P<key>[^/]+)/changelog")(self._guard(self.search.changelog))
        else:
            # DC search: startAt/maxResults/total, default page 50 (support.atlassian.com/jira/
            # kb/how-to-use-the-maxresults-api-parameter-for-jira-issue-search-rest-api)
            route("GET", f"{v}/search")(self._guard(self.search.offset_page))
        route("POST", f"{v}/issue")(self._guard(self._create))
        route("GET", f"{v}/issue/(?P<key>[^/]+)")(self._guard(self._get_issue))
        route("PUT", f"{v}/issue/(?P<key>[^/]+)")(self._guard(self._edit))
        route("GET", f"{v}/issue/(?P<key>[^/]+)/comment")(self._guard(self._list_comments))
        # DC v2 comment body is wiki text (developer.atlassian.com/server/jira/platform/
        # jira-rest-api-example-add-comment-8946422); Cloud v3 takes ADF
        route("POST", f"{v}/issue/(?P<key>[^/]+)/comment")(self._guard(self._add_comment))
        route("GET", f"{v}/comment/(?P<id>[^/]+)/properties/(?P<prop>[^/]+)")(
            self._guard(self._comment_property)
        )
        route("POST", f"{v}/issue/(?P<key>[^/]+)/remotelink")(self._guard(self._remote_link))
        # JSM "Service Desk Customer" (developer.atlassian.com/server/jira-servicedesk/rest/
        # v1103/, experimental: X-ExperimentalApi: opt-in), the same on Cloud
        route("GET", r"/rest/servicedeskapi/servicedesk/(?P<desk>[^/]+)/customer")(
            self._guard(self._service_desk_customers)
        )

    def _guard(self, handler: Any) -> Any:
        def checked(request: Request) -> Response:
            given = request.headers.get("authorization", "")
            basic = "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
            accepted = (
                (basic, f"Bearer {PAT}", f"Bearer {OAUTH_TOKEN}")
                if self.flavour == "cloud"
                else (f"Bearer {PAT}",)  # Data Center: Personal Access Tokens
            )
            if given not in accepted:
                return error(
                    401,
                    "You are not authenticated. Authentication required to perform this operation.",
                )
            with self._lock:
                result: Response = handler(request)
                return result

        return checked

    def _server_info(self, request: Request) -> Response:
        now = self.server.clock.now()
        cloud = self.flavour == "cloud"
        return Response(
            200,
            {
                "baseUrl": self.base_url,
                "displayUrl": self.base_url,
                "version": "1001.0.0-SNAPSHOT" if cloud else "10.3.2",
                "versionNumbers": [1001, 0, 0] if cloud else [10, 3, 2],
                "deploymentType": "Cloud" if cloud else "Server",
                "buildNumber": 100281 if cloud else 10030002,
                "buildDate": "2026-11-01T00:00:00.000+0000",
                "serverTime": self._stamp(now),
                "scmInfo": "57a0ca5b",
                "serverTitle": "Jira",
            },
        )

    def _fields(self, request: Request) -> Response:
        system = [
            "summary", "status", "priority", "labels", "assignee", "reporter", "components",
            "created", "updated", "comment", "resolutiondate", "statuscategorychangedate",
            "project", "issuetype", "description",
        ]  # fmt: skip
        out: list[dict[str, Any]] = [
            {
                "id": f,
                "key": f,
                "name": f.capitalize(),
                "custom": False,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f],
            }
            for f in system
        ]
        customs = [
            (field_id, FIELD_NAMES[logical], custom_schema(logical, field_id, self.realistic))
            for logical, field_id in self.custom.items()
        ]
        if self.realistic:
            customs += [(i, name, schema) for i, name, schema, _ in JSM_FIELDS]
        for field_id, name, schema in customs:
            number = field_id.rsplit("_", 1)[1]
            out.append(
                {
                    "id": field_id,
                    "key": field_id,
                    "name": name,
                    "custom": True,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": [f"cf[{number}]", name],
                    "schema": schema,
                }
            )
        return Response(200, out)

    def _myself(self, request: Request) -> Response:
        return Response(200, {**self._users[self.account(SIDECAR_ACCOUNT)], "emailAddress": EMAIL})

    def _priorities(self, request: Request) -> Response:
        return Response(200, [self._priority(name) for name in self.priorities])

    def _statuses(self, request: Request) -> Response:
        return Response(200, [self._status(name) for name in STATUSES])

    def _service_desk_customers(self, request: Request) -> Response:
        if request.params["desk"] != SERVICE_DESK_ID:
            return error(404, "Service Desk does not exist.")
        if request.headers.get("x-experimentalapi") != "opt-in":
            return error(
                412,
                "This API is experimental. Experimental APIs are not guaranteed to be stable. "
                "Opt in with the X-ExperimentalApi header.",
            )
        start = int(request.arg("start") or "0")
        limit = min(int(request.arg("limit") or "50"), 50)
        wanted = (request.arg("query") or "").casefold()
        listed = [
            c
            for c in self._customers
            if not wanted
            or any(wanted in str(self._users[c].get(k) or "").casefold()
                   for k in ("displayName", "emailAddress", "name"))
        ]  # fmt: skip
        page = listed[start : start + limit]
        return Response(
            200,
            {
                "size": len(page),
                "start": start,
                "limit": limit,
                "isLastPage": start + limit >= len(listed),
                "values": [self._users[c] for c in page],
            },
        )

    def _get_issue(self, request: Request) -> Response:
        issue = self.find_issue(request.params["key"])
        if issue is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        fields = list_arg(request, "fields") or ["*all"]
        expand = set(list_arg(request, "expand"))
        return Response(
            200, self.render_issue(issue, fields, expand, list_arg(request, "properties"))
        )

    def _edit(self, request: Request) -> Response:  # noqa: PLR0912
        issue = self.find_issue(request.params["key"])
        if issue is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        body = request.json() or {}
        fields = issue["fields"]
        new_fields = dict(body.get("fields") or {})
        update = dict(body.get("update") or {})
        errors: dict[str, str] = {}
        for name in [*new_fields, *update]:
            if name not in ("labels", "priority", "assignee", "components", "summary"):
                errors[name] = f"Field '{name}' cannot be set. It is not on the screen, or unknown."
        labels = list(fields.get("labels") or [])
        if "labels" in new_fields:
            labels = list(new_fields["labels"])
        for op in update.get("labels", []):
            for verb, label in op.items():
                if verb == "add" and label not in labels:
                    labels.append(label)
                elif verb == "remove" and label in labels:
                    labels.remove(label)
                elif verb == "set":
                    labels = list(label)
        bad = [x for x in labels if not isinstance(x, str) or " " in x or not x]
        if bad:
            errors["labels"] = f"The label '{bad[0]}' contains spaces which is invalid."
        priority = None
        if "priority" in new_fields:
            wanted = new_fields["priority"] or {}
            by_id = {v: k for k, v in self.priorities.items()}
            name = wanted.get("name") or by_id.get(str(wanted.get("id")))
            if name not in self.priorities:
                errors["priority"] = "Specify the Priority (id or name) in the string format"
            else:
                priority = self._priority(name)
        assignee: dict[str, Any] | bool | None = False
        if "assignee" in new_fields:
            # Cloud names people by accountId; Data Center by username (``name``)
            who_key = "accountId" if self.flavour == "cloud" else "name"
            account = (new_fields["assignee"] or {}).get(who_key)
            if new_fields["assignee"] and account is None:
                errors["assignee"] = f"An assignee needs '{who_key}'."
            elif account is not None and account not in self._users:
                errors["assignee"] = f"User '{account}' does not exist."
            assignee = self._users.get(account) if account else None
        if errors:
            return error(400, **errors)
        actor = self.account(SIDECAR_ACCOUNT)
        items: list[dict[str, Any]] = []
        if labels != (fields.get("labels") or []):
            items.append(
                changelog_item(
                    "labels", " ".join(fields.get("labels") or []) or None, " ".join(labels)
                )
            )
            fields["labels"] = labels
        if priority is not None and priority["name"] != (fields.get("priority") or {}).get("name"):
            items.append(changelog_item("priority", fields.get("priority"), priority))
            fields["priority"] = priority
        if assignee is not False and assignee != fields.get("assignee"):
            items.append(changelog_item("assignee", fields.get("assignee"), assignee))
            fields["assignee"] = assignee
        for op in update.get("components", []):
            items += self._component(fields, op)
        if "summary" in new_fields:
            fields["summary"] = str(new_fields["summary"])
        if items:
            self._history(issue["key"], actor, items)
            self._touch(issue["key"])
        return Response(204, None)

    def _create(self, request: Request) -> Response:
        body = request.json() or {}
        fields = dict(body.get("fields") or {})
        project = (fields.get("project") or {}).get("key")
        errors: dict[str, str] = {}
        if project not in PROJECTS:
            errors["project"] = "Specify a valid project ID or key"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if not (fields.get("issuetype") or {}).get("name") and not (
            fields.get("issuetype") or {}
        ).get("id"):
            errors["issuetype"] = "Specify an issue type"
        name = (fields.get("priority") or {}).get("name", self.priority_names["normal"])
        if name not in self.priorities:
            errors["priority"] = "Specify the Priority (id or name) in the string format"
        description = fields.get("description")
        wanted_type = dict if self.flavour == "cloud" else str  # ADF on v3, wiki text on v2
        if description is not None and not isinstance(description, wanted_type):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                if self.flavour == "cloud"
                else "Operation value must be a string"
            )
        if errors:
            return error(400, **errors)
        key, issue = self._new_issue(str(project))
        now = self._stamp(self.server.clock.now())
        issue["fields"].update(
            {
                "summary": fields["summary"],
                "description": description,
                "issuetype": {
                    "id": "10004",
                    "name": (fields.get("issuetype") or {}).get("name", "Task"),
                },
                "status": self._status("Open"),
                "priority": self._priority(name),
                "labels": list(fields.get("labels") or []),
                "reporter": self._users[self.account(SIDECAR_ACCOUNT)],
                "created": now,
                "updated": now,
            }
        )
        for prop in body.get("properties") or []:
            self._issue_props.setdefault(key, {})[prop["key"]] = prop["value"]
        self.version += 1
        return Response(201, {"id": issue["id"], "key": key, "self": issue["self"]})

    def _list_comments(self, request: Request) -> Response:
        key = request.params["key"]
        if self.find_issue(key) is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        start = int(request.arg("startAt") or "0")
        size = min(int(request.arg("maxResults") or "100"), 100)
        with_props = "properties" in list_arg(request, "expand")
        ordered = list(self._comments.get(key, []))
        if request.arg("orderBy") == "-created":
            ordered.reverse()
        page = ordered[start : start + size]
        return Response(
            200,
            {
                "startAt": start,
                "maxResults": size,
                "total": len(ordered),
                "comments": [self._render_comment(c, with_props) for c in page],
            },
        )

    def _add_comment(self, request: Request) -> Response:
        key = request.params["key"]
        if self.find_issue(key) is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        body = request.json() or {}
        given = body.get("body")
        if self.flavour == "cloud":
            valid = isinstance(given, dict) and given.get("type") == "doc"
        else:  # v2 takes wiki text; an ADF document is refused
            valid = isinstance(given, str) and bool(given.strip())
        if not valid:
            return error(
                400, "Comment body is not valid!", comment="Comment body can not be empty!"
            )
        props = {p["key"]: p["value"] for p in body.get("properties") or []}
        internal = (props.get("sd.public.comment") or {}).get("internal") is True
        comment = self._store_comment(
            key,
            self.account(SIDECAR_ACCOUNT),
            given,
            self.server.clock.now(),
            props,
            public=not internal,
        )
        self._touch(key)
        return Response(
            201, self._render_comment(comment, "properties" in list_arg(request, "expand"))
        )

    def _comment_property(self, request: Request) -> Response:
        for comments in self._comments.values():
            for comment in comments:
                if comment["id"] == request.params["id"]:
                    props = comment["_properties"]
                    if request.params["prop"] not in props:
                        return error(404, "The property was not found.")
                    prop = request.params["prop"]
                    return Response(200, {"key": prop, "value": props[prop]})
        return error(404, "Can not find a comment for the id: " + request.params["id"] + ".")

    def _remote_link(self, request: Request) -> Response:
        key = request.params["key"]
        issue = self.find_issue(key)
        if issue is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        body = request.json() or {}
        target = body.get("object") or {}
        if not target.get("url") or not target.get("title"):
            return error(400, **{"object": "An object with a url and a title is required."})
        links = self._links.setdefault(key, [])
        global_id = body.get("globalId")
        existing = [
            i for i, link in enumerate(links) if global_id and link.get("globalId") == global_id
        ]
        if existing:
            old = links[existing[0]]
            number = int(old.get("id") or 0) or self._take_id()
            links[existing[0]] = {**body, "id": number, "self": self._link_self(issue, number)}
            return Response(200, {"id": number, "self": self._link_self(issue, number)})
        number = self._take_id()
        links.append({**body, "id": number, "self": self._link_self(issue, number)})
        return Response(201, {"id": number, "self": self._link_self(issue, number)})

    # -- store -------------------------------------------------------------------------------
    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _link_self(self, issue: dict[str, Any], number: int) -> str:
        return f"{self.base_url}{self.api}/issue/{issue['id']}/remotelink/{number}"

    def _new_issue(self, project: str) -> tuple[str, dict[str, Any]]:
        number = self._next_number[project]
        self._next_number[project] = number + 1
        key = f"{project}-{number}"
        issue_id = str(self._take_id())
        issue: dict[str, Any] = {
            "id": issue_id,
            "key": key,
            "self": f"{self._base()}{self.api}/issue/{issue_id}",
            "fields": {
                "project": {"id": PROJECTS[project], "key": project, "name": project},
                "assignee": None,
                "components": [],
                "resolutiondate": None,
                "description": None,
            },
            "_histories": [],
        }
        self._issues[key] = issue
        self._comments[key] = []
        return key, issue

    def _base(self) -> str:
        try:
            return self.server.base_url
        except RuntimeError:  # seeded before start: Jira's canonical host shape
            return "https://emulated.atlassian.net"

    def all_issues(self) -> list[dict[str, Any]]:
        return list(self._issues.values())

    def find_issue(self, key_or_id: str) -> dict[str, Any] | None:
        issue = self._issues.get(key_or_id.upper())
        if issue is not None:
            return issue
        return next((i for i in self._issues.values() if i["id"] == key_or_id), None)

    def _updated(self, key: str) -> datetime:
        return parse_jira_time(self._issues[key]["fields"]["updated"])

    def _requester(self, key: str) -> dict[str, Any]:
        """The customer of an issue (its reporter, unless an agent reported it for them)."""
        reporter: dict[str, Any] = self._issues[key]["fields"]["reporter"]
        ident = reporter.get("accountId") or reporter.get("name")
        if ident in self._customers:
            return reporter
        org = self._issues[key]["fields"].get(self.custom["organization"]) or []
        name = org[0]["name"].lower() if org else "customer"
        return self._customer(f"{name}@example.com")

    def _touch(self, key: str, at: datetime | None = None) -> None:
        self._issues[key]["fields"]["updated"] = self._stamp(at or self.server.clock.now())
        self.version += 1

    def _history(
        self, key: str, actor: str, items: list[dict[str, Any]], at: datetime | None = None
    ) -> None:
        if items:
            self._issues[key]["_histories"].append(
                {
                    "id": str(self._take_id()),
                    "author": self._users[actor],
                    "created": self._stamp(at or self.server.clock.now()),
                    "items": items,
                }
            )

    def _user(
        self, cloud_id: str, name: str, kind: str, email: str | None = None
    ) -> dict[str, Any]:
        """A person as this flavour shows them: Cloud ``accountId``/``accountType``, Data
        Center ``key``/``name`` (no account type at all)."""
        ident = self.account(cloud_id)
        if self.flavour == "cloud":
            user: dict[str, Any] = {
                "self": f"{self._base()}/rest/api/3/user?accountId={ident}",
                "accountId": ident,
                "displayName": name,
                "active": True,
                "accountType": kind,
                "timeZone": self.user_zone if cloud_id == SIDECAR_ACCOUNT else "Europe/London",
            }
        else:
            user = {
                "self": f"{self._base()}/rest/api/2/user?username={ident}",
                "key": ident if not self.realistic else f"JIRAUSER{10000 + len(self._users)}",
                "name": ident,
                "displayName": name,
                "active": True,
                "timeZone": self.user_zone if cloud_id == SIDECAR_ACCOUNT else "Europe/London",
            }
        if email:
            user["emailAddress"] = email
        self._users[ident] = user
        return user

    def _customer(self, email: str) -> dict[str, Any]:
        if self.flavour == "cloud":
            account = "qm:" + hashlib.sha1(email.encode()).hexdigest()[:24]
        else:
            digest = hashlib.sha1(email.encode()).hexdigest()[:6]
            account = f"{email.split('@', maxsplit=1)[0]}-{digest}"  # a username
        if account in self._users:
            return self._users[account]
        user = self._user(account, email.split("@", maxsplit=1)[0], "customer", email)
        self._customers.append(account)
        return user

    def _status(self, name: str) -> dict[str, Any]:
        status_id, category = STATUSES[name]
        return {
            "self": f"{self._base()}{self.api}/status/{status_id}",
            "id": status_id,
            "name": name,
            "description": "",
            "statusCategory": {
                "self": f"{self._base()}{self.api}/statuscategory/{CATEGORIES[category]['id']}",
                **CATEGORIES[category],
            },
        }

    def _priority(self, name: str) -> dict[str, Any]:
        pid = self.priorities[name]
        return {"self": f"{self._base()}{self.api}/priority/{pid}", "id": pid, "name": name}

    def _set_group(self, fields: dict[str, Any], target: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if "assignee" in target:
            new = self._users[self.account(target["assignee"])]
            items.append(changelog_item("assignee", fields.get("assignee"), new))
            fields["assignee"] = new
        if "component" in target:
            items += self._component(fields, {"add": {"name": target["component"]}})
        return items

    def _component(self, fields: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
        components: list[dict[str, Any]] = fields.setdefault("components", [])
        names = [c["name"] for c in components]
        for verb, value in op.items():
            name = (value or {}).get("name")
            if verb == "add" and name not in names:
                components.append({"id": short_id(name), "name": name})
                return [
                    {
                        "field": "Component",
                        "fieldtype": "jira",
                        "fieldId": "components",
                        "to": short_id(name),
                        "toString": name,
                    }
                ]
            if verb == "remove" and name in names:
                fields["components"] = [c for c in components if c["name"] != name]
                return [
                    {
                        "field": "Component",
                        "fieldtype": "jira",
                        "fieldId": "components",
                        "from": short_id(name),
                        "fromString": name,
                    }
                ]
        return []

    def _comment(self, key: str, seed: SeedComment, customer: dict[str, Any]) -> None:
        author = (
            self.account(AGENT_ACCOUNT)
            if seed.author == "agent"
            else str(customer.get("accountId") or customer.get("name"))
        )
        props = {} if seed.public else {"sd.public.comment": {"internal": True}}
        self._store_comment(key, author, self._body(seed.body), seed.at, props, public=seed.public)

    def _store_comment(
        self,
        key: str,
        author: str,
        body: Any,
        at: datetime,
        props: dict[str, Any],
        *,
        public: bool,
    ) -> dict[str, Any]:
        issue = self._issues[key]
        comment = {
            "id": str(self._take_id()),
            "_issue": issue["id"],
            "author": self._users[author],
            "updateAuthor": self._users[author],
            "body": body,
            "created": self._stamp(at),
            "updated": self._stamp(at),
            "jsdPublic": public,
            "_properties": dict(props),
        }
        self._comments[key].append(comment)
        self.version += 1
        return comment

    # -- rendering ---------------------------------------------------------------------------
    def _render_comment(self, comment: dict[str, Any], with_props: bool) -> dict[str, Any]:
        out = {k: deepcopy(v) for k, v in comment.items() if not k.startswith("_")}
        out["self"] = f"{self._base()}{self.api}/issue/{comment['_issue']}/comment/{comment['id']}"
        if with_props:
            out["properties"] = [{"key": k, "value": v} for k, v in comment["_properties"].items()]
        return out

    def render_issue(
        self,
        issue: dict[str, Any],
        fields: list[str],
        expand: set[str],
        props: list[str],
        *,
        search: bool = False,
        full: bool = False,
    ) -> dict[str, Any]:
        wanted = {f for f in fields if not f.startswith("-")}
        everything = bool(wanted & {"*all", "*navigable"})
        excluded = {f[1:] for f in fields if f.startswith("-")}
        source = issue["fields"]
        out_fields: dict[str, Any] = {}
        for name, value in source.items():
            if (everything or name in wanted) and name not in excluded:
                out_fields[name] = deepcopy(value)
        if (everything or "comment" in wanted) and "comment" not in excluded:
            comments = self._comments.get(issue["key"], [])
            shown = comments[:EMBEDDED_COMMENTS] if search else comments
            out_fields["comment"] = {
                "comments": [self._render_comment(c, False) for c in shown],
                "self": f"{issue['self']}/comment",
                "maxResults": len(shown),
                "total": len(comments),
                "startAt": 0,
            }
        if "statuscategorychangedate" in wanted or everything:
            done = (source.get("status") or {}).get("statusCategory", {}).get("key") == "done"
            out_fields["statuscategorychangedate"] = (
                source.get("resolutiondate") if done else source.get("created")
            )
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue["id"],
            "self": issue["self"],
            "key": issue["key"],
            "fields": out_fields,
        }
        if "changelog" in expand:
            histories = deepcopy(issue["_histories"])
            # Cloud embeds a first page only (the rest is paged at /changelog); Data Center,
            # which has no such resource, embeds the whole changelog
            shown = (
                histories
                if full or self.flavour != "cloud"
                else (histories[: self.embedded_histories])
            )
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(shown),
                "total": len(histories),
                "histories": shown,
            }
        if props:
            stored = self._issue_props.get(issue["key"], {})
            out["properties"] = {k: deepcopy(stored[k]) for k in props if k in stored}
        return out

    # -- webhooks ----------------------------------------------------------------------------
    def _announce(self, key: str, event: str) -> None:
        if not self.webhook_url:
            return
        with self._lock:
            issue = self._issues[key]
            payload = {
                "timestamp": int(self.server.clock.now().timestamp() * 1000),
                "webhookEvent": event,
                "issue_event_type_name": event.rsplit(":", maxsplit=1)[-1],
                "issue": {"id": issue["id"], "key": key, "self": issue["self"]},
                "user": self._users[self.account(AGENT_ACCOUNT)],
            }
        self.deliver(payload)
