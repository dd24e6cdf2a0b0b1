"""A RayCluster whose pods mount a claim the same program makes, the claim's name passed as an Output, with
the snake_case RayClusterArgs a Python platform program writes (a GPU group with a custom Ray resource)."""

import pulumi
import pulumi_kubernetes.core.v1 as core

from ray_static import RayCluster

NAMESPACE = "ray-claim"

namespace = core.Namespace("ray-claim", metadata={"name": NAMESPACE})
# No provisioner runs on the test control plane: the claim binds to a volume made here.
volume = core.PersistentVolume(
    "ray-data",
    metadata={"name": "ray-static-e2e-claim-in-program"},
    spec={
        "capacity": {"storage": "1Gi"},
        "access_modes": ["ReadWriteMany"],
        "storage_class_name": "manual",
        "host_path": {"path": "/srv/ray-claim"},
        "claim_ref": {"namespace": NAMESPACE, "name": "ray-data"},
    },
)
claim = core.PersistentVolumeClaim(
    "ray-data",
    metadata={"name": "ray-data", "namespace": namespace.metadata.name},
    spec={
        "access_modes": ["ReadWriteMany"],
        "storage_class_name": "manual",
        "volume_name": volume.metadata.name,
        "resources": {"requests": {"storage": "1Gi"}},
    },
)

cluster = RayCluster(
    "ray",
    {
        "namespace": NAMESPACE,
        "create_namespace": False,
        "workers": 1,
        "worker_resources": {"cpu": "1", "memory": "1Gi"},
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim.metadata.name}}],
        "volume_mounts": [{"name": "data", "mountPath": "/data"}],
        "worker_groups": [
            {
                "name": "gpu",
                "replicas": 1,
                "resources": {"cpu": "2", "memory": "4Gi", "gpus": 1},
                "ray_resources": {"accel": 1},
            }
        ],
    },
    pulumi.ResourceOptions(depends_on=[claim]),
)

pulumi.export("claim", claim.metadata.name)
pulumi.export("gcs_address", cluster.gcs_address)
