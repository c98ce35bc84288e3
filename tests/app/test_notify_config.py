"""The commented examples in config/channels.yaml: uncommented, they load, validate and build
channels with their secrets from the environment; a literal secret or a missing variable is a
``file:line:column`` error that never quotes a secret."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalator.cli import app
from escalator.config import ConfigError, load_config
from escalator.notify import EmailChannel, OpsgenieChannel, PagerDutyChannel, channels_from_config

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "TEAM_LEAD_WEBHOOK_URL": "https://hooks.slack.example/services/T/B/SLACKSECRET",
    "SUPPORT_MANAGER_WEBHOOK_URL": "https://prod.workflows.example/workflows/TEAMSSECRET",
    "EXECUTIVE_WEBHOOK_URL": "https://receiver.example/hooks/HOOKSECRET",
    "SMTP_USERNAME": "escalator@example.com",
    "SMTP_PASSWORD": "SMTPSECRETpassword",
    "PAGERDUTY_ROUTING_KEY": "PDSECRETroutingkey0123456789abcd",
    "PAGERDUTY_API_TOKEN": "PDRESTSECRET-u+abcdefghij",
    "OPSGENIE_API_KEY": "OGSECRET-eb243592-faa2-4ba2-a551",
}
# "  # executive-mail:" and "  #   type: email" become YAML; the prose stays a comment
_EXAMPLE_LINE = re.compile(r"^  # (executive-[a-z-]+:|  \S.*)$", re.M)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    channels = target / "channels.yaml"
    channels.write_text(_EXAMPLE_LINE.sub(r"  \1", channels.read_text()))
    return target


def test_the_examples_build_each_kind_of_channel(config_dir: Path) -> None:
    channels = channels_from_config(load_config(config_dir), env=ENV)

    assert channels["executive-mail"] == EmailChannel(
        name="executive-mail",
        host="smtp.example.com",
        port=587,  # the submission port for starttls
        security="starttls",
        sender="escalations@example.com",
        to=("exec-oncall@example.com",),
        username="escalator@example.com",
        password="SMTPSECRETpassword",
        timeout=30.0,
    )
    assert channels["executive-page"] == PagerDutyChannel(
        name="executive-page",
        routing_key="PDSECRETroutingkey0123456789abcd",
        severity="critical",
        base_url="https://events.pagerduty.com",
        api_token="PDRESTSECRET-u+abcdefghij",
        api_url="https://api.pagerduty.com",
    )
    assert channels["executive-alert"] == OpsgenieChannel(
        name="executive-alert",
        api_key="OGSECRET-eb243592-faa2-4ba2-a551",
        priority="P1",
        teams=("Executive Escalations",),
        base_url="https://api.opsgenie.com",
    )
    for channel in channels.values():
        assert "SECRET" not in repr(channel)


def test_validate_accepts_the_examples_and_names_a_missing_variable(config_dir: Path) -> None:
    (config_dir / "sources.yaml").unlink()  # the helpdesks' secrets are not what is tested
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(config_dir)], env=ENV)
    assert ok.exit_code == 0, ok.output
    assert "6 channels" in ok.output

    missing = {k: v for k, v in ENV.items() if k != "PAGERDUTY_ROUTING_KEY"}
    failed = runner.invoke(app, ["validate", str(config_dir)], env=missing)
    assert failed.exit_code == 2
    text = (config_dir / "channels.yaml").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "PAGERDUTY_ROUTING_KEY" in t)
    assert f"channels.yaml:{line}:" in failed.output
    assert "environment variable PAGERDUTY_ROUTING_KEY is not set" in failed.output


def test_a_literal_secret_is_refused_where_it_is_written(config_dir: Path) -> None:
    channels = config_dir / "channels.yaml"
    channels.write_text(
        channels.read_text().replace('"${OPSGENIE_API_KEY}"', "OGSECRET-literal-key")
    )

    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)

    (problem,) = caught.value.problems
    line = next(i for i, t in enumerate(channels.read_text().splitlines(), 1) if "OGSECRET" in t)
    assert str(problem) == (
        f"{channels}:{line}:14: channels.executive-alert.api_key: a secret must come from the "
        "environment: write ${ENV_VAR}"
    )


def test_pagerdutys_rest_key_and_url_are_checked_where_written(config_dir: Path) -> None:
    channels = config_dir / "channels.yaml"
    text = channels.read_text()
    channels.write_text(text.replace('"${PAGERDUTY_API_TOKEN}"', "PDRESTSECRET-literal"))
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    (problem,) = caught.value.problems
    assert str(problem).endswith(
        "channels.executive-page.api_token: a secret must come from the environment: "
        "write ${ENV_VAR}"
    )
    assert "PDRESTSECRET" not in str(problem)

    no_scheme = "    severity: critical\n    api_url: api.example\n"
    channels.write_text(text.replace("    severity: critical\n", no_scheme))
    with pytest.raises(ConfigError) as caught:
        channels_from_config(load_config(config_dir), env=ENV)
    (problem,) = caught.value.problems
    lines = channels.read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t.startswith("    api_url:"))
    assert str(problem) == (
        f"{channels}:{line}:14: channels.executive-page.api_url: 'api.example' is not an "
        "http(s) URL (scheme 'none')"
    )


def test_username_without_password_is_refused(config_dir: Path) -> None:
    channels = config_dir / "channels.yaml"
    channels.write_text(channels.read_text().replace('    password: "${SMTP_PASSWORD}"\n', ""))

    with pytest.raises(ConfigError) as caught:
        channels_from_config(load_config(config_dir), env=ENV)

    (problem,) = caught.value.problems
    assert str(problem).endswith(
        "channel 'executive-mail': give both username and password, or neither"
    )


def test_keys_of_another_kind_are_refused(config_dir: Path) -> None:
    channels = config_dir / "channels.yaml"
    channels.write_text(
        channels.read_text().replace("    severity: critical\n", "    priority: P1\n")
    )

    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)

    (problem,) = caught.value.problems
    assert str(problem).endswith("channels.executive-page: a pagerduty channel takes no priority")


def test_validate_reports_a_missing_ca_file_even_without_secrets(config_dir: Path) -> None:
    (config_dir / "sources.yaml").unlink()
    channels = config_dir / "channels.yaml"
    channels.write_text(
        channels.read_text().replace(
            "    security: starttls\n", "    security: starttls\n    ca_file: /nowhere/ca.pem\n"
        )
    )

    result = CliRunner().invoke(app, ["validate", "--no-secrets", str(config_dir)], env={})

    assert result.exit_code == 2
    line = next(i for i, t in enumerate(channels.read_text().splitlines(), 1) if "/nowhere/" in t)
    assert result.output.splitlines()[0] == (
        f"{channels}:{line}:14: channel 'executive-mail': no CA file at /nowhere/ca.pem"
    )


def test_a_password_is_never_sent_in_the_clear(config_dir: Path) -> None:
    channels = config_dir / "channels.yaml"
    channels.write_text(
        channels.read_text().replace("    security: starttls\n", "    security: none\n")
    )

    with pytest.raises(ConfigError) as caught:
        channels_from_config(load_config(config_dir), env=ENV)

    (problem,) = caught.value.problems
    assert str(problem).endswith(
        "channel 'executive-mail': a password needs security: starttls or tls"
    )
