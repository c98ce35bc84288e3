"""Fixtures: podman set up in a temp dir, the image built once per session, a config to mount."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.container.container_harness import (
    REPO,
    HarnessError,
    Podman,
    base_image,
    build_image,
    cache_dir,
    configure_podman,
    locked,
    tool,
)

_SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    """podman as root with private conf files; skipped, saying why, where it cannot run."""
    if tool("podman") is None:
        pytest.skip("podman is not installed: run .ci/install-container-tools.sh")
    if os.geteuid() != 0:
        pytest.skip("the container test runs podman and debootstrap as root")
    try:
        return configure_podman(tmp_path_factory.mktemp("podman"), cache_dir())
    except HarnessError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def image(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The repo's Dockerfile built on the cached local base; the image id."""
    if tool("debootstrap") is None:
        pytest.skip("debootstrap is not installed: run .ci/install-container-tools.sh")
    cache = cache_dir()
    started = time.monotonic()
    try:
        with locked(cache / "lock"):
            base = base_image(podman, cache)
            based = time.monotonic()
            image_id = build_image(podman, base, tmp_path_factory.mktemp("build"))
    except HarnessError as exc:
        pytest.fail(str(exc))
    # Shown with -s; says where the time of a first run goes.
    print(f"\ncontainer image: base {based - started:.1f} s, build "
          f"{time.monotonic() - based:.1f} s, storage {podman.driver}, cache {cache}")
    return image_id


@pytest.fixture(scope="session")
def mounted_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repo's config/ without its `sources:`, so the sidecar polls no real helpdesk."""
    target = tmp_path_factory.mktemp("config")
    for source in sorted((REPO / "config").glob("*.yaml")):
        data = yaml.safe_load(source.read_text()) or {}
        data.pop("sources", None)
        if data:
            (target / source.name).write_text(yaml.safe_dump(data, sort_keys=False))
    target.chmod(0o755)
    for written in target.iterdir():
        written.chmod(0o644)  # readable by the image's non-root user
    return target


@pytest.fixture(scope="session")
def secret_env(mounted_config: Path) -> dict[str, str]:
    """Every ${VAR} the mounted config names, set to a loopback address nothing listens on."""
    names = sorted({name for path in mounted_config.glob("*.yaml")
                    for name in _SECRET.findall(path.read_text())})
    return {name: f"http://127.0.0.1:9/{name.lower()}" for name in names}


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A host directory owned by the image's uid, mounted where the SQLite store lives."""
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 10001, 10001)
    yield state
    shutil.rmtree(state, ignore_errors=True)
