"""The RayCluster custom resource a KubeRay user writes for the node's sizes: one head, one worker group.

Both KubeRay arms of bench/node use it: `kubectl apply` of its JSON and this directory's Pulumi program.
Plain Python with no imports of the benchmark or of ray_static, as a user's own module would be.
"""

from typing import Any

API_VERSION = "ray.io/v1"
KIND = "RayCluster"
GROUP = "workers"

HEAD_RESOURCES = {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}}
WORKER_RESOURCES = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "1Gi"}}
"""The sizes of ray-static's `node` stack: head 1 CPU / 2Gi, workers 1 CPU (250m requested) / 1Gi."""

MAX_WORKERS = 10
"""KubeRay clamps `replicas` into [minReplicas, maxReplicas]: room to scale up without touching it."""


def _container(name: str, image: str, resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        # Ray 2.60's dashboard probes the cloud metadata address unless usage stats are off (as the
        # floor and ray-static set it).
        "env": [{"name": "RAY_USAGE_STATS_ENABLED", "value": "0"}],
        "resources": resources,
    }


def spec(workers: int, image: str, ray_version: str) -> dict[str, Any]:
    """The RayCluster's spec: KubeRay's defaults everywhere else (its probes, its `wait-gcs-ready` init
    container, /dev/shm, ports, the head Service); the head offers no CPUs to tasks, as ray-static's."""
    return {
        "rayVersion": ray_version,
        "headGroupSpec": {
            "rayStartParams": {"num-cpus": "0"},
            "template": {"spec": {"containers": [_container("ray-head", image, HEAD_RESOURCES)]}},
        },
        "workerGroupSpecs": [
            {
                "groupName": GROUP,
                "replicas": workers,
                "minReplicas": 0,
                "maxReplicas": max(MAX_WORKERS, workers),
                "rayStartParams": {},
                "template": {"spec": {"containers": [_container("ray-worker", image, WORKER_RESOURCES)]}},
            }
        ],
    }


def raycluster(name: str, namespace: str, workers: int, image: str, ray_version: str) -> dict[str, Any]:
    """The whole custom resource, as `kubectl apply` takes it."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec(workers, image, ray_version),
    }
