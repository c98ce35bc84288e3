"""The ``zendesk`` section of ``config/sources.yaml``: connection, auth and field mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiTokenAuth(_Strict):
    """Legacy ``{email}/token`` Basic auth; Zendesk retires API tokens on 2027-04-30."""

    kind: Literal["api_token"] = "api_token"
    email: str
    token: SecretStr


class ClientCredentialsAuth(_Strict):
    """OAuth client-credentials grant: acts as the admin who created the client (for sync)."""

    kind: Literal["oauth_client_credentials"] = "oauth_client_credentials"
    client_id: str
    client_secret: SecretStr
    scope: str = "read write"
    expires_in: int = Field(default=1800, gt=300, lt=172_800)  # always sent: responses may omit it
    # where the access token is kept until it expires, so a restart costs no new grant
    token_file: Path | None = None


class RefreshTokenAuth(_Strict):
    """OAuth refresh-token grant; each refresh rotates the pair, persisted to ``token_file``."""

    kind: Literal["oauth_refresh_token"] = "oauth_refresh_token"
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr  # the first one; ``token_file`` supersedes it once written
    token_file: Path
    scope: str = "read write"
    expires_in: int = Field(default=1800, gt=300, lt=172_800)


Auth = Annotated[
    ApiTokenAuth | ClientCredentialsAuth | RefreshTokenAuth, Field(discriminator="kind")
]


class FieldSource(_Strict):
    """Where one model field lives in this account: first match wins, in this order."""

    custom_field_id: int | None = None  # ticket custom field (``custom_fields[].id``)
    organization_field: str | None = None  # key in the organization's ``organization_fields``
    tag_prefix: str | None = None  # a tag like ``tier_gold`` with prefix ``tier_`` gives "gold"


class FieldMapping(_Strict):
    category: FieldSource = FieldSource(tag_prefix="category_")
    customer_tier: FieldSource = FieldSource(organization_field="customer_tier")
    affected_users: FieldSource = FieldSource()


class Settings(_Strict):
    """One Zendesk source. ``url`` is ``https://{subdomain}.zendesk.com`` (or an emulator)."""

    kind: Literal["zendesk"] = "zendesk"
    url: str
    auth: Auth
    webhook_secret: SecretStr | None = None
    webhook_tolerance_seconds: float = 300.0
    page_size: int = Field(default=1000, ge=1, le=1000)
    # users whose comments an integration writes (agents by role, never a person's response)
    bot_user_ids: tuple[int, ...] = ()
    timeout_seconds: float = 30.0
    fields: FieldMapping = FieldMapping()

    @field_validator("url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("url must start with https:// (e.g. https://acme.zendesk.com)")
        return value
