"""What ids mean in this Zendesk account: users (role, email), organizations, group names.

Kept between pulls. The ticket export side-loads the users, groups and organizations its
tickets point at (``remember``); what is still missing (other comment authors, a group a change
event names) is looked up in batches of up to 100 (``show_many``), once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from connectors.zendesk.mapping import Directory, as_id

SHOW_MANY_LIMIT = 100
ORGANIZATION_TTL_SECONDS = 900.0  # organization fields (customer tier) change rarely

Lookup = Callable[[list[int]], list[dict[str, Any]]]


class AccountDirectory:
    def __init__(
        self,
        *,
        users: Lookup,
        organizations: Lookup,
        groups: Callable[[], list[dict[str, Any]]],
        clock: Callable[[], float],
    ) -> None:
        self._fetch_users = users
        self._fetch_organizations = organizations
        self._fetch_groups = groups
        self._clock = clock
        self._lock = threading.Lock()
        self._users: dict[int, Mapping[str, Any]] = {}
        self._organizations: dict[int, tuple[float, Mapping[str, Any]]] = {}
        self._groups: dict[int, str] = {}

    def remember(self, sideloads: Mapping[str, list[Any]]) -> None:
        """Users, groups and organizations an export page brought along."""
        now = self._clock()
        with self._lock:
            for user in sideloads.get("users", []):
                uid = as_id(user.get("id")) if isinstance(user, Mapping) else None
                if uid is not None:
                    self._users[uid] = user
            for group in sideloads.get("groups", []):
                gid = as_id(group.get("id")) if isinstance(group, Mapping) else None
                if gid is not None:
                    self._groups[gid] = str(group.get("name"))
            for org in sideloads.get("organizations", []):
                oid = as_id(org.get("id")) if isinstance(org, Mapping) else None
                if oid is not None:
                    self._organizations[oid] = (now, org)

    def for_tickets(
        self, raws: Iterable[Any], audits: Iterable[Sequence[Mapping[str, Any]]]
    ) -> Directory:
        """Everything these tickets and their audits name, looked up where not yet known."""
        user_ids: set[int] = set()
        org_ids: set[int] = set()
        group_ids: set[int] = set()
        for raw in raws:
            for key, into in (
                ("requester_id", user_ids),
                ("organization_id", org_ids),
                ("group_id", group_ids),
            ):
                value = as_id(raw.get(key))
                if value is not None:
                    into.add(value)
        for ticket_audits in audits:
            for audit in ticket_audits:
                for event in audit.get("events") or []:
                    author = as_id(event.get("author_id", audit.get("author_id")))
                    is_comment = event.get("type") in ("Comment", "VoiceComment")
                    if is_comment and author is not None and author > 0:  # -1: system user
                        user_ids.add(author)
                    if event.get("field_name") == "group_id":
                        for value in (event.get("value"), event.get("previous_value")):
                            gid = as_id(value)
                            if gid is not None:  # audits send ids as strings
                                group_ids.add(gid)
        self._load_users(user_ids)
        orgs = self._load_organizations(org_ids)
        with self._lock:
            unknown_groups = bool(group_ids - set(self._groups))
        if unknown_groups:
            self._load_groups()
        with self._lock:
            return Directory(
                users={i: self._users[i] for i in user_ids if i in self._users},
                organizations=orgs,
                groups=dict(self._groups),
            )

    def group_id(self, name: str) -> int | None:
        for attempt in range(2):  # a group created since the last load: reload once
            with self._lock:
                for gid, gname in self._groups.items():
                    if gname == name:
                        return gid
            if attempt == 0:
                self._load_groups()
        return None

    def _load_users(self, ids: set[int]) -> None:
        with self._lock:
            missing = sorted(ids - set(self._users))
        for chunk in _chunks(missing, SHOW_MANY_LIMIT):
            users = self._fetch_users(chunk)
            with self._lock:
                for user in users:
                    self._users[int(user["id"])] = user

    def _load_organizations(self, ids: set[int]) -> dict[int, Mapping[str, Any]]:
        now = self._clock()
        with self._lock:
            stale = sorted(
                i
                for i in ids
                if i not in self._organizations
                or now - self._organizations[i][0] > ORGANIZATION_TTL_SECONDS
            )
        for chunk in _chunks(stale, SHOW_MANY_LIMIT):
            orgs = self._fetch_organizations(chunk)
            with self._lock:
                for org in orgs:
                    self._organizations[int(org["id"])] = (now, org)
        with self._lock:
            return {i: self._organizations[i][1] for i in ids if i in self._organizations}

    def _load_groups(self) -> None:
        groups = self._fetch_groups()
        with self._lock:
            self._groups = {int(g["id"]): str(g.get("name")) for g in groups}


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
