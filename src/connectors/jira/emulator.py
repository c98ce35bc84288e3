"""A Jira Cloud (REST v3, JSM flavoured) emulator on 127.0.0.1, for tests, the demo and benchmarks.

It serves exactly what the connector and the ``jira`` SDK call: serverInfo (``deploymentType``
Cloud), the field list, enhanced search with ``nextPageToken`` (the old ``/search`` answers 410),
issue GET/PUT/POST, comments with entity properties, remote links, priorities, statuses and
``myself``. Bodies are ADF; errors are ``{"errorMessages": [...], "errors": {...}}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Sequence
from copy import deepcopy
from datetime import datetime, timedelta
from typing import Any

from connectors.emulation import (
    Emulator,
    EmulatorServer,
    Request,
    Response,
    SeedComment,
    SeedTicket,
)
from connectors.jira.adf import to_adf
from connectors.jira.cursor import format_jira_time
from connectors.jira.emulator_jql import JqlError, parse
from connectors.jira.webhook import sign

EMAIL = "sidecar@example.com"
API_TOKEN = "jira-emulator-token"
PAT = "jira-emulator-pat"
OAUTH_TOKEN = "jira-emulator-oauth"
WEBHOOK_SECRET = "jira-emulator-webhook-secret"
SIDECAR_ACCOUNT = "5f00sidecar0000000000001"
AGENT_ACCOUNT = "5f00agent000000000000001"
TIER2_ACCOUNT = "5f00tier2000000000000001"
EXEC_ACCOUNT = "5f00exec0000000000000001"
EMBEDDED_COMMENTS = 20  # emulator's choice: search embeds at most this many comments
V = r"/rest/api/(?P<v>[23])"

_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
_STATUSES = {  # name -> (id, category)
    "Open": ("1", "new"),
    "Waiting for support": ("10001", "indeterminate"),
    "In Progress": ("3", "indeterminate"),
    "Waiting for customer": ("10002", "indeterminate"),
    "Pending vendor": ("10003", "indeterminate"),
    "Resolved": ("5", "done"),
    "Done": ("10004", "done"),
    "Closed": ("6", "done"),
}
STATUS_NAMES = {  # normalised status -> the workflow status a person would pick
    "new": "Open",
    "open": "Waiting for support",
    "pending": "Waiting for customer",
    "on_hold": "Pending vendor",
    "solved": "Resolved",
    "closed": "Closed",
}
_PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
PRIORITY_NAMES = {"urgent": "Highest", "high": "High", "normal": "Medium", "low": "Low"}
GROUPS: dict[str, dict[str, str]] = {
    "Tier 2 Support": {"assignee": TIER2_ACCOUNT},
    "Support Managers": {"component": "Support Managers"},
    "Executive Escalations": {"assignee": EXEC_ACCOUNT},
}
CUSTOM = {
    "category": "customfield_10050",
    "customer_tier": "customfield_10051",
    "affected_users": "customfield_10052",
    "organization": "customfield_10002",
}
_PROJECTS = {"SUP": "10000", "ENG": "10001"}


def _error(status: int, *messages: str, **errors: str) -> Response:
    return Response(status, {"errorMessages": list(messages), "errors": dict(errors)})


class JiraServer(EmulatorServer):
    """The frame with Jira's error bodies."""

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return {"errorMessages": ["Rate limit exceeded."], "errors": {}}
        return {"errorMessages": [f"Internal server error ({status})."], "errors": {}}

    def not_found(self, request: Request) -> Response:
        return _error(404, "null for uri: " + request.path)


