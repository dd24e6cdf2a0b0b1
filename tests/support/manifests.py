"""Small readers for rendered manifests (wire format)."""

import shlex
from typing import Any

from tests.support.render import Rendered, find


def deployment(rendered: list[Rendered], name: str) -> dict[str, Any]:
    return find(rendered, "apps/v1:Deployment", name).inputs


def pod_spec(rendered: list[Rendered], name: str) -> dict[str, Any]:
    """The pod spec of the Deployment whose Pulumi name is ``name``."""
    return deployment(rendered, name)["spec"]["template"]["spec"]


def container(rendered: list[Rendered], name: str, container_name: str | None = None) -> dict[str, Any]:
    """A container (init containers included) of a Deployment; the first main container by default."""
    spec = pod_spec(rendered, name)
    if container_name is None:
        return spec["containers"][0]
    return next(c for c in spec["containers"] + spec.get("initContainers", []) if c["name"] == container_name)


def all_containers(rendered: list[Rendered]) -> list[dict[str, Any]]:
    """Every container and init container of every Deployment."""
    out = []
    for r in rendered:
        if r.type == "kubernetes:apps/v1:Deployment":
            spec = r.inputs["spec"]["template"]["spec"]
            out.extend(spec["containers"] + spec.get("initContainers", []))
    return out


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    """A container's env entries by name."""
    return {e["name"]: e for e in c.get("env", [])}


RESTRICTED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 100,
    "fsGroup": 100,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The pod securityContext of every pod ray-static makes (the `restricted` standard, as the image's user)."""
RESTRICTED_CONTAINER = {
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 100,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The container securityContext of every container ray-static makes."""


def ray_start(command: list[str]) -> list[str]:
    """The `ray start ...` argv a Ray container execs at the end of its bash script."""
    assert command[:2] == ["/bin/bash", "-c"], command
    return shlex.split(command[2].rsplit("exec ", 1)[1])
