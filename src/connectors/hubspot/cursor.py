"""The pull bookmark: an ``hs_lastmodifieddate`` watermark (ms) plus the ids already seen at it.

Pure, no HTTP. The watermark only moves forward and never past the instant the pull started
(a record stamped later may still be missing from the eventually consistent search index).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from connectors.hubspot.mapping import to_millis

_VERSION = 1


@dataclass(frozen=True, slots=True)
class Cursor:
    watermark: int  # epoch ms; the next search asks for hs_lastmodifieddate >= this
    seen: frozenset[str] = frozenset()  # ids delivered whose hs_lastmodifieddate == watermark

    @classmethod
    def starting_at(cls, instant: datetime) -> Cursor:
        return cls(to_millis(instant))

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """``ValueError`` when ``text`` is not a cursor this connector wrote."""
        try:
            data = json.loads(base64.urlsafe_b64decode(text.encode() + b"=" * (-len(text) % 4)))
            if data.get("v") != _VERSION:
                raise ValueError(f"cursor version {data.get('v')!r}")
            return cls(int(data["w"]), frozenset(str(i) for i in data["ids"]))
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a hubspot cursor: {text!r}") from exc

    def encode(self) -> str:
        data = {"v": _VERSION, "w": self.watermark, "ids": sorted(self.seen)}
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def is_new(self, ticket_id: str, modified_ms: int) -> bool:
        if modified_ms == self.watermark:
            return ticket_id not in self.seen
        return modified_ms > self.watermark

    def advanced(self, ticket_id: str, modified_ms: int, ceiling_ms: int) -> Cursor:
        """The cursor after delivering ``ticket_id`` stamped ``modified_ms``."""
        if modified_ms > ceiling_ms or modified_ms < self.watermark:
            return self
        if modified_ms > self.watermark:
            return Cursor(modified_ms, frozenset({ticket_id}))
        return Cursor(self.watermark, self.seen | {ticket_id})
