"""Running `escalator validate` on a copy of the shipped config, and pointing at the mistakes
injected into it: shared by test_validate, test_config_mistakes, test_config_reload and
test_validate_people."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from escalator.cli import app

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = {
    "TEAM_LEAD_WEBHOOK_URL": "http://127.0.0.1:9/a",
    "SUPPORT_MANAGER_WEBHOOK_URL": "http://127.0.0.1:9/b",
    "EXECUTIVE_WEBHOOK_URL": "http://127.0.0.1:9/c",
}
SECRETS = {
    **CHANNELS,
    "ZENDESK_URL": "https://acme.zendesk.com",
    "ZENDESK_CLIENT_ID": "escalation-sidecar",
    "ZENDESK_CLIENT_SECRET": "s3cret-zendesk",
    "ZENDESK_WEBHOOK_SECRET": "s3cret-zendesk-hook",
    "JIRA_URL": "https://acme.atlassian.net",
    "JIRA_EMAIL": "sidecar@example.com",
    "JIRA_API_TOKEN": "s3cret-jira",
    "JIRA_WEBHOOK_SECRET": "s3cret-jira-hook",
    "HUBSPOT_BASE_URL": "https://api.hubapi.com",
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-s3cret",
    "HUBSPOT_CLIENT_SECRET": "s3cret-hubspot",
    "HUBSPOT_WEBHOOK_URL": "https://sidecar.example.com/webhooks/hubspot",
}


def run(path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", str(path), *args], env=env or SECRETS)
    return result.exit_code, result.output


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def at(path: Path, text: str) -> str:
    """``line:column`` where ``text`` first occurs in ``path``, at its ``^`` if it has one."""
    head = text.partition("^")[0] if "^" in text else ""
    content = path.read_text()
    assert text.replace("^", "") in content, text
    before = content[: content.index(text.replace("^", "")) + len(head)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


LAUGHS = "".join(
    f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n"
    for i in range(10)
)
