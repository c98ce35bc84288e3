"""The ``contracts`` section is validated like the rest of the config: file:line:column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from escalator.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_contracts_load() -> None:
    contracts = load_config(ROOT / "config").model.contracts
    enterprise = contracts["enterprise"]
    assert enterprise.tiers == ["enterprise"]
    assert enterprise.cap_percent == 25
    assert [(c.target.value, c.percent) for c in enterprise.credits] == [
        ("resolution", 5),
        ("resolution", 2),
        ("first_response", 1),
    ]


def test_unknown_keys_and_wrong_types_name_file_line_and_column(tmp_path: Path) -> None:
    for f in (ROOT / "config").glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    bad = tmp_path / "contracts.yaml"
    bad.write_text(
        "contracts:\n"
        "  gold:\n"
        "    tiers: [enterprise]\n"
        "    monthly_fee: lots\n"
        "    credits:\n"
        "      - {target: resolutoin, percent: 5, colour: red}\n"
        "  nobody:\n"
        "    monthly_fee: 1\n"
        "    credits: [{target: resolution, percent: 1}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    lines = [str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems]
    assert lines == [
        "contracts.yaml:4:18: contracts.gold.monthly_fee: Input should be a valid number,"
        " unable to parse string as a number",
        "contracts.yaml:6:18: contracts.gold.credits.0.target: Input should be"
        " 'first_response', 'next_update' or 'resolution'",
        "contracts.yaml:6:42: unknown key 'colour'",
        "contracts.yaml:8:5: contracts.nobody: name the organizations or tiers this contract"
        " covers",
    ]
