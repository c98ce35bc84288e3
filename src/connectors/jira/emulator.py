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
  Data Center documents no request feedback resource, so only Cloud serves
  ``/rest/servicedeskapi/request/{key}/feedback`` (and lists JSM's "Satisfaction date").
  Users carry ``key``/``name``, no ``accountId``/``accountType``; priorities are Blocker..Trivial.
  No machine-readable Data Center spec is stored beside the repository, so there is no DC
  contract test; these pages are what the routes follow.

Realistic mode (the default) sends what real sites send: agent-reported tickets, an automation
(``app``) auto-reply, JSM's own low-id fields, custom field ids of this site only, nulls,
timestamps at the site's own offset (``-0800``), long changelogs embedded only a first page, an
API user in a zone behind UTC (JQL dates are read in that zone, as Jira does).
Errors are ``{"errorMessages": [...], "errors": {...}}``.

The class here composes two parts: ``emulator_state.JiraState`` (the records, and the methods
that change and read them) and ``emulator_routes.JiraRoutes`` (the HTTP API over them); it adds
the people's side (seeding, updates, announcements by webhook) and the connector's settings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from copy import deepcopy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.emulation import Emulator, SeedComment, SeedTicket
from connectors.jira.emulator_routes import JiraRoutes
from connectors.jira.emulator_samples import feedback_body
from connectors.jira.emulator_search import IssueSearch
from connectors.jira.emulator_site import (
    AGENT_ACCOUNT,
    API_TOKEN,
    AUTOMATION_ACCOUNT,
    CUSTOM,
    EMAIL,
    EXEC_ACCOUNT,
    GROUPS,
    OAUTH_TOKEN,
    PAT,
    PRIORITY_NAMES,
    SERVICE_DESK_ID,
    SIDECAR_ACCOUNT,
    STATUS_NAMES,
    TIER2_ACCOUNT,
    WEBHOOK_SECRET,
    JiraServer,
)
from connectors.jira.emulator_state import Flavour, JiraState
from connectors.jira.webhook import sign

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
        self.webhook_url = webhook_url
        self.state = JiraState(
            self.server,
            flavour=flavour,
            realistic=realistic,
            page_size=page_size,
            embedded_histories=embedded_histories,
            user_zone=user_zone,
            site_zone=site_zone,
        )
        self.routes = JiraRoutes(self.state)

    # -- the site's settings and records, as callers read them on the emulator ---------------
    @property
    def flavour(self) -> Flavour:
        return self.state.flavour

    @property
    def realistic(self) -> bool:
        return self.state.realistic

    @property
    def page_size(self) -> int:
        return self.state.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self.state.page_size = value

    @property
    def embedded_histories(self) -> int:
        return self.state.embedded_histories

    @embedded_histories.setter  # tests shorten the embedded changelog of a running site
    def embedded_histories(self, value: int) -> None:
        self.state.embedded_histories = value

    @property
    def user_zone(self) -> str:
        return self.state.user_zone

    @property
    def site_zone(self) -> ZoneInfo:
        return self.state.site_zone

    @property
    def custom(self) -> dict[str, str]:
        return self.state.custom

    @property
    def priorities(self) -> dict[str, str]:
        return self.state.priorities

    @property
    def priority_names(self) -> dict[str, str]:
        return self.state.priority_names

    @property
    def version(self) -> int:
        return self.state.version

    @property
    def search(self) -> IssueSearch:
        return self.routes.search

    @property
    def _issues(self) -> dict[str, dict[str, Any]]:
        """The issues by key (an end-to-end test reads them directly)."""
        return self.state.issues

    @property
    def api(self) -> str:
        return self.state.api

    def account(self, cloud_id: str) -> str:
        """How this site names one of the emulator's people (Data Center: a username)."""
        return self.state.account(cloud_id)

    # -- people's side (the state changes, the emulator announces) ----------------------------
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        keys = self.state.seed(tickets)
        for key in keys:
            self._announce(key, "jira:issue_created")
        return keys

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        self.state.add_comment(ticket_id, comment)
        self._announce(ticket_id, "comment_created")

    def add_comment_by(
        self, ticket_id: str, author: str, body: str, at: datetime, *, public: bool = True
    ) -> None:
        """A comment by a given account (an app, an agent who reported the issue...)."""
        self.state.add_comment_by(ticket_id, author, body, at, public=public)
        self._announce(ticket_id, "comment_created")

    def add_customer(self, cloud_id: str, name: str, *, account_type: str = "atlassian") -> str:
        """A person on the service desk's customer list whatever their account type (e.g. a
        licensed user of another product raising a request); their id on this site."""
        return self.state.add_customer(cloud_id, name, account_type)

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        group: str | None = None,
        priority_name: str | None = None,
    ) -> None:
        self.state.update(
            ticket_id, status=status, priority=priority, group=group, priority_name=priority_name
        )
        self._announce(ticket_id, "jira:issue_updated")

    def add_labels(self, ticket_id: str, *labels: str, by: str = AGENT_ACCOUNT) -> None:
        """A person adds labels in the issue view: one changelog entry, as Jira records it
        (``field: labels``, space-separated ``fromString``/``toString``)."""
        self.state.add_labels(ticket_id, labels, by)
        self._announce(ticket_id, "jira:issue_updated")

    def rate(self, ticket_id: str, rating: int, comment: str | None = None) -> None:
        """The customer answers the satisfaction survey: 1-5 stars and an optional comment."""
        self.state.rate(ticket_id, feedback_body(rating, comment))
        self._announce(ticket_id, "jira:issue_updated")

    def corrupt(self, ticket_id: str, field: str, value: Any) -> None:
        """Make one issue malformed (tests of quarantine)."""
        self.state.corrupt(ticket_id, field, value)

    def set_field(self, ticket_id: str, logical: str, value: Any) -> None:
        """Put a raw value in one of our custom fields (``category``, ``affected_users``...)."""
        self.corrupt(ticket_id, self.custom[logical], value)

    def fail_search_page(self, page: int, *, status: int = 500, times: int = 1) -> None:
        """The ``page``-th page (0-based) of every search answers ``status``, ``times`` times."""
        with self.state.lock:
            self.search.failing_pages[page] = (status, times)

    # -- inspection --------------------------------------------------------------------------
    def labels(self, ticket_id: str) -> set[str]:
        return set(self.record(ticket_id)["fields"]["labels"] or [])

    def record(self, ticket_id: str) -> dict[str, Any]:
        with self.state.lock:
            return self.state.render_issue(
                self.state.issues[ticket_id], ["*all"], {"changelog"}, [], full=True
            )

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                self.state.render_comment(c, True) for c in self.state.comments.get(ticket_id, [])
            ]

    def remote_links(self, ticket_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return deepcopy(self.state.links.get(ticket_id, []))

    def issue_keys(self, project: str) -> list[str]:
        with self.state.lock:
            return [k for k in self.state.issues if k.startswith(project + "-")]

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
        self.routes.rate_limit(
            method,
            path_pattern,
            retry_after=retry_after,
            count=count,
            reason=reason,
            http_date=http_date,
        )

    # -- webhooks ----------------------------------------------------------------------------
    def _announce(self, key: str, event: str) -> None:
        if not self.webhook_url:
            return
        with self.state.lock:
            issue = self.state.issues[key]
            payload = {
                "timestamp": int(self.server.clock.now().timestamp() * 1000),
                "webhookEvent": event,
                "issue_event_type_name": event.rsplit(":", maxsplit=1)[-1],
                "issue": {"id": issue["id"], "key": key, "self": issue["self"]},
                "user": self.state.users[self.account(AGENT_ACCOUNT)],
            }
        self.deliver(payload)
