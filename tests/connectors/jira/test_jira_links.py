"""The ENG issue: created once (even across a crash), linked back, and its resolution read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connectors.base import ActionStatus, IssueTracker
from connectors.jira import JiraConnector
from connectors.jira.emulator import JiraEmulator
from engine.model import CreateLinkedIssue, Priority, Status, Ticket

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)
CREATE = r"/rest/api/3/issue$"
LINK = r"/remotelink$"

ORIGIN = Ticket(
    system="zendesk",
    id="123",
    created_at=T0 - timedelta(days=1),
    updated_at=T0,
    status=Status.OPEN,
    priority=Priority.URGENT,
    title="Checkout fails for every card",
    url="https://acme.zendesk.com/agent/tickets/123",
)
ACTION = CreateLinkedIssue(
    key="zendesk:123/engineering/l2",
    ticket="zendesk:123",
    rule="engineering",
    at=T0,
    level=2,
    system="jira",
    project="ENG",
    summary="Checkout fails for every card",
    description="Customer ticket zendesk:123.\n\nAll cards declined since 08:00.",
    priority=Priority.URGENT,
)


def test_creates_one_issue_with_mapped_priority_and_a_link_back(
    emulator: JiraEmulator, connector: JiraConnector
) -> None:
    assert isinstance(connector, IssueTracker)

    result = connector.create_linked_issue(ORIGIN, ACTION)

    assert (result.status, result.external_id) == (ActionStatus.APPLIED, "ENG-1")
    fields = emulator.record("ENG-1")["fields"]
    assert fields["priority"]["name"] == "Highest"
    assert fields["description"]["type"] == "doc"
    assert fields["summary"] == ACTION.summary
    [link] = emulator.remote_links("ENG-1")
    assert link["globalId"] == "system=zendesk&id=123"
    assert link["object"]["url"] == ORIGIN.url
    assert link["relationship"] == "escalated from"


def test_a_rerun_after_a_crash_creates_nothing_new(
    emulator: JiraEmulator, make_connector: Callable[..., JiraConnector]
) -> None:
    make_connector().create_linked_issue(ORIGIN, ACTION)
    # the process died before recording the key; a new process retries the same action
    result = make_connector().create_linked_issue(ORIGIN, ACTION)

    assert (result.status, result.external_id) == (ActionStatus.ALREADY, "ENG-1")
    assert emulator.issue_keys("ENG") == ["ENG-1"]
    assert len(emulator.server.calls("POST", CREATE)) == 1
    assert len(emulator.remote_links("ENG-1")) == 1  # the link was upserted by its globalId


def test_a_crash_between_create_and_link_is_healed_by_the_rerun(
    emulator: JiraEmulator, make_connector: Callable[..., JiraConnector]
) -> None:
    emulator.server.inject("POST", LINK, status=502, count=5)  # every attempt of the policy

    failed = make_connector().create_linked_issue(ORIGIN, ACTION)
    healed = make_connector().create_linked_issue(ORIGIN, ACTION)

    assert (failed.status, failed.external_id) == (ActionStatus.FAILED, "ENG-1")
    assert (healed.status, healed.external_id) == (ActionStatus.ALREADY, "ENG-1")
    assert len(emulator.server.calls("POST", CREATE)) == 1
    assert len(emulator.remote_links("ENG-1")) == 1


def test_resolution_is_read_back(emulator: JiraEmulator, connector: JiraConnector) -> None:
    connector.create_linked_issue(ORIGIN, ACTION)
    [before] = connector.read_linked_issues(["ENG-1", "ENG-404"])  # a deleted issue is skipped
    emulator.server.clock.set(T0 + timedelta(hours=2))
    emulator.resolve("ENG-1")

    [after] = connector.read_linked_issues(["ENG-1"])

    assert before.resolved_at is None
    assert before.marker == ACTION.key
    assert after.resolved_at == T0 + timedelta(hours=2)
    assert after.url == f"{emulator.base_url}/browse/ENG-1"


def test_apply_on_a_jira_ticket_delegates_linked_issue_creation(
    emulator: JiraEmulator, connector: JiraConnector
) -> None:
    jira_origin = replace(
        ORIGIN, system="jira", id="SUP-9", url=f"{emulator.base_url}/browse/SUP-9"
    )

    [result] = connector.apply(jira_origin, [ACTION])

    assert result.status is ActionStatus.APPLIED
    assert emulator.issue_keys("ENG") == ["ENG-1"]
    [link] = emulator.remote_links("ENG-1")
    assert link["globalId"] == "system=jira&id=SUP-9"


def test_a_batch_of_new_issues_is_checked_for_duplicates_in_one_search(
    emulator: JiraEmulator, make_connector: Callable[..., JiraConnector]
) -> None:
    actions = [replace(ACTION, key=f"zendesk:{i}/engineering/l2") for i in range(4)]
    make_connector().create_linked_issue(ORIGIN, actions[2])  # then the process died
    connector = make_connector()
    searches = len(emulator.server.calls("GET", r"/search/jql$"))

    connector.prepare_linked_issues(actions)
    results = [connector.create_linked_issue(ORIGIN, a) for a in actions]

    assert [r.status for r in results] == [
        ActionStatus.APPLIED, ActionStatus.APPLIED, ActionStatus.ALREADY, ActionStatus.APPLIED
    ]  # fmt: skip
    assert results[2].external_id == "ENG-1"
    assert len(emulator.server.calls("GET", r"/search/jql$")) == searches + 1
    assert emulator.issue_keys("ENG") == ["ENG-1", "ENG-2", "ENG-3", "ENG-4"]
