"""What the emulated Jira site holds in memory: its issues, comments, changelogs, people, issue
properties and remote links, and the only methods that change or read them.

Kept apart from the HTTP routes (``emulator_routes``) so that the people's side of the
emulator (``JiraEmulator.seed``, ``update``...) and the API's side change the same records the
same way. Every method expects the caller to hold ``lock`` unless it takes it itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from copy import deepcopy
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from connectors.emulation import EmulatorServer, SeedComment, SeedTicket
from connectors.jira.adf import to_adf
from connectors.jira.cursor import parse_jira_time
from connectors.jira.emulator_samples import (
    AUTO_REPLY,
    AUTOMATION_NAME,
    FEEDBACK_DATE_FIELD,
    JSM_FIELDS,
    REALISTIC_CUSTOM,
    TIDY_CUSTOM,
    rank_item,
)
from connectors.jira.emulator_site import (
    AGENT_ACCOUNT,
    AUTOMATION_ACCOUNT,
    CATEGORIES,
    CLOUD_PRIORITIES,
    DC_ACCOUNTS,
    EMBEDDED_COMMENTS,
    EXEC_ACCOUNT,
    GROUPS,
    PRIORITY_NAMES,
    PROJECTS,
    SERVER_PRIORITIES,
    SERVER_PRIORITY_NAMES,
    SIDECAR_ACCOUNT,
    STATUS_NAMES,
    STATUSES,
    TIER2_ACCOUNT,
    changelog_item,
    option,
    short_id,
)

Flavour = Literal["cloud", "datacenter"]


class JiraState:
    """The records of one emulated site (projects SUP and ENG) as the chosen flavour shows
    them; it satisfies ``emulator_search.SearchableSite``."""

    def __init__(
        self,
        server: EmulatorServer,
        *,
        flavour: Flavour,
        realistic: bool,
        page_size: int,
        embedded_histories: int,
        user_zone: str | None,
        site_zone: str | None,
    ) -> None:
        self.server = server  # its clock stamps records, its address goes into ``self`` links
        self.flavour: Flavour = flavour
        self.realistic = realistic
        self.page_size = page_size
        self.embedded_histories = embedded_histories  # search and GET embed this many
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
        self.lock = threading.RLock()
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.issue_props: dict[str, dict[str, Any]] = {}
        self.links: dict[str, list[dict[str, Any]]] = {}
        self.feedback: dict[str, dict[str, Any]] = {}  # issue key -> its JSM request feedback
        self.users: dict[str, dict[str, Any]] = {}
        self.customers: list[str] = []  # the service desk's customer list
        self._next_number = {p: 1 for p in PROJECTS}
        self._next_id = 10000
        self.version = 0  # bumped on every change: search caches its matches per version
        self._seeded = 0
        for account, name, kind in (
            (SIDECAR_ACCOUNT, "Escalation Sidecar", "atlassian"),
            (AGENT_ACCOUNT, "Alex Agent", "atlassian"),
            (TIER2_ACCOUNT, "Tier Two", "atlassian"),
            (EXEC_ACCOUNT, "Erin Executive", "atlassian"),
            (AUTOMATION_ACCOUNT, AUTOMATION_NAME, "app"),
        ):
            self.user(account, name, kind)

    # -- identities ---------------------------------------------------------------------------
    def account(self, cloud_id: str) -> str:
        """How this site names one of the emulator's people (Data Center: a username)."""
        return DC_ACCOUNTS.get(cloud_id, cloud_id) if self.flavour == "datacenter" else cloud_id

    @property
    def api(self) -> str:
        return "/rest/api/3" if self.flavour == "cloud" else "/rest/api/2"

    def stamp(self, at: datetime) -> str:
        """Jira's form at the site's own offset: ``2026-11-20T01:00:00.000-0800``."""
        local = at.astimezone(self.site_zone)
        return (
            local.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{local.microsecond // 1000:03d}"
            + (local.strftime("%z"))
        )

    def body(self, text: str) -> Any:
        """A comment or description body: ADF on Cloud v3, wiki text on Data Center v2."""
        return to_adf(text) if self.flavour == "cloud" else text

    # -- what people do in the site (each takes the lock; announcing is the emulator's) -----
    def seed(self, tickets: Sequence[SeedTicket]) -> list[str]:
        keys: list[str] = []
        with self.lock:
            for seed in tickets:
                self._seeded += 1
                customer = self.customer(seed.requester)
                # realistic: every third ticket was reported by an agent (a phone call)
                by_agent = self.realistic and self._seeded % 3 == 0
                reporter = self.users[self.account(AGENT_ACCOUNT)] if by_agent else customer
                key, issue = self.new_issue("SUP")
                status_name = STATUS_NAMES[seed.status]
                last = max([seed.created_at, *(c.at for c in seed.comments)])
                issue["fields"].update(
                    {
                        "summary": seed.title,
                        "description": self.body(f"{seed.title}.") if self.realistic else None,
                        "issuetype": {"id": "10100", "name": "Service Request"},
                        "status": self.status(status_name),
                        "priority": self.priority(self.priority_names[seed.priority]),
                        "labels": list(seed.labels),
                        "reporter": reporter,
                        "created": self.stamp(seed.created_at),
                        "updated": self.stamp(seed.updated_at or last),
                        **self._custom_values(seed),
                    }
                )
                if self.realistic:
                    self._realistic_extras(key, seed.created_at)
                for comment in seed.comments:
                    self.add_seed_comment(key, comment, customer)
                keys.append(key)
            self.version += 1
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
        if self.flavour == "cloud":
            values[FEEDBACK_DATE_FIELD[0]] = None  # set when the customer rates the request
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
        self.store_comment(key, bot, self.body(AUTO_REPLY), created + timedelta(seconds=1), {},
                           public=True)  # fmt: skip
        for i in range(6):
            self.history(key, bot, [rank_item()], at=created + timedelta(seconds=2 + i))

    def add_comment(self, ticket_id: str, comment: SeedComment) -> None:
        with self.lock:
            self.add_seed_comment(ticket_id, comment, self.requester(ticket_id))
            self.touch(ticket_id, max(comment.at, self.updated(ticket_id)))

    def add_comment_by(
        self, ticket_id: str, author: str, body: str, at: datetime, *, public: bool
    ) -> None:
        with self.lock:
            props = {} if public else {"sd.public.comment": {"internal": True}}
            self.store_comment(ticket_id, self.account(author), self.body(body), at, props,
                               public=public)  # fmt: skip
            self.touch(ticket_id, max(at, self.updated(ticket_id)))

    def add_customer(self, cloud_id: str, name: str, account_type: str) -> str:
        with self.lock:
            self.user(cloud_id, name, account_type, f"{name.lower()}@example.com")
            self.customers.append(self.account(cloud_id))
        return self.account(cloud_id)

    def update(
        self,
        ticket_id: str,
        *,
        status: str | None,
        priority: str | None,
        group: str | None,
        priority_name: str | None,
    ) -> None:
        with self.lock:
            fields = self.issues[ticket_id]["fields"]
            items: list[dict[str, Any]] = []
            if status is not None:
                new = self.status(STATUS_NAMES[status])
                items.append(changelog_item("status", fields["status"], new))
                fields["status"] = new
                resolved = new["statusCategory"]["key"] == "done"
                fields["resolutiondate"] = self.stamp(self.server.clock.now()) if resolved else None
            if priority is not None or priority_name is not None:
                new = self.priority(priority_name or self.priority_names[str(priority)])
                items.append(changelog_item("priority", fields["priority"], new))
                fields["priority"] = new
            if group is not None:
                items += self.set_group(fields, GROUPS[group])
            self.history(ticket_id, self.account(AGENT_ACCOUNT), items)
            self.touch(ticket_id)

    def add_labels(self, ticket_id: str, labels: Sequence[str], by: str) -> None:
        with self.lock:
            fields = self.issues[ticket_id]["fields"]
            old = list(fields.get("labels") or [])
            new = list(dict.fromkeys([*old, *labels]))
            fields["labels"] = new
            item = {
                "field": "labels", "fieldtype": "jira", "fieldId": "labels",
                "from": None, "fromString": " ".join(old) or None,
                "to": None, "toString": " ".join(new),
            }  # fmt: skip
            self.history(ticket_id, self.account(by), [item])
            self.touch(ticket_id)

    def rate(self, key: str, feedback: dict[str, Any]) -> None:
        """The customer's rating: the feedback resource and the "Satisfaction date" field."""
        with self.lock:
            now = self.server.clock.now()
            self.feedback[key] = feedback
            self.issues[key]["fields"][FEEDBACK_DATE_FIELD[0]] = self.stamp(now)
            self.touch(key, now)

    def corrupt(self, ticket_id: str, field: str, value: Any) -> None:
        with self.lock:
            self.issues[ticket_id]["fields"][field] = value
            self.version += 1

    # -- store -------------------------------------------------------------------------------
    def take_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def new_issue(self, project: str) -> tuple[str, dict[str, Any]]:
        number = self._next_number[project]
        self._next_number[project] = number + 1
        key = f"{project}-{number}"
        issue_id = str(self.take_id())
        issue: dict[str, Any] = {
            "id": issue_id,
            "key": key,
            "self": f"{self.base()}{self.api}/issue/{issue_id}",
            "fields": {
                "project": {"id": PROJECTS[project], "key": project, "name": project},
                "assignee": None,
                "components": [],
                "resolutiondate": None,
                "description": None,
            },
            "_histories": [],
        }
        self.issues[key] = issue
        self.comments[key] = []
        return key, issue

    def base(self) -> str:
        try:
            return self.server.base_url
        except RuntimeError:  # seeded before start: Jira's canonical host shape
            return "https://emulated.atlassian.net"

    def all_issues(self) -> list[dict[str, Any]]:
        return list(self.issues.values())

    def find_issue(self, key_or_id: str) -> dict[str, Any] | None:
        issue = self.issues.get(key_or_id.upper())
        if issue is not None:
            return issue
        return next((i for i in self.issues.values() if i["id"] == key_or_id), None)

    def updated(self, key: str) -> datetime:
        return parse_jira_time(self.issues[key]["fields"]["updated"])

    def requester(self, key: str) -> dict[str, Any]:
        """The customer of an issue (its reporter, unless an agent reported it for them)."""
        reporter: dict[str, Any] = self.issues[key]["fields"]["reporter"]
        ident = reporter.get("accountId") or reporter.get("name")
        if ident in self.customers:
            return reporter
        org = self.issues[key]["fields"].get(self.custom["organization"]) or []
        name = org[0]["name"].lower() if org else "customer"
        return self.customer(f"{name}@example.com")

    def touch(self, key: str, at: datetime | None = None) -> None:
        self.issues[key]["fields"]["updated"] = self.stamp(at or self.server.clock.now())
        self.version += 1

    def history(
        self, key: str, actor: str, items: list[dict[str, Any]], at: datetime | None = None
    ) -> None:
        if items:
            self.issues[key]["_histories"].append(
                {
                    "id": str(self.take_id()),
                    "author": self.users[actor],
                    "created": self.stamp(at or self.server.clock.now()),
                    "items": items,
                }
            )

    def user(self, cloud_id: str, name: str, kind: str, email: str | None = None) -> dict[str, Any]:
        """A person as this flavour shows them: Cloud ``accountId``/``accountType``, Data
        Center ``key``/``name`` (no account type at all)."""
        ident = self.account(cloud_id)
        if self.flavour == "cloud":
            user: dict[str, Any] = {
                "self": f"{self.base()}/rest/api/3/user?accountId={ident}",
                "accountId": ident,
                "displayName": name,
                "active": True,
                "accountType": kind,
                "timeZone": self.user_zone if cloud_id == SIDECAR_ACCOUNT else "Europe/London",
            }
        else:
            user = {
                "self": f"{self.base()}/rest/api/2/user?username={ident}",
                "key": ident if not self.realistic else f"JIRAUSER{10000 + len(self.users)}",
                "name": ident,
                "displayName": name,
                "active": True,
                "timeZone": self.user_zone if cloud_id == SIDECAR_ACCOUNT else "Europe/London",
            }
        if email:
            user["emailAddress"] = email
        self.users[ident] = user
        return user

    def customer(self, email: str) -> dict[str, Any]:
        if self.flavour == "cloud":
            account = "qm:" + hashlib.sha1(email.encode()).hexdigest()[:24]
        else:
            digest = hashlib.sha1(email.encode()).hexdigest()[:6]
            account = f"{email.split('@', maxsplit=1)[0]}-{digest}"  # a username
        if account in self.users:
            return self.users[account]
        user = self.user(account, email.split("@", maxsplit=1)[0], "customer", email)
        self.customers.append(account)
        return user

    def status(self, name: str) -> dict[str, Any]:
        status_id, category = STATUSES[name]
        return {
            "self": f"{self.base()}{self.api}/status/{status_id}",
            "id": status_id,
            "name": name,
            "description": "",
            "statusCategory": {
                "self": f"{self.base()}{self.api}/statuscategory/{CATEGORIES[category]['id']}",
                **CATEGORIES[category],
            },
        }

    def priority(self, name: str) -> dict[str, Any]:
        pid = self.priorities[name]
        return {"self": f"{self.base()}{self.api}/priority/{pid}", "id": pid, "name": name}

    def set_group(self, fields: dict[str, Any], target: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if "assignee" in target:
            new = self.users[self.account(target["assignee"])]
            items.append(changelog_item("assignee", fields.get("assignee"), new))
            fields["assignee"] = new
        if "component" in target:
            items += self.component(fields, {"add": {"name": target["component"]}})
        return items

    def component(self, fields: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
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

    def add_seed_comment(self, key: str, seed: SeedComment, customer: dict[str, Any]) -> None:
        author = (
            self.account(AGENT_ACCOUNT)
            if seed.author == "agent"
            else str(customer.get("accountId") or customer.get("name"))
        )
        props = {} if seed.public else {"sd.public.comment": {"internal": True}}
        self.store_comment(key, author, self.body(seed.body), seed.at, props, public=seed.public)

    def store_comment(
        self,
        key: str,
        author: str,
        body: Any,
        at: datetime,
        props: dict[str, Any],
        *,
        public: bool,
    ) -> dict[str, Any]:
        issue = self.issues[key]
        comment = {
            "id": str(self.take_id()),
            "_issue": issue["id"],
            "author": self.users[author],
            "updateAuthor": self.users[author],
            "body": body,
            "created": self.stamp(at),
            "updated": self.stamp(at),
            "jsdPublic": public,
            "_properties": dict(props),
        }
        self.comments[key].append(comment)
        self.version += 1
        return comment

    # -- rendering ---------------------------------------------------------------------------
    def render_comment(self, comment: dict[str, Any], with_props: bool) -> dict[str, Any]:
        out = {k: deepcopy(v) for k, v in comment.items() if not k.startswith("_")}
        out["self"] = f"{self.base()}{self.api}/issue/{comment['_issue']}/comment/{comment['id']}"
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
            comments = self.comments.get(issue["key"], [])
            shown = comments[:EMBEDDED_COMMENTS] if search else comments
            out_fields["comment"] = {
                "comments": [self.render_comment(c, False) for c in shown],
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
            stored = self.issue_props.get(issue["key"], {})
            out["properties"] = {k: deepcopy(stored[k]) for k in props if k in stored}
        return out
