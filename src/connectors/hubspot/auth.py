"""Bearer tokens: a private-app token or Service Key, or OAuth with refresh (reference §3.1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from connectors.errors import AuthError, RetryableError
from connectors.hubspot.errors import error_for
from connectors.hubspot.settings import OAuthSettings

# Renew this long before expiry: a 401 is not a reliable refresh signal on HubSpot.
REFRESH_MARGIN_SECONDS = 300.0


class TokenSource(Protocol):
    renewable: bool  # whether a refused token is worth renewing once

    def token(self) -> str:
        """A bearer token that is valid now."""
        ...

    def invalidate(self) -> None:
        """Forget the current token (the server refused it); the next ``token()`` renews."""
        ...


class StaticToken:
    """A private-app token or Service Key: nothing to renew."""

    renewable = False

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        return None


class OAuthToken:
    """Access tokens from ``POST <token_path>`` with the refresh_token grant, renewed early.

    httpx, not the SDK: hubspot-api-client only knows the deprecated ``/oauth/v1/token``.
    The server may rotate the refresh token; the newest one is kept in memory.
    """

    renewable = True

    def __init__(
        self,
        settings: OAuthSettings,
        http: httpx.Client,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._refresh_token = settings.refresh_token.get_secret_value()
        self._access: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.refreshes = 0

    def token(self) -> str:
        with self._lock:
            if self._access is None or self._clock() >= self._expires_at - REFRESH_MARGIN_SECONDS:
                self._refresh()
            assert self._access is not None
            return self._access

    def invalidate(self) -> None:
        with self._lock:
            self._access = None

    def _refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret.get_secret_value(),
            "refresh_token": self._refresh_token,
        }
        try:
            response = self._http.post(self._settings.token_path, data=form)
        except httpx.HTTPError as exc:
            raise RetryableError(f"oauth token: {exc!r}") from exc
        if response.status_code != 200:
            error = error_for(
                response.status_code, response.headers, response.content, "oauth token"
            )
            # 400 invalid_grant: the refresh token was revoked; a person must re-authorise
            raise AuthError(str(error)) if response.status_code == 400 else error
        data = response.json()
        self._access = str(data["access_token"])
        self._refresh_token = str(data.get("refresh_token") or self._refresh_token)
        self._expires_at = self._clock() + float(data.get("expires_in", 1800))
        self.refreshes += 1
