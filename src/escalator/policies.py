"""Each ticket judged by the policy it started under (Grafana OnCall's escalation snapshot).

A ticket records the policy version it was first planned under. An admin's edit makes a new
version for new tickets; a ticket in flight keeps its own until it is solved (then it moves to
the current one) or until ``escalator migrate-policy`` moves the open tickets on. The config
files of every version in use are kept in the store, so an old version is rebuilt after a
restart.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from pathlib import Path

from engine.model import ACTIVE_STATUSES, Ticket
from engine.policy import Policy
from escalator.config import Config, ConfigError, load_config
from escalator.config.yamlsource import config_files
from escalator.logs import EventLog
from escalator.store import StateStore


def config_snapshot(config: Config) -> dict[str, str] | None:
    """The files ``config`` was loaded from, if they still hold what was loaded."""
    try:
        files = {p.name: p.read_text(encoding="utf-8") for p in config_files(config.path)}
    except (OSError, UnicodeDecodeError):
        return None
    digest = hashlib.sha256("\0".join(files.values()).encode()).hexdigest()[:12]
    return files if digest == config.policy.version else None


class PolicyBook:
    """The policies tickets are judged by, by version, and which ticket has which."""

    def __init__(
        self, store: StateStore, config: Config, log: EventLog, *, read_only: bool = False
    ) -> None:
        self._store = store
        self._log = log
        self._policies: dict[str, Policy] = {}
        self._versions: dict[str, str] | None = None  # ticket key -> version
        # read_only (explain): nothing is saved; the current config's snapshot included
        self._saved: set[str] = {config.policy.version} if read_only else set()
        self.current = config.policy
        self.use(config)

    def use(self, config: Config) -> None:
        """``config`` is now the current policy: new tickets are judged by it."""
        self.current = config.policy
        self._policies[config.policy.version] = config.policy
        if config.policy.version not in self._saved:
            files = config_snapshot(config)
            if files is not None:
                self._store.save_policy_snapshot(config.policy.version, files)
                self._saved.add(config.policy.version)

    def forget(self) -> None:
        """Read the tickets' versions from the store again (another process may have set them)."""
        self._versions = None

    def version_of(self, ticket_key: str) -> str | None:
        return self._known().get(ticket_key)

    def group(
        self, tickets: Iterable[Ticket], *, record: bool = True
    ) -> dict[str, tuple[Policy, list[Ticket]]]:
        """Tickets by the policy that judges them; records (unless ``record`` is false, as
        for ``plan``) the version of tickets planned for the first time, and moves solved
        tickets on to the current version."""
        known = self._known()
        current = self.current.version
        stamped: dict[str, str] = {}
        groups: dict[str, tuple[Policy, list[Ticket]]] = {}
        for ticket in tickets:
            version = known.get(ticket.key)
            if version is None or (version != current and ticket.status not in ACTIVE_STATUSES):
                version = current
                stamped[ticket.key] = version
            policy = self._policy(version)
            if policy is None:  # its snapshot is gone or no longer loads: judge it now
                version = current
                policy = self.current
                stamped[ticket.key] = version
            entry = groups.get(version)
            if entry is None:
                groups[version] = entry = (policy, [])
            entry[1].append(ticket)
        if stamped and record:
            self._store.set_policy_versions(stamped)
            known.update(stamped)
        return groups

    def migrate_open(self, tickets: Iterable[Ticket]) -> int:
        """Move every open ticket judged by an older version on to the current one."""
        known = self._known()
        moved = {
            t.key: self.current.version
            for t in tickets
            if t.status in ACTIVE_STATUSES and known.get(t.key, self.current.version)
            != self.current.version
        }
        self._store.set_policy_versions(moved)
        known.update(moved)
        return len(moved)

    def versions_in_use(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for version in self._known().values():
            counts[version] = counts.get(version, 0) + 1
        return counts

    def _known(self) -> dict[str, str]:
        if self._versions is None:
            self._versions = self._store.policy_versions()
        return self._versions

    def policy_for(self, ticket_key: str) -> tuple[str, Policy]:
        """The version and policy ``ticket_key`` is judged by (the current one when it has
        none recorded, or its version can no longer be rebuilt)."""
        version = self.version_of(ticket_key) or self.current.version
        policy = self._policy(version)
        return (version, policy) if policy is not None else (self.current.version, self.current)

    def _policy(self, version: str) -> Policy | None:
        policy = self._policies.get(version)
        if policy is not None:
            return policy
        files = self._store.policy_snapshot(version)
        if files is None:
            self._log.warning("policy.snapshot_missing", version=version)
            return None
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in files.items():
                (Path(tmp) / name).write_text(text, encoding="utf-8")
            try:
                policy = load_config(Path(tmp)).policy
            except ConfigError as exc:
                self._log.warning(
                    "policy.snapshot_unusable", version=version, problems=len(exc.problems)
                )
                return None
        self._policies[version] = policy
        return policy
