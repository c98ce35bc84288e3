"""Only a human agent's public reply meets first response: not the opening comment, not a bot."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.model import AuthorRole, Comment, Priority, Status, Ticket
from engine.sla import public_agent_comment_times

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _ticket(*comments: Comment) -> Ticket:
    return Ticket("zendesk", "1", T0, T0, Status.OPEN, Priority.HIGH, comments=comments)


def test_agent_created_ticket_opening_comment_is_not_a_reply() -> None:
    opening = Comment(T0, AuthorRole.AGENT, True, "Customer phoned: login fails", opening=True)
    reply = Comment(T0.replace(hour=10), AuthorRole.AGENT, True, "We are on it")
    assert public_agent_comment_times(_ticket(opening)) == []
    assert public_agent_comment_times(_ticket(opening, reply)) == [
        int(T0.replace(hour=10).timestamp())
    ]


def test_bots_and_the_sidecar_never_count_as_a_human_response() -> None:
    bot = Comment(T0.replace(hour=9, minute=1), AuthorRole.BOT, True, "Auto-reply: received")
    ours = Comment(T0.replace(hour=9, minute=2), AuthorRole.SIDECAR, True, "Escalated")
    internal = Comment(T0.replace(hour=9, minute=3), AuthorRole.AGENT, False, "note")
    assert public_agent_comment_times(_ticket(bot, ours, internal)) == []
