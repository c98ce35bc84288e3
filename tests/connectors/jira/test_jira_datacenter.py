"""``flavour: datacenter``: REST v2 with a Personal Access Token, ``startAt`` search paging,
wiki-text comments, Server priority names, users by username, signed DC webhooks.

The emulator's Data Center routes follow Atlassian's DC pages cited in ``emulator.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import ActionStatus, marker_for
from connectors.emulation import SeedComment, SeedTicket
from connectors.errors import WebhookRejected
from connectors.jira import JiraConnector, Settings
from connectors.jira.emulator import (
    AGENT_ACCOUNT,
    AUTOMATION_ACCOUNT,
    PAT,
    TIER2_ACCOUNT,
    JiraEmulator,
)
from connectors.retry import RetryPolicy
from engine.model import (
    AddLabels,
    Assign,
    AuthorRole,
    CreateLinkedIssue,
    PostComment,
    Priority,
    SetPriority,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SEARCH = r"^/rest/api/2/search$"


@pytest.fixture
def dc() -> Iterator[JiraEmulator]:
    emu = JiraEmulator(flavour="datacenter", page_size=3)
    emu.server.clock.set(T0)
    with emu:
        yield emu


@pytest.fixture
def dc_connector(dc: JiraEmulator, retry: RetryPolicy) -> Iterator[JiraConnector]:
    settings = Settings.model_validate(dc.settings())
    connector = JiraConnector("jira", settings, retry=retry, now=dc.server.clock.now)
    yield connector
    connector.close()


class Common(TypedDict):
    key: str
    ticket: str
    rule: str
    at: datetime


def at(key: str) -> Common:
    return {"key": key, "ticket": "jira:SUP-1", "rule": "r", "at": T0}


def test_a_pull_pages_with_start_at_over_v2_with_a_bearer_pat(
    dc: JiraEmulator, dc_connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = dc.seed([seed(i) for i in range(8)])

    result = dc_connector.pull(None, start=T0 - timedelta(days=2))

    assert sorted(t.id for t in result.tickets) == sorted(keys)
    assert result.quarantined == ()
    pages = dc.server.calls("GET", SEARCH)
    assert [r.arg("startAt") for r in pages] == ["0", "3", "6"]
    assert not [r.path for r in dc.server.requests if r.path.startswith("/rest/api/3")]
    assert {r.headers["authorization"] for r in dc.server.requests} == {f"Bearer {PAT}"}
    assert dc_connector.pull(result.cursor, start=T0).tickets == ()


def test_server_priorities_wiki_comments_and_usernames_are_read(
    dc: JiraEmulator, dc_connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    created = T0 - timedelta(hours=2)
    [key] = dc.seed([seed(0, created_at=created, priority="urgent", comments=[
        SeedComment(created + timedelta(minutes=1), "customer", True, "Export *fails* again"),
        SeedComment(created + timedelta(minutes=9), "agent", True, "Looking at it."),
    ])])  # fmt: skip
    dc.update(key, group="Tier 2 Support")
    raw = dc.record(key)["fields"]
    assert raw["priority"]["name"] == "Blocker"
    assert "accountId" not in raw["reporter"]  # Data Center users: key and name

    ticket = dc_connector.fetch(key)

    assert raw["created"] == "2026-11-20T08:00:00.000+0100"  # the site's own offset
    assert ticket.created_at == created
    assert ticket.priority is Priority.URGENT
    assert ticket.assignee == "tier.two"
    assert ticket.group == "Tier 2 Support"
    [moved] = [h for h in dc.record(key)["changelog"]["histories"] if h["items"][0]["field"]
               == "assignee"]  # fmt: skip
    assert moved["items"][0]["to"].startswith("JIRAUSER")  # DC changelogs name people by key
    assert [(c.field, c.new) for c in ticket.history if c.field in ("assignee", "group")] == [
        ("assignee", "tier.two"), ("group", "Tier 2 Support")]  # fmt: skip
    roles = [(c.author_role, c.body) for c in ticket.comments]
    assert roles == [
        (AuthorRole.BOT, roles[0][1]),  # the automation user, named in bot_account_ids
        (AuthorRole.CUSTOMER, "Export *fails* again"),  # on the service desk's customer list
        (AuthorRole.AGENT, "Looking at it."),
    ]
    assert ticket.comments[0].author_id == dc.account(AUTOMATION_ACCOUNT)
    assert ticket.comments[2].author_id == dc.account(AGENT_ACCOUNT)


def test_writes_use_server_names_usernames_and_wiki_text(
    dc: JiraEmulator, dc_connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = dc.seed([seed(0, priority="normal")])
    ticket = dc_connector.fetch(key)

    results = dc_connector.apply(ticket, [
        AddLabels(**at("l"), labels=("escalation-l1",)),
        SetPriority(**at("p"), priority=Priority.HIGH, previous=Priority.NORMAL),
        Assign(**at("g"), group="Tier 2 Support"),
        PostComment(**at("c"), public=False, body="Escalated to *Tier 2*."),
    ])  # fmt: skip

    assert [r.status for r in results] == [ActionStatus.APPLIED] * 4
    [put] = dc.server.calls("PUT", rf"^/rest/api/2/issue/{key}$")
    assert put.json()["fields"] == {"priority": {"name": "Critical"},
                                    "assignee": {"name": dc.account(TIER2_ACCOUNT)}}  # fmt: skip
    [post] = dc.server.calls("POST", rf"^/rest/api/2/issue/{key}/comment$")
    assert post.json()["body"] == "Escalated to *Tier 2*."  # wiki text, not ADF
    again = dc_connector.fetch(key)
    note = again.comments[-1]
    assert (note.author_role, note.public, note.marker) == (AuthorRole.SIDECAR, False, "c")
    assert again.priority is Priority.HIGH
    adf = {"type": "doc", "version": 1, "content": []}
    refused = httpx.post(f"{dc.base_url}/rest/api/2/issue/{key}/comment", json={"body": adf},
                         headers={"Authorization": f"Bearer {PAT}"})  # fmt: skip
    assert refused.status_code == 400  # v2 takes text; the emulator refuses what DC refuses
    assert marker_for("c") in str(dc.comments(key)[-1]["properties"])


def test_linked_issues_are_created_in_wiki_text_and_read_back_in_one_search(
    dc: JiraEmulator, dc_connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = dc.seed([seed(0)])
    origin = dc_connector.fetch(key)
    actions = [
        CreateLinkedIssue(
            **at(f"eng-{i}"),
            system="jira",
            project="ENG",
            summary=f"s{i}",
            description="Customer *waits*.",
            priority=Priority.URGENT,
        )
        for i in range(3)
    ]
    created = [dc_connector.create_linked_issue(origin, a).external_id for a in actions]
    assert created == ["ENG-1", "ENG-2", "ENG-3"]
    fields = dc.record("ENG-1")["fields"]
    assert (fields["priority"]["name"], fields["description"]) == ("Blocker", "Customer *waits*.")
    dc.server.clock.set(T0 + timedelta(hours=1))
    dc.resolve("ENG-2")
    before = len(dc.server.calls("GET", SEARCH))

    linked = dc_connector.read_linked_issues(["ENG-1", "ENG-2", "ENG-3", "ENG-404"])

    assert [(i.key, i.resolved_at) for i in linked] == [
        ("ENG-1", None), ("ENG-2", T0 + timedelta(hours=1)), ("ENG-3", None)]  # fmt: skip
    reads = dc.server.calls("GET", SEARCH)[before:]
    assert len(reads) == 2  # one search, asked again without the deleted key Jira refused
    assert "ENG-404" not in str(reads[-1].arg("jql"))
    dc_connector.read_linked_issues(["ENG-1", "ENG-2", "ENG-3", "ENG-404"])
    assert len(dc.server.calls("GET", SEARCH)) == before + 3  # the gone key is not asked again


def test_data_center_webhooks_are_signed_and_replays_refused_without_an_identifier(
    dc: JiraEmulator, dc_connector: JiraConnector
) -> None:
    payload = {
        "timestamp": int(T0.timestamp() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue": {"id": "10001", "key": "SUP-3"},
        "user": {"name": "alex.agent"},
    }
    headers, body = dc.signed_delivery(payload)
    assert "X-Atlassian-Webhook-Identifier" not in headers

    event = dc_connector.verify_webhook(headers, body, now=T0)

    assert event.ticket_ids == ("SUP-3",)
    with pytest.raises(WebhookRejected, match="replayed"):
        dc_connector.verify_webhook(headers, body, now=T0)
    with pytest.raises(WebhookRejected, match="bad signature"):
        dc_connector.verify_webhook(headers, body.replace(b"SUP-3", b"SUP-4"), now=T0)


def test_cloud_only_resources_do_not_exist_on_data_center(dc: JiraEmulator) -> None:
    auth = {"Authorization": f"Bearer {PAT}"}
    gone = httpx.get(f"{dc.base_url}/rest/api/3/search/jql", params={"jql": "project = SUP"},
                     headers=auth)  # fmt: skip
    basic = httpx.get(f"{dc.base_url}/rest/api/2/myself", auth=("sidecar@example.com", "x"))
    me = httpx.get(f"{dc.base_url}/rest/api/2/myself", headers=auth).json()

    assert gone.status_code == 404
    assert basic.status_code == 401
    assert (me["name"], "accountId" in me) == ("escalation-sidecar", False)


def test_a_data_center_source_must_say_who_its_customers_are() -> None:
    with pytest.raises(ValidationError, match="service_desk_id"):
        Settings.model_validate({"url": "https://jira.acme.test", "flavour": "datacenter",
                                 "auth": "pat", "pat": "t", "projects": ["SUP"]})  # fmt: skip
