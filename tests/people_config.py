"""The shipped config with the commented examples of issue 12 switched on: a level that repeats
until acknowledged (3), a round robin (1), agent requests, a step-down rule and a digest.

The examples are read from ``config/`` itself (not copied here), so a test of them is a test of
what an admin would uncomment. Shared by the engine, app and end-to-end tests
(``from tests.people_config import people_config``)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def uncomment_block(path: Path, marker: str) -> None:
    """Uncomment the run of comment lines that starts at the line holding ``marker``."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    end = start
    while end < len(lines) and lines[end].lstrip().startswith("#"):
        end += 1
    lines[start:end] = [re.sub(r"^(\s*)# ?", r"\1", line, count=1) for line in lines[start:end]]
    path.write_text("\n".join(lines) + "\n")


def level_keys(escalation: str) -> dict[int, list[str]]:
    """The example level keys (``#   3:`` and the lines under it), as YAML under a level."""
    keys: dict[int, list[str]] = {}
    current: int | None = None
    for line in escalation.splitlines():
        m = re.match(r"^  #   (\d+):$", line)
        if m:
            current = int(m.group(1))
            keys[current] = []
        elif current is not None and line.startswith("  #     "):
            keys[current].append("    " + line[len("  #     ") :])
        else:
            current = None
    return keys


def with_level_keys(path: Path, extra: dict[int, list[str]]) -> None:
    """Put ``extra`` keys under each level of escalation.yaml."""
    lines = path.read_text().splitlines()
    out: list[str] = []
    level: int | None = None
    for line in lines:
        m = re.match(r"^  (\d+):$", line)
        if m:
            level = int(m.group(1))
        out.append(line)
        if level is not None and line == "    notification: level-notification":
            out.extend(extra.get(level, []))
            level = None
    path.write_text("\n".join(out) + "\n")


def people_config(tmp_path: Path, *, repeat_calendar: str | None = None) -> Path:
    """A copy of ``config/`` with every example of issue 12 uncommented."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    escalation = target / "escalation.yaml"
    keys = level_keys(escalation.read_text())
    if repeat_calendar is not None:
        keys[3] = [k.replace("calendar: 24x7", f"calendar: {repeat_calendar}") for k in keys[3]]
    with_level_keys(escalation, keys)
    uncomment_block(escalation, "# - name: agent-request")
    uncomment_block(escalation, "# - name: fix-confirmed")
    uncomment_block(target / "templates.yaml", "# escalation-request: |")
    uncomment_block(target / "templates.yaml", "# stood-down: |")
    uncomment_block(target / "sources.yaml", "# requests:")
    uncomment_block(target / "channels.yaml", "# digests:")
    return target
