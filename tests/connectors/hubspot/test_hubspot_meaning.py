"""What real HubSpot payloads mean, fed through the emulator's HTTP API in its realistic mode:
who wrote each message (from the actor id, never from the position), the opening comment,
plain text vs HTML bodies, formatted numbers, nulls, offsets, and conversation webhooks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from connectors.emulation import SeedComment
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.emulator import BOT_GREETING, TOKEN, HubSpotEmulator
from connectors.retry import RetryPolicy
from engine.model import AuthorRole
from tests.connectors.hubspot.hubspot_helpers import NOW, connect, customer_says, seed_ticket

EIGHT = NOW.replace(hour=8)


def _at(minute: int) -> Any:
    return EIGHT + timedelta(minutes=minute)


def _first_response(connector: HubSpotConnector, ticket_id: str) -> Any:
    ticket = connector.fetch(ticket_id)
    return next((c.at for c in ticket.comments if c.is_agent_reply), None)


def test_roles_come_from_the_actor_prefix_and_bots_never_answer(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed(
        [
            seed_ticket(
                comments=[
                    customer_says("The export button does nothing", 1),
                    SeedComment(_at(2), "ai", True, "Have you tried clearing the cache?"),
                    SeedComment(_at(3), "system", True, "Conversation assigned to Alex"),
                    SeedComment(_at(4), "integration", True, "Synced from Jira: ENG-12"),
                    SeedComment(_at(30), "agent", True, "Looking at it now."),
                ]
            )
        ]
    )
    # an email from an address that is no contact: no actorId, only a delivery identifier
    # (shape of a message in HubSpot's Conversations guide, "Retrieve messages": developers.
    # hubspot.com/docs/api-reference/conversations-conversations-v3/guide)
    emulator.add_message(
        tid,
        {
            "type": "MESSAGE",
            "createdAt": "2026-11-23T08:40:00Z",
            "createdBy": "",
            "client": {"clientType": "HUBSPOT"},
            "senders": [
                {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "cfo@acme.example"}}
            ],
            "recipients": [
                {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "help@ex.com"}}
            ],
            "text": "Adding our CFO: this blocks month-end.",
            "richText": "<div>Adding our CFO: this blocks month-end.</div>",
            "direction": "INCOMING",
        },
    )
    # no sender listed: createdBy is the actor id (an agent here)
    emulator.add_message(
        tid,
        {
            "type": "MESSAGE",
            "createdAt": "2026-11-23T08:50:00Z",
            "createdBy": "A-7002",
            "client": {"clientType": "HUBSPOT"},
            "senders": [],
            "recipients": [],
            "text": "Escalated to our billing team.",
            "direction": "OUTGOING",
        },
    )
    ticket = connector.fetch(tid)
    roles = [(c.author_id, c.author_role) for c in ticket.comments if c.public]
    assert roles == [
        ("V-9001", AuthorRole.CUSTOMER),
        ("B-3001", AuthorRole.BOT),  # the chatflow bot's greeting, one second after
        ("L-4001", AuthorRole.BOT),  # an AI agent
        ("S-hubspot", AuthorRole.BOT),
        ("I-1234", AuthorRole.BOT),
        ("A-7001", AuthorRole.AGENT),
        (None, AuthorRole.CUSTOMER),
        ("A-7002", AuthorRole.AGENT),
    ]
    assert ticket.comments[1].body == BOT_GREETING
    # neither the bot (8:01:01) nor the AI agent (8:02) meets first response: the agent does
    assert _first_response(connector, tid) == _at(30)


def test_an_agent_created_ticket_opens_with_its_description_not_a_reply(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    # an agent logs a phone call as an outbound email that creates the ticket, replies later
    [phoned, logged] = emulator.seed(
        [
            seed_ticket(
                "Phone: payroll run failed",
                comments=[
                    SeedComment(EIGHT, "agent", True, "Customer called: payroll run failed."),
                    SeedComment(_at(45), "agent", True, "We found the cause."),
                ],
            ),
            seed_ticket(
                "Call logged as a note",
                comments=[SeedComment(EIGHT, "agent", False, "Call: cannot log in")],
            ),
        ]
    )
    ticket = connector.fetch(phoned)
    opening, reply = ticket.comments
    assert opening.opening
    assert opening.author_role is AuthorRole.AGENT
    assert not opening.is_agent_reply
    assert reply.is_agent_reply
    assert not reply.opening
    assert _first_response(connector, phoned) == _at(45)  # clock ran from creation to 8:45
    [note] = connector.fetch(logged).comments
    assert note.opening
    assert not note.public


def test_plain_text_is_kept_and_only_html_is_stripped(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    text = "Filter `a < b` shows <b>nothing</b> & the <script> tag is literal"
    [tid] = emulator.seed(
        [
            seed_ticket(
                comments=[
                    customer_says(text, 1),
                    SeedComment(_at(9), "agent", False, "Line one\nLine <two> & three"),
                ]
            )
        ]
    )
    ticket = connector.fetch(tid)
    assert ticket.comments[0].body == text  # text is plain: nothing stripped
    note = next(c for c in ticket.comments if not c.public)
    assert note.body == "Line one\nLine <two> & three"  # hs_note_body is HTML: decoded


def test_formatted_numbers_parse_and_nulls_are_unset(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [big, bare] = emulator.seed(
        [seed_ticket("big", affected_users=1200, customer_tier="enterprise"), seed_ticket("bare")]
    )
    raw = httpx.post(
        f"{emulator.url}/crm/objects/2026-09/tickets/batch/read",
        json={
            "inputs": [{"id": big}, {"id": bare}],
            "properties": ["affected_users", "customer_tier", "hs_ticket_category"],
            "propertiesWithHistory": [],
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()["results"]
    by_id = {r["id"]: r["properties"] for r in raw}
    assert by_id[big]["affected_users"] == "1,200"  # as the portal formats it
    assert by_id[bare]["affected_users"] is None  # requested, unset: null
    assert by_id[bare]["hs_ticket_category"] is None
    assert connector.fetch(big).affected_users == 1200
    plain = connector.fetch(bare)
    assert (plain.affected_users, plain.customer_tier, plain.category) == (None, None, None)


def test_a_number_that_is_no_number_is_quarantined_naming_the_field(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed([seed_ticket()])
    emulator.set_property(tid, "affected_users", "about a dozen")
    result = connector.pull(None, start=NOW - timedelta(days=1))
    [quarantined] = result.quarantined
    assert quarantined.record_id == tid
    assert "affected_users" in quarantined.reason
    assert "about a dozen" in quarantined.reason


def test_a_note_stamped_with_a_local_offset_is_the_same_instant(
    emulator: HubSpotEmulator, connector: HubSpotConnector
) -> None:
    [tid] = emulator.seed(
        [seed_ticket(comments=[SeedComment(_at(20), "integration", False, "Synced")])]
    )
    stamp = emulator.comments(tid)[0]["properties"]["hs_timestamp"]
    assert stamp.endswith("-05:00")  # written by another integration in its own zone
    [note] = connector.fetch(tid).comments
    assert note.at == _at(20)


def test_a_new_message_webhook_leads_to_the_ticket_of_its_thread(
    emulator: HubSpotEmulator, retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.webhook_url = "https://sidecar.example.com/webhooks/hubspot"
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(emulator, "deliver", sent.append)
    [tid, other] = emulator.seed(
        [seed_ticket(comments=[customer_says("Hello")]), seed_ticket("other")]
    )
    connector = connect(emulator, retry, webhook_url=emulator.webhook_url)
    sent.clear()
    emulator.server.clock.advance(60)
    emulator.add_comment(tid, SeedComment(NOW, "customer", True, "Any update? It is urgent."))
    [event] = sent
    # Webhooks v3 conversation event (HubSpot webhooks guide): objectId is the thread
    assert event["subscriptionType"] == "conversation.newMessage"
    assert event["objectId"] != int(tid)
    assert event["messageId"]
    headers, body = emulator.signed_delivery(event)
    refs = connector.verify_webhook(headers, body, now=NOW).ticket_ids
    [ticket] = [connector.fetch(ref) for ref in refs]  # read at once, not at the next poll
    assert ticket.id == tid
    assert ticket.comments[-1].body == "Any update? It is urgent."
    assert ticket.comments[-1].author_role is AuthorRole.CUSTOMER
    # once the thread is known, the delivery names the ticket itself
    headers, body = emulator.signed_delivery(event | {"eventId": 2})
    assert connector.verify_webhook(headers, body, now=NOW).ticket_ids == (tid,)
    assert other not in refs
    connector.close()
