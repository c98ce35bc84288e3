"""The emulator's responses and the connector's requests, checked against Zendesk's own OAS.

The spec (1.2 MB YAML) is parsed once per session with the C loader and cached; OpenAPI 3.0's
``nullable`` is turned into JSON Schema before validating with jsonschema's Draft 4 validator.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import yaml
from jsonschema import Draft4Validator

from connectors.zendesk import ZendeskConnector
from connectors.zendesk.emulator import ZendeskEmulator
from engine.model import AddLabels, Assign, PostComment, Priority, RemoveLabels, SetPriority
from tests.action_fields import ActionFields
from tests.connectors.zendesk.zendesk_seeds import T0, seed_ticket

# the vendors' OpenAPI files live in shared/specs beside the repository (ESCALATOR_SPECS overrides)
SPECS_ROOT = Path(
    os.environ.get("ESCALATOR_SPECS") or Path(__file__).resolve().parents[4] / "shared" / "specs"
)
SPEC = SPECS_ROOT / "zendesk" / "zendesk-support-oas.yaml"
if not SPECS_ROOT.exists():
    pytest.skip(
        f"the OpenAPI files are not at {SPECS_ROOT} (set ESCALATOR_SPECS)", allow_module_level=True
    )
# query parameters real Zendesk accepts that this OAS copy does not declare on the operation
UNDECLARED_BUT_REAL = {
    "per_page": "incremental export page size (≤1000), documented in the export guide",
    "page[size]": "cursor pagination, documented for every list endpoint",
    "include": "side-loads (users, groups, organizations; comment_events on ticket events)",
    "page": "offset pagination of the audits list, from its next_page URL",
}
# the body fields POST /oauth/tokens documents in its description table
OAUTH_FIELDS = {
    "grant_type",
    "code",
    "client_id",
    "client_secret",
    "redirect_uri",
    "scope",
    "expires_in",
    "refresh_token_expires_in",
    "refresh_token",
    "code_verifier",
}


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    pass


# YAML 1.1 reads a bare ``=`` (TriggerConditionsObject's example) as the ``!!value`` type
_Loader.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
)


def _json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k not in ("example", "examples")}
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def spec() -> dict[str, Any]:
    with SPEC.open() as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=_Loader)
    return data


# properties the live API returns as null (an unassigned ticket, a ticket without priority) that
# this OAS copy forgets to mark ``nullable``; the emulator answers like the live API
KNOWN_NULLABLE = {
    "TicketObject": (
        "assignee_id",
        "group_id",
        "organization_id",
        "problem_id",
        "external_id",
        "recipient",
        "type",
        "priority",
    ),
}


@cache
def components() -> dict[str, Any]:
    schemas = _json_schema(spec()["components"]["schemas"])
    for name, properties in KNOWN_NULLABLE.items():
        for prop in properties:
            schemas[name]["properties"][prop] = _json_schema(
                {**spec()["components"]["schemas"][name]["properties"][prop], "nullable": True}
            )
    # a ``tags`` Change event carries the tag lists (arrays) on the live API, which the OAS omits
    event_value = schemas["AuditObject"]["properties"]["events"]["items"]["properties"]["value"]
    event_value["oneOf"] = [*event_value["oneOf"], {"type": "array", "items": {"type": "string"}}]
    return {"schemas": schemas}


@cache
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in spec()["paths"]:
        rx = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template))
        patterns.append((re.compile(f"^{rx}(?:\\.json)?$"), template))
    # literal segments beat parameters: /users/show_many before /users/{user_id}
    return sorted(patterns, key=lambda p: p[1].count("{"))


def operation(method: str, path: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    for rx, template in _path_patterns():
        if rx.match(path):
            item = spec()["paths"][template]
            if method.lower() in item:
                params = [*item.get("parameters", []), *item[method.lower()].get("parameters", [])]
                return template, item[method.lower()], [_deref(p) for p in params]
    raise AssertionError(f"{method} {path} is not in the Zendesk OAS")


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = spec()
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return dict(target)


@cache
def validator(schema_json: str) -> Draft4Validator:
    root = {**_json_schema(json.loads(schema_json)), "components": components()}
    return Draft4Validator(root)


def check(schema: dict[str, Any], instance: Any, what: str) -> None:
    errors = sorted(validator(json.dumps(schema, sort_keys=True)).iter_errors(instance), key=str)
    assert not errors, f"{what}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:60]
    )


@pytest.fixture(scope="session")
def loaded_spec() -> dict[str, Any]:
    return spec()


def test_spec_loads_once_with_the_value_tag(loaded_spec: dict[str, Any]) -> None:
    assert loaded_spec["openapi"].startswith("3.0")
    assert "/api/v2/incremental/tickets/cursor" in loaded_spec["paths"]
    assert spec() is loaded_spec  # cached: the second call does not parse again


def _exercise(emulator: ZendeskEmulator, connector: ZendeskConnector) -> list[requests.Response]:
    wire: list[requests.Response] = []
    connector.session.hooks["response"].append(lambda r, *a, **k: wire.append(r))
    ids = emulator.seed([seed_ticket(i) for i in range(3)])
    emulator.update(ids[0], status="pending", group="Tier 2")
    pulled = connector.pull(None, start=T0 - timedelta(hours=1))
    ticket = next(t for t in pulled.tickets if t.id == ids[1])
    base: ActionFields = {"ticket": ticket.key, "rule": "r", "at": ticket.updated_at}
    connector.apply(
        ticket,
        [
            SetPriority(key="p", **base, priority=Priority.HIGH, previous=Priority.NORMAL),
            AddLabels(key="a", **base, labels=("escalated",)),
            RemoveLabels(key="r", **base, labels=("vip",)),
            Assign(key="g", **base, group="Tier 2", user=str(emulator.agent_id)),
            PostComment(key="c", **base, public=False, body="note"),
        ],
    )
    connector.apply(ticket, [PostComment(key="c2", **base, public=True, body="stale")])  # 409
    connector.fetch(ids[2])
    return wire


def test_wire_traffic_matches_the_oas(
    emulator: ZendeskEmulator, connector: ZendeskConnector
) -> None:
    wire = _exercise(emulator, connector)
    seen: set[tuple[str, str]] = set()
    for response in wire:
        request = response.request
        url = httpx.URL(str(request.url))
        template, op, params = operation(str(request.method), url.path)
        seen.add((str(request.method), template))
        declared = {p["name"] for p in params if p.get("in") == "query"}
        for name in url.params:
            assert name in declared or name in UNDECLARED_BUT_REAL, (
                f"{request.method} {template}: undeclared query parameter {name!r}"
            )
        for p in params:
            if p.get("in") == "query" and p.get("required") and name_missing(url, p, template):
                pytest.fail(f"{template}: required {p['name']} missing")
        if request.body:
            assert isinstance(request.body, str | bytes)  # a prepared JSON body, not a stream
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            check(schema, json.loads(request.body), f"request {request.method} {template}")
        if 200 <= response.status_code < 300:
            documented = op["responses"][str(response.status_code)]
            schema = documented["content"]["application/json"]["schema"]
            check(schema, response.json(), f"response {request.method} {template}")
        else:
            assert response.status_code == 409
            assert response.json()["error"] == "UpdateConflict"
    # organizations and groups come side-loaded with the export page: no lookups of their own
    assert seen == {
        ("GET", "/api/v2/incremental/tickets/cursor"),
        ("GET", "/api/v2/incremental/ticket_events"),
        ("GET", "/api/v2/tickets/{ticket_id}/audits"),
        ("GET", "/api/v2/users/show_many"),
        ("PUT", "/api/v2/tickets/{ticket_id}"),
        ("GET", "/api/v2/tickets/{ticket_id}"),
    }


def name_missing(url: httpx.URL, param: dict[str, Any], template: str) -> bool:
    # the export needs start_time on the first page only; later pages carry cursor instead
    if template == "/api/v2/incremental/tickets/cursor" and "cursor" in url.params:
        return False
    return param["name"] not in url.params


@pytest.mark.parametrize("grant", ["client_credentials", "refresh_token"])
def test_token_endpoint_matches_the_oas(
    emulator: ZendeskEmulator,
    make_connector: Callable[..., ZendeskConnector],
    tmp_path: Path,
    grant: str,
) -> None:
    if grant == "refresh_token":
        connector = make_connector(
            auth="oauth_refresh_token", token_file=str(tmp_path / "token.json")
        )
    else:
        connector = make_connector()
    (tid,) = emulator.seed([seed_ticket(0)])
    connector.fetch(tid)
    sent = emulator.token_grants[-1]
    assert sent["grant_type"] == grant
    assert set(sent) <= OAUTH_FIELDS
    # replay the connector's exact body (with a live refresh token) to read the response
    if grant == "refresh_token":
        sent = {**sent, "refresh_token": emulator.issue_refresh_token()}
    answer = httpx.post(f"{emulator.base_url}/oauth/tokens", json=sent)
    _, op, _ = operation("POST", "/oauth/tokens")
    documented = op["responses"][str(answer.status_code)]
    check(documented["content"]["application/json"]["schema"], answer.json(), "oauth response")
