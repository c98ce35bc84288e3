"""What real Jira payloads mean, fed through the realistic emulator's HTTP API.

The realistic site follows Atlassian's documented examples (see ``emulator_samples``): an API
user in America/Los_Angeles, timestamps at ``-0800``, an automation app's auto-reply, custom
field ids of its own beside JSM's low-id fields, a multi-select tier, affected users as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.base import MappingWarning
from connectors.emulation import SeedComment, SeedTicket
from connectors.errors import FatalError
from connectors.jira import JiraConnector, Settings
from connectors.jira.emulator import (
    AGENT_ACCOUNT,
    AUTOMATION_ACCOUNT,
    PAT,
    JiraEmulator,
)
from connectors.jira.site import resolve_fields
from connectors.retry import RetryPolicy
from engine.criteria import requester
from engine.model import AuthorRole, Priority

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)


# -- JQL dates in the API user's zone -------------------------------------------------------
def test_an_api_user_behind_utc_misses_no_update_of_the_last_hours(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    assert emulator.user_zone == "America/Los_Angeles"  # /myself says so; 8 h behind UTC
    [key] = emulator.seed([seed(0, updated_at=T0 - timedelta(minutes=2))])
    first = connector.pull(None, start=T0 - timedelta(days=2))
    emulator.server.clock.set(T0 + timedelta(minutes=5))
    emulator.add_comment(key, SeedComment(T0 + timedelta(minutes=5), "customer", True, "still?"))

    second = connector.pull(first.cursor, start=T0)

    assert [t.id for t in second.tickets] == [key]
    assert second.tickets[0].comments[-1].body == "still?"
    jql = str(emulator.server.calls("GET", r"/search/jql$")[-1].arg("jql"))
    assert 'updated >= "2026-11-20 00:57"' in jql  # 08:57 UTC, written as the user reads it


def test_the_emulator_reads_a_jql_date_in_the_users_zone(emulator: JiraEmulator) -> None:
    [key] = emulator.seed([SeedTicket("t", T0 - timedelta(hours=1), updated_at=T0)])
    auth = {"Authorization": f"Bearer {PAT}"}

    def found(literal: str) -> list[str]:
        jql = f'project = SUP AND updated >= "{literal}"'
        answer = httpx.get(f"{emulator.base_url}/rest/api/3/search/jql",
                           params={"jql": jql, "fields": "updated"}, headers=auth)  # fmt: skip
        return [i["key"] for i in answer.json()["issues"]]

    assert found("2026-11-20 01:00") == [key]  # 01:00 in Los Angeles is 09:00 UTC
    assert found("2026-11-20 01:01") == []
    assert found("2026-11-20 08:59") == []  # 16:59 UTC: read in UTC it would have matched


# -- paging beyond the embedded page ---------------------------------------------------------
@pytest.fixture
def small_pages() -> Iterator[JiraEmulator]:
    emu = JiraEmulator(page_size=3, embedded_histories=2)
    emu.server.clock.set(T0)
    with emu:
        yield emu


def test_changelogs_and_comments_past_the_embedded_page_are_paged_in(
    small_pages: JiraEmulator, retry: RetryPolicy, seed: Callable[..., SeedTicket]
) -> None:
    emulator = small_pages
    created = T0 - timedelta(hours=5)
    talk = [
        SeedComment(created + timedelta(minutes=i + 1), "customer" if i % 2 else "agent", True,
                    f"message {i}")
        for i in range(24)
    ]  # fmt: skip
    [key] = emulator.seed([seed(0, created_at=created, comments=talk)])
    emulator.server.clock.set(T0 - timedelta(minutes=10))
    emulator.update(key, status="pending", priority="high")  # the 7th changelog entry
    settings = Settings.model_validate(
        {**emulator.settings(), "comment_page_size": 10, "changelog_page_size": 3}
    )
    connector = JiraConnector("jira", settings, retry=retry, now=emulator.server.clock.now)

    [ticket] = connector.pull(None, start=T0 - timedelta(days=2)).tickets

    assert [c.body for c in ticket.comments][-1] == "message 23"
    assert len(ticket.comments) == 25  # the auto-reply and all 24, not the 20 embedded
    assert [(c.field, c.new) for c in ticket.history] == [("status", "pending"),
                                                           ("priority", "high")]  # fmt: skip
    pages = emulator.server.calls("GET", rf"/issue/{key}/changelog$")
    assert [r.arg("startAt") for r in pages] == ["0", "3", "6"]
    comment_pages = emulator.server.calls("GET", rf"/issue/{key}/comment$")
    assert [r.arg("startAt") for r in comment_pages] == ["0", "10", "20"]
    connector.close()


# -- roles from identity, never from position ---------------------------------------------
def test_an_agent_who_reported_the_issue_is_an_agent_and_the_automation_a_bot(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(i) for i in range(3)])  # the third was reported by an agent
    phoned = keys[2]
    assert emulator.record(phoned)["fields"]["reporter"]["accountType"] == "atlassian"
    before = connector.fetch(phoned)
    emulator.add_comment_by(phoned, AGENT_ACCOUNT, "Called the customer back.", T0)

    ticket = connector.fetch(phoned)

    assert ticket.requester == AGENT_ACCOUNT
    assert not any(c.is_agent_reply for c in before.comments)  # the description is no reply
    reply = ticket.comments[-1]
    assert (reply.author_role, reply.is_agent_reply) == (AuthorRole.AGENT, True)
    first_response = min(c.at for c in ticket.comments if c.is_agent_reply)
    assert first_response == T0  # not the auto-reply a second after creation
    bot = next(c for c in ticket.comments if c.author_id == AUTOMATION_ACCOUNT)
    assert (bot.author_role, bot.public, bot.is_agent_reply) == (AuthorRole.BOT, True, False)
    customer = next(c for c in ticket.comments if c.body == "help")
    assert customer.author_role is AuthorRole.CUSTOMER  # accountType "customer"


def test_a_licensed_user_on_the_service_desks_customer_list_is_a_customer(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    connector.fetch(key)  # customers of accountType "customer" need no lookup
    dana = emulator.add_customer("5f00dana0000000000000001", "Dana")  # a licensed user
    emulator.add_comment_by(key, "5f00dana0000000000000001", "Any news?", T0)
    emulator.add_comment_by(key, AGENT_ACCOUNT, "Internal: checking logs", T0, public=False)

    ticket = connector.fetch(key)

    dana_says, note = ticket.comments[-2:]
    assert (dana_says.author_id, dana_says.author_role) == (dana, AuthorRole.CUSTOMER)
    assert (note.author_role, note.public, note.is_agent_reply) == (AuthorRole.AGENT, False, False)
    customer_reads = emulator.server.calls("GET", r"/servicedeskapi/servicedesk/1/customer$")
    assert [r.arg("query") for r in customer_reads] == ["Dana", "Alex Agent"]  # once each
    connector.fetch(key)
    assert len(emulator.server.calls("GET", r"/servicedeskapi/")) == 2  # and remembered


# -- priorities ------------------------------------------------------------------------------
def test_server_priority_names_map_and_an_unknown_one_falls_back_with_a_warning(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(i) for i in range(3)])
    emulator.update(keys[0], priority_name="Blocker")
    emulator.update(keys[1], priority_name="Major")
    emulator.corrupt(keys[2], "priority", {"id": "9", "name": "P1 - Outage"})

    result = connector.pull(None, start=T0 - timedelta(days=2))

    by_key = {t.id: t for t in result.tickets}
    assert [by_key[k].priority for k in keys] == [Priority.URGENT, Priority.NORMAL,
                                                  Priority.NORMAL]  # fmt: skip
    assert result.quarantined == ()
    assert result.warnings == (
        MappingWarning("jira", keys[2], "priority",
                       "priority 'P1 - Outage' is not mapped: read as normal"),
    )  # fmt: skip


# -- custom fields by name, read by type ---------------------------------------------------------
def test_custom_fields_are_found_by_name_and_read_by_type(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0, affected_users=1200)])
    raw = emulator.record(key)["fields"]
    assert raw["customfield_10128"] == [{"self": "", "value": "enterprise", "id": raw[
        "customfield_10128"][0]["id"]}]  # fmt: skip
    assert raw["customfield_10129"] == "1,200"  # a text field
    assert raw["customfield_10006"]["value"] == "Get IT help"  # JSM's own "Category"

    first = connector.pull(None, start=T0 - timedelta(days=2))
    connector.pull(first.cursor, start=T0)

    [ticket] = first.tickets
    assert (ticket.category, ticket.customer_tier, ticket.affected_users) == (
        "technical", "enterprise", 1200)  # fmt: skip
    assert ticket.organization == "Acme"
    assert len(emulator.server.calls("GET", r"/rest/api/3/field$")) == 1  # once per process
    assert len(emulator.server.calls("GET", r"/rest/api/3/myself$")) == 1


def test_a_value_of_the_wrong_type_is_reported_with_the_fields_name(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    keys = emulator.seed([seed(i) for i in range(2)])
    emulator.set_field(keys[0], "category", 42)
    emulator.set_field(keys[1], "affected_users", "about fifty")

    result = connector.pull(None, start=T0 - timedelta(days=2))

    assert sorted(t.id for t in result.tickets) == keys  # nothing lost
    by_key = {t.id: t for t in result.tickets}
    assert by_key[keys[0]].category is None
    assert by_key[keys[1]].affected_users is None
    assert [(w.record_id, w.field, w.message) for w in result.warnings] == [
        (keys[0], "category",
         "field 'Category' (customfield_10127): expected an option, a user or text, got 42"),
        (keys[1], "affected_users",
         "field 'Affected Users' (customfield_10129): expected a whole number, "
         "got 'about fifty'"),
    ]  # fmt: skip


def test_an_id_override_wins_and_same_named_fields_must_be_chosen(
    emulator: JiraEmulator,
    make_connector: Callable[..., JiraConnector],
    seed: Callable[..., SeedTicket],
) -> None:
    [key] = emulator.seed([seed(0)])
    by_id = make_connector(fields={"category": "customfield_10006"})  # JSM's, on purpose

    assert by_id.fetch(key).category == "Get IT help"
    listed = httpx.get(f"{emulator.base_url}/rest/api/3/field",
                       headers={"Authorization": f"Bearer {PAT}"}).json()  # fmt: skip
    twin = {**next(f for f in listed if f["id"] == "customfield_10127"), "id": "customfield_10200"}
    settings = Settings.model_validate(emulator.settings())
    with pytest.raises(FatalError, match=r"2 fields named 'Category'.*set fields\.category"):
        resolve_fields(settings, [*listed, twin])


# -- realistic shapes ---------------------------------------------------------------------------
def test_timestamps_at_the_sites_own_offset_read_as_the_same_instant(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    created = T0 - timedelta(hours=3)
    [key] = emulator.seed([seed(0, created_at=created)])

    raw = emulator.record(key)["fields"]["created"]
    ticket = connector.fetch(key)

    assert raw == "2026-11-19T22:00:00.000-0800"  # 06:00 UTC, as a Los Angeles site writes it
    assert ticket.created_at == created


def test_an_agents_label_is_a_labels_change_that_names_the_agent(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    """An agent asks for escalation by labelling the issue: the changelog entry's author is
    the requester (``items[].field: labels`` with space-separated ``toString``, as in
    Atlassian's "Get changelogs" example)."""
    (key,) = emulator.seed([seed(0)])
    emulator.add_labels(key, "escalate-l2")

    ticket = connector.fetch(key)

    (change,) = [c for c in ticket.history if c.field == "labels"]
    assert "escalate-l2" in (change.new or "").split()
    assert change.by == AGENT_ACCOUNT
    assert requester(ticket, "escalate-l2") == AGENT_ACCOUNT
