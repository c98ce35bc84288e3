"""The ``jira`` section of ``config/sources.yaml``: connection, JQL scope and field mappings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from engine.model import Priority, Status

# Jira's default priority schemes: Cloud (Highest..Lowest) and Server/Data Center and older
# Cloud sites (Blocker..Trivial, Major the default); sites that renamed them override the map.
DEFAULT_PRIORITY_MAP: dict[str, Priority] = {
    "Highest": Priority.URGENT,
    "High": Priority.HIGH,
    "Medium": Priority.NORMAL,
    "Low": Priority.LOW,
    "Lowest": Priority.LOW,
    "Blocker": Priority.URGENT,
    "Critical": Priority.HIGH,
    "Major": Priority.NORMAL,
    "Minor": Priority.LOW,
    "Trivial": Priority.LOW,
}
DEFAULT_PRIORITY_NAMES: dict[Priority, str] = {
    Priority.URGENT: "Highest",
    Priority.HIGH: "High",
    Priority.NORMAL: "Medium",
    Priority.LOW: "Low",
}
SERVER_PRIORITY_NAMES: dict[Priority, str] = {
    Priority.URGENT: "Blocker",
    Priority.HIGH: "Critical",
    Priority.NORMAL: "Major",
    Priority.LOW: "Minor",
}
# Workflow status names that say more than their category (JSM's default service workflow).
DEFAULT_STATUS_MAP: dict[str, Status] = {
    "Waiting for customer": Status.PENDING,
    "Waiting for support": Status.OPEN,
    "In Progress": Status.OPEN,
    "Pending vendor": Status.ON_HOLD,
    "Pending": Status.ON_HOLD,
    "Done": Status.SOLVED,
    "Resolved": Status.SOLVED,
    "Closed": Status.CLOSED,
    "Canceled": Status.CLOSED,
}
# Every status has one of these category keys; they are the fallback for unmapped names.
DEFAULT_CATEGORY_MAP: dict[str, Status] = {
    "new": Status.NEW,
    "indeterminate": Status.OPEN,
    "done": Status.SOLVED,
}


class FieldIds(BaseModel):
    """Custom field ids, when a site's names are ambiguous: they override ``field_names``."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = None
    customer_tier: str | None = None
    affected_users: str | None = None
    organization: str | None = None


class FieldNames(BaseModel):
    """Custom fields by name (ids differ per site); resolved once through the field list."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = "Category"
    customer_tier: str | None = "Customer Tier"
    affected_users: str | None = "Affected Users"
    organization: str | None = "Organizations"  # JSM's own field


class GroupTarget(BaseModel):
    """What ``Assign(group=...)`` means on Jira: an assignee, a component, or both."""

    model_config = ConfigDict(extra="forbid")

    assignee: str | None = None  # accountId
    component: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> GroupTarget:
        if self.assignee is None and self.component is None:
            raise ValueError("a group needs an 'assignee' accountId or a 'component' name")
        return self


class LinkedIssueSettings(BaseModel):
    """How escalation issues are created in the engineering project."""

    model_config = ConfigDict(extra="forbid")

    issue_type: str = "Task"
    labels: list[str] = Field(default_factory=lambda: ["from-support"])
    relationship: str = "escalated from"


class Settings(BaseModel):
    """One Jira Cloud (or Data Center) site."""

    model_config = ConfigDict(extra="forbid")

    # cloud: REST v3, ADF bodies, /search/jql token paging; datacenter: REST v2, wiki text
    # bodies, /search with startAt paging, users by key/name, PAT bearer auth
    flavour: Literal["cloud", "datacenter"] = "cloud"
    url: str  # https://acme.atlassian.net, or https://api.atlassian.com/ex/jira/{cloudId}
    browse_url: str | None = None  # where people open issues; defaults to ``url``
    auth: Literal["basic", "pat", "oauth"] = "basic"
    email: str | None = None
    api_token: SecretStr | None = None
    pat: SecretStr | None = None  # Data Center personal access token
    oauth_token: SecretStr | None = None

    projects: list[str] = Field(min_length=1)  # the support projects pulled, e.g. ["SUP"]
    jql_filter: str | None = None  # extra restriction ANDed to the pull query
    # JQL dates are read in the API user's profile zone (``timeZone`` of /myself); set this
    # only to override what /myself says
    jql_time_zone: str | None = None
    page_size: int = Field(default=100, ge=1, le=5000)
    overlap_seconds: int = Field(default=60, ge=0)
    comment_page_size: int = Field(default=100, ge=1)
    changelog_page_size: int = Field(default=100, ge=1)

    priority_map: dict[str, Priority] = Field(default_factory=lambda: dict(DEFAULT_PRIORITY_MAP))
    # the names written back; default by flavour (Cloud Highest.., Data Center Blocker..)
    priority_names: dict[Priority, str] | None = None
    # for issues with no priority, or one not in ``priority_map`` (then with a MappingWarning)
    default_priority: Priority = Priority.NORMAL
    status_map: dict[str, Status] = Field(default_factory=lambda: dict(DEFAULT_STATUS_MAP))
    status_category_map: dict[str, Status] = Field(
        default_factory=lambda: dict(DEFAULT_CATEGORY_MAP)
    )
    fields: FieldIds = Field(default_factory=FieldIds)
    field_names: FieldNames = Field(default_factory=FieldNames)

    # Author roles, from identity only: the sidecar's own account; ``app`` accounts are bots;
    # ``customer`` accounts and the service desk's customers are customers; the rest are agents,
    # or only ``agent_account_ids`` when that list is set.
    agent_account_ids: list[str] = Field(default_factory=list)
    customer_account_types: list[str] = Field(default_factory=lambda: ["customer"])
    bot_account_types: list[str] = Field(default_factory=lambda: ["app"])
    # Data Center has no account types: its automation and integration users, by username
    bot_account_ids: list[str] = Field(default_factory=list)
    service_desk_id: str | None = None  # JSM: its customer list names the customers

    groups: dict[str, GroupTarget] = Field(default_factory=dict)
    notify_users: bool = False  # notifyUsers=false needs admin rights; Jira ignores it otherwise
    suppress_echoes: bool = True
    linked_issue: LinkedIssueSettings = Field(default_factory=LinkedIssueSettings)

    webhook_secret: SecretStr | None = None
    webhook_tolerance_seconds: int = 3600  # Jira retries a failed delivery for a while
    webhook_max_bytes: int = 1_000_000
    timeout_seconds: float = 30.0

    @model_validator(mode="after")
    def _credentials(self) -> Settings:
        needs = {
            "basic": ("email", "api_token"),
            "pat": ("pat",),
            "oauth": ("oauth_token",),
        }[self.auth]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"auth '{self.auth}' needs {', '.join(missing)}")
        if (
            self.flavour == "datacenter"
            and self.service_desk_id is None
            and not self.agent_account_ids
        ):
            raise ValueError(
                "a datacenter site's users carry no accountType: set service_desk_id (its "
                "customers are customers) or agent_account_ids"
            )
        return self

    @property
    def is_cloud(self) -> bool:
        return self.flavour == "cloud"

    @property
    def api_path(self) -> str:
        return "/rest/api/3" if self.is_cloud else "/rest/api/2"

    @property
    def write_priority_names(self) -> dict[Priority, str]:
        default = DEFAULT_PRIORITY_NAMES if self.is_cloud else SERVER_PRIORITY_NAMES
        return {**default, **(self.priority_names or {})}

    @property
    def site_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def issue_browse_base(self) -> str:
        return (self.browse_url or self.url).rstrip("/")
