"""Applying the engine's actions to one ticket in as few calls as HubSpot allows.

Comments first (a note, or a thread message per public comment), then one PATCH carrying every
property change (labels, priority, owner/team), computed against a fresh read of the ticket so
no write repeats what it already shows. Notes and messages carry the action's marker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.base import ActionResult, ActionStatus
from connectors.errors import ConnectorError, FatalError
from connectors.hubspot.client import JSON, HubSpotClient
from connectors.hubspot.comments import note_properties
from connectors.hubspot.conversations import Undeliverable, message_to_comment, reply_message
from connectors.hubspot.mapping import (
    MODIFIED,
    OWNER,
    PRIORITY,
    TEAM,
    FieldMap,
    join_labels,
    parse_instant,
    split_labels,
    to_millis,
)
from engine.model import (
    Action,
    AddLabels,
    Assign,
    PostComment,
    RemoveLabels,
    SetPriority,
    Ticket,
)

PropertyAction = SetPriority | AddLabels | RemoveLabels | Assign
UNDELIVERED_NOTE = (
    "A customer update could not be delivered ({reason}). It was not sent to the customer; "
    "its text follows.\n\n{body}"
)


@dataclass(slots=True)
class WriteStats:
    """Counters the app exports."""

    patches: int = 0
    notes: int = 0
    messages: int = 0
    undelivered_public_comments: int = 0
    skipped_no_change: int = 0


@dataclass(slots=True)
class WriteOutcome:
    results: dict[str, ActionResult]
    echo_mark: int | None  # hs_lastmodifieddate our writes left, when nothing else moved it


def _stamp(record: JSON) -> int | None:
    value = (record.get("properties") or {}).get(MODIFIED) or record.get("updatedAt")
    try:
        return to_millis(parse_instant(value)) if value else None
    except ValueError:
        return None


class TicketWriter:
    def __init__(
        self,
        client: HubSpotClient,
        fields: FieldMap,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.fields = fields
        self.settings = fields.settings
        self.now = now
        self.stats = WriteStats()

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> WriteOutcome:
        results: dict[str, ActionResult] = {}
        comments: list[PostComment] = []
        props: list[PropertyAction] = []
        for action in actions:
            if isinstance(action, PostComment):
                comments.append(action)
            elif isinstance(action, SetPriority | AddLabels | RemoveLabels | Assign):
                props.append(action)
            else:
                results[action.key] = ActionResult(
                    action.key, ActionStatus.FAILED, f"{action.kind} is not a HubSpot write"
                )
        written = {c.marker for c in ticket.comments if c.marker}
        pending = []
        for c in comments:
            if c.key in written:  # a crash after the write: the marker is already there
                results[c.key] = ActionResult(c.key, ActionStatus.ALREADY, "marker found")
            else:
                pending.append(c)
        if not pending and not props:
            return WriteOutcome(results, None)

        try:
            fresh = self.client.get_ticket(
                ticket.id, [self.settings.labels_property, PRIORITY, OWNER, TEAM, MODIFIED]
            )
        except FatalError:
            raise
        except ConnectorError as exc:
            for a in [*pending, *props]:
                results[a.key] = ActionResult(a.key, ActionStatus.FAILED, str(exc))
            return WriteOutcome(results, None)
        # our writes are an echo only if nothing changed since the engine read the ticket
        unchanged = _stamp(fresh) == to_millis(ticket.updated_at)
        stamps: list[int] = []

        thread_cache: dict[str, JSON | None] = {}
        for action in pending:
            result, stamp = self._comment(ticket, action, thread_cache)
            results[action.key] = result
            if stamp is not None:
                stamps.append(stamp)
        if props:
            patch_results, stamp = self._patch(ticket, fresh, props)
            results.update(patch_results)
            if stamp is not None:
                stamps.append(stamp)
        mark = max(stamps) if stamps and unchanged else None
        return WriteOutcome(results, mark)

    # -- comments --------------------------------------------------------------------------
    def _comment(
        self, ticket: Ticket, action: PostComment, threads: dict[str, JSON | None]
    ) -> tuple[ActionResult, int | None]:
        try:
            if not action.public:
                return self._note(ticket, action.body, action.key, "")
            return self._public(ticket, action, threads)
        except FatalError:
            raise
        except ConnectorError as exc:
            return ActionResult(action.key, ActionStatus.FAILED, str(exc)), None

    def _note(
        self, ticket: Ticket, body: str, key: str, detail: str
    ) -> tuple[ActionResult, int | None]:
        props = note_properties(body, key, self.now(), self.settings.note_owner_id)
        note = self.client.create_note(ticket.id, props)
        self.stats.notes += 1
        return (
            ActionResult(key, ActionStatus.APPLIED, detail, external_id=f"note:{note['id']}"),
            _stamp(note),
        )

    def _public(
        self, ticket: Ticket, action: PostComment, threads: dict[str, JSON | None]
    ) -> tuple[ActionResult, int | None]:
        reason = "the HubSpot source has conversations turned off"
        if self.settings.conversations:
            if ticket.id not in threads:
                threads[ticket.id] = self.client.thread_for_ticket(ticket.id)
            thread = threads[ticket.id]
            reason = "the ticket has no conversation thread"
            if thread is not None:
                messages = self.client.thread_messages(str(thread["id"]))
                for message in messages:
                    comment = message_to_comment(message)
                    if comment is not None and comment.marker == action.key:
                        return ActionResult(action.key, ActionStatus.ALREADY, "marker found"), None
                try:
                    egg = reply_message(
                        thread, messages, action.body, action.key, self.settings.sender_actor_id
                    )
                except Undeliverable as exc:
                    reason = str(exc)
                else:
                    sent = self.client.post_message(str(thread["id"]), egg)
                    self.stats.messages += 1
                    created = sent.get("createdAt")
                    return (
                        ActionResult(
                            action.key, ActionStatus.APPLIED, external_id=f"message:{sent['id']}"
                        ),
                        to_millis(parse_instant(created)) if created else None,
                    )
        # no public channel: keep the text as an internal note and say so
        self.stats.undelivered_public_comments += 1
        text = UNDELIVERED_NOTE.format(reason=reason, body=action.body)
        return self._note(ticket, text, action.key, f"customer update not delivered: {reason}")

    # -- properties ------------------------------------------------------------------------
    def _patch(
        self, ticket: Ticket, fresh: JSON, actions: Sequence[PropertyAction]
    ) -> tuple[dict[str, ActionResult], int | None]:
        current = fresh.get("properties") or {}
        labels_prop = self.settings.labels_property
        labels = set(split_labels(current.get(labels_prop)))
        wanted: dict[str, str] = {}
        results: dict[str, ActionResult] = {}
        changing: list[str] = []

        for action in actions:
            before = dict(wanted), set(labels)
            try:
                if isinstance(action, AddLabels):
                    labels |= set(action.labels)
                elif isinstance(action, RemoveLabels):
                    labels -= set(action.labels)
                elif isinstance(action, SetPriority):
                    wanted[PRIORITY] = self.fields.native_priority(action.priority)
                else:
                    wanted.update(self._assignment(action))
            except (KeyError, ValueError, ConnectorError) as exc:
                if isinstance(exc, FatalError):
                    raise
                results[action.key] = ActionResult(action.key, ActionStatus.FAILED, str(exc))
                continue
            moved = labels != before[1] or any(
                wanted[p] != before[0].get(p, str(current.get(p) or "")) for p in wanted
            )
            if moved:
                changing.append(action.key)
            else:
                results[action.key] = ActionResult(action.key, ActionStatus.ALREADY, "no change")

        changes = {p: v for p, v in wanted.items() if v != str(current.get(p) or "")}
        if labels != split_labels(current.get(labels_prop)):
            changes[labels_prop] = join_labels(labels)
        if not changes:  # never send a write that changes nothing
            self.stats.skipped_no_change += 1
            for key in changing:
                results[key] = ActionResult(key, ActionStatus.ALREADY, "no change")
            return results, None
        try:
            updated = self.client.update_ticket(ticket.id, changes)
        except FatalError:
            raise
        except ConnectorError as exc:
            for key in changing:
                results[key] = ActionResult(key, ActionStatus.FAILED, str(exc))
            return results, None
        self.stats.patches += 1
        for key in changing:
            results[key] = ActionResult(key, ActionStatus.APPLIED, external_id=ticket.id)
        return results, _stamp(updated)

    def _assignment(self, action: Assign) -> dict[str, str]:
        if action.group is not None:
            target = self.settings.groups.get(action.group)
            if target is None:
                raise KeyError(f"no HubSpot owner or team configured for group {action.group!r}")
            found: dict[str, str] = {}
            if target.owner_id:
                found[OWNER] = target.owner_id
            if target.team_id:
                found[TEAM] = target.team_id
            return found
        if action.user is None:
            raise ValueError("Assign names neither a group nor a user")
        if action.user.isdigit():
            return {OWNER: action.user}
        owner = self.client.owner_id_for_email(action.user)
        if owner is None:
            raise KeyError(f"no HubSpot owner with email {action.user!r}")
        return {OWNER: owner}
