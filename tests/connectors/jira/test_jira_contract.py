"""Contract: the emulator's responses and the connector's requests against Jira's own OpenAPI.

The spec (2.4 MB) is loaded once per session. Each request the connector made in a full
scenario is matched to its operation; query names, JSON bodies and the emulator's answers are
validated against the operation's schemas, so neither side drifts from the real API.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from connectors.emulation import Request, SeedComment, SeedTicket
from connectors.jira import JiraConnector
from connectors.jira.emulator import JiraEmulator
from engine.model import AddLabels, Assign, CreateLinkedIssue, PostComment, Priority, SetPriority

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the emulator's clock (conftest)
# the vendors' OpenAPI files live in shared/specs beside the repository (ESCALATOR_SPECS overrides)
SPECS_ROOT = Path(
    os.environ.get("ESCALATOR_SPECS") or Path(__file__).resolve().parents[4] / "shared" / "specs"
)
SPEC = SPECS_ROOT / "jira" / "jira-cloud-platform-swagger-v3.v3.json"
if not SPECS_ROOT.exists():
    pytest.skip(
        f"the OpenAPI files are not at {SPECS_ROOT} (set ESCALATOR_SPECS)", allow_module_level=True
    )
# the JSM API (servicedeskapi) is a separate product API with no OpenAPI file in shared/specs
JSM_API = "/rest/servicedeskapi/"


def in_platform_spec(request: Request) -> bool:
    return not request.path.startswith(JSM_API)


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC.read_text())
    return loaded


@cache
def registry() -> Registry[Any]:
    resource: Resource[Any] = Resource(contents=spec(), specification=DRAFT4)  # type: ignore[call-arg]
    registry: Registry[Any] = Registry().with_resource("urn:jira", resource)
    return registry


def validator(schema: dict[str, Any]) -> OAS30Validator:
    if "$ref" in schema:
        schema = {"$ref": "urn:jira" + schema["$ref"]}
    elif schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        schema = {"type": "array", "items": {"$ref": "urn:jira" + schema["items"]["$ref"]}}
    return OAS30Validator(schema, registry=registry())


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for path in spec()["paths"]:
        rx = re.sub(r"\{[^}]+\}", "[^/]+", path)
        out.append((re.compile(f"^{rx}$"), path))
    return sorted(out, key=lambda item: item[1].count("{"))  # literal segments win


def operation(method: str, path: str) -> dict[str, Any]:
    for rx, template in _templates():
        ops = spec()["paths"][template]
        if rx.match(path) and method.lower() in ops:
            op: dict[str, Any] = ops[method.lower()]
            return op
    raise AssertionError(f"{method} {path} is not an operation of the Jira v3 spec")


def errors_of(schema: dict[str, Any], instance: Any) -> list[str]:
    return [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(schema).iter_errors(instance)
    ]


def check_request(request: Request) -> None:
    op = operation(request.method, request.path)
    names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    assert set(request.query) <= names, (
        f"{request.path}: unknown query {set(request.query) - names}"
    )
    body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if request.body and body_schema.get("schema"):
        assert errors_of(body_schema["schema"], request.json()) == [], request.path


def check_response(method: str, path: str, status: int, body: Any) -> None:
    op = operation(method, path)
    declared = op["responses"].get(str(status))
    assert declared is not None, f"{method} {path} never answers {status}"
    schema = declared.get("content", {}).get("application/json", {}).get("schema")
    if schema:
        assert errors_of(schema, body) == [], f"{method} {path} {status}"


@pytest.fixture
def scenario(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> list[Request]:
    """Everything the connector does in a day."""
    emulator.embedded_histories = 2  # long changelogs are paged in at /changelog
    keys = emulator.seed([seed(i, labels=["triage"]) for i in range(4)])
    emulator.add_comment(keys[0], SeedComment(T0, "agent", False, "internal"))
    emulator.update(keys[0], status="open", priority="high", group="Tier 2 Support")
    result = connector.pull(None, start=T0 - timedelta(days=2))
    ticket = connector.fetch(keys[0])
    at: dict[str, Any] = {"ticket": f"jira:{keys[0]}", "rule": "r", "at": T0}
    connector.apply(
        ticket,
        [
            AddLabels(key="a", labels=("escalation-l1",), **at),
            SetPriority(key="p", priority=Priority.URGENT, previous=Priority.HIGH, **at),
            Assign(key="g", group="Executive Escalations", **at),
            PostComment(key="c1", public=True, body="Escalated.", **at),
            PostComment(key="c2", public=False, body="Note.", **at),
        ],
    )
    linked = CreateLinkedIssue(
        key="l", system="jira", project="ENG", summary="s", description="d",
        priority=Priority.HIGH, **at,
    )  # fmt: skip
    connector.create_linked_issue(ticket, linked)
    connector.read_linked_issues(["ENG-1"])
    connector.pull(result.cursor, start=T0)
    return list(emulator.server.requests)


def test_every_request_the_connector_sends_is_in_the_spec(scenario: list[Request]) -> None:
    used = {(r.method, re.sub(r"/(?:[A-Z]+-\d+|\d{4,})", "/{id}", r.path)) for r in scenario}
    for request in scenario:
        if in_platform_spec(request):
            check_request(request)
    assert ("PUT", "/rest/api/3/issue/{id}") in used
    assert ("POST", "/rest/api/3/issue/{id}/comment") in used
    assert ("POST", "/rest/api/3/issue/{id}/remotelink") in used
    assert ("GET", "/rest/api/3/search/jql") in used
    assert ("GET", "/rest/api/3/issue/{id}/changelog") in used
    assert ("GET", "/rest/api/3/issue/{id}/comment") in used
    assert ("GET", "/rest/api/3/field") in used


def test_every_answer_the_emulator_gives_matches_the_spec(
    emulator: JiraEmulator, scenario: list[Request]
) -> None:
    auth = {"authorization": scenario[0].headers["authorization"]}
    replayed = 0
    for request in scenario:
        if request.method != "GET" or not in_platform_spec(request):
            continue
        query: list[tuple[str, str | int | float | bool | None]] = [
            (k, v) for k, values in request.query.items() for v in values
        ]
        response = httpx.get(emulator.base_url + request.path, params=query, headers=auth)
        check_response("GET", request.path, response.status_code, response.json())
        replayed += 1
    assert replayed >= 8


def test_write_answers_and_error_bodies_match_the_spec(
    emulator: JiraEmulator, connector: JiraConnector, seed: Callable[..., SeedTicket]
) -> None:
    [key] = emulator.seed([seed(0)])
    client = connector.client
    comment = client.add_comment(key, {"type": "doc", "version": 1, "content": []}, [])
    created = client.create_issue(
        {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "s"}, []
    )
    link = client.upsert_remote_link(key, {"object": {"url": "https://x", "title": "x"}})
    check_response("POST", f"/rest/api/3/issue/{key}/comment", 201, comment)
    check_response("POST", "/rest/api/3/issue", 201, created)
    check_response("POST", f"/rest/api/3/issue/{key}/remotelink", 201, link)

    base = emulator.base_url + "/rest/api/3"
    auth = {"authorization": emulator.server.requests[-1].headers["authorization"]}
    prop = httpx.get(f"{base}/comment/{comment['id']}/properties/escalation-sidecar", headers=auth)
    assert prop.status_code == 404  # no marker was given to that comment
    bad = httpx.post(f"{base}/issue", json={"fields": {}}, headers=auth)
    check_response("POST", "/rest/api/3/issue", 400, bad.json())
    denied = httpx.post(f"{base}/issue", json={"fields": {}})
    check_response("POST", "/rest/api/3/issue", 401, denied.json())
