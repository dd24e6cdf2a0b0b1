"""A platform team's stack, as such a team writes it: its own Namespace, two Ray clusters sharing it, the
image and sizes passed as Outputs, and a RayJob on the first cluster."""

import pulumi
import pulumi_kubernetes as k8s

from ray_static import RayCluster, RayJob

platform = k8s.core.v1.Namespace("ml", metadata={"name": "ml"})
# Values the platform computes or reads from another stack: Outputs, not plain values.
image = pulumi.Output.from_input("rayproject/ray:2.60.0-py311")
cpu_workers = pulumi.Output.from_input(2)

cpu = RayCluster(
    "cpu",
    {
        "namespace": platform.metadata.name,
        "create_namespace": False,
        "image": image,
        "workers": cpu_workers,
        "worker_resources": {"cpu": pulumi.Output.from_input("2"), "memory": "8Gi"},
    },
)
gpu = RayCluster(
    "gpu",
    {
        "namespace": cpu.namespace,
        "create_namespace": False,
        "workers": 0,
        "worker_groups": [
            {"name": "a100", "replicas": 1, "resources": {"cpu": "8", "memory": "64Gi", "gpus": 1}}
        ],
        "gcs_fault_tolerance": {"redis_address": "redis.ml.svc.cluster.local:6379"},
    },
)
nightly = RayJob("nightly", {"cluster": cpu, "entrypoint": "python -c 'import ray; ray.init()'"})

pulumi.export("cpu_client_address", cpu.client_address)
pulumi.export("gpu_client_address", gpu.client_address)
