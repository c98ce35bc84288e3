"""The ``hubspot`` section of ``config/sources.yaml``: connection, limits and field mappings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.hubspot.paths import ApiPaths
from engine.model import Priority, Status

# Default pipeline "0" of a fresh portal; stage ids are portal-specific, so this is only a default.
DEFAULT_STAGES: dict[str, Status] = {
    "1": Status.NEW,
    "2": Status.PENDING,  # waiting on contact
    "3": Status.OPEN,  # waiting on us
    "4": Status.SOLVED,  # closed
}

DEFAULT_PRIORITIES: dict[str, Priority] = {
    "LOW": Priority.LOW,
    "MEDIUM": Priority.NORMAL,
    "HIGH": Priority.HIGH,
    "URGENT": Priority.URGENT,
}


class OAuthSettings(BaseModel):
    """An OAuth app's refresh token; access tokens are fetched and renewed before they expire."""

    model_config = ConfigDict(extra="forbid")

    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    # v1 is deprecated and removed on 2027-02-16 (reference §0); the date-based path replaces it
    token_path: str = "/oauth/2026-03/token"


class GroupTarget(BaseModel):
    """What an escalation group means in HubSpot: an owner, a team, or both."""

    model_config = ConfigDict(extra="forbid")

    owner_id: str | None = None
    team_id: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> GroupTarget:
        if self.owner_id is None and self.team_id is None:
            raise ValueError("a group needs owner_id or team_id")
        return self


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://api.hubapi.com"
    # "v3" for the legacy numbered paths, or a date version. 2026-09 is the newest GA version,
    # the one HubSpot's migration guide points to, and the only one with a published spec for
    # every API used here (tickets, notes, associations, owners, pipelines, conversations);
    # dated versions are supported 18 months or more, past the v4 (2027-03-30) and v1-v3
    # (September 2027) cut-offs
    api_version: str = "2026-09"
    # a legacy private-app token or a Service Key; or ``oauth`` instead
    access_token: SecretStr | None = None
    oauth: OAuthSettings | None = None
    portal_id: str | None = None  # only to build ticket links

    # webhooks: the app's client secret and the exact public URL HubSpot posts to (it is signed)
    webhook_secret: SecretStr | None = None
    webhook_url: str | None = None
    webhook_max_bytes: int = 1_000_000

    # field mappings
    pipeline_stages: dict[str, Status] = Field(default_factory=lambda: dict(DEFAULT_STAGES))
    priorities: dict[str, Priority] = Field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    labels_property: str = "escalation_labels"  # a multiple-checkbox property
    category_property: str | None = "hs_ticket_category"
    category_values: dict[str, str] = Field(default_factory=dict)  # native value -> category
    customer_tier_property: str | None = "customer_tier"
    affected_users_property: str | None = "affected_users"
    groups: dict[str, GroupTarget] = Field(default_factory=dict)

    # customer satisfaction: how often survey responses (CSAT feedback submissions) are
    # searched; a report figure, not a clock, so not every poll. 0: never
    feedback_every_seconds: int = Field(default=900, ge=0)

    # comments
    conversations: bool = True  # False when the portal has no help desk inbox
    sender_actor_id: str | None = None  # "A-<userId>" that customer messages are sent as
    note_owner_id: str | None = None

    # paging and budgets (reference §3.2, §3.8)
    page_size: int = Field(default=100, ge=1, le=200)
    search_cap: int = Field(default=10_000, ge=1)
    search_per_second: float = Field(default=4.0, gt=0)
    requests_per_10s: float = Field(default=190.0, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        ApiPaths(value)  # raises ValueError naming what it expected
        return value

    @model_validator(mode="after")
    def _auth(self) -> Settings:
        if (self.access_token is None) == (self.oauth is None):
            raise ValueError("set exactly one of access_token or oauth")
        return self
