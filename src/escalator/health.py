"""Readiness: whether each source makes progress (no HTTP here: the runner asks, the HTTP
surface shows the answer)."""

from __future__ import annotations

from datetime import datetime, timedelta


def poll_freshness(
    last: datetime | None,
    interval: int,
    started: datetime,
    now: datetime,
    failure: tuple[datetime, str] | None = None,
) -> dict[str, object]:
    """A source is ready while it makes progress: a successful poll within two intervals.
    ``failure`` is (since, why) of the polls failing now, shown as the reason."""
    window = timedelta(seconds=2 * max(interval, 1))
    since = last if last is not None else started
    ok = now - since <= window
    if last is None:
        detail = "no successful poll yet"
    elif ok:
        detail = f"within {int(window.total_seconds())} s"
    else:
        detail = "stale"
    if failure is not None:
        detail = f"{detail}; failing since {failure[0].isoformat()}: {failure[1]}"
    return {"ok": ok, "last_poll": last.isoformat() if last else None, "detail": detail}
