"""PagerDuty Events API v2 on 127.0.0.1: ``POST /v2/enqueue`` as PagerDuty documents it.

https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ — 202 with
``{"status": "success", "message": "Event processed", "dedup_key": ...}``; 400 with
``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``; 429
with no body when throttled. A trigger whose dedup_key names an open (triggered or
acknowledged) alert is merged into it; acknowledge/resolve of an unknown key is accepted and
ignored. The emulator processes events at once (PagerDuty queues them).

With ``api_token`` set it also answers the REST API's ``GET /incidents?incident_key=...``
(``Authorization: Token token=...``), each alert as an incident with its status:
https://developer.pagerduty.com/api-reference/9d0b4b12e36f9-list-incidents — 401 with
``{"error": {"message": "Unauthorized", "code": 2006}}`` for a wrong key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from connectors.emulation import Emulator, EmulatorServer, Request, Response

ROUTING_KEY_LENGTH = 32
SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")


@dataclass(slots=True)
class Alert:
    dedup_key: str
    summary: str
    severity: str
    status: str = "triggered"  # triggered -> acknowledged -> resolved
    events: list[dict[str, Any]] = field(default_factory=list)  # every event merged into it


class PagerDutyEmulator(Emulator):
    def __init__(self, routing_key: str, api_token: str | None = None) -> None:
        self.server = PagerDutyServer("pagerduty")
        self.routing_key = routing_key
        self.api_token = api_token
        self.alerts: list[Alert] = []  # every alert ever opened, oldest first
        self.server.route("POST", "/v2/enqueue")(self._enqueue)
        self.server.route("GET", "/incidents")(self._incidents)

    def acknowledge_as_responder(self, dedup_key: str) -> None:
        """A person acknowledges the incident in PagerDuty's app (not through an event)."""
        alert = self.open_alert(dedup_key)
        if alert is not None:
            alert.status = "acknowledged"

    def _incidents(self, request: Request) -> Response:
        if not self.api_token or request.headers.get("authorization") != (
            f"Token token={self.api_token}"
        ):
            return Response(401, {"error": {"message": "Unauthorized", "code": 2006}})
        key = request.arg("incident_key")
        chosen = [a for a in self.alerts if key is None or a.dedup_key == key]
        incidents = [
            {
                "id": f"P{index:06d}",
                "type": "incident",
                "incident_number": index,
                "status": alert.status,
                "incident_key": alert.dedup_key,
                "title": alert.summary,
                "urgency": "high",
            }
            for index, alert in enumerate(self.alerts, start=1)
            if alert in chosen
        ]
        body = {"incidents": incidents, "limit": 25, "offset": 0, "total": None, "more": False}
        return Response(200, body)

    def open_alert(self, dedup_key: str) -> Alert | None:
        for alert in reversed(self.alerts):
            if alert.dedup_key == dedup_key and alert.status != "resolved":
                return alert
        return None

    def _enqueue(self, request: Request) -> Response:
        try:
            event = request.json()
        except ValueError:
            return _invalid(["Event object is not valid JSON"])
        if not isinstance(event, dict):
            return _invalid(["Event object must be a JSON object"])
        errors = self._problems(event)
        if errors:
            return _invalid(errors)
        action = event["event_action"]
        key = event.get("dedup_key") or uuid.uuid4().hex
        alert = self.open_alert(key)
        if action == "trigger":
            if alert is None:
                payload = event["payload"]
                alert = Alert(key, payload["summary"], payload["severity"])
                self.alerts.append(alert)
            alert.events.append(event)
        elif alert is not None:  # acknowledge / resolve of nothing open: ignored
            alert.status = "acknowledged" if action == "acknowledge" else "resolved"
            alert.events.append(event)
        return Response(202, {"status": "success", "message": "Event processed", "dedup_key": key})

    def _problems(self, event: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        key = event.get("routing_key")
        if not isinstance(key, str) or len(key) != ROUTING_KEY_LENGTH:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        elif key != self.routing_key:
            errors.append("'routing_key' does not match an Events API v2 integration")
        action = event.get("event_action")
        if action not in ACTIONS:
            errors.append(
                "'event_action' is invalid (must be one of trigger, acknowledge, resolve)"
            )
        dedup = event.get("dedup_key")
        if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
            errors.append("'dedup_key' must be a string of at most 255 characters")
        if action in ("acknowledge", "resolve") and not dedup:
            errors.append("'dedup_key' is missing and is required for acknowledge and resolve")
        if action == "trigger":
            payload = event.get("payload")
            if not isinstance(payload, dict):
                errors.append("'payload' is missing or not an object")
            else:
                summary = payload.get("summary")
                if not isinstance(summary, str) or not summary.strip():
                    errors.append("'payload.summary' is missing or blank")
                elif len(summary) > 1024:
                    errors.append("'payload.summary' is longer than 1024 characters")
                if not payload.get("source"):
                    errors.append("'payload.source' is missing or blank")
                if payload.get("severity") not in SEVERITIES:
                    errors.append("'payload.severity' is invalid")
        return errors


class PagerDutyServer(EmulatorServer):
    def fault_body(self, status: int) -> Any:
        if status == 429:
            return b""  # PagerDuty answers a throttled event with an empty body
        return {"status": "error", "message": "Internal Server Error", "errors": []}

    def not_found(self, request: Request) -> Response:
        return Response(404, {"status": "not found", "message": "Not Found", "errors": []})


def _invalid(errors: list[str]) -> Response:
    return Response(
        400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    )
