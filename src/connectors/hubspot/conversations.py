"""Conversation thread messages: public comments in, customer replies out (reference §3.5).

Who wrote a message comes from its sender's actor id, never from its place in the thread
(HubSpot "Get actors" reference, developers.hubspot.com/docs/api-reference/legacy/conversations/
conversations/actors/get-actor, and the changelog "Changes to Actors and Delivery Identifiers in
the Conversations API"): ``A-`` an agent (a HubSpot user), ``V-`` a visitor (a contact), and
``B-`` bots, ``L-`` AI agents, ``S-`` system, ``I-`` integrations, which are never a human reply.
``E-`` is an email address that is not (yet) a contact; those ids are being removed, so an email
may come with no actor id at all and only a ``deliveryIdentifier``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import parse_marker
from connectors.hubspot.comments import html_to_text, marked_html
from connectors.hubspot.mapping import parse_instant
from engine.model import AuthorRole, Comment

AGENT_PREFIX = "A-"
VISITOR_PREFIX = "V-"
EMAIL_PREFIX = "E-"


def sender_actor(message: Mapping[str, Any]) -> str:
    """The sender's actor id; ``createdBy`` (also an actor id) when no sender names one."""
    senders = message.get("senders") or []
    first = senders[0] if senders and isinstance(senders[0], Mapping) else {}
    return str(first.get("actorId") or message.get("createdBy") or "")


def actor_role(actor_id: str, direction: str | None) -> AuthorRole:
    """The author's role from the actor id's prefix; anything not a person is a bot.

    An inbound email from an address that is no contact (``E-`` or no actor id) is the
    customer's; the same shapes going out are not a person we can name, so never an agent.
    """
    if actor_id.startswith(AGENT_PREFIX):
        return AuthorRole.AGENT
    if actor_id.startswith(VISITOR_PREFIX):
        return AuthorRole.CUSTOMER
    if (not actor_id or actor_id.startswith(EMAIL_PREFIX)) and direction == "INCOMING":
        return AuthorRole.CUSTOMER
    return AuthorRole.BOT  # B- bot, L- AI agent, S- system, I- integration, unknown kinds


def message_body(message: Mapping[str, Any]) -> str:
    """``text`` is plain text and kept as written; only the HTML ``richText`` is stripped."""
    text = message.get("text")
    if isinstance(text, str) and text:
        return text
    return html_to_text(str(message.get("richText") or ""))


def message_to_comment(message: Mapping[str, Any]) -> Comment | None:
    """MESSAGEs are public and COMMENTs internal; welcome, assignment and status events are not
    comments."""
    kind = message.get("type")
    if kind not in ("MESSAGE", "COMMENT"):
        return None
    rich = str(message.get("richText") or "")
    body = message_body(message)
    marker = parse_marker(rich) or parse_marker(body)
    actor = sender_actor(message)
    role = AuthorRole.SIDECAR if marker else actor_role(actor, message.get("direction"))
    return Comment(
        at=parse_instant(message["createdAt"]),
        author_role=role,
        public=kind == "MESSAGE",
        body=body,
        id=f"message:{message['id']}",
        author_id=actor or None,
        marker=marker,
    )


class Undeliverable(Exception):
    """The ticket has no way to reach the customer (no thread, recipient or sender)."""


def reply_message(
    thread: Mapping[str, Any],
    messages: Sequence[Mapping[str, Any]],
    text: str,
    key: str,
    sender_actor_id: str | None,
) -> dict[str, Any]:
    """A ``PublicConversationsMessageEgg`` answering the customer's latest message on ``thread``."""
    incoming = [
        m
        for m in messages
        if m.get("type") == "MESSAGE"
        and m.get("direction") == "INCOMING"
        and actor_role(sender_actor(m), "INCOMING") is AuthorRole.CUSTOMER
    ]
    latest = max(incoming, key=lambda m: parse_instant(m.get("createdAt"))) if incoming else None
    recipients = []
    for sender in (latest or {}).get("senders") or []:
        identifier = sender.get("deliveryIdentifier")
        if identifier:
            recipient: dict[str, Any] = {"deliveryIdentifiers": [identifier]}
            if sender.get("actorId"):
                recipient["actorId"] = sender["actorId"]
            recipients.append(recipient)
    if not recipients:
        raise Undeliverable("the thread has no customer message to answer")
    sender = sender_actor_id or thread.get("assignedTo")
    if not sender:
        raise Undeliverable("no sender_actor_id configured and the thread is unassigned")
    message: dict[str, Any] = {
        "type": "MESSAGE",
        "text": text,
        "richText": marked_html(text, key),
        "senderActorId": str(sender),
        "channelId": str(thread["originalChannelId"]),
        "channelAccountId": str(thread["originalChannelAccountId"]),
        "recipients": recipients,
        "attachments": [],
    }
    subject = (latest or {}).get("subject")
    if subject:
        message["subject"] = subject if str(subject).lower().startswith("re:") else f"Re: {subject}"
    return message
