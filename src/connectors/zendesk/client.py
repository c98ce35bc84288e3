"""The HTTP session zenpy runs on: where requests go, how they authenticate, what errors mean.

We inject our own ``requests.Session`` into zenpy instead of setting ZENPY_FORCE_NETLOC/SCHEME:
those are process-wide environment variables, while each source (and each test emulator) needs
its own base URL. zenpy is given the real host split as subdomain + domain (``acme`` +
``zendesk.com``, or ``127`` + ``0.0.1:PORT`` for an emulator), so its response handlers, which
check the host, still match; the session only turns ``https://`` into ``http://`` when
``Settings.url`` says so. Because the session raises on every non-2xx status,
zenpy's unbounded 429 sleep loop is never reached and no urllib3 retry adapter is mounted:
``RetryPolicy`` is the only place that retries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from zenpy import Zenpy

from connectors.errors import ConnectorError, RetryableError, error_for_status
from connectors.retry import parse_retry_after
from connectors.zendesk.auth import Credentials


def _error_for(response: requests.Response) -> ConnectorError:
    """What a non-2xx status means to the caller: the shared status table."""
    status = response.status_code
    text = response.text[:300]
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return error_for_status(status, f"HTTP {status}: {text}", retry_after=retry_after)


class ZendeskSession(requests.Session):
    """Rewrites zenpy's URLs to ``base_url``, signs each request, turns failures into errors."""

    authorized = True  # tells zenpy this session brings its own auth (as OAuth2Session does)

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        timeout: float,
        on_response: Callable[[requests.Response], None] | None = None,
    ) -> None:
        super().__init__()
        _scheme, _, host = base_url.partition("://")
        if "." not in host:
            raise ValueError(f"{base_url}: the host must contain a dot (zenpy needs a subdomain)")
        self.base_url = base_url
        self.host = host
        self._zenpy_origin = f"https://{host}"  # what zenpy builds; differs only by scheme
        self.credentials = credentials
        self.timeout = timeout
        self.rate_limit_remaining: int | None = None
        self.requests_made = 0  # every HTTP request sent, refreshed retries included
        self._on_response = on_response

    def request(  # type: ignore[override]
        self, method: str | bytes, url: str | bytes, **kwargs: Any
    ) -> requests.Response:
        verb = method.decode() if isinstance(method, bytes) else method
        target = url.decode() if isinstance(url, bytes) else url
        if target.startswith(self._zenpy_origin):
            target = self.base_url + target[len(self._zenpy_origin) :]
        kwargs.setdefault("timeout", self.timeout)
        response = self._send(verb, target, **kwargs)
        if response.status_code == 401 and self.credentials.can_refresh:
            self.credentials.refresh()  # expired or revoked access token: renew once
            response = self._send(verb, target, **kwargs)
        remaining = response.headers.get("X-Rate-Limit-Remaining")
        if remaining is not None and remaining.isdigit():
            self.rate_limit_remaining = int(remaining)
        if self._on_response is not None:
            self._on_response(response)
        if not 200 <= response.status_code < 300:
            raise _error_for(response)
        return response

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Authorization"] = self.credentials.authorization()
        self.requests_made += 1
        try:
            return super().request(method, url, headers=headers, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableError(f"{exc.__class__.__name__}: {exc}") from exc


def make_zenpy(session: ZendeskSession) -> Zenpy:
    # disable_cache: a cached ticket or user would make fetch() return stale data
    subdomain, _, domain = session.host.partition(".")
    return Zenpy(
        subdomain=subdomain,
        domain=domain,
        session=session,
        timeout=session.timeout,
        disable_cache=True,
    )
