"""The HubSpot emulator's routes: which paths (legacy numbered and date-based) answer what,
with HubSpot's query parsing, paging (``after`` offsets, the search cap), validation and
error bodies, behind bearer/OAuth authentication.

Handlers run under the state's lock and act on ``HubSpotState``; every answer gets the
rate-limit headers and is kept in ``exchanges`` for the contract tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol
from urllib.parse import parse_qs

from connectors.emulation import Request, Response
from connectors.hubspot.emulator_search import passes_filters, sort_key, sort_spec
from connectors.hubspot.emulator_server import (
    HubSpotServer,
    LateFaults,
    RateWindow,
    error_response,
    retired,
)
from connectors.hubspot.emulator_state import (
    AGENT_ACTOR,
    APP_ID,
    ENUMS,
    OWNERS,
    STAGES,
    HubSpotState,
)
from connectors.hubspot.mapping import format_instant, parse_instant

TOKEN = "pat-na1-emulator-0000"
CLIENT_ID = "emulator-client-id"
CLIENT_SECRET = "emulator-client-secret"
REFRESH_TOKEN = "emulator-refresh-token"

DATED_VERSIONS = r"(?P<version>2026-03|2026-09)"


class RouteOptions(Protocol):
    """The emulator's tunables, read at each request (so a test may change them after start)."""

    page_size: int
    search_cap: int
    legacy_retired: bool
    oauth_expires_in: int


