"""Applying the engine's actions to tickets in as few calls as HubSpot allows.

Comments first (a note, or a thread message per public comment), then the property changes
(labels, priority, owner/team), computed against the ticket as the connector read it in this
cycle (or, if it did not, a fresh read) so no write repeats what the ticket already shows and
nothing is sent that changes nothing. One ticket's changes go in one PATCH; many tickets' in
batch updates of up to 100 (``apply_many``). Notes and messages carry the action's marker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connectors.base import ActionResult, ActionStatus
from connectors.errors import AuthError, ConnectorError, FatalError
from connectors.hubspot.client import BATCH_READ_MAX, JSON, HubSpotClient, chunks
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
from connectors.hubspot.pull import RecentRecords
from connectors.hubspot.threads import ThreadIndex
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
    batch_updates: int = 0
    notes: int = 0
    messages: int = 0
    undelivered_public_comments: int = 0
    skipped_no_change: int = 0
    rereads: int = 0  # tickets read again before a write (not read earlier in the cycle)


@dataclass(slots=True)
class WriteOutcome:
    results: dict[str, ActionResult]
    echo_mark: int | None  # hs_lastmodifieddate our writes left, when nothing else moved it


@dataclass(slots=True)
class _Pending:
    """One ticket's writes on their way: what is decided so far and what is left to send."""

    ticket: Ticket
    results: dict[str, ActionResult] = field(default_factory=dict)
    props: list[PropertyAction] = field(default_factory=list)
    changes: dict[str, str] = field(default_factory=dict)
    changing: list[str] = field(default_factory=list)  # keys the property write carries
    stamps: list[int] = field(default_factory=list)
    unchanged: bool = False  # a fresh read showed nothing moved since the engine's read
    current: JSON | None = None  # the ticket's properties the changes were decided against


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
        records: RecentRecords | None = None,
        threads: ThreadIndex | None = None,
    ) -> None:
        self.client = client
        self.fields = fields
        self.settings = fields.settings
        self.now = now
        self.records = records or RecentRecords()
        self.threads = threads or ThreadIndex()
        self.stats = WriteStats()

    def apply(self, ticket: Ticket, actions: Sequence[Action]) -> WriteOutcome:
        [outcome] = self.apply_many([(ticket, actions)])
        return outcome

    def apply_many(self, items: Sequence[tuple[Ticket, Sequence[Action]]]) -> list[WriteOutcome]:
        """Every ticket's comments, then all property changes in batch updates."""
        pending = [self._comments_then_changes(ticket, actions) for ticket, actions in items]
        self._send_changes([p for p in pending if p.changes])
        return [
            WriteOutcome(p.results, max(p.stamps) if p.stamps and p.unchanged else None)
            for p in pending
        ]

    # -- one ticket --------------------------------------------------------------------------
    def _comments_then_changes(self, ticket: Ticket, actions: Sequence[Action]) -> _Pending:
        p = _Pending(ticket)
        comments: list[PostComment] = []
        for action in actions:
            if isinstance(action, PostComment):
                comments.append(action)
            elif isinstance(action, SetPriority | AddLabels | RemoveLabels | Assign):
                p.props.append(action)
            else:
                p.results[action.key] = ActionResult(
                    action.key, ActionStatus.FAILED, f"{action.kind} is not a HubSpot write"
                )
        written = {c.marker for c in ticket.comments if c.marker}
        todo = []
        for c in comments:
            if c.key in written:  # a crash after the write: the marker is already there
                p.results[c.key] = ActionResult(c.key, ActionStatus.ALREADY, "marker found")
            else:
                todo.append(c)
        if not todo and not p.props:
            return p
        current = self._current(p) if p.props else None
        for action in todo:
            result, stamp = self._comment(ticket, action)
            p.results[action.key] = result
            if stamp is not None:
                p.stamps.append(stamp)
        if current is not None:
            self._decide_changes(p, current)
        elif p.props:
            for a in p.props:
                p.results.setdefault(a.key, ActionResult(a.key, ActionStatus.FAILED, "not read"))
        return p

    def _current(self, p: _Pending) -> JSON | None:
        """The ticket's properties now: as read in this cycle, else read again."""
        kept = self.records.take(p.ticket.id, to_millis(p.ticket.updated_at))
        if kept is not None:
            return kept
        try:
            fresh = self.client.get_ticket(
                p.ticket.id, [self.settings.labels_property, PRIORITY, OWNER, TEAM, MODIFIED]
            )
        except FatalError:
            raise
        except ConnectorError as exc:
            for a in p.props:
                p.results[a.key] = ActionResult(a.key, ActionStatus.FAILED, str(exc))
            p.props = []
            return None
        self.stats.rereads += 1
        # our writes are an echo only if nothing changed since the engine read the ticket
        p.unchanged = _stamp(fresh) == to_millis(p.ticket.updated_at)
        return fresh

    # -- comments --------------------------------------------------------------------------
    def _comment(self, ticket: Ticket, action: PostComment) -> tuple[ActionResult, int | None]:
        try:
            if not action.public:
                return self._note(ticket, action.body, action.key, "")
            return self._public(ticket, action)
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

    def _thread(self, ticket_id: str) -> JSON | None:
        """The ticket's thread record: as last listed or looked up, else looked up now."""
        known = self.threads.thread_of(ticket_id)
        record = self.threads.record(known) if known is not None else None
        if record is not None:
            return record
        thread = (
            self.client.get_thread(known) if known else self.client.thread_for_ticket(ticket_id)
        )
        if thread is None:
            return None
        self.threads.link(ticket_id, str(thread["id"]))
        self.threads.remember(thread)
        return thread

    def _public(self, ticket: Ticket, action: PostComment) -> tuple[ActionResult, int | None]:
        reason = "the HubSpot source has conversations turned off"
        if self.settings.conversations:
            thread = self._thread(ticket.id)
            reason = "the ticket has no conversation thread"
            if thread is not None:
                thread_id = str(thread["id"])
                messages = self.threads.cached_messages(thread_id)
                if messages is None:
                    messages = self.client.thread_messages(thread_id)
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
                    sent = self.client.post_message(thread_id, egg)
                    # our own message: known without reading the thread again
                    self.threads.add_own_message(thread_id, messages, sent)
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
    def _decide_changes(self, p: _Pending, record: JSON) -> None:
        p.current = record
        current: Mapping[str, str | None] = record.get("properties") or {}
        labels_prop = self.settings.labels_property
        labels = set(split_labels(current.get(labels_prop)))
        wanted: dict[str, str] = {}
        for action in p.props:
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
                p.results[action.key] = ActionResult(action.key, ActionStatus.FAILED, str(exc))
                continue
            moved = labels != before[1] or any(
                wanted[n] != before[0].get(n, str(current.get(n) or "")) for n in wanted
            )
            if moved:
                p.changing.append(action.key)
            else:
                p.results[action.key] = ActionResult(action.key, ActionStatus.ALREADY, "no change")
        p.changes = {n: v for n, v in wanted.items() if v != str(current.get(n) or "")}
        if labels != split_labels(current.get(labels_prop)):
            p.changes[labels_prop] = join_labels(labels)
        if not p.changes:  # never send a write that changes nothing
            self.stats.skipped_no_change += 1
            for key in p.changing:
                p.results[key] = ActionResult(key, ActionStatus.ALREADY, "no change")

    def _send_changes(self, pending: Sequence[_Pending]) -> None:
        if len(pending) == 1:
            self._patch(pending[0])
            return
        for part in chunks(list(pending), BATCH_READ_MAX):
            try:
                updated = self.client.update_tickets({p.ticket.id: p.changes for p in part})
            except AuthError:
                raise
            except ConnectorError:
                for p in part:  # one ticket's refusal must not hold back the others
                    self._patch(p)
                continue
            self.stats.batch_updates += 1
            stamps = {str(r.get("id")): _stamp(r) for r in updated}
            for p in part:
                self._applied(p, stamps.get(p.ticket.id))

    def _patch(self, p: _Pending) -> None:
        try:
            updated = self.client.update_ticket(p.ticket.id, p.changes)
        except FatalError:
            raise
        except ConnectorError as exc:
            for key in p.changing:
                p.results[key] = ActionResult(key, ActionStatus.FAILED, str(exc))
            return
        self.stats.patches += 1
        self._applied(p, _stamp(updated))

    def _applied(self, p: _Pending, stamp: int | None) -> None:
        written_at = datetime.fromtimestamp(stamp / 1000, UTC) if stamp is not None else None
        for key in p.changing:
            p.results[key] = ActionResult(
                key, ActionStatus.APPLIED, external_id=p.ticket.id, updated_at=written_at
            )
        if stamp is not None:
            p.stamps.append(stamp)
            if p.current is not None and written_at is not None:
                # the ticket as it is now, for a later write of the same cycle (a settled
                # plan's next round): no read needed to know what we just wrote
                props = {**(p.current.get("properties") or {}), **p.changes}
                props[MODIFIED] = written_at.isoformat().replace("+00:00", "Z")
                self.records.keep({**p.current, "properties": props})

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
