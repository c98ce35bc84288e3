"""What real Zendesk payloads mean: who wrote a comment, which comment opens a ticket, ids as
strings, deleted and scrubbed tickets. Every payload goes through the emulator's HTTP API.

Shapes follow Zendesk's documented examples: the "List Audits for a Ticket" example (a trigger's
Change event with ``via.channel: "rule"``, ``source.rel: "trigger"``), the Users API ``role``
values (``end-user``, ``agent``, ``admin``; light agents are ``agent`` with a custom role), the
Via object reference (``voice``, ``api``, ``rule``) and the incremental export guide's deleted
and scrubbed tickets (developer.zendesk.com).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from connectors.emulation import SeedComment, SeedTicket
from connectors.errors import RetryableError
from connectors.zendesk import ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from engine.criteria import requester
from engine.model import AuthorRole, Comment, Priority, Status, Ticket
from engine.sla import public_agent_comment_times
from tests.connectors.zendesk.zendesk_seeds import T0, seed_ticket

AUDITS = r"/api/v2/tickets/\d+/audits"


def first_response(comments: tuple[Comment, ...]) -> Comment | None:
    """The comment the SLA's first-response target counts (``Comment.is_agent_reply``)."""
    return next((c for c in comments if c.is_agent_reply), None)


def first_response_at(ticket: Ticket) -> datetime | None:
    """When the engine's SLA clock sees the first response met."""
    times = public_agent_comment_times(ticket)
    return datetime.fromtimestamp(times[0], UTC) if times else None