class HubSpotRoutes:
    def __init__(self, server: HubSpotServer, state: HubSpotState, options: RouteOptions) -> None:
        self.server = server
        self.state = state
        self.options = options
        self.exchanges: list[tuple[Request, Response]] = []  # for contract tests
        self.late_faults = LateFaults(server, state.lock)
        self.rate_window = RateWindow(state.lock)
        self._oauth_tokens: dict[str, float] = {}  # token -> expiry (epoch seconds, clock)

    def install(self) -> None:
        legacy = {
            "objects": r"/crm/v3/objects",
            "associations": r"/crm/v4/associations",
            "owners": r"/crm/v3/owners/?",
            "pipelines": r"/crm/v3/pipelines",
            "threads": r"/conversations/v3/conversations/threads",
        }
        dated = {  # the date-based versions the emulator knows (specs in shared/specs/hubspot)
            "objects": rf"/crm/objects/{DATED_VERSIONS}",
            "associations": rf"/crm/associations/{DATED_VERSIONS}",
            "owners": rf"/crm/owners/{DATED_VERSIONS}",
            "pipelines": rf"/crm/pipelines/{DATED_VERSIONS}",
            "threads": rf"/conversations/conversations/{DATED_VERSIONS}/threads",
        }
        for prefixes, is_legacy in ((legacy, True), (dated, False)):
            for method, pattern, handler in self._api(prefixes):
                self.server.route(method, pattern)(self._wrap(handler, True, legacy=is_legacy))
        self.server.route("POST", r"/oauth/(?:v1|2026-03)/token")(
            self._wrap(self._oauth_token, False)
        )

    def _api(self, at: dict[str, str]) -> list[tuple[str, str, Callable[[Request], Response]]]:
        objects, threads = at["objects"], at["threads"]
        return [
            ("POST", rf"{objects}/tickets/search", self._search),
            ("POST", rf"{objects}/feedback_submissions/search", self._feedback_search),
            ("POST", rf"{objects}/tickets/batch/read", self._tickets_read),
            ("POST", rf"{objects}/tickets/batch/update", self._tickets_update),
            ("GET", rf"{objects}/tickets/(?P<id>[^/]+)", self._ticket_get),
            ("PATCH", rf"{objects}/tickets/(?P<id>[^/]+)", self._ticket_patch),
            ("POST", rf"{objects}/notes", self._note_create),
            ("POST", rf"{objects}/notes/batch/read", self._notes_read),
            ("POST", rf"{objects}/companies/batch/read", self._companies_read),
            (
                "POST",
                rf"{at['associations']}/(?P<src>\w+)/(?P<dst>\w+)/batch/read",
                self._associations,
            ),
            ("GET", at["owners"], self._owners),
            ("GET", rf"{at['pipelines']}/tickets", self._pipelines),
            ("GET", threads, self._threads_list),
            ("GET", rf"{threads}/(?P<id>\d+)", self._thread_get),
            ("GET", rf"{threads}/(?P<id>\d+)/messages", self._messages_list),
            ("POST", rf"{threads}/(?P<id>\d+)/messages", self._message_send),
        ]

    def _wrap(
        self, handler: Callable[[Request], Response], needs_auth: bool, *, legacy: bool = False
    ) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            late = self.late_faults.take(request)
            if late is not None:
                response = late
            elif legacy and self.options.legacy_retired:
                response = retired(request)
            elif needs_auth and not self._authorised(request):
                response = error_response(
                    401,
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at "
                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    "INVALID_AUTHENTICATION",
                )
            else:
                try:
                    with self.state.lock:
                        response = handler(request)
                except (KeyError, ValueError, TypeError) as exc:
                    response = error_response(400, f"Invalid input: {exc}", "VALIDATION_ERROR")
            response.headers = {**self.rate_window.headers(), **response.headers}
            with self.state.lock:
                self.exchanges.append((request, response))
            return response

        return serve

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return False
        token = header[len("Bearer ") :]
        if token == TOKEN:
            return True
        expiry = self._oauth_tokens.get(token)
        return expiry is not None and self.state.now().timestamp() < expiry

    @staticmethod
    def _names(request: Request, name: str) -> list[str]:
        return [p for value in request.query.get(name, []) for p in value.split(",") if p]

    # tickets
    def _search(self, request: Request) -> Response:
        tickets = list(self.state.tickets.values())
        return self._search_in(tickets, request, lambda t, props: self.state.render(t, props, []))

    def _feedback_search(self, request: Request) -> Response:
        responses = list(self.state.submissions.values())
        return self._search_in(responses, request, self.state.render_submission)

    def _search_in(
        self,
        records: list[Any],
        request: Request,
        render: Callable[[Any, list[str]], dict[str, Any]],
    ) -> Response:
        """One CRM search over ``records`` (tickets or survey responses), each shown by
        ``render``."""
        body = request.json()
        limit = min(int(body.get("limit") or 10), 200, self.options.page_size)
        after = int(body.get("after") or 0)
        if after >= self.options.search_cap:
            return error_response(
                400,
                f"Paging past {self.options.search_cap} results is not supported by search; "
                "narrow the query.",
                "VALIDATION_ERROR",
            )
        groups = body.get("filterGroups") or []
        matches = [t for t in records if passes_filters(t.props, groups)]
        for sort in reversed(body.get("sorts") or []):
            name, descending = sort_spec(sort)
            matches.sort(key=partial(sort_key, name), reverse=descending)
        if not body.get("sorts"):
            matches.sort(key=lambda t: int(t.id))
        page = matches[after : min(after + limit, self.options.search_cap)]
        props = body.get("properties") or []
        result: dict[str, Any] = {
            "total": len(matches),
            "results": [render(t, props) for t in page],
        }
        if after + limit < len(matches):  # past the cap too: asking for it then gives a 400
            nxt = str(after + limit)
            result["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return Response(200, result)

    def _tickets_read(self, request: Request) -> Response:
        body = request.json()
        found, missing = [], []
        for item in body["inputs"]:
            ticket = self.state.tickets.get(str(item["id"]))
            if ticket is None:
                missing.append(str(item["id"]))
            else:
                props = body.get("properties") or None
                found.append(
                    self.state.render(ticket, props, body.get("propertiesWithHistory") or [])
                )
        return self._batch(found, missing)

    def _batch(self, found: list[dict[str, Any]], missing: list[str]) -> Response:
        stamp = format_instant(self.state.now())
        result: dict[str, Any] = {
            "status": "COMPLETE",
            "results": found,
            "startedAt": stamp,
            "completedAt": stamp,
        }
        if missing:
            result["numErrors"] = 1
            result["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ]
            return Response(207, result)
        return Response(200, result)

    def _ticket_get(self, request: Request) -> Response:
        ticket = self.state.tickets.get(request.params["id"])
        if ticket is None:
            return error_response(404, "Object not found.", "OBJECT_NOT_FOUND")
        props = self._names(request, "properties") or None
        return Response(
            200, self.state.render(ticket, props, self._names(request, "propertiesWithHistory"))
        )

    def _ticket_patch(self, request: Request) -> Response:
        ticket = self.state.tickets.get(request.params["id"])
        if ticket is None:
            return error_response(404, "Object not found.", "OBJECT_NOT_FOUND")
        changes: dict[str, str] = request.json()["properties"]
        invalid = self._invalid(changes)
        if invalid is not None:
            return invalid
        self.state.write(ticket, changes)
        return Response(200, self.state.render(ticket, None, []))

    def _invalid(self, changes: dict[str, str]) -> Response | None:
        stages = {s[0] for s in STAGES}
        for name, value in changes.items():
            if name in ENUMS and value not in ENUMS[name] and value != "":
                return error_response(
                    400,
                    f'Property values were not valid: "{value}" is not an option for {name}',
                    "VALIDATION_ERROR",
                )
            if name == "hs_pipeline_stage" and value not in stages:
                return error_response(
                    400, f"{value} is not a valid pipeline stage", "VALIDATION_ERROR"
                )
        return None

    def _tickets_update(self, request: Request) -> Response:
        inputs = request.json()["inputs"]
        if len(inputs) > 100:
            return error_response(400, "Batch size is limited to 100 inputs", "VALIDATION_ERROR")
        for item in inputs:  # all or nothing: validate every input before writing any
            if str(item["id"]) not in self.state.tickets:
                return error_response(404, f"Object {item['id']} not found.", "OBJECT_NOT_FOUND")
            invalid = self._invalid(item["properties"])
            if invalid is not None:
                return invalid
        results = []
        for item in inputs:
            ticket = self.state.tickets[str(item["id"])]
            self.state.write(ticket, item["properties"])
            results.append(self.state.render(ticket, None, []))
        stamp = format_instant(self.state.now())
        body = {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp}
        return Response(200, body)

    # notes, companies, associations
    def _note_create(self, request: Request) -> Response:
        body = request.json()
        props = body.get("properties") or {}
        if not props.get("hs_timestamp"):
            return error_response(400, "hs_timestamp is required", "VALIDATION_ERROR")
        targets = []
        for association in body.get("associations") or []:
            type_ids = {t["associationTypeId"] for t in association["types"]}
            ticket = self.state.tickets.get(str(association["to"]["id"]))
            if 228 in type_ids:
                if ticket is None:
                    return error_response(400, "association target not found", "VALIDATION_ERROR")
                targets.append(ticket)
        if not targets:
            return error_response(
                400, "a note must be associated to a ticket here", "VALIDATION_ERROR"
            )
        note = self.state.store_note(
            targets[0], props["hs_note_body"], parse_instant(props["hs_timestamp"]),
            props.get("hubspot_owner_id"),
        )  # fmt: skip
        for ticket in targets[1:]:
            ticket.notes.append(note["id"])
        now = self.state.now()
        for ticket in targets:  # the ticket's notes_last_updated moves, and so its stamp
            ticket.props["notes_last_updated"] = format_instant(now)
            self.state.touch(ticket, now)
        return Response(201, note)

    def _notes_read(self, request: Request) -> Response:
        body = request.json()
        ids = [str(i["id"]) for i in body["inputs"]]
        return self._batch(
            [self.state.notes[i] for i in ids if i in self.state.notes],
            [i for i in ids if i not in self.state.notes],
        )

    def _companies_read(self, request: Request) -> Response:
        body = request.json()
        ids = [str(i["id"]) for i in body["inputs"]]
        return self._batch(
            [self.state.companies[i] for i in ids if i in self.state.companies],
            [i for i in ids if i not in self.state.companies],
        )

    def _associations(self, request: Request) -> Response:
        src, dst = request.params["src"], request.params["dst"]
        pair = (src, dst)
        if pair not in (("tickets", "notes"), ("tickets", "companies"),
                        ("feedback_submissions", "tickets")):  # fmt: skip
            return error_response(400, f"unsupported association {src}->{dst}", "VALIDATION_ERROR")
        # the connector reads only ``toObjectId``; the response->ticket type id is the
        # emulator's own (notes 227 and companies 339 are HubSpot's documented ids)
        type_id = {"notes": 227, "companies": 339}.get(dst, 1)
        results = []
        for item in request.json()["inputs"]:
            linked = self._linked(src, dst, str(item["id"]))
            if linked:
                results.append(
                    {
                        "from": {"id": str(item["id"])},
                        "to": [
                            {
                                "toObjectId": other,
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": type_id}
                                ],
                            }
                            for other in linked
                        ],
                    }
                )
        stamp = format_instant(self.state.now())
        return Response(
            200,
            {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp},
        )

    def _linked(self, src: str, dst: str, record_id: str) -> list[str]:
        if src == "feedback_submissions":
            response = self.state.submissions.get(record_id)
            return list(response.tickets) if response else []
        ticket = self.state.tickets.get(record_id)
        if ticket is None:
            return []
        return list(ticket.notes if dst == "notes" else ticket.companies)

    # owners, pipelines
    def _owners(self, request: Request) -> Response:
        email = request.arg("email")
        stamp = "2025-01-01T00:00:00.000Z"
        results = [
            {
                "id": owner_id,
                "userId": user_id,
                "email": mail,
                "firstName": first,
                "lastName": last,
                "type": "PERSON",
                "archived": False,
                "createdAt": stamp,
                "updatedAt": stamp,
                "teams": [{"id": team[0], "name": team[1], "primary": True}],
            }
            for owner_id, user_id, mail, first, last, team in OWNERS
            if email is None or mail == email
        ]
        return Response(200, {"results": results})

    def _pipelines(self, request: Request) -> Response:
        stamp = "2025-01-01T00:00:00.000Z"
        stages = [
            {
                "id": stage_id,
                "label": label,
                "displayOrder": order,
                "metadata": {"ticketState": state, "isClosed": str(state == "CLOSED").lower()},
                "archived": False,
                "createdAt": stamp,
                "updatedAt": stamp,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            }
            for order, (stage_id, label, state) in enumerate(STAGES)
        ]
        pipeline = {
            "id": "0",
            "label": "Support Pipeline",
            "displayOrder": 0,
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "stages": stages,
        }
        return Response(200, {"results": [pipeline]})

    # conversations
    def _threads_list(self, request: Request) -> Response:
        ticket_id = request.arg("associatedTicketId")
        with_tickets = "TICKET" in request.query.get("association", [])
        sorts = request.query.get("sort", [])
        after_ts = request.arg("latestMessageTimestampAfter")
        if "latestMessageTimestamp" in sorts and not after_ts:
            return error_response(
                400,
                "latestMessageTimestampAfter is required when sorting by latestMessageTimestamp",
                "VALIDATION_ERROR",
            )
        threads = list(self.state.threads.values())
        if ticket_id:
            threads = [
                t for t in threads if t["threadAssociations"]["associatedTicketId"] == ticket_id
            ]
        if after_ts:
            floor = parse_instant(after_ts)
            threads = [t for t in threads if parse_instant(t["latestMessageTimestamp"]) > floor]
        if "latestMessageTimestamp" in sorts:
            threads.sort(key=lambda t: (parse_instant(t["latestMessageTimestamp"]), int(t["id"])))
        limit = min(int(request.arg("limit") or 100), 500, self.options.page_size)
        start = int(request.arg("after") or 0)
        results = []
        for thread in threads[start : start + limit]:
            shown = dict(thread)
            if not with_tickets:
                shown.pop("threadAssociations")
            results.append(shown)
        body: dict[str, Any] = {"results": results}
        if start + limit < len(threads):
            body["paging"] = {"next": {"after": str(start + limit)}}
        return Response(200, body)

    def _thread_get(self, request: Request) -> Response:
        thread = self.state.threads.get(request.params["id"])
        if thread is None:
            return error_response(
                404, f"Thread {request.params['id']} not found", "OBJECT_NOT_FOUND"
            )
        shown = dict(thread)
        if "TICKET" not in request.query.get("association", []):
            shown.pop("threadAssociations")
        return Response(200, shown)

    def _messages_list(self, request: Request) -> Response:
        thread_id = request.params["id"]
        if thread_id not in self.state.threads:
            return error_response(404, f"Thread {thread_id} not found", "OBJECT_NOT_FOUND")
        messages = self.state.messages[thread_id]
        limit = min(int(request.arg("limit") or 100), 500, self.options.page_size)
        after = int(request.arg("after") or 0)
        result: dict[str, Any] = {"results": messages[after : after + limit]}
        if after + limit < len(messages):
            result["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, result)

    def _message_send(self, request: Request) -> Response:
        thread_id = request.params["id"]
        thread = self.state.threads.get(thread_id)
        if thread is None:
            return error_response(404, f"Thread {thread_id} not found", "OBJECT_NOT_FOUND")
        body = request.json()
        if body.get("type") == "COMMENT":
            required = ["text", "type"]
        else:
            required = ["attachments", "channelAccountId", "channelId", "recipients"]
            required += ["senderActorId", "text", "type"]
        missing = [name for name in required if name not in body]
        if missing:
            return error_response(400, f"missing fields: {', '.join(missing)}", "VALIDATION_ERROR")
        if body["type"] == "MESSAGE" and (
            body["channelId"] != thread["originalChannelId"]
            or body["channelAccountId"] != thread["originalChannelAccountId"]
        ):
            return error_response(400, "channel does not match the thread", "VALIDATION_ERROR")
        now = self.state.now()
        fields: dict[str, Any] = {
            "type": body["type"],
            "text": body["text"],
            "richText": body.get("richText") or body["text"],
            "senders": [{"actorId": body.get("senderActorId", AGENT_ACTOR)}],
            "recipients": [
                {"actorId": r.get("actorId"), "deliveryIdentifier": r["deliveryIdentifiers"][0]}
                if r.get("actorId")
                else {"deliveryIdentifier": r["deliveryIdentifiers"][0]}
                for r in body.get("recipients") or []
            ],
            "client": {"clientType": "INTEGRATION", "integrationAppId": int(APP_ID)},
            "createdBy": body.get("senderActorId", AGENT_ACTOR),
        }
        if body["type"] == "MESSAGE":
            fields["direction"] = "OUTGOING"
        else:
            for key in ("channelId", "channelAccountId", "truncationStatus", "status"):
                fields[key] = None
        if body.get("subject"):
            fields["subject"] = body["subject"]
        message = self.state.store_message(thread_id, fields, now)
        message = {k: v for k, v in message.items() if v is not None}
        self.state.messages[thread_id][-1] = message
        ticket = self.state.tickets[thread["threadAssociations"]["associatedTicketId"]]
        ticket.props["hs_last_message_sent_at"] = format_instant(now)
        self.state.touch(ticket, now)
        return Response(201, message, {"Location": f"{request.path}/{message['id']}"})

    # oauth
    def _oauth_token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != REFRESH_TOKEN:
            return Response(
                400,
                {
                    "status": "BAD_REFRESH_TOKEN",
                    "message": "missing or unknown refresh token",
                    "correlationId": str(uuid.uuid4()),
                },
            )
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Response(
                400,
                {
                    "status": "BAD_CLIENT_ID",
                    "message": "missing or unknown client id",
                    "correlationId": str(uuid.uuid4()),
                },
            )
        token = f"emu-oauth-{uuid.uuid4().hex[:12]}"
        self._oauth_tokens[token] = self.state.now().timestamp() + self.options.oauth_expires_in
        return Response(
            200,
            {
                "token_type": "bearer",
                "access_token": token,
                "refresh_token": REFRESH_TOKEN,
                "expires_in": self.options.oauth_expires_in,
            },
        )
