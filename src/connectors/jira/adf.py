"""Atlassian Document Format: plain text in, plain text out (v3 bodies are ADF documents)."""

from __future__ import annotations

from typing import Any


def to_adf(text: str) -> dict[str, Any]:
    """Paragraphs split on blank lines; single newlines become hard breaks."""
    content: list[dict[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        nodes: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes} if nodes else {"type": "paragraph"})
    return {"type": "doc", "version": 1, "content": content}


def to_text(body: Any) -> str:
    """The readable text of an ADF document (or a v2 string body, returned as it is)."""
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        raise ValueError(f"comment body is neither ADF nor text: {type(body).__name__}")
    blocks = [_inline(node) for node in body.get("content") or []]
    return "\n\n".join(blocks)


def _inline(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return str((node.get("attrs") or {}).get("text", ""))
    children = node.get("content") or []
    joiner = "\n" if kind in ("bulletList", "orderedList", "listItem") else ""
    return joiner.join(_inline(child) for child in children)
