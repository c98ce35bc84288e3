"""deploy/: the compose file and the Kubernetes example agree with the image and the config."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from escalator.config import load_config
from escalator.sources import source_problems
from tests.container.container_harness import REPO, kubelet_layout

DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
_SECRET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def image_uid() -> int:
    match = re.search(r"^ARG UID=(\d+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile names its uid in ARG UID="
    return int(match.group(1))


def secrets_named_in(texts: list[str]) -> set[str]:
    """The variables the config reads; commented-out examples (an email or paging channel
    that needs a real account) are not read, so a deployment need not pass them."""
    lines = [line.split(" #", 1)[0] for text in texts for line in text.splitlines()]
    live = [line for line in lines if not line.lstrip().startswith("#")]
    return {name for line in live for name in _SECRET.findall(line)}


def manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((K8S / name).read_text())
    return data


def test_compose_builds_the_image_and_takes_every_secret_from_the_environment() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    service = compose["services"]["escalator"]
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert "../config:/config:ro" in service["volumes"]
    assert any(v.endswith(":/var/lib/escalator") for v in service["volumes"])
    assert all(p.startswith("127.0.0.1:") for p in service["ports"])
    assert service["read_only"] is True

    needed = secrets_named_in([p.read_text() for p in (REPO / "config").glob("*.yaml")])
    env = service["environment"]
    assert needed <= set(env), f"not passed to the container: {sorted(needed - set(env))}"
    for name in needed:  # interpolated from the caller's environment, and required
        assert env[name] == f"${{{name}:?set {name}}}"


def test_kustomization_lists_every_manifest() -> None:
    listed = set(manifest("kustomization.yaml")["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_configmap_holds_a_valid_config_whose_secrets_the_secret_provides(
    tmp_path: Path,
) -> None:
    data = manifest("configmap.yaml")["data"]
    secret = manifest("secret.yaml")["stringData"]
    config = load_config(kubelet_layout(data, tmp_path / "config"))

    assert secrets_named_in(list(data.values())) == set(secret)
    assert config.secret_problems(secret) == []
    assert source_problems(config, secret) == []
    assert config.model.sources, "the example shows the helpdesk sources"


def test_deployment_probes_health_and_runs_the_image_as_its_non_root_user() -> None:
    deployment = manifest("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    instance = next(e for e in container["env"] if e["name"] == "ESCALATOR_INSTANCE")
    assert instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert ports["http"] == int(env["ESCALATOR_LISTEN_PORT"]) == 8080

    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_uid()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False

    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/config"]]["configMap"]["name"] == (
        manifest("configmap.yaml")["metadata"]["name"])
    assert env["ESCALATOR_CONFIG"] == "/config"
    store_dir = env["ESCALATOR_STORE"].removeprefix("sqlite:///").rsplit("/", 1)[0]
    assert store_dir in mounts, "the SQLite file lives on a mounted volume"
    assert volumes[mounts[store_dir]]["persistentVolumeClaim"]["claimName"] == (
        manifest("pvc.yaml")["metadata"]["name"])
    (source,) = container["envFrom"]
    assert source["secretRef"]["name"] == manifest("secret.yaml")["metadata"]["name"]
    assert not any(name in env for name in manifest("secret.yaml")["stringData"])


API_OF_KIND = {
    "ConfigMap": "v1", "Secret": "v1", "Service": "v1", "PersistentVolumeClaim": "v1",
    "Deployment": "apps/v1", "Kustomization": "kustomize.config.k8s.io/v1beta1",
}


@pytest.mark.parametrize("name", sorted(p.name for p in K8S.glob("*.yaml")))
def test_every_manifest_names_its_kind_and_api(name: str) -> None:
    doc = manifest(name)
    assert API_OF_KIND[doc["kind"]] == doc["apiVersion"]
    if doc["kind"] != "Kustomization":
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "escalator"
