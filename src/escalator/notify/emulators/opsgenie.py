"""Opsgenie Alert API v2 on 127.0.0.1, as https://docs.opsgenie.com/docs/alert-api documents it.

- ``POST /v2/alerts``: 202 ``{"result": "Request will be processed", "took", "requestId"}``;
  ``message`` is required and at most 130 characters, ``alias`` at most 512; only one open
  alert per alias (a create with the alias of an open alert raises its ``count``).
- ``GET /v2/alerts/{identifier}?identifierType=id|alias|tiny``: 200 ``{"data": {...}}`` or
  404 ``{"message": "Alert does not exist", ...}``.
- ``POST /v2/alerts/{identifier}/acknowledge`` and ``/close``: 202.
- Auth: ``Authorization: GenieKey <key>``, else 401 (https://docs.opsgenie.com/docs/response).
Opsgenie processes creates asynchronously; the emulator applies them before answering.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from connectors.emulation import Emulator, EmulatorServer, Request, Response

PRIORITIES = ("P1", "P2", "P3", "P4", "P5")


@dataclass(slots=True)
class OpsgenieAlert:
    id: str
    tiny_id: str
    alias: str
    message: str
    created_at: datetime
    body: dict[str, Any]
    status: str = "open"
    acknowledged: bool = False
    count: int = 1

    def as_json(self) -> dict[str, Any]:
        stamp = self.created_at.isoformat().replace("+00:00", "Z")
        return {
            "id": self.id,
            "tinyId": self.tiny_id,
            "alias": self.alias,
            "message": self.message,
            "status": self.status,
            "acknowledged": self.acknowledged,
            "isSeen": False,
            "tags": self.body.get("tags", []),
            "snoozed": False,
            "count": self.count,
            "lastOccurredAt": stamp,
            "createdAt": stamp,
            "updatedAt": stamp,
            "source": self.body.get("source", ""),
            "owner": "",
            "priority": self.body.get("priority", "P3"),
            # Opsgenie answers with responders by id (a team named in the create is resolved)
            "responders": [
                {"type": r.get("type", "team"), "id": str(uuid.uuid5(uuid.NAMESPACE_URL, str(r)))}
                for r in self.body.get("responders") or []
            ],
            "description": self.body.get("description", ""),
            "details": self.body.get("details", {}),
            "entity": self.body.get("entity", ""),
        }


@dataclass(slots=True)
class _Ids:
    tiny: int = 0
    requests: list[str] = field(default_factory=list)


class OpsgenieEmulator(Emulator):
    def __init__(self, api_key: str) -> None:
        self.server = OpsgenieServer("opsgenie")
        self.api_key = api_key
        self.alerts: list[OpsgenieAlert] = []
        self._ids = _Ids()
        route = self.server.route
        route("POST", "/v2/alerts")(self._create)
        route("GET", r"/v2/alerts/(?P<identifier>[^/]+)")(self._get)
        route("POST", r"/v2/alerts/(?P<identifier>[^/]+)/(?P<verb>acknowledge|close)")(self._act)

    def open_alerts(self) -> list[OpsgenieAlert]:
        return [a for a in self.alerts if a.status == "open"]

    # -- handlers ----------------------------------------------------------------------------
    def _create(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            body = request.json()
        except ValueError:
            return _error(400, "Invalid JSON body")
        if not isinstance(body, dict):
            return _error(400, "Invalid JSON body")
        errors: dict[str, str] = {}
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            errors["message"] = "Message can not be empty."
        elif len(message) > 130:
            errors["message"] = "Message can not be longer than 130 characters."
        alias = body.get("alias")
        if alias is not None and (not isinstance(alias, str) or len(alias) > 512):
            errors["alias"] = "Alias can not be longer than 512 characters."
        if body.get("priority", "P3") not in PRIORITIES:
            errors["priority"] = "Priority should be one of [P1, P2, P3, P4, P5]"
        if errors:
            return _error(422, "Request body is not processable. Please check the errors.", errors)
        alias = alias or str(uuid.uuid4())
        existing = self._find(alias, "alias")
        if existing is not None and existing.status == "open":
            existing.count += 1  # de-duplicated: no second alert, no second page
        else:
            self._ids.tiny += 1
            self.alerts.append(
                OpsgenieAlert(
                    id=str(uuid.uuid4()),
                    tiny_id=str(self._ids.tiny),
                    alias=alias,
                    message=str(message),
                    created_at=self.server.clock.now(),
                    body=body,
                )
            )
        return self._accepted()

    def _get(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        kind = request.arg("identifierType", "id") or "id"
        alert = self._find(unquote(request.params["identifier"]), kind)
        if alert is None:
            return _error(404, "Alert does not exist")
        return Response(200, {"data": alert.as_json(), "took": 0.004, "requestId": _request_id()})

    def _act(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        kind = request.arg("identifierType", "id") or "id"
        alert = self._find(unquote(request.params["identifier"]), kind)
        if alert is not None:  # an unknown alert: accepted, and failed in the request status
            if request.params["verb"] == "acknowledge":
                alert.acknowledged = True
            else:
                alert.status = "closed"
        return self._accepted()

    # -- helpers -----------------------------------------------------------------------------
    def _denied(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"GenieKey {self.api_key}":
            return _error(401, "Could not authenticate")
        return None

    def _find(self, identifier: str, kind: str) -> OpsgenieAlert | None:
        attr = {"id": "id", "alias": "alias", "tiny": "tiny_id"}.get(kind, "id")
        matches = [a for a in self.alerts if getattr(a, attr) == identifier]
        open_ones = [a for a in matches if a.status == "open"]
        chosen = open_ones or matches
        return chosen[-1] if chosen else None

    def _accepted(self) -> Response:
        request_id = _request_id()
        self._ids.requests.append(request_id)
        return Response(
            202, {"result": "Request will be processed", "took": 0.302, "requestId": request_id}
        )


class OpsgenieServer(EmulatorServer):
    def fault_body(self, status: int) -> Any:
        if status == 429:
            return {"message": "Request throttled", "took": 0.0, "requestId": _request_id()}
        return {"message": "Internal Server Error", "took": 0.0, "requestId": _request_id()}

    def not_found(self, request: Request) -> Response:
        return _error(404, "Resource or handler not found")


def _request_id() -> str:
    return str(uuid.uuid4())


def _error(status: int, message: str, errors: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "took": 0.001, "requestId": _request_id()}
    if errors:
        body["errors"] = errors
    return Response(status, body)
