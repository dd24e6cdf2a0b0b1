"""ray-static: a Pulumi component that deploys a static (non-autoscaling) Ray cluster on Kubernetes.

from ray_static import RayCluster, RayClusterArgs
cluster = RayCluster("ray", {"workers": 3})
"""

from ray_static.args import RayClusterArgs, ResourcesArgs, TolerationArgs, WorkerGroupArgs
from ray_static.component import RayCluster
from ray_static.constants import DEFAULT_IMAGE, RAY_VERSION
from ray_static.errors import RayStaticConfigError

__all__ = [
    "DEFAULT_IMAGE",
    "RAY_VERSION",
    "RayCluster",
    "RayClusterArgs",
    "RayStaticConfigError",
    "ResourcesArgs",
    "TolerationArgs",
    "WorkerGroupArgs",
]