def test_agent_created_phone_ticket_waits_for_the_next_agent_reply(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    created = T0
    seed = SeedTicket(
        title="Caller cannot log in",
        created_at=created,
        requester="caller@example.com",
        comments=[  # the agent logs the call: that comment is the ticket's description
            SeedComment(at=created, author="agent", public=True, body="Customer called: 2FA"),
            SeedComment(
                at=created + timedelta(minutes=20), author="customer", public=True, body="+1"
            ),
            SeedComment(
                at=created + timedelta(minutes=50), author="agent", public=True, body="Fixed"
            ),
        ],
    )
    (tid,) = emulator.seed([seed])
    assert emulator.record(tid)["via"]["channel"] == "voice"
    assert emulator.record(tid)["submitter_id"] == emulator.agent_id

    pulled = connector.pull(None, start=T0 - timedelta(hours=1))
    (ticket,) = pulled.tickets

    opening = ticket.comments[0]
    assert (opening.author_role, opening.opening, opening.is_agent_reply) == (
        AuthorRole.AGENT,
        True,
        False,
    )
    # the first-response clock runs from creation to the next agent reply, not the description
    assert first_response_at(ticket) == created + timedelta(minutes=50)
    assert not emulator.server.calls("GET", AUDITS)  # the event export served the history


def test_description_of_a_web_ticket_is_the_opening_not_a_reply(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    # a customer-facing form where an agent's reply came 30 min later (the demo's third ticket)
    seed = seed_ticket(
        0,
        comments=[
            SeedComment(
                at=T0 + timedelta(minutes=30), author="agent", public=True, body="Invoice #?"
            )
        ],
    )
    (tid,) = emulator.seed([seed])
    ticket = connector.fetch(tid)
    assert [(c.author_role, c.opening) for c in ticket.comments] == [
        (AuthorRole.CUSTOMER, True),  # the description Zendesk always has
        (AuthorRole.AGENT, False),
    ]
    assert first_response_at(ticket) == T0 + timedelta(minutes=30)


def test_roles_come_from_the_author_not_from_being_the_requester(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    staff = emulator.user_id("lead@acme.example", role="agent")  # an agent reports a ticket
    cc = emulator.user_id("colleague@customer.example")  # an end-user who is not the requester
    admin = emulator.user_id("boss@acme.example", role="admin")
    (tid,) = emulator.seed([seed_ticket(0, requester="lead@acme.example", comments=[])])
    at = T0 + timedelta(minutes=5)
    emulator.comment_as(tid, staff, "Looking at it myself", at=at)
    emulator.comment_as(tid, cc, "Same here", at=at + timedelta(minutes=1))
    emulator.comment_as(tid, admin, "Escalating", at=at + timedelta(minutes=2))

    ticket = connector.fetch(tid)

    roles = [(c.body, c.author_role) for c in ticket.comments if not c.opening]
    assert roles == [
        ("Looking at it myself", AuthorRole.AGENT),  # the requester, and an agent
        ("Same here", AuthorRole.CUSTOMER),  # not the requester, and still a customer
        ("Escalating", AuthorRole.AGENT),
    ]
    assert ticket.comments[0].opening  # the agent-requester's description is not a reply
    reply = first_response(ticket.comments)
    assert reply is not None
    assert reply.body == "Looking at it myself"


def test_triggers_system_user_and_bots_never_count_as_a_human_response(
    emulator: ZendeskEmulator, make_connector: Callable[..., ZendeskConnector]
) -> None:
    jira_sync = emulator.user_id("jira-sync@acme.example", role="agent")  # an integration
    connector = make_connector(bot_user_ids=[jira_sync])
    (tid,) = emulator.seed([seed_ticket(0, comments=[])])
    at = T0 + timedelta(minutes=1)
    emulator.comment_as(tid, -1, "We got your request", at=at, channel="rule", source_rel="trigger")
    emulator.comment_as(
        tid, emulator.agent_id, "Try these articles", at=at, channel="answer_bot_for_agents"
    )
    # an API comment a trigger's webhook caused, written as the assignee
    emulator.comment_as(
        tid, emulator.agent_id, "Auto: on it", at=at, channel="api", source_rel="trigger"
    )
    emulator.comment_as(tid, jira_sync, "ENG-12 linked", at=at, channel="api")
    emulator.comment_as(tid, emulator.agent_id, "A human here", at=at + timedelta(minutes=9))

    first = connector.pull(None, start=T0 - timedelta(hours=1))
    fetched = connector.fetch(tid)

    for ticket in (first.tickets[0], fetched):  # the event export and the audits agree
        bots = [c.body for c in ticket.comments if c.author_role is AuthorRole.BOT]
        assert bots == ["We got your request", "Try these articles", "Auto: on it", "ENG-12 linked"]
        reply = first_response(ticket.comments)
        assert reply is not None
        assert reply.body == "A human here"
    # the realistic trigger audit on creation (system user -1, a Notification) is no comment
    assert any(a["author_id"] == -1 for a in emulator.audits[int(tid)])
    assert not emulator.server.calls("GET", r"/api/v2/users/-1")


def test_an_author_nobody_can_look_up_is_never_an_agent_and_is_reported(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0, comments=[])])
    emulator.comment_as(tid, 987654321, "who am I", at=T0 + timedelta(minutes=3))

    result = connector.pull(None, start=T0 - timedelta(hours=1))

    ghost = next(c for c in result.tickets[0].comments if c.body == "who am I")
    assert ghost.author_role is AuthorRole.CUSTOMER
    (warning,) = result.warnings
    assert (warning.record_id, warning.field) == (tid, "comment.author_id")
    assert "987654321" in warning.message


def test_string_ids_in_audit_changes_resolve_to_names(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    (tid,) = emulator.seed([seed_ticket(0)])
    tier2 = emulator.group_id("Tier 2")
    emulator.update(tid, group="Tier 2")
    change = emulator.audits[int(tid)][-1]["events"][0]
    assert change["value"] == str(tier2)  # what the live API sends: "value": "12345"

    emulator.server.clock.advance(120)  # past the minute the event export withholds
    pulled = connector.pull(None, start=T0 - timedelta(hours=1)).tickets[0]
    fetched = connector.fetch(tid)
    for ticket in (pulled, fetched):
        assert ticket.group == "Tier 2"
        assert [(c.field, c.old, c.new) for c in ticket.history if c.field == "group"] == [
            ("group", None, "Tier 2")
        ]


def test_deleted_and_scrubbed_tickets_are_kept_and_a_restore_is_no_reopen(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    ids = emulator.seed([seed_ticket(i, status="open") for i in range(3)])
    first = connector.pull(None, start=T0 - timedelta(hours=1))
    emulator.delete(ids[0])
    emulator.scrub(ids[1])
    calls = len(emulator.server.requests)

    gone = connector.pull(first.cursor, start=T0)

    by_id = {t.id: t for t in gone.tickets}
    assert set(by_id) == {ids[0], ids[1]}  # not lost, not quarantined
    assert gone.quarantined == ()
    assert by_id[ids[0]].status is Status.CLOSED
    assert by_id[ids[1]].status is Status.CLOSED
    assert by_id[ids[1]].title == "SCRUBBED"
    assert by_id[ids[0]].comments == first.tickets[0].comments  # what we knew stays
    assert not [r for r in emulator.server.requests[calls:] if "/audits" in r.path]

    emulator.restore(ids[0])
    back = connector.pull(gone.cursor, start=T0)

    (restored,) = back.tickets
    assert restored.status is Status.OPEN
    statuses = [(c.old, c.new) for c in restored.history if c.field == "status"]
    assert all(Status.CLOSED.value not in (old, new) for old, new in statuses)  # no reopen


def test_audits_are_paged_and_a_repeated_page_raises(
    emulator: ZendeskEmulator, connector: ZendeskConnector, sleeps: list[float]
) -> None:
    emulator.audit_page_size = 2
    comments = [
        SeedComment(
            at=T0 + timedelta(minutes=m),
            author="customer" if m % 2 == 0 else "agent",
            public=True,
            body=f"message {m}",
        )
        for m in range(7)
    ]
    (tid,) = emulator.seed([seed_ticket(0, comments=comments)])

    ticket = connector.fetch(tid)

    assert [c.body for c in ticket.comments] == [f"message {m}" for m in range(7)]
    pages = emulator.server.calls("GET", AUDITS)
    assert len(pages) == 4  # 8 audits (7 comments, the trigger's) two a page
    assert [p.arg("page") for p in pages] == [None, "2", "3", "4"]

    looping = f"{emulator.base_url}/api/v2/tickets/{tid}/audits.json?page=2&per_page=2"
    body: dict[str, object] = {
        "audits": [], "next_page": looping, "previous_page": None, "count": 9
    }
    emulator.server.inject("GET", AUDITS, status=200, body=body, count=20)
    with pytest.raises(RetryableError, match="repeated"):
        connector.fetch(tid)
    assert sleeps == []  # a loop is not waited on


def test_realistic_mode_is_the_default_and_means_the_same(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    assert ZendeskEmulator().realistic  # tests and the demo get the untidy shapes
    (tid,) = emulator.seed([seed_ticket(0, priority="normal")])
    raw = emulator.record(tid)
    assert raw["priority"] is None  # nobody prioritised it: null, as the live API sends
    audits = emulator.audits[int(tid)]
    assert audits[1]["author_id"] == -1
    assert audits[1]["via"]["source"]["rel"] == "trigger"

    ticket = connector.pull(None, start=T0 - timedelta(hours=1)).tickets[0]

    assert ticket.priority is Priority.NORMAL
    assert [c.author_role for c in ticket.comments if c.opening] == [AuthorRole.CUSTOMER]
    assert [(c.field, c.new) for c in ticket.history if c.field == "priority"] == [
        ("priority", "normal")
    ]


def test_a_ticket_deleted_between_the_export_and_its_audits_is_returned_as_deleted(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    old, kept = emulator.seed([seed_ticket(0), seed_ticket(1)])
    for tid in (old, kept):
        emulator.add_comment(
            tid,
            SeedComment(at=emulator.server.clock.now(), author="customer", public=True, body="?"),
        )
    # both predate the window, so their audits are read; one is deleted just then
    emulator.server.inject("GET", rf"/api/v2/tickets/{old}/audits", status=404)

    result = connector.pull(None, start=emulator.server.clock.now() - timedelta(minutes=10))

    by_id = {t.id: t for t in result.tickets}
    assert by_id[old].status is Status.CLOSED
    assert by_id[kept].status is Status.NEW
    assert result.quarantined == ()


def test_an_agents_tag_is_a_labels_change_that_names_the_agent(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    """An agent asks for escalation by tagging the ticket: the audit's author is the requester
    (a ``Change`` event on ``tags``, values as lists: Zendesk's "Ticket Audits" reference)."""
    (tid,) = emulator.seed([seed_ticket(0)])
    emulator.add_tags(tid, "escalate-l2")

    ticket = connector.fetch(tid)

    (change,) = [c for c in ticket.history if c.field == "labels"]
    assert "escalate-l2" in (change.new or "").split()
    assert change.by == "agent@example.com"  # the audit's author, named by email
    assert requester(ticket, "escalate-l2") == "agent@example.com"


def test_a_satisfaction_rating_is_read_only_once_the_customer_answered(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    """``satisfaction_rating.score``: "unoffered"/"offered" are no answer; "good"/"bad" are
    (Zendesk's "Satisfaction Ratings" reference)."""
    (tid,) = emulator.seed([seed_ticket(0)])
    assert connector.fetch(tid).satisfaction is None  # unoffered
    emulator.rate(tid, "bad", "Took three days")
    assert connector.fetch(tid).satisfaction == "bad"
