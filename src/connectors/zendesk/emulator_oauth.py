"""OAuth and authentication of the Zendesk emulator, as a mixin of ``ZendeskEmulator``.

``POST /oauth/tokens`` speaks the client_credentials and refresh_token grants (a refresh rotates
both tokens and kills the old pair); every API call checks Basic ``{email}/token`` or a live
Bearer token (``helpdesk-apis.md`` 1.1).
"""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

from connectors.emulation import EmulatorServer, Request, Response
from connectors.zendesk.emulator_server import AUTH_FAILED, TOKEN_INVALID


class OAuthServer:
    server: EmulatorServer
    email: str
    api_token: str
    client_id: str
    client_secret: str
    token_grants: list[dict[str, Any]]
    _lock: threading.RLock
    _access: dict[str, tuple[datetime, str | None]]
    _refresh: dict[str, datetime]

    def expire_access_tokens(self) -> None:
        """Every OAuth access token dies now (their ~30 minutes are up); refresh tokens live."""
        with self._lock:
            past = self.server.clock.now() - timedelta(seconds=1)
            for token, (_, refresh) in list(self._access.items()):
                self._access[token] = (past, refresh)

    def issue_refresh_token(self) -> str:
        """A refresh token as the authorization-code flow would have handed out."""
        token = "rt-" + secrets.token_hex(12)
        with self._lock:
            self._refresh[token] = self.server.clock.now() + timedelta(days=30)
        return token

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return Response(401, AUTH_FAILED)
            if user == f"{self.email}/token" and password == self.api_token:
                return None
            return Response(401, AUTH_FAILED)
        if scheme.lower() == "bearer":
            with self._lock:
                entry = self._access.get(value)
            if entry is not None and entry[0] > self.server.clock.now():
                return None
            return Response(401, TOKEN_INVALID, {"WWW-Authenticate": 'Bearer realm="Zendesk"'})
        return Response(401, AUTH_FAILED)

    def _oauth_tokens(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Response(400, {"error": "invalid_request", "error_description": "JSON body"})
        with self._lock:
            self.token_grants.append(dict(body))
        if body.get("client_id") != self.client_id or body.get("client_secret") != (
            self.client_secret
        ):
            return Response(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed due to unknown client, "
                    "no client authentication included, or unsupported authentication method.",
                },
            )
        expires_in = int(body.get("expires_in") or 1800)
        if not 300 < expires_in < 172_800:
            return Response(
                400, {"error": "invalid_request", "error_description": "expires_in out of range"}
            )
        now = self.server.clock.now()
        grant = body.get("grant_type")
        with self._lock:
            if grant == "client_credentials":
                access = "at-" + secrets.token_hex(12)
                self._access[access] = (now + timedelta(seconds=expires_in), None)
                return Response(
                    201,
                    {
                        "access_token": access,
                        "token_type": "bearer",
                        "scope": body.get("scope", "read write"),
                        "expires_in": expires_in,
                    },
                )
            if grant == "refresh_token":
                old = str(body.get("refresh_token") or "")
                expiry = self._refresh.pop(old, None)
                if expiry is None or expiry <= now:
                    return Response(
                        400,
                        {
                            "error": "invalid_grant",
                            "error_description": "The provided authorization grant is invalid, "
                            "expired, revoked, does not match the redirection URI used in the "
                            "authorization request, or was issued to another client.",
                        },
                    )
                # rotation: the old pair dies, a new pair is born
                for token, (_, parent) in list(self._access.items()):
                    if parent == old:
                        del self._access[token]
                refresh = "rt-" + secrets.token_hex(12)
                refresh_ttl = int(body.get("refresh_token_expires_in") or 2_592_000)
                self._refresh[refresh] = now + timedelta(seconds=refresh_ttl)
                access = "at-" + secrets.token_hex(12)
                self._access[access] = (now + timedelta(seconds=expires_in), refresh)
                return Response(
                    201,
                    {
                        "access_token": access,
                        "refresh_token": refresh,
                        "token_type": "bearer",
                        "scope": body.get("scope", "read write"),
                        "expires_in": expires_in,
                        "refresh_token_expires_in": refresh_ttl,
                    },
                )
        return Response(
            400,
            {"error": "unsupported_grant_type", "error_description": f"grant_type {grant!r}"},
        )
