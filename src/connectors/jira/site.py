"""What a Jira site says about itself, read once per process and cached: who the API user is
(its id and profile time zone), which custom field ids carry our fields, and who of the
comment authors are the service desk's customers (each author looked up once)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.errors import FatalError
from connectors.jira.settings import Settings

OUR_FIELDS = ("category", "customer_tier", "affected_users", "organization")
# JSM's own locked fields (satisfaction, approvals, request language, request type...) share
# the low custom field ids and may share a name with ours; only the organization is JSM's.
JSM_TYPE_PREFIX = "com.atlassian.servicedesk:"
# JSM's "Satisfaction date": set when the customer rates the request, so a pulled issue tells,
# with no further call, whether there is request feedback to read.
FEEDBACK_DATE_TYPE = "com.atlassian.servicedesk:sd-request-feedback-date"


def user_id(user: Mapping[str, Any] | None) -> str | None:
    """A user's identity: ``accountId`` on Cloud, the username (``name``) on Data Center, as
    its writes and JQL name people."""
    if not user:
        return None
    value = user.get("accountId") or user.get("name") or user.get("key")
    return str(value) if value else None


@dataclass(frozen=True, slots=True)
class CustomField:
    id: str
    name: str
    kind: str  # schema.type: option, array, user, number, string, any...
    items: str | None = None  # schema.items for arrays


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Our logical fields -> the site's custom fields (None: the site has no such field)."""

    category: CustomField | None = None
    customer_tier: CustomField | None = None
    affected_users: CustomField | None = None
    organization: CustomField | None = None
    satisfaction_date: CustomField | None = None  # JSM's own, found by its type

    def ids(self) -> list[str]:
        return [f.id for f in (self.category, self.customer_tier, self.affected_users,
                               self.organization, self.satisfaction_date)
                if f is not None]  # fmt: skip


def resolve_fields(settings: Settings, listed: Sequence[Mapping[str, Any]]) -> FieldMap:
    """Pure: pick each field by id override, else by exact (case-blind) name; ambiguity fails."""
    customs: dict[str, tuple[CustomField, bool]] = {}  # id -> (field, owned by JSM)
    feedback_date: CustomField | None = None
    for raw in listed:
        schema = raw.get("schema") or {}
        field_id = str(raw.get("id"))
        if field_id.startswith("customfield_"):
            field = CustomField(
                field_id, str(raw.get("name") or ""), str(schema.get("type") or "any"),
                schema.get("items"),
            )  # fmt: skip
            custom_type = str(schema.get("custom") or "")
            customs[field_id] = (field, custom_type.startswith(JSM_TYPE_PREFIX))
            if custom_type == FEEDBACK_DATE_TYPE and feedback_date is None:
                feedback_date = field
    chosen: dict[str, CustomField | None] = {}
    for logical in OUR_FIELDS:
        wanted_id = getattr(settings.fields, logical)
        wanted_name = getattr(settings.field_names, logical)
        if wanted_id:
            if wanted_id not in customs:
                raise FatalError(f"jira field id {wanted_id!r} ({logical}) is not on this site")
            chosen[logical] = customs[wanted_id][0]
            continue
        matches = [
            field
            for field, jsm in customs.values()
            if wanted_name
            and field.name.casefold() == wanted_name.casefold()
            and (logical == "organization" or not jsm)
        ]
        if len(matches) > 1:
            ids = ", ".join(f.id for f in matches)
            raise FatalError(
                f"jira has {len(matches)} fields named {wanted_name!r} ({ids}): "
                f"set fields.{logical} to the one to use"
            )
        chosen[logical] = matches[0] if matches else None
    return FieldMap(**chosen, satisfaction_date=feedback_date)


class SiteFacts:
    """Lazily read, then cached for the life of the connector (one per process)."""

    def __init__(
        self,
        settings: Settings,
        *,
        myself: Callable[[], dict[str, Any]],
        fields: Callable[[], list[dict[str, Any]]],
        customers: Callable[[str, str | None], list[dict[str, Any]]],
    ) -> None:
        self._settings = settings
        self._read_myself = myself
        self._read_fields = fields
        self._read_customers = customers
        self._lock = threading.RLock()
        self._me: dict[str, Any] | None = None
        self._fields: FieldMap | None = None
        self._customers: set[str] = set()
        self._not_customers: set[str] = set()
        self._listed = False

    def _myself(self) -> dict[str, Any]:
        with self._lock:
            if self._me is None:
                self._me = self._read_myself()
            return self._me

    @property
    def account(self) -> str | None:
        """The API user: whatever it writes is the sidecar's."""
        return user_id(self._myself())

    @property
    def time_zone(self) -> str:
        """The zone JQL date literals are read in: the API user's profile zone."""
        if self._settings.jql_time_zone:
            return self._settings.jql_time_zone
        return str(self._myself().get("timeZone") or "UTC")

    @property
    def fields(self) -> FieldMap:
        with self._lock:
            if self._fields is None:
                self._fields = resolve_fields(self._settings, self._read_fields())
            return self._fields

    def is_customer(self, account: str, name: str | None = None) -> bool:
        """On the service desk's customer list. Cloud looks each unknown author up by name
        (customers mostly carry ``accountType: customer`` and need no lookup); Data Center,
        whose users carry no type, reads the whole list once, then looks up newcomers."""
        desk = self._settings.service_desk_id
        if desk is None:
            return False
        with self._lock:
            if account in self._customers:
                return True
            if account in self._not_customers:
                return False
            if not self._settings.is_cloud and not self._listed:
                self._customers |= self._ids(self._read_customers(desk, None))
                self._listed = True
                if account in self._customers:
                    return True
            self._customers |= self._ids(self._read_customers(desk, name or account))
            if account in self._customers:
                return True
            self._not_customers.add(account)
            return False

    @staticmethod
    def _ids(users: list[dict[str, Any]]) -> set[str]:
        return {u for u in (user_id(c) for c in users) if u}
