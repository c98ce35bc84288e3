"""Daemonless podman for the image tests: private config, a cached local base, one build.

No image registry is reachable here, so the Dockerfile's BASE is a Debian bookworm root made by
debootstrap and imported into podman. The tarball and podman's storage live under a cache dir
that outlives the test run, so a second run neither bootstraps nor reinstalls dependencies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

# What the local base is made of; its hash names the cached tarball and the imported image.
BASE_SUITE = "bookworm"
BASE_VARIANT = "minbase"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Trimmed after bootstrap: apt's caches and lists, docs and translations the image never reads.
BASE_TRIM = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
             "usr/share/locale", "usr/share/info")
BASE_RECIPE_VERSION = "1"  # bump when the recipe above changes in a way the hash misses
IMAGE_TAG = "localhost/escalator:test"
SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # an import sets none


RUNROOT = Path("/run/escalator-test")  # podman's volatile state: cleared at boot where /run is


class HarnessError(RuntimeError):
    """A step of the harness failed; the message carries the command's output."""


def tool(name: str) -> str | None:
    """A tool on PATH, or in an sbin dir that a non-login root shell may leave off PATH."""
    return shutil.which(name) or shutil.which(name, path=SBIN_PATH)


def cache_dir() -> Path:
    """ESCALATOR_TEST_CACHE, else /var/cache/escalator-test for root, else ~/.cache."""
    override = os.environ.get("ESCALATOR_TEST_CACHE")
    if override:
        path = Path(override)
    elif os.geteuid() == 0:
        path = Path("/var/cache/escalator-test")
    else:
        path = Path.home() / ".cache" / "escalator-test"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(cache: Path) -> str:
    return hashlib.sha256(str(cache.resolve()).encode()).hexdigest()[:12]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock, so two test runs on one machine do not bootstrap or build at once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_checked(argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float,
                input_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise with the tail of what it printed."""
    stdin = input_file.open("rb") if input_file else subprocess.DEVNULL
    try:
        proc = subprocess.run(argv, env=env, stdin=stdin, capture_output=True, text=True,
                              timeout=timeout, check=False)
    finally:
        if input_file:
            stdin.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        tail = (proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]).strip()
        raise HarnessError(f"{' '.join(argv[:4])} ... exited {proc.returncode}:\n{tail}")
    return proc


@dataclass(frozen=True)
class Podman:
    """podman as root with its own containers.conf and storage.conf (no daemon, no systemd)."""

    env: dict[str, str]
    driver: str

    def __call__(self, *args: str, timeout: float = 60,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = ["podman", *args]
        if check:
            return run_checked(argv, env=self.env, timeout=timeout)
        return subprocess.run(argv, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def inspect(self, what: str) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(self("inspect", what).stdout)
        return data[0]


CONTAINERS_CONF = """\
# Written by tests/container: host network (nothing but loopback is bound), runc, no systemd.
[containers]
netns = "host"
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def storage_conf(driver: str, graphroot: Path, runroot: Path) -> str:
    return (f'[storage]\ndriver = "{driver}"\n'
            f'graphroot = "{graphroot}"\nrunroot = "{runroot}"\n')


def configure_podman(workdir: Path, cache: Path) -> Podman:
    """Write the two conf files; use overlay storage where the kernel mounts it, else vfs.

    ESCALATOR_TEST_STORAGE_DRIVER=vfs forces the slower driver that works everywhere.
    """
    conf = workdir / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    forced = os.environ.get("ESCALATOR_TEST_STORAGE_DRIVER")
    problems = []
    for driver in (forced,) if forced else ("overlay", "vfs"):
        storage = workdir / f"storage-{driver}.conf"
        # One runroot per graphroot: podman tracks layer mounts there, so every run shares it.
        storage.write_text(storage_conf(driver, cache / f"storage-{driver}",
                                        RUNROOT / cache_key(cache) / driver))
        env = {**os.environ, "CONTAINERS_CONF": str(conf),
               "CONTAINERS_STORAGE_CONF": str(storage)}
        env["PATH"] = f"{env.get('PATH', '')}:{SBIN_PATH}"
        probe = subprocess.run(["podman", "info", "--format", "{{.Store.GraphDriverName}}"],
                               env=env, capture_output=True, text=True, timeout=60,
                               check=False)
        if probe.returncode == 0:
            return Podman(env=env, driver=driver)
        problems.append(f"{driver}: {probe.stderr.strip()[-500:]}")
    raise HarnessError("podman has no usable storage driver:\n" + "\n".join(problems))


def base_key() -> str:
    recipe = json.dumps([BASE_SUITE, BASE_VARIANT, BASE_PACKAGES, BASE_TRIM,
                         BASE_RECIPE_VERSION])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def base_tarball(cache: Path) -> Path:
    """The bootstrapped root as a tarball, made once per recipe and kept in the cache."""
    tarball = cache / f"base-{BASE_SUITE}-{base_key()}.tar"
    if tarball.exists():
        return tarball
    debootstrap = tool("debootstrap")
    if debootstrap is None:
        raise HarnessError("debootstrap is not installed (.ci/install-container-tools.sh)")
    with tempfile.TemporaryDirectory(dir=cache, prefix="bootstrap-") as tmp:
        root = Path(tmp) / "root"
        # The mirror is debootstrap's default, the same Debian archive apt uses here.
        run_checked([debootstrap, f"--variant={BASE_VARIANT}",
                     f"--include={','.join(BASE_PACKAGES)}", BASE_SUITE, str(root)],
                    timeout=420)
        for part in BASE_TRIM:
            target = root / part
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        partial = Path(tmp) / "base.tar"
        run_checked(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."],
                    timeout=120)
        partial.replace(tarball)  # atomic: a killed run never leaves half a tarball
    return tarball


def base_image(podman: Podman, cache: Path) -> str:
    """The local base imported into podman's (cached) storage, by a tag naming its recipe."""
    tag = f"localhost/escalator-test-base:{BASE_SUITE}-{base_key()}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    tarball = base_tarball(cache)
    run_checked(["podman", "import", "--quiet",
                 "--change", f"ENV PATH={BASE_PATH}",
                 "-", tag], env=podman.env, timeout=300, input_file=tarball)
    return tag


def build_inputs_key(base: str) -> str:
    """A hash of everything the build reads (per .dockerignore) and the base it starts from."""
    digest = hashlib.sha256(base.encode())
    files = [REPO / name for name in ("Dockerfile", ".dockerignore", "pyproject.toml",
                                      "README.md")]
    files += sorted(p for p in (REPO / "src").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    for path in files:
        if path.exists():
            digest.update(str(path.relative_to(REPO)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def build_image(podman: Podman, base: str, workdir: Path) -> str:
    """podman build of the repo's Dockerfile on ``base``; returns the image id.

    An image already built from the same inputs is reused: podman's layer cache would give the
    same result, only ~7 s slower.
    """
    keyed = f"{IMAGE_TAG}-{build_inputs_key(base)}"
    if podman("image", "exists", keyed, check=False).returncode == 0:
        return str(podman.inspect(keyed)["Id"])
    iidfile = workdir / "image.id"
    argv = ["build", "--isolation=chroot", "--pull=never", "--network=host", "--format=docker",
            "--layers", f"--build-arg=BASE={base}", f"--iidfile={iidfile}",
            "--tag", IMAGE_TAG, "--tag", keyed, "--file", str(REPO / "Dockerfile")]
    if HOST_CA_BUNDLE.exists():  # pip inside the build trusts what the host trusts
        argv.append(f"--volume={HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro")
    podman(*argv, str(REPO), timeout=600)
    forget_older_builds(podman, keep=keyed)
    return iidfile.read_text().strip()


def forget_older_builds(podman: Podman, keep: str) -> None:
    """Drop images of earlier inputs, so the cache grows by layers podman still reuses only."""
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout
    for name in listed.split():
        if name.startswith(f"{IMAGE_TAG}-") and name != keep:
            podman("rmi", name, check=False)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for_http(url: str, deadline_s: float, alive: Any = None) -> tuple[int, bytes]:
    """Poll ``url`` until it answers; ``alive()`` returning False stops the wait early."""
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return http_get(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        if alive is not None and not alive():
            raise HarnessError(f"the container exited before {url} answered")
        time.sleep(0.1)
    raise HarnessError(f"{url} did not answer within {deadline_s} s: {last}")


def process_uid(pid: int) -> int:
    """The real uid of a host process, read from /proc: what the kernel says, not the image."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise HarnessError(f"no Uid line for pid {pid}")


def kubelet_layout(data: dict[str, str], target: Path) -> Path:
    """A ConfigMap volume as the kubelet writes it: a timestamped dir, ..data, key symlinks."""
    stamped = target / "..2024_01_01_00_00_00.000000000"
    stamped.mkdir(parents=True)
    for key, text in data.items():
        (stamped / key).write_text(text)
    os.symlink(stamped.name, target / "..data")
    for key in data:
        os.symlink(f"..data/{key}", target / key)
    return target
