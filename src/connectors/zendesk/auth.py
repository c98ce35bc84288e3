"""Credentials for Zendesk: the legacy API token, or OAuth tokens we obtain and rotate ourselves.

zenpy has no OAuth grant support (facetoe/zenpy#678), so the token endpoint is spoken with httpx.
The session (``client.py``) asks ``authorization()`` before each request and ``refresh()`` once
after a 401.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx

from connectors.base import TokenKeeper
from connectors.errors import AuthError, RateLimited, RetryableError
from connectors.retry import parse_retry_after
from connectors.zendesk.settings import (
    ApiTokenAuth,
    Auth,
    ClientCredentialsAuth,
    RefreshTokenAuth,
)

EXPIRY_MARGIN_SECONDS = 60.0  # renew this long before the recorded expiry


class Credentials(Protocol):
    can_refresh: bool

    def authorization(self) -> str:
        """The ``Authorization`` header value for the next request."""
        ...

    def refresh(self) -> None:
        """Drop the current access token and obtain a new one (after a 401)."""
        ...


class ApiTokenCredentials:
    can_refresh = False

    def __init__(self, auth: ApiTokenAuth) -> None:
        raw = f"{auth.email}/token:{auth.token.get_secret_value()}".encode()
        self._header = "Basic " + base64.b64encode(raw).decode()

    def authorization(self) -> str:
        return self._header

    def refresh(self) -> None:
        raise AuthError("API token rejected (401); tokens cannot be refreshed")


class TokenFile:
    """The rotated refresh token (and last access token), written atomically, mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AuthError(f"token file {self.path} is unreadable: {exc}") from exc
        return data if isinstance(data, dict) else None

    def write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)  # atomic: a crash leaves the old file or the new one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class OAuthCredentials:
    """Bearer tokens from ``POST /oauth/tokens`` (client_credentials or rotating refresh_token)."""

    can_refresh = True

    def __init__(
        self,
        base_url: str,
        auth: ClientCredentialsAuth | RefreshTokenAuth,
        *,
        http: httpx.Client,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = f"{base_url}/oauth/tokens"
        self._auth = auth
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._access: str | None = None
        self._expires_at: float | None = None
        self._file: TokenKeeper | None = (
            TokenFile(auth.token_file) if auth.token_file is not None else None
        )
        self.grants = 0  # token requests made: tests and metrics read it
        if self._file is not None:  # a token from an earlier process, while it lasts
            saved = self._file.read() or {}
            self._access = saved.get("access_token")
            self._expires_at = saved.get("expires_at")

    def keep_in(self, keeper: TokenKeeper) -> None:
        """Keep the tokens in ``keeper`` (the state store) from now on: a token saved there
        by an earlier process (or a ``token_file``'s, moved there) is used while it lasts."""
        with self._lock:
            saved = keeper.read()
            if not saved and self._file is not None:
                saved = self._file.read()
                if saved:
                    keeper.write(saved)
            self._file = keeper
            if saved:
                self._access = saved.get("access_token")
                self._expires_at = saved.get("expires_at")

    def authorization(self) -> str:
        with self._lock:
            if self._access is None or self._expiring():
                self._grant()
            return f"Bearer {self._access}"

    def refresh(self) -> None:
        with self._lock:
            self._access = None
            self._grant()

    def _expiring(self) -> bool:
        return self._expires_at is not None and self._clock() >= (
            self._expires_at - EXPIRY_MARGIN_SECONDS
        )

    def _refresh_token(self) -> str:
        assert isinstance(self._auth, RefreshTokenAuth)
        assert self._file is not None
        saved = self._file.read() or {}
        token = saved.get("refresh_token")
        return str(token) if token else self._auth.refresh_token.get_secret_value()

    def _grant(self) -> None:
        body: dict[str, Any] = {
            "client_id": self._auth.client_id,
            "client_secret": self._auth.client_secret.get_secret_value(),
            "scope": self._auth.scope,
            "expires_in": self._auth.expires_in,
        }
        if isinstance(self._auth, RefreshTokenAuth):
            body.update(grant_type="refresh_token", refresh_token=self._refresh_token())
        else:
            body["grant_type"] = "client_credentials"
        try:
            response = self._http.post(self._url, json=body)
        except httpx.TransportError as exc:
            raise RetryableError(f"token endpoint unreachable: {exc}") from exc
        self.grants += 1
        if response.status_code == 429:
            raise RateLimited(
                "token endpoint rate limited",
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code >= 500:
            raise RetryableError(f"token endpoint answered {response.status_code}")
        if response.status_code not in (200, 201):
            raise AuthError(f"token grant refused ({response.status_code}): {response.text[:200]}")
        data = response.json()
        self._access = str(data["access_token"])
        expires_in = data.get("expires_in") or self._auth.expires_in
        self._expires_at = self._clock() + float(expires_in)
        kept: dict[str, Any] = {"access_token": self._access, "expires_at": self._expires_at}
        if isinstance(self._auth, RefreshTokenAuth):
            rotated = data.get("refresh_token")
            if not rotated:
                raise AuthError("refresh grant returned no refresh_token")
            kept["refresh_token"] = rotated
        if self._file is not None:
            # a rotated pair: the server has already invalidated the old one, persist it first
            self._file.write(kept)


def credentials_for(
    base_url: str, auth: Auth, *, http: httpx.Client, clock: Callable[[], float] = time.time
) -> Credentials:
    if isinstance(auth, ApiTokenAuth):
        return ApiTokenCredentials(auth)
    return OAuthCredentials(base_url, auth, http=http, clock=clock)
