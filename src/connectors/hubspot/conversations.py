"""Conversation thread messages: public comments in, customer replies out (reference §3.5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import parse_marker
from connectors.hubspot.comments import html_to_text, marked_html
from connectors.hubspot.mapping import parse_instant
from engine.model import AuthorRole, Comment

# actor id prefixes: A- agent, V- visitor, E- email sender, I- integration, S- system, B- bot
_CUSTOMER_ACTORS = ("V-", "E-")


def _sender_actor(message: Mapping[str, Any]) -> str:
    senders = message.get("senders") or []
    return str(senders[0].get("actorId") or "") if senders else ""


def message_to_comment(message: Mapping[str, Any]) -> Comment | None:
    """MESSAGEs are public and COMMENTs internal; welcome, assignment and status events are not
    comments. The author is the sender actor's kind, with ``direction`` as the fallback."""
    kind = message.get("type")
    if kind not in ("MESSAGE", "COMMENT"):
        return None
    rich = str(message.get("richText") or "")
    text = str(message.get("text") or "") or html_to_text(rich)
    marker = parse_marker(rich) or parse_marker(text)
    actor = _sender_actor(message)
    role: AuthorRole
    if marker:
        role = AuthorRole.SIDECAR
    elif actor.startswith("A-"):
        role = AuthorRole.AGENT
    elif actor.startswith(_CUSTOMER_ACTORS) or message.get("direction") == "INCOMING":
        role = AuthorRole.CUSTOMER
    else:
        role = AuthorRole.AGENT
    return Comment(
        at=parse_instant(message["createdAt"]),
        author_role=role,
        public=kind == "MESSAGE",
        body=html_to_text(text) if "<" in text else text,
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
        m for m in messages if m.get("type") == "MESSAGE" and m.get("direction") == "INCOMING"
    ]
    latest = max(incoming, key=lambda m: str(m.get("createdAt"))) if incoming else None
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