class JiraEmulator(Emulator):
    """In-memory Jira site: projects SUP (service desk) and ENG (engineering)."""

    def __init__(self, *, page_size: int = 100, webhook_url: str | None = None) -> None:
        self.server = JiraServer("jira")
        self.page_size = page_size
        self.webhook_url = webhook_url
        self._lock = threading.RLock()
        self._issues: dict[str, dict[str, Any]] = {}
        self._comments: dict[str, list[dict[str, Any]]] = {}
        self._issue_props: dict[str, dict[str, Any]] = {}
        self._links: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._next_number = {p: 1 for p in _PROJECTS}
        self._next_id = 10000
        self._version = 0
        self._search_cache: tuple[str, int, list[dict[str, Any]]] | None = None
        for account, name, kind in (
            (SIDECAR_ACCOUNT, "Escalation Sidecar", "atlassian"),
            (AGENT_ACCOUNT, "Alex Agent", "atlassian"),
            (TIER2_ACCOUNT, "Tier Two", "atlassian"),
            (EXEC_ACCOUNT, "Erin Executive", "atlassian"),
        ):
            self._user(account, name, kind)
        self._routes()


    # -- people's side ---------------------------------------------------------------------
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        keys: list[str] = []
        with self._lock:
            for seed in tickets:
                reporter = self._customer(seed.requester)
                key, issue = self._new_issue("SUP")
                status_name = STATUS_NAMES[seed.status]
                last = max([seed.created_at, *(c.at for c in seed.comments)])
                issue["fields"].update(
                    {
                        "summary": seed.title,
                        "issuetype": {"id": "10100", "name": "Service Request"},
                        "status": self._status(status_name),
                        "priority": self._priority(PRIORITY_NAMES[seed.priority]),
                        "labels": list(seed.labels),
                        "reporter": reporter,
                        "created": format_jira_time(seed.created_at),
                        "updated": format_jira_time(seed.updated_at or last),
                        CUSTOM["category"]: _option(seed.category),
                        CUSTOM["customer_tier"]: _option(seed.customer_tier),
                        CUSTOM["affected_users"]: (
                            float(seed.affected_users) if seed.affected_users is not None else None
                        ),
                        CUSTOM["organization"]: (
                            [{"id": _short_id(seed.organization), "name": seed.organization}]
                            if seed.organization
                            else []
                        ),
                    }
                )
                for comment in seed.comments:
                    self._comment(key, comment, reporter)
                keys.append(key)
            self._version += 1
        for key in keys:
            self._announce(key, "jira:issue_created")
        return keys

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        with self._lock:
            issue = self._issues[ticket_id]
            self._comment(ticket_id, comment, issue["fields"]["reporter"])
            self._touch(ticket_id, max(comment.at, self._updated(ticket_id)))
        self._announce(ticket_id, "comment_created")

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        group: str | None = None,
    ) -> None:
        with self._lock:
            fields = self._issues[ticket_id]["fields"]
            items: list[dict[str, Any]] = []
            if status is not None:
                new = self._status(STATUS_NAMES[status])
                items.append(_item("status", fields["status"], new))
                fields["status"] = new
                resolved = new["statusCategory"]["key"] == "done"
                fields["resolutiondate"] = (
                    format_jira_time(self.server.clock.now()) if resolved else None
                )
            if priority is not None:
                new = self._priority(PRIORITY_NAMES[priority])
                items.append(_item("priority", fields["priority"], new))
                fields["priority"] = new
            if group is not None:
                items += self._set_group(fields, GROUPS[group])
            self._history(ticket_id, AGENT_ACCOUNT, items)
            self._touch(ticket_id)
        self._announce(ticket_id, "jira:issue_updated")

    def corrupt(self, ticket_id: str, field: str, value: Any) -> None:
        """Make one issue malformed (tests of quarantine)."""
        with self._lock:
            self._issues[ticket_id]["fields"][field] = value
            self._version += 1

    # -- inspection --------------------------------------------------------------------------
    def record(self, ticket_id: str) -> dict[str, Any]:
        with self._lock:
            return self._render(self._issues[ticket_id], ["*all"], {"changelog"}, [])

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
        return {
            "url": self.base_url,
            "auth": "basic",
            "email": EMAIL,
            "api_token": API_TOKEN,
            "projects": ["SUP"],
            "webhook_secret": WEBHOOK_SECRET,
            "fields": dict(CUSTOM),
            "groups": deepcopy(GROUPS),
        }

    def env(self) -> dict[str, str]:
        return {
            "JIRA_URL": self.base_url,
            "JIRA_EMAIL": EMAIL,
            "JIRA_API_TOKEN": API_TOKEN,
            "JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }

    def signed_delivery(self, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": sign(WEBHOOK_SECRET.encode(), body),
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
            "X-Atlassian-Webhook-Retry": "0",
        }
        return headers, body

    def rate_limit(
        self,
        method: str,
        path_pattern: str,
        *,
        retry_after: float = 1,
        count: int = 1,
        reason: str = "jira-burst-based",
    ) -> None:
        """The next ``count`` matching requests get Jira's 429 with its rate-limit headers."""
        reset = self.server.clock.now() + timedelta(minutes=1)
        self.server.inject(
            method,
            path_pattern,
            status=429,
            count=count,
            retry_after=retry_after,
            headers={
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                "X-RateLimit-NearLimit": "true",
                "RateLimit-Reason": reason,
            },
        )

    # -- HTTP --------------------------------------------------------------------------------
    def _routes(self) -> None:
        route = self.server.route
        route("GET", f"{V}/serverInfo")(self._guard(self._server_info))
        route("GET", f"{V}/field")(self._guard(self._fields))
        route("GET", f"{V}/myself")(self._guard(self._myself))
        route("GET", f"{V}/priority")(self._guard(self._priorities))
        route("GET", f"{V}/status")(self._guard(self._statuses))
        route("GET", f"{V}/search/jql")(self._guard(self._search))
        route("GET", f"{V}/search")(self._guard(self._search_gone))
        route("POST", f"{V}/search")(self._guard(self._search_gone))
        route("POST", f"{V}/issue")(self._guard(self._create))
        route("GET", f"{V}/issue/(?P<key>[^/]+)")(self._guard(self._get_issue))
        route("PUT", f"{V}/issue/(?P<key>[^/]+)")(self._guard(self._edit))
        route("GET", f"{V}/issue/(?P<key>[^/]+)/comment")(self._guard(self._list_comments))
        route("POST", f"{V}/issue/(?P<key>[^/]+)/comment")(self._guard(self._add_comment))
        route("GET", f"{V}/comment/(?P<id>[^/]+)/properties/(?P<prop>[^/]+)")(
            self._guard(self._comment_property)
        )
        route("POST", f"{V}/issue/(?P<key>[^/]+)/remotelink")(self._guard(self._remote_link))

    def _guard(self, handler: Any) -> Any:
        def checked(request: Request) -> Response:
            given = request.headers.get("authorization", "")
            basic = "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
            if given not in (basic, f"Bearer {PAT}", f"Bearer {OAUTH_TOKEN}"):
                return _error(
                    401,
                    "You are not authenticated. Authentication required to perform this operation.",
                )
            with self._lock:
                result: Response = handler(request)
                return result

        return checked

    def _server_info(self, request: Request) -> Response:
        now = self.server.clock.now()
        return Response(
            200,
            {
                "baseUrl": self.base_url,
                "displayUrl": self.base_url,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100281,
                "buildDate": "2026-11-01T00:00:00.000+0000",
                "serverTime": format_jira_time(now),
                "scmInfo": "57a0ca5b",
                "serverTitle": "Jira",
            },
        )

    def _fields(self, request: Request) -> Response:
        system = [
            "summary",
            "status",
            "priority",
            "labels",
            "assignee",
            "reporter",
            "components",
            "created",
            "updated",
            "comment",
            "resolutiondate",
            "statuscategorychangedate",
            "project",
            "issuetype",
            "description",
        ]
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
        for label, field_id in CUSTOM.items():
            number = field_id.rsplit("_", 1)[1]
            out.append(
                {
                    "id": field_id,
                    "key": field_id,
                    "name": label.replace("_", " ").title(),
                    "custom": True,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": [f"cf[{number}]"],
                }
            )
        return Response(200, out)

    def _myself(self, request: Request) -> Response:
        return Response(200, {**self._users[SIDECAR_ACCOUNT], "emailAddress": EMAIL})

    def _priorities(self, request: Request) -> Response:
        return Response(200, [self._priority(name) for name in _PRIORITIES])

    def _statuses(self, request: Request) -> Response:
        return Response(200, [self._status(name) for name in _STATUSES])

    def _search_gone(self, request: Request) -> Response:
        return _error(
            410,
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
            "A full migration guideline is available at "
            "https://developer.atlassian.com/changelog/#CHANGE-2046",
        )

    def _search(self, request: Request) -> Response:
        jql = request.arg("jql") or ""
        try:
            query = parse(jql)
        except JqlError as exc:
            return _error(400, str(exc))
        if not query.bounded:
            return _error(
                400,
                "Unbounded JQL queries are not allowed here. Please add a search restriction "
                "to your query.",
            )
        token = request.arg("nextPageToken")
        offset = 0
        if token:
            try:
                data = json.loads(base64.urlsafe_b64decode(token.encode()))
                offset = int(data["o"])
                if data["q"] != _digest(jql):
                    raise ValueError("token of another query")
            except (ValueError, KeyError, TypeError):
                return _error(400, "The provided next page token is invalid or expired.")
        size = min(int(request.arg("maxResults") or "50"), self.page_size, 5000)
        matched = self._matching(jql, query)
        page = matched[offset : offset + size]
        fields = _list_arg(request, "fields") or ["id"]
        expand = set(_list_arg(request, "expand"))
        props = _list_arg(request, "properties")
        body: dict[str, Any] = {
            "issues": [self._render(i, fields, expand, props, search=True) for i in page],
            "isLast": offset + size >= len(matched),
        }
        if offset + size < len(matched):
            raw = json.dumps({"q": _digest(jql), "o": offset + size}).encode()
            body["nextPageToken"] = base64.urlsafe_b64encode(raw).decode()
        return Response(200, body)

    def _matching(self, jql: str, query: Any) -> list[dict[str, Any]]:
        cached = self._search_cache
        if cached and cached[0] == jql and cached[1] == self._version:
            return cached[2]
        matched = [i for i in self._issues.values() if query.where(i)]
        order = list(query.order) or [("key", False)]
        for field, descending in reversed(order):
            matched.sort(key=query.sort_key(field), reverse=descending)
        self._search_cache = (jql, self._version, matched)
        return matched

    def _get_issue(self, request: Request) -> Response:
        issue = self._find(request.params["key"])
        if issue is None:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        fields = _list_arg(request, "fields") or ["*all"]
        expand = set(_list_arg(request, "expand"))
        return Response(200, self._render(issue, fields, expand, _list_arg(request, "properties")))

    def _edit(self, request: Request) -> Response:
        issue = self._find(request.params["key"])
        if issue is None:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
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
            by_id = {v: k for k, v in _PRIORITIES.items()}
            name = wanted.get("name") or by_id.get(str(wanted.get("id")))
            if name not in _PRIORITIES:
                errors["priority"] = "Specify the Priority (id or name) in the string format"
            else:
                priority = self._priority(name)
        assignee: dict[str, Any] | bool | None = False
        if "assignee" in new_fields:
            account = (new_fields["assignee"] or {}).get("accountId")
            if account is not None and account not in self._users:
                errors["assignee"] = f"User '{account}' does not exist."
            assignee = self._users.get(account) if account else None
        if errors:
            return _error(400, **errors)
        actor = SIDECAR_ACCOUNT
        items: list[dict[str, Any]] = []
        if labels != (fields.get("labels") or []):
            items.append(
                _item("labels", " ".join(fields.get("labels") or []) or None, " ".join(labels))
            )
            fields["labels"] = labels
        if priority is not None and priority["name"] != (fields.get("priority") or {}).get("name"):
            items.append(_item("priority", fields.get("priority"), priority))
            fields["priority"] = priority
        if assignee is not False and assignee != fields.get("assignee"):
            items.append(_item("assignee", fields.get("assignee"), assignee))
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
        if project not in _PROJECTS:
            errors["project"] = "Specify a valid project ID or key"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if not (fields.get("issuetype") or {}).get("name") and not (
            fields.get("issuetype") or {}
        ).get("id"):
            errors["issuetype"] = "Specify an issue type"
        name = (fields.get("priority") or {}).get("name", "Medium")
        if name not in _PRIORITIES:
            errors["priority"] = "Specify the Priority (id or name) in the string format"
        description = fields.get("description")
        if description is not None and not isinstance(description, dict):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        if errors:
            return _error(400, **errors)
        key, issue = self._new_issue(str(project))
        now = format_jira_time(self.server.clock.now())
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
                "reporter": self._users[SIDECAR_ACCOUNT],
                "created": now,
                "updated": now,
            }
        )
        for prop in body.get("properties") or []:
            self._issue_props.setdefault(key, {})[prop["key"]] = prop["value"]
        self._version += 1
        return Response(201, {"id": issue["id"], "key": key, "self": issue["self"]})

    def _list_comments(self, request: Request) -> Response:
        key = request.params["key"]
        if self._find(key) is None:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        start = int(request.arg("startAt") or "0")
        size = min(int(request.arg("maxResults") or "100"), 100)
        with_props = "properties" in _list_arg(request, "expand")
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
        if self._find(key) is None:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        body = request.json() or {}
        if not isinstance(body.get("body"), dict) or body["body"].get("type") != "doc":
            return _error(
                400, "Comment body is not valid!", comment="Comment body can not be empty!"
            )
        props = {p["key"]: p["value"] for p in body.get("properties") or []}
        internal = (props.get("sd.public.comment") or {}).get("internal") is True
        comment = self._store_comment(
            key, SIDECAR_ACCOUNT, body["body"], self.server.clock.now(), props, public=not internal
        )
        self._touch(key)
        return Response(
            201, self._render_comment(comment, "properties" in _list_arg(request, "expand"))
        )

    def _comment_property(self, request: Request) -> Response:
        for comments in self._comments.values():
            for comment in comments:
                if comment["id"] == request.params["id"]:
                    props = comment["_properties"]
                    if request.params["prop"] not in props:
                        return _error(404, "The property was not found.")
                    prop = request.params["prop"]
                    return Response(200, {"key": prop, "value": props[prop]})
        return _error(404, "Can not find a comment for the id: " + request.params["id"] + ".")

    def _remote_link(self, request: Request) -> Response:
        key = request.params["key"]
        issue = self._find(key)
        if issue is None:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        body = request.json() or {}
        target = body.get("object") or {}
        if not target.get("url") or not target.get("title"):
            return _error(400, **{"object": "An object with a url and a title is required."})
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
        return f"{self.base_url}/rest/api/3/issue/{issue['id']}/remotelink/{number}"

    def _new_issue(self, project: str) -> tuple[str, dict[str, Any]]:
        number = self._next_number[project]
        self._next_number[project] = number + 1
        key = f"{project}-{number}"
        issue_id = str(self._take_id())
        issue: dict[str, Any] = {
            "id": issue_id,
            "key": key,
            "self": f"{self._base()}/rest/api/3/issue/{issue_id}",
            "fields": {
                "project": {"id": _PROJECTS[project], "key": project, "name": project},
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

    def _find(self, key_or_id: str) -> dict[str, Any] | None:
        issue = self._issues.get(key_or_id.upper())
        if issue is not None:
            return issue
        return next((i for i in self._issues.values() if i["id"] == key_or_id), None)

    def _updated(self, key: str) -> datetime:
        text = self._issues[key]["fields"]["updated"]
        return datetime.fromisoformat(text.replace("+0000", "+00:00"))

    def _touch(self, key: str, at: datetime | None = None) -> None:
        self._issues[key]["fields"]["updated"] = format_jira_time(at or self.server.clock.now())
        self._version += 1

    def _history(self, key: str, actor: str, items: list[dict[str, Any]]) -> None:
        if items:
            self._issues[key]["_histories"].append(
                {
                    "id": str(self._take_id()),
                    "author": self._users[actor],
                    "created": format_jira_time(self.server.clock.now()),
                    "items": items,
                }
            )

    def _user(self, account: str, name: str, kind: str, email: str | None = None) -> dict[str, Any]:
        user = {
            "self": f"{self._base()}/rest/api/3/user?accountId={account}",
            "accountId": account,
            "displayName": name,
            "active": True,
            "accountType": kind,
            "timeZone": "Europe/London",
        }
        if email:
            user["emailAddress"] = email
        self._users[account] = user
        return user

    def _customer(self, email: str) -> dict[str, Any]:
        account = "qm:" + hashlib.sha1(email.encode()).hexdigest()[:24]
        return self._users.get(account) or self._user(
            account, email.split("@", maxsplit=1)[0], "customer", email
        )

    def _status(self, name: str) -> dict[str, Any]:
        status_id, category = _STATUSES[name]
        return {
            "self": f"{self._base()}/rest/api/3/status/{status_id}",
            "id": status_id,
            "name": name,
            "description": "",
            "statusCategory": {
                "self": f"{self._base()}/rest/api/3/statuscategory/{_CATEGORIES[category]['id']}",
                **_CATEGORIES[category],
            },
        }

    def _priority(self, name: str) -> dict[str, Any]:
        pid = _PRIORITIES[name]
        return {"self": f"{self._base()}/rest/api/3/priority/{pid}", "id": pid, "name": name}

    def _set_group(self, fields: dict[str, Any], target: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if "assignee" in target:
            new = self._users[target["assignee"]]
            items.append(_item("assignee", fields.get("assignee"), new))
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
                components.append({"id": _short_id(name), "name": name})
                return [
                    {
                        "field": "Component",
                        "fieldtype": "jira",
                        "fieldId": "components",
                        "to": _short_id(name),
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
                        "from": _short_id(name),
                        "fromString": name,
                    }
                ]
        return []

    def _comment(self, key: str, seed: SeedComment, reporter: dict[str, Any]) -> None:
        author = AGENT_ACCOUNT if seed.author == "agent" else reporter["accountId"]
        props = {} if seed.public else {"sd.public.comment": {"internal": True}}
        self._store_comment(key, author, to_adf(seed.body), seed.at, props, public=seed.public)

    def _store_comment(
        self,
        key: str,
        author: str,
        body: dict[str, Any],
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
            "created": format_jira_time(at),
            "updated": format_jira_time(at),
            "jsdPublic": public,
            "_properties": dict(props),
        }
        self._comments[key].append(comment)
        self._version += 1
        return comment

    # -- rendering ---------------------------------------------------------------------------
    def _render_comment(self, comment: dict[str, Any], with_props: bool) -> dict[str, Any]:
        out = {k: deepcopy(v) for k, v in comment.items() if not k.startswith("_")}
        out["self"] = f"{self._base()}/rest/api/3/issue/{comment['_issue']}/comment/{comment['id']}"
        if with_props:
            out["properties"] = [{"key": k, "value": v} for k, v in comment["_properties"].items()]
        return out

    def _render(
        self,
        issue: dict[str, Any],
        fields: list[str],
        expand: set[str],
        props: list[str],
        *,
        search: bool = False,
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
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
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
                "user": self._users[AGENT_ACCOUNT],
            }
        self.deliver(payload)


def _item(field: str, old: Any, new: Any) -> dict[str, Any]:
    """A changelog item; users carry accountIds in from/to, others ids and names."""

    def ident(value: Any) -> str | None:
        if isinstance(value, dict):
            return str(value.get("accountId") or value.get("id"))
        return None if value is None else str(value)

    def label(value: Any) -> str | None:
        if isinstance(value, dict):
            return str(value.get("displayName") or value.get("name"))
        return None if value is None else str(value)

    item = {
        "field": field,
        "fieldtype": "jira",
        "fieldId": field,
        "from": ident(old),
        "fromString": label(old),
        "to": ident(new),
        "toString": label(new),
    }
    return {k: v for k, v in item.items() if v is not None}  # Jira leaves empty sides out


def _option(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"self": "", "value": value, "id": _short_id(value)}


def _short_id(value: str | None) -> str:
    return str(int(hashlib.sha1(str(value).encode()).hexdigest()[:6], 16))


def _digest(jql: str) -> str:
    return hashlib.sha1(jql.encode()).hexdigest()[:12]


def _list_arg(request: Request, name: str) -> list[str]:
    """Repeated (``fields=a&fields=b``) or comma-separated values."""
    out: list[str] = []
    for value in request.query.get(name, []):
        out += [v.strip() for v in value.split(",") if v.strip()]
    return out
