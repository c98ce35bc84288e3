"""``deploy/escalator.env.example`` lists every variable the shipped config and the service
read, and nothing else, so an admin filling it in misses none."""

from __future__ import annotations

import re
from pathlib import Path

from escalator.config.environment import SECRET
from escalator.config.yamlsource import load_located, walk_strings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "escalator.env.example"
_ASSIGNMENT = re.compile(r"^(#?)([A-Z][A-Z0-9_]*)=")


def listed() -> tuple[set[str], set[str]]:
    """(variables to fill in, variables shown commented out)."""
    required: set[str] = set()
    optional: set[str] = set()
    for line in EXAMPLE.read_text().splitlines():
        if found := _ASSIGNMENT.match(line):
            (optional if found.group(1) else required).add(found.group(2))
    return required, optional


def test_every_variable_the_shipped_config_reads_is_to_be_filled_in() -> None:
    located = load_located(ROOT / "config")
    read = {name for _, text in walk_strings(located.data) for name in SECRET.findall(text)}
    required, _ = listed()
    assert required == read


def test_every_variable_the_service_reads_is_listed() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "escalator").rglob("*.py"))
    service = set(re.findall(r"\b(ESCALATOR_[A-Z_]+)\b", source)) - {
        name for name in re.findall(r"\b(ESCALATOR_DEMO_[A-Z_]+)\b", source)
    }
    _, optional = listed()
    assert service <= optional
    # the other commented-out entries are the channels config/ shows commented out
    commented = set(SECRET.findall((ROOT / "config" / "channels.yaml").read_text()))
    assert optional - service <= commented


def test_deploy_readme_points_to_it() -> None:
    assert "deploy/escalator.env.example" in (ROOT / "deploy" / "README.md").read_text()
