"""What can go wrong talking to a helpdesk, grouped by what the caller should do.

    ConnectorError
    ├── RetryableError        try again later (5xx, timeouts, connection resets)
    │   ├── RateLimited       try again after ``retry_after`` seconds (429)
    │   └── PagingLoop        a page token came back: stop the walk, the next pull retries
    ├── ConflictError         the ticket changed under us (409): re-read, re-plan, retry
    ├── FatalError            stop this source until a person acts
    │   └── AuthError         credentials are wrong, expired or lack a scope (401/403)
    │       └── Forbidden     known, but not allowed this (403): an optional read may go without
    ├── NotFoundError         the ticket or record is gone: skip it
    ├── RequestRejected       this one request was refused as it stands (400, 413, 422): it
    │                         fails, the source goes on
    └── MalformedRecord       one record could not be understood: quarantine it, go on
    WebhookRejected           a webhook delivery is refused (carries the HTTP status to answer)
"""

from __future__ import annotations

from collections.abc import Mapping


class ConnectorError(Exception):
    """Base of every error a connector raises."""


class RetryableError(ConnectorError):
    """A transient failure: the same call may succeed later."""


class PagingLoop(RetryableError):
    """A page token (cursor, ``after``, next URL) came back that was already read: the walk
    stops instead of looping; the next pull starts it again (Singer SDK's "loop detected")."""

    def __init__(self, what: str, token: object) -> None:
        super().__init__(f"{what}: page token repeated ({token!r}): paging loop detected")


class RateLimited(RetryableError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConflictError(ConnectorError):
    """The record changed since it was read (Zendesk safe_update 409)."""


class FatalError(ConnectorError):
    """Retrying cannot help; the source is misconfigured or refuses us."""


class AuthError(FatalError):
    pass


class Forbidden(AuthError):
    """The credentials are good but lack a permission or scope for this call (403)."""


def refuses_credentials(exc: ConnectorError) -> bool:
    """The credentials themselves were refused (401): every call would be, so the source
    stops. A ``Forbidden`` call lacks one permission only; an optional read may go without."""
    return isinstance(exc, AuthError) and not isinstance(exc, Forbidden)


class NotFoundError(ConnectorError):
    pass


class RequestRejected(ConnectorError):
    """This one request was refused as it stands (a field the API cannot set, a closed ticket):
    it fails; other requests, and the source, go on."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# What each HTTP status means to the caller: one table for every connector and channel, each
# overriding only its own rows (``error_for_status(..., rows=...)``).
STATUS_ERRORS: Mapping[int, type[ConnectorError]] = {
    400: RequestRejected,
    401: AuthError,
    403: Forbidden,
    404: NotFoundError,
    408: RetryableError,
    409: ConflictError,
    413: RequestRejected,
    422: RequestRejected,
    423: RetryableError,
}


def error_for_status(
    status: int | None,
    message: str,
    *,
    retry_after: float | None = None,
    rows: Mapping[int, type[ConnectorError]] | None = None,
) -> ConnectorError:
    """The error a failed response becomes (``status`` None or 0: no response at all)."""
    if not status:
        return RetryableError(message)
    if status == 429:
        return RateLimited(message, retry_after=retry_after)
    kind = (rows or {}).get(status) or STATUS_ERRORS.get(status)
    if kind is None:
        kind = RetryableError if status >= 500 else FatalError
    if kind is RequestRejected:
        return RequestRejected(message, status)
    if kind is RateLimited:
        return RateLimited(message, retry_after=retry_after)
    return kind(message)


class MalformedRecord(ConnectorError):
    """A record from the API that does not fit the model; the rest of the batch goes on."""

    def __init__(self, message: str, record_id: str | None = None, raw: object = None) -> None:
        super().__init__(message)
        self.record_id = record_id
        self.raw = raw


class WebhookRejected(Exception):
    """A webhook delivery that must be refused with ``status`` (401 signature, 413 size)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
