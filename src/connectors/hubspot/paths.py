"""Where each HubSpot API lives, for the legacy ``v3`` paths or a date-based version.

Date-based versions (``/crm/objects/2026-09/tickets``) are HubSpot's API from 2026-03 on; the
numbered ones go unsupported (v4 on 2027-03-30, v1-v3 in September 2027; HubSpot developer
changelog "Legacy APIs and Apps: What's Going Unsupported and When", and the legacy
migration guide, developers.hubspot.com/docs/api-reference/legacy/migration-guide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEGACY = "v3"
DATED = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class ApiPaths:
    version: str  # "v3" (legacy numbered paths) or a date version such as "2026-09"

    def __post_init__(self) -> None:
        if self.version != LEGACY and not DATED.match(self.version):
            raise ValueError(
                f"api_version {self.version!r}: expected 'v3' or a date like '2026-09'"
            )

    @property
    def dated(self) -> bool:
        return self.version != LEGACY

    def objects(self, object_type: str) -> str:
        if self.dated:
            return f"/crm/objects/{self.version}/{object_type}"
        return f"/crm/v3/objects/{object_type}"

    def associations(self, from_type: str, to_type: str) -> str:
        if self.dated:
            return f"/crm/associations/{self.version}/{from_type}/{to_type}"
        return f"/crm/v4/associations/{from_type}/{to_type}"

    @property
    def owners(self) -> str:
        return f"/crm/owners/{self.version}" if self.dated else "/crm/v3/owners/"

    def pipelines(self, object_type: str) -> str:
        if self.dated:
            return f"/crm/pipelines/{self.version}/{object_type}"
        return f"/crm/v3/pipelines/{object_type}"

    @property
    def threads(self) -> str:
        if self.dated:
            return f"/conversations/conversations/{self.version}/threads"
        return "/conversations/v3/conversations/threads"
