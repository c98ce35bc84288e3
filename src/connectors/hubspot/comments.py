"""Notes as comments, and the invisible marker every comment the sidecar writes carries.

Neither notes nor thread messages have a metadata field (specs: ``SimplePublicObjectInput``,
``PublicConversationsMessageEgg``), so the marker is an HTML comment in the HTML body
(``hs_note_body`` / ``richText``): never rendered, kept in the stored HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.base import marker_for, parse_marker
from connectors.hubspot.mapping import format_instant, parse_instant
from engine.model import AuthorRole, Comment

NOTE_PROPERTIES = ("hs_note_body", "hs_timestamp", "hubspot_owner_id", "hs_createdate")
_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"<!--.*?-->", re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)


def hidden_marker(key: str) -> str:
    return f"<!-- {marker_for(key)} -->"


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs: escaped, line breaks kept."""
    paragraphs = [p for p in text.split("\n\n")] or [""]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def marked_html(text: str, key: str) -> str:
    return text_to_html(text) + hidden_marker(key)


def html_to_text(body: str) -> str:
    """What a reader sees: comments dropped, tags stripped, entities decoded."""
    visible = _BREAK.sub("\n", _HIDDEN.sub("", body))
    return html.unescape(_TAG.sub("", visible)).strip()


def note_properties(text: str, key: str, at: datetime, owner_id: str | None) -> dict[str, str]:
    props = {"hs_timestamp": format_instant(at), "hs_note_body": marked_html(text, key)}
    if owner_id:
        props["hubspot_owner_id"] = owner_id
    return props


def note_to_comment(note: Mapping[str, Any]) -> Comment:
    """A note is internal; one carrying our marker is the sidecar's, any other an agent's."""
    props: Mapping[str, Any] = note.get("properties") or {}
    body = str(props.get("hs_note_body") or "")
    marker = parse_marker(body)
    at = props.get("hs_timestamp") or props.get("hs_createdate") or note["createdAt"]
    return Comment(
        at=parse_instant(at),
        author_role=AuthorRole.SIDECAR if marker else AuthorRole.AGENT,
        public=False,
        body=html_to_text(body),
        id=f"note:{note['id']}",
        author_id=props.get("hubspot_owner_id") or None,
        marker=marker,
    )
