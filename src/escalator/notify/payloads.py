"""The body each kind of channel accepts, built from one ``Notify`` action.

- Slack incoming webhook: ``text`` (the notification fallback) plus Block Kit blocks.
- Microsoft Teams: a message carrying one Adaptive Card; Teams Workflows webhooks accept only
  Adaptive Cards (not the legacy MessageCard), and legacy incoming webhooks accept them too.
- Generic JSON webhook: the action's fields, with ``Idempotency-Key: <action.key>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.model import Notify
from escalator.notify.channel import ChannelType

SLACK_SECTION_LIMIT = 3000  # Slack rejects a section text longer than this (invalid_blocks)
ADAPTIVE_CARD_VERSION = "1.4"  # rendered by Teams desktop, web, mobile and Workflows


@dataclass(frozen=True, slots=True)
class Request:
    """What to POST: a JSON body and the headers beyond Content-Type."""

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def title_of(action: Notify) -> str:
    level = f"level {action.level}" if action.level is not None else "notification"
    return f"Escalation {level}: {action.ticket}"


def slack_body(action: Notify, ticket_url: str | None) -> dict[str, Any]:
    text = _slack_escape(action.text.strip()) or title_of(action)  # Slack refuses empty text
    link = f"<{ticket_url}|Open {_slack_escape(action.ticket)}>" if ticket_url else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title_of(action)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SLACK_SECTION_LIMIT)}},
    ]
    if ticket_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open ticket"},
                        "url": ticket_url,
                    }
                ],
            }
        )
    return {"text": f"{text}\n{link}" if link else text, "blocks": blocks}


def teams_body(action: Notify, ticket_url: str | None) -> dict[str, Any]:
    # one TextBlock per line: a single "\n" inside a TextBlock is not a line break in Teams
    lines = [line for line in action.text.strip().splitlines() if line.strip()]
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": title_of(action),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        *({"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in lines),
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if ticket_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open ticket", "url": ticket_url}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_body(action: Notify, ticket_url: str | None) -> dict[str, Any]:
    return {
        "key": action.key,
        "ticket": action.ticket,
        "rule": action.rule,
        "level": action.level,
        "channel": action.channel,
        "text": action.text,
        "at": action.at.isoformat(),
        "ticket_url": ticket_url,
    }


def build_request(kind: ChannelType, action: Notify, ticket_url: str | None = None) -> Request:
    """The POST for a channel of ``kind``; pure, so each format is tested without HTTP."""
    if kind == "slack":
        return Request(slack_body(action, ticket_url))
    if kind == "teams":
        return Request(teams_body(action, ticket_url))
    # a receiver drops a redelivery of the same decision by this header
    return Request(webhook_body(action, ticket_url), {"Idempotency-Key": action.key})


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats &, < and > as control characters
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
