"""HubSpot's side of the pull bookmark (the rule itself is ``connectors.cursor``): the search
filters ``hs_lastmodifieddate >= watermark`` in epoch milliseconds, with no overlap, so the
cursor speaks milliseconds here; and the cursor form written before. Pure, no HTTP.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.cursor import FORMAT_PREFIX, EdgeCursor, EdgeRule
from connectors.hubspot.mapping import to_millis

_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# no overlap: a delivery stamped past the pull's start is ignored, as moving the watermark up
# to the start would pass records stamped before it that the search index has yet to show
EDGE_RULE = EdgeRule(horizon=timedelta(0), resolution=_MS, count_past_start=False)


def instant_of(ms: int) -> datetime:
    """Exact, unlike a float timestamp: the edge compares stamps for equality."""
    return _EPOCH + ms * _MS


def millis_of(instant: datetime) -> int:
    return (instant - _EPOCH) // _MS


@dataclass(frozen=True, slots=True)
class Cursor:
    """The shared edge cursor, in milliseconds."""

    edge: EdgeCursor

    @property
    def watermark(self) -> int:
        """Epoch ms; the next search asks for ``hs_lastmodifieddate >= this``."""
        return millis_of(self.edge.watermark)

    @classmethod
    def starting_at(cls, instant: datetime) -> Cursor:
        return cls(EdgeCursor(instant_of(to_millis(instant))))

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """``ValueError`` when ``text`` is not a cursor this connector wrote (either form)."""
        if text.startswith(FORMAT_PREFIX):
            return cls(EdgeCursor.decode(text))
        try:  # v1: urlsafe base64, unpadded, of {"v": 1, "w": ms, "ids": [ids at w]}
            data = json.loads(base64.urlsafe_b64decode(text.encode() + b"=" * (-len(text) % 4)))
            if data.get("v") != 1:
                raise ValueError(f"cursor version {data.get('v')!r}")
            at = instant_of(int(data["w"]))
            return cls(EdgeCursor(at, {str(i): at for i in data["ids"]}))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:  # bad base64 included
            raise ValueError(f"not a hubspot cursor: {text!r}") from exc

    def encode(self) -> str:
        return self.edge.encode()

    def is_new(self, ticket_id: str, modified_ms: int) -> bool:
        return self.edge.is_new(ticket_id, instant_of(modified_ms), EDGE_RULE)

    def advanced(self, ticket_id: str, modified_ms: int, ceiling_ms: int) -> Cursor:
        """The cursor after delivering ``ticket_id`` stamped ``modified_ms`` in a pull that
        began at ``ceiling_ms``."""
        delivered = [(ticket_id, instant_of(modified_ms))]
        return Cursor(
            self.edge.advanced(delivered, started_at=instant_of(ceiling_ms), rule=EDGE_RULE)
        )
