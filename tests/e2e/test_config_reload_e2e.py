"""`escalator run` given bad config edits keeps running on the old config: each rejection is
logged with its position, shown on /readyz and counted in /metrics; a later good edit is taken.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.sidecar_process import SidecarProcess, wait_for

pytestmark = pytest.mark.slow

LAUGHS = "".join(
    f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n"
    for i in range(10)
)


def write_at_once(path: Path, text: str) -> None:
    """Replace the file in one step, as editors and ConfigMap updates do: the file watcher
    must never see it half-written."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def rejections(sidecar: SidecarProcess) -> list[list[str]]:
    return [e["problems"] for e in sidecar.events() if e["event"] == "config.rejected"]


def rejected_count(sidecar: SidecarProcess) -> float:
    for line in sidecar.get("/metrics").text.splitlines():
        if line.startswith("escalator_config_reload_rejected_total "):
            return float(line.split()[1])
    raise AssertionError("no escalator_config_reload_rejected_total in /metrics")


def test_bad_edits_keep_the_service_running_until_a_good_one(sidecar: SidecarProcess) -> None:
    assert sidecar.proc is not None
    sidecar.wait_ready(15)
    version = sidecar.get("/readyz").json()["checks"]["config"]["version"]
    templates = sidecar.config / "templates.yaml"
    escalation = sidecar.config / "escalation.yaml"
    good_templates, good_escalation = templates.read_text(), escalation.read_text()

    # an unknown filter: picked up by the file watcher, refused, the old config kept
    write_at_once(
        templates, good_templates.replace("{{ target.due }}.", "{{ target.due | shout }}.")
    )
    problems = wait_for(lambda: rejections(sidecar), 15)[-1]
    line = 1 + good_templates.split("SLA at risk")[0].count("\n")
    assert problems == [
        f"{sidecar.config}/templates.yaml:{line}:5: template 'sla-at-risk-note': unknown filter "
        "'shout' (did you mean 'sort'?)"
    ]
    ready = sidecar.get("/readyz")
    assert ready.status_code == 200
    check = ready.json()["checks"]["config"]
    assert check["version"] == version
    assert check["detail"].startswith("rejected since 20")
    assert check["problems"] == problems
    assert rejected_count(sidecar) == 1

    # a billion laughs on top: refused at once, in little memory; still serving
    write_at_once(escalation, LAUGHS + good_escalation)
    wait_for(lambda: len(rejections(sidecar)) >= 2, 15)
    # refused by the node cap in ~0.3 s, or by the 1 s deadline on a very busy machine
    assert "and is refused" in rejections(sidecar)[-1][0]
    assert rejected_count(sidecar) == 2
    assert sidecar.proc.poll() is None
    assert sidecar.get("/healthz").status_code == 200

    # good edits are taken: a new version, nothing rejected any more (the watcher may see
    # the first file fixed before the second, and reject that state once more)
    write_at_once(templates, good_templates)
    write_at_once(escalation, good_escalation + "# reviewed\n")
    wait_for(lambda: any(e["event"] == "config.reloaded" for e in sidecar.events()), 15)
    check = sidecar.get("/readyz").json()["checks"]["config"]
    assert check["version"] != version
    assert "detail" not in check
    assert rejected_count(sidecar) in (2, 3)
    assert sidecar.proc.poll() is None
