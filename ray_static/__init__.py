"""ray-static: a Pulumi component that deploys a static (non-autoscaling) Ray cluster on Kubernetes.

from ray_static import RayCluster, RayClusterArgs
cluster = RayCluster("ray", {"workers": 3})
"""

from typing import TYPE_CHECKING, Any

from ray_static.args import RayClusterArgs, ResourcesArgs, TolerationArgs, WorkerGroupArgs
from ray_static.constants import DEFAULT_IMAGE, RAY_VERSION
from ray_static.errors import RayStaticConfigError

if TYPE_CHECKING:
    from ray_static.component import RayCluster


def __getattr__(name: str) -> Any:
    # RayCluster (and with it pulumi_kubernetes, ~0.4 s) is imported on first use: code that only needs
    # the args types or the validation (the program's config layer, tools) never pays for it.
    if name == "RayCluster":
        from ray_static.component import RayCluster  # noqa: PLC0415

        return RayCluster
    raise AttributeError(f"module 'ray_static' has no attribute {name!r}")


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
