"""``escalator schema`` checks each source's section against its connector's own settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from typer.testing import CliRunner

from escalator.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _exported() -> dict[str, Any]:
    """The schema of the ``sources`` section alone (the others are in other files)."""
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.output)
    return {
        "$defs": schema["$defs"],
        "type": "object",
        "properties": {"sources": schema["properties"]["sources"]},
    }


def _shipped_sources() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text())
    return data


def test_the_shipped_sources_match_their_connectors_settings() -> None:
    schema = _exported()
    for kind in ("zendesk", "jira", "hubspot"):
        assert f"{kind}.Settings" in schema["$defs"]
    jsonschema.Draft202012Validator(schema).validate(_shipped_sources())


def test_a_key_the_connector_does_not_know_is_caught_by_the_schema() -> None:
    sources = _shipped_sources()
    sources["sources"]["zendesk"]["subdomian"] = "acme"  # a typo an editor should underline
    errors = list(jsonschema.Draft202012Validator(_exported()).iter_errors(sources))
    assert errors
    assert any("subdomian" in str(e) for error in errors for e in (error, *error.context))
