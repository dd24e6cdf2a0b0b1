"""KubeRay on the node, the pure parts: the RayCluster both KubeRay arms create, the operator's command
line as a process on the host, and what its CRDs are called.

The operator (`scripts/toolchain.sh build kuberay-operator`, v1.5.0) runs beside the node's other daemons,
against its API server through the kubeconfig, as KubeRay's Helm chart would run it in a pod: leader
election off (one replica; its default is on), the metrics and health endpoints on 127.0.0.1 only (its
defaults are :8080 and :8082 on every address), every namespace watched (the chart's default).
"""

from pathlib import Path
from typing import Any

from bench.programs.kuberay import raycluster
from ray_static import constants as c

NAME = "kuberay"
"""The RayCluster's name in both arms (its pods are `kuberay-head-*` and `kuberay-workers-worker-*`)."""
NAMESPACE = "ray-kuberay"
"""The `kubectl apply` arm's namespace."""
PULUMI_NAMESPACE = "ray-kuberay-pulumi"
"""The Pulumi arm's namespace (bench/programs/kuberay's `namespace` config)."""
HEAD_SELECTOR = f"ray.io/cluster={NAME},ray.io/node-type=head"
ROLE_LABEL = "ray.io/node-type"
"""KubeRay's label saying head or worker (ray-static uses the same key)."""
CRDS = ("rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io")
"""The CRDs in the module's config/crd/bases, cached by the toolchain piece in its crd/ directory."""
METRICS_ADDRESS = "127.0.0.1:18480"
PROBE_ADDRESS = "127.0.0.1:18481"


def manifests(
    workers: int = 2, image: str = c.DEFAULT_IMAGE, namespace: str = NAMESPACE
) -> list[dict[str, Any]]:
    """The namespace and the RayCluster, in the node stack's sizes and image."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        raycluster.raycluster(NAME, namespace, workers, image, c.RAY_VERSION),
    ]


def operator_argv(binary: Path, kubeconfig: str, namespaces: tuple[str, ...] = ()) -> list[str]:
    """The operator as a host process: ``namespaces`` empty watches all of them."""
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        "--enable-leader-election=false",
        f"--metrics-addr={METRICS_ADDRESS}",
        f"--health-probe-bind-address={PROBE_ADDRESS}",
        f"--watch-namespace={','.join(namespaces)}",
        "--log-stdout-encoder=console",
    ]
