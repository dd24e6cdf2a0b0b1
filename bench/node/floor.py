"""The floor: the cluster a user gets from Ray's processes alone, with nothing ray-static adds (no
Pulumi, token, probes, init containers or restricted pod), in the same sizes as the `node` stack."""

from dataclasses import dataclass
from typing import Any

from ray_static import constants as c

NAMESPACE = "ray-floor"
HEAD_SERVICE = "floor-head"


@dataclass(frozen=True)
class Size:
    """A pod's CPU and memory: limits, and requests where they differ."""

    cpu: str
    memory: str
    cpu_request: str | None = None

    def resources(self) -> dict[str, Any]:
        limits = {"cpu": self.cpu, "memory": self.memory}
        return {"limits": limits, "requests": {**limits, "cpu": self.cpu_request or self.cpu}}


HEAD = Size("1", "2Gi")
WORKER = Size("1", "1Gi", cpu_request="250m")
"""The sizes of Pulumi.node.yaml: head 1 CPU / 2Gi, workers 1 CPU (250m requested) / 1Gi."""


def _pod(name: str, role: str, size: Size, command: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "floor", "role": role}},
        "spec": {
            "containers": [
                {
                    "name": "ray",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/bash", "-c", command],
                    "env": [{"name": "RAY_USAGE_STATS_ENABLED", "value": "0"}],
                    "resources": size.resources(),
                }
            ],
        },
    }


def manifests(workers: int = 2, image: str = c.DEFAULT_IMAGE) -> list[dict[str, Any]]:
    """The Namespace, a Service naming the head, the head pod and ``workers`` worker pods."""
    gcs = f"{HEAD_SERVICE}.{NAMESPACE}.svc.cluster.local:{c.GCS_PORT}"
    head = f"exec ray start --head --port={c.GCS_PORT} --dashboard-host=0.0.0.0 --num-cpus=0 --block"
    worker = f"exec ray start --address={gcs} --num-cpus=1 --block"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": HEAD_SERVICE, "namespace": NAMESPACE},
            "spec": {
                "selector": {"app": "floor", "role": "head"},
                "ports": [
                    {"name": "gcs", "port": c.GCS_PORT},
                    {"name": "dashboard", "port": c.DASHBOARD_PORT},
                ],
            },
        },
        _pod("floor-head", "head", HEAD, head, image),
        *(_pod(f"floor-worker-{i}", "worker", WORKER, worker, image) for i in range(workers)),
    ]
