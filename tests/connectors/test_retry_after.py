"""``Retry-After`` in both forms RFC 9110 allows: delay-seconds and an HTTP-date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.retry import parse_retry_after

NOW = datetime(2026, 12, 2, 9, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 0 ", 0.0),
        # RFC 9110 section 10.2.3's own example form, 7 s after NOW
        ("Wed, 02 Dec 2026 09:00:07 GMT", 7.0),
        ("Wed, 02 Dec 2026 08:59:00 GMT", 0.0),  # already past: retry now
        ("-1", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_forms(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds
