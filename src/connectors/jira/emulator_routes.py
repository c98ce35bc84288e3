"""The emulated Jira site's HTTP side: which paths each flavour serves, authentication, query
arguments, pagination, Jira's error bodies and its rate-limit answers.

Every handler runs under the site's lock (``JiraState.lock``) and reads or changes the records
only through ``JiraState``, so the routes hold no state of their own besides the search's cache
and its planned failures.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from connectors.emulation import Request, Response
from connectors.jira.emulator_samples import (
    FEEDBACK_DATE_FIELD,
    FIELD_NAMES,
    JSM_FIELDS,
    custom_schema,
    desk_error,
)
from connectors.jira.emulator_search import IssueSearch
from connectors.jira.emulator_site import (
    API_TOKEN,
    EMAIL,
    OAUTH_TOKEN,
    PAT,
    PROJECTS,
    SERVICE_DESK_ID,
    SIDECAR_ACCOUNT,
    STATUSES,
    V,
    changelog_item,
    error,
    list_arg,
)
from connectors.jira.emulator_state import JiraState

Handler = Callable[[Request], Response]


class JiraRoutes:
    """The REST API of one ``JiraState``: v3 for Cloud, v2 for Data Center, plus the JSM
    customer list both share."""

    def __init__(self, state: JiraState) -> None:
        self._state = state
        self.search = IssueSearch(state)  # the search routes, and their planned failures
        self._register()

    def _register(self) -> None:
        route = self._state.server.route
        v = r"/rest/api/(?P<v>3)" if self._state.flavour == "cloud" else r"/rest/api/(?P<v>2)"
        route("GET", f"{V}/serverInfo")(self._guard(self._server_info))  # the SDK asks v2
        route("GET", f"{v}/field")(self._guard(self._fields))
        route("GET", f"{v}/myself")(self._guard(self._myself))
        route("GET", f"{v}/priority")(self._guard(self._priorities))
        route("GET", f"{v}/status")(self._guard(self._statuses))
        if self._state.flavour == "cloud":
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
        if self._state.flavour == "cloud":  # Data Center documents no feedback resource
            route("GET", r"/rest/servicedeskapi/request/(?P<key>[^/]+)/feedback")(
                self._guard(self._request_feedback)
            )

    def _guard(self, handler: Handler) -> Handler:
        def checked(request: Request) -> Response:
            given = request.headers.get("authorization", "")
            basic = "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
            accepted = (
                (basic, f"Bearer {PAT}", f"Bearer {OAUTH_TOKEN}")
                if self._state.flavour == "cloud"
                else (f"Bearer {PAT}",)  # Data Center: Personal Access Tokens
            )
            if given not in accepted:
                return error(
                    401,
                    "You are not authenticated. Authentication required to perform this operation.",
                )
            with self._state.lock:
                return handler(request)

        return checked

    def rate_limit(
        self,
        method: str,
        path_pattern: str,
        *,
        retry_after: float,
        count: int,
        reason: str,
        http_date: bool,
    ) -> None:
        """The next ``count`` matching requests get Jira's 429 with its rate-limit headers;
        ``Retry-After`` in seconds, or as an HTTP-date ``retry_after`` seconds from now."""
        now = self._state.server.clock.now()
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
        self._state.server.inject(
            method,
            path_pattern,
            status=429,
            count=count,
            retry_after=None if http_date else retry_after,
            headers=headers,
        )

    def _link_self(self, issue: dict[str, Any], number: int) -> str:
        base = f"{self._state.server.base_url}{self._state.api}"
        return f"{base}/issue/{issue['id']}/remotelink/{number}"

    def _server_info(self, request: Request) -> Response:
        now = self._state.server.clock.now()
        cloud = self._state.flavour == "cloud"
        return Response(
            200,
            {
                "baseUrl": self._state.server.base_url,
                "displayUrl": self._state.server.base_url,
                "version": "1001.0.0-SNAPSHOT" if cloud else "10.3.2",
                "versionNumbers": [1001, 0, 0] if cloud else [10, 3, 2],
                "deploymentType": "Cloud" if cloud else "Server",
                "buildNumber": 100281 if cloud else 10030002,
                "buildDate": "2026-11-01T00:00:00.000+0000",
                "serverTime": self._state.stamp(now),
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
            (
                field_id,
                FIELD_NAMES[logical],
                custom_schema(logical, field_id, self._state.realistic),
            )
            for logical, field_id in self._state.custom.items()
        ]
        if self._state.flavour == "cloud":
            customs.append(FEEDBACK_DATE_FIELD)
        if self._state.realistic:
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
        me = self._state.users[self._state.account(SIDECAR_ACCOUNT)]
        return Response(200, {**me, "emailAddress": EMAIL})

    def _priorities(self, request: Request) -> Response:
        return Response(200, [self._state.priority(name) for name in self._state.priorities])

    def _statuses(self, request: Request) -> Response:
        return Response(200, [self._state.status(name) for name in STATUSES])

    def _request_feedback(self, request: Request) -> Response:
        issue = self._state.find_issue(request.params["key"])
        if issue is None:
            return Response(404, desk_error("Request does not exist."))
        feedback = self._state.feedback.get(str(issue["key"]))
        if feedback is None:
            return Response(404, desk_error("No feedback for this request."))
        return Response(200, dict(feedback))

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
            for c in self._state.customers
            if not wanted
            or any(wanted in str(self._state.users[c].get(k) or "").casefold()
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
                "values": [self._state.users[c] for c in page],
            },
        )

    def _get_issue(self, request: Request) -> Response:
        issue = self._state.find_issue(request.params["key"])
        if issue is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        fields = list_arg(request, "fields") or ["*all"]
        expand = set(list_arg(request, "expand"))
        return Response(
            200, self._state.render_issue(issue, fields, expand, list_arg(request, "properties"))
        )

    def _edit(self, request: Request) -> Response:  # noqa: PLR0912
        issue = self._state.find_issue(request.params["key"])
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
            by_id = {v: k for k, v in self._state.priorities.items()}
            name = wanted.get("name") or by_id.get(str(wanted.get("id")))
            if name not in self._state.priorities:
                errors["priority"] = "Specify the Priority (id or name) in the string format"
            else:
                priority = self._state.priority(name)
        assignee: dict[str, Any] | bool | None = False
        if "assignee" in new_fields:
            # Cloud names people by accountId; Data Center by username (``name``)
            who_key = "accountId" if self._state.flavour == "cloud" else "name"
            account = (new_fields["assignee"] or {}).get(who_key)
            if new_fields["assignee"] and account is None:
                errors["assignee"] = f"An assignee needs '{who_key}'."
            elif account is not None and account not in self._state.users:
                errors["assignee"] = f"User '{account}' does not exist."
            assignee = self._state.users.get(account) if account else None
        if errors:
            return error(400, **errors)
        actor = self._state.account(SIDECAR_ACCOUNT)
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
            items += self._state.component(fields, op)
        if "summary" in new_fields:
            fields["summary"] = str(new_fields["summary"])
        if items:
            self._state.history(issue["key"], actor, items)
            self._state.touch(issue["key"])
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
        name = (fields.get("priority") or {}).get("name", self._state.priority_names["normal"])
        if name not in self._state.priorities:
            errors["priority"] = "Specify the Priority (id or name) in the string format"
        description = fields.get("description")
        wanted_type = dict if self._state.flavour == "cloud" else str  # ADF on v3, wiki text on v2
        if description is not None and not isinstance(description, wanted_type):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                if self._state.flavour == "cloud"
                else "Operation value must be a string"
            )
        if errors:
            return error(400, **errors)
        key, issue = self._state.new_issue(str(project))
        now = self._state.stamp(self._state.server.clock.now())
        issue["fields"].update(
            {
                "summary": fields["summary"],
                "description": description,
                "issuetype": {
                    "id": "10004",
                    "name": (fields.get("issuetype") or {}).get("name", "Task"),
                },
                "status": self._state.status("Open"),
                "priority": self._state.priority(name),
                "labels": list(fields.get("labels") or []),
                "reporter": self._state.users[self._state.account(SIDECAR_ACCOUNT)],
                "created": now,
                "updated": now,
            }
        )
        for prop in body.get("properties") or []:
            self._state.issue_props.setdefault(key, {})[prop["key"]] = prop["value"]
        self._state.version += 1
        return Response(201, {"id": issue["id"], "key": key, "self": issue["self"]})

    def _list_comments(self, request: Request) -> Response:
        key = request.params["key"]
        if self._state.find_issue(key) is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        start = int(request.arg("startAt") or "0")
        size = min(int(request.arg("maxResults") or "100"), 100)
        with_props = "properties" in list_arg(request, "expand")
        ordered = list(self._state.comments.get(key, []))
        if request.arg("orderBy") == "-created":
            ordered.reverse()
        page = ordered[start : start + size]
        return Response(
            200,
            {
                "startAt": start,
                "maxResults": size,
                "total": len(ordered),
                "comments": [self._state.render_comment(c, with_props) for c in page],
            },
        )

    def _add_comment(self, request: Request) -> Response:
        key = request.params["key"]
        if self._state.find_issue(key) is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        body = request.json() or {}
        given = body.get("body")
        if self._state.flavour == "cloud":
            valid = isinstance(given, dict) and given.get("type") == "doc"
        else:  # v2 takes wiki text; an ADF document is refused
            valid = isinstance(given, str) and bool(given.strip())
        if not valid:
            return error(
                400, "Comment body is not valid!", comment="Comment body can not be empty!"
            )
        props = {p["key"]: p["value"] for p in body.get("properties") or []}
        internal = (props.get("sd.public.comment") or {}).get("internal") is True
        comment = self._state.store_comment(
            key,
            self._state.account(SIDECAR_ACCOUNT),
            given,
            self._state.server.clock.now(),
            props,
            public=not internal,
        )
        self._state.touch(key)
        return Response(
            201, self._state.render_comment(comment, "properties" in list_arg(request, "expand"))
        )

    def _comment_property(self, request: Request) -> Response:
        for comments in self._state.comments.values():
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
        issue = self._state.find_issue(key)
        if issue is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        body = request.json() or {}
        target = body.get("object") or {}
        if not target.get("url") or not target.get("title"):
            return error(400, **{"object": "An object with a url and a title is required."})
        links = self._state.links.setdefault(key, [])
        global_id = body.get("globalId")
        existing = [
            i for i, link in enumerate(links) if global_id and link.get("globalId") == global_id
        ]
        if existing:
            old = links[existing[0]]
            number = int(old.get("id") or 0) or self._state.take_id()
            links[existing[0]] = {**body, "id": number, "self": self._link_self(issue, number)}
            return Response(200, {"id": number, "self": self._link_self(issue, number)})
        number = self._state.take_id()
        links.append({**body, "id": number, "self": self._link_self(issue, number)})
        return Response(201, {"id": number, "self": self._link_self(issue, number)})
