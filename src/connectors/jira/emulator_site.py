"""What the emulated Jira site holds besides its issues: its people and their names on each
flavour, its workflow, priority schemes and projects, and the small helpers its routes share
(Jira's error body, changelog items, options, list arguments)."""

from __future__ import annotations

import hashlib
from typing import Any

from connectors.emulation import EmulatorServer, Request, Response
from connectors.jira.emulator_samples import TIDY_CUSTOM

EMAIL = "sidecar@example.com"
API_TOKEN = "jira-emulator-token"
PAT = "jira-emulator-pat"
OAUTH_TOKEN = "jira-emulator-oauth"
WEBHOOK_SECRET = "jira-emulator-webhook-secret"
SIDECAR_ACCOUNT = "5f00sidecar0000000000001"
AGENT_ACCOUNT = "5f00agent000000000000001"
TIER2_ACCOUNT = "5f00tier2000000000000001"
EXEC_ACCOUNT = "5f00exec0000000000000001"
AUTOMATION_ACCOUNT = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"  # Atlassian's automation app
# Data Center users are named, not numbered
DC_ACCOUNTS = {
    SIDECAR_ACCOUNT: "escalation-sidecar",
    AGENT_ACCOUNT: "alex.agent",
    TIER2_ACCOUNT: "tier.two",
    EXEC_ACCOUNT: "erin.exec",
    AUTOMATION_ACCOUNT: "automation",
}
SERVICE_DESK_ID = "1"
EMBEDDED_COMMENTS = 20  # emulator's choice: search embeds at most this many comments
V = r"/rest/api/(?P<v>[23])"

CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
STATUSES = {  # name -> (id, category)
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
CLOUD_PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
SERVER_PRIORITIES = {"Blocker": "1", "Critical": "2", "Major": "3", "Minor": "4", "Trivial": "5"}
PRIORITY_NAMES = {"urgent": "Highest", "high": "High", "normal": "Medium", "low": "Low"}
SERVER_PRIORITY_NAMES = {"urgent": "Blocker", "high": "Critical", "normal": "Major", "low": "Minor"}
GROUPS: dict[str, dict[str, str]] = {
    "Tier 2 Support": {"assignee": TIER2_ACCOUNT},
    "Support Managers": {"component": "Support Managers"},
    "Executive Escalations": {"assignee": EXEC_ACCOUNT},
}
CUSTOM = dict(TIDY_CUSTOM)  # the tidy site's ids; a realistic site has its own (``custom``)
PROJECTS = {"SUP": "10000", "ENG": "10001"}
MISSING_KEY = "An issue with key '{}' does not exist for field 'key'."


def error(status: int, *messages: str, **errors: str) -> Response:
    return Response(status, {"errorMessages": list(messages), "errors": dict(errors)})


class JiraServer(EmulatorServer):
    """The frame with Jira's error bodies."""

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return {"errorMessages": ["Rate limit exceeded."], "errors": {}}
        return {"errorMessages": [f"Internal server error ({status})."], "errors": {}}

    def not_found(self, request: Request) -> Response:
        return error(404, "null for uri: " + request.path)


def changelog_item(field: str, old: Any, new: Any) -> dict[str, Any]:
    """A changelog item; users carry their ids in from/to (Cloud the accountId, Data Center
    the user key, e.g. ``JIRAUSER10103``, not the username), others ids and names."""

    def ident(value: Any) -> str | None:
        if isinstance(value, dict):
            return str(value.get("accountId") or value.get("key") or value.get("id"))
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


def option(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"self": "", "value": value, "id": short_id(value)}


def short_id(value: str | None) -> str:
    return str(int(hashlib.sha1(str(value).encode()).hexdigest()[:6], 16))


def digest(jql: str) -> str:
    return hashlib.sha1(jql.encode()).hexdigest()[:12]


def list_arg(request: Request, name: str) -> list[str]:
    """Repeated (``fields=a&fields=b``) or comma-separated values."""
    out: list[str] = []
    for value in request.query.get(name, []):
        out += [v.strip() for v in value.split(",") if v.strip()]
    return out
