"""A platform stack: two ray-static clusters side by side and an unrelated resource, one explicit provider.

Everything comes from this project's own config (`ray-platform:*`); the component takes plain args.
"""

import pulumi
import pulumi_kubernetes as k8s

from ray_static import RayCluster, RayClusterArgs

config = pulumi.Config()
provider = k8s.Provider(
    "platform-k8s",
    kubeconfig=config.get("kubeconfig") or None,
    context=config.get("context") or None,
)
on_platform = pulumi.ResourceOptions(providers={"kubernetes": provider})

cpu_args: RayClusterArgs = {
    "namespace": "ray-cpu",
    "workers": config.require_int("cpuWorkers"),
    "head_resources": {"cpu": "1", "memory": "2Gi"},
    "worker_resources": {"cpu": "2", "memory": "4Gi"},
}
gpu_args: RayClusterArgs = {
    "namespace": "ray-gpu",
    "workers": 0,
    "head_resources": {"cpu": "1", "memory": "2Gi"},
    "worker_groups": [
        {
            "name": "gpu",
            "replicas": config.require_int("gpuWorkers"),
            "resources": {"cpu": "4", "memory": "16Gi", "gpus": 1},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        }
    ],
}
cpu = RayCluster("cpu", cpu_args, on_platform)
gpu = RayCluster("gpu", gpu_args, on_platform)

# Unrelated to the component, but built from its outputs: where notebooks and job runners find Ray.
endpoints = k8s.core.v1.ConfigMap(
    "ray-endpoints",
    metadata={"name": "ray-endpoints", "namespace": "default"},
    data={
        "cpu-client-address": cpu.client_address,
        "cpu-dashboard-url": cpu.dashboard_url,
        "gpu-client-address": gpu.client_address,
        "gpu-dashboard-url": gpu.dashboard_url,
    },
    opts=on_platform,
)

# Per cluster: where clients connect, and all a RayJob in another stack needs (namespace, dashboard_url,
# auth_secret_name, image, image_pull_secrets: RayJobInputs' cluster fields).
for name, cluster in (("cpu", cpu), ("gpu", gpu)):
    pulumi.export(f"{name}_namespace", cluster.namespace)
    pulumi.export(f"{name}_gcs_address", cluster.gcs_address)
    pulumi.export(f"{name}_client_address", cluster.client_address)
    pulumi.export(f"{name}_dashboard_url", cluster.dashboard_url)
    pulumi.export(f"{name}_auth_token", cluster.auth_token)
    pulumi.export(f"{name}_auth_secret_name", cluster.auth_secret_name)
    pulumi.export(f"{name}_image", cluster.image)
    pulumi.export(f"{name}_image_pull_secrets", cluster.image_pull_secrets)
pulumi.export("endpoints_config_map", endpoints.metadata.apply(lambda m: f"{m.namespace}/{m.name}"))
