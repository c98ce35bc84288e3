"""Credentials, said once: the ``Authorization`` header every request carries."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from connectors.jira.settings import Settings


@dataclass(frozen=True, slots=True)
class JiraAuth:
    """Basic email + API token (Cloud), PAT bearer (Data Center) or an OAuth 2.0 bearer token."""

    scheme: str
    secret: str
    email: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> JiraAuth:
        if settings.auth == "basic":
            assert settings.email is not None
            assert settings.api_token is not None
            return cls("basic", settings.api_token.get_secret_value(), settings.email)
        if settings.auth == "pat":
            assert settings.pat is not None
            return cls("pat", settings.pat.get_secret_value())
        assert settings.oauth_token is not None
        return cls("oauth", settings.oauth_token.get_secret_value())

    def header(self) -> str:
        """The ``Authorization`` header value."""
        if self.scheme == "basic":
            raw = f"{self.email}:{self.secret}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return f"Bearer {self.secret}"

    def __repr__(self) -> str:  # never print the secret
        return f"JiraAuth(scheme={self.scheme!r}, email={self.email!r})"
