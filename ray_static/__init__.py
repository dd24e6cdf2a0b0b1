"""ray-static: a Pulumi component that deploys a static (non-autoscaling) Ray cluster on Kubernetes.

from ray_static import RayCluster, RayClusterArgs, RayJob, RayServe
cluster = RayCluster("ray", {"workers": 3})
RayJob("hello", {"cluster": cluster, "entrypoint": "python -c 'import ray; ray.init()'"})
RayServe("models", {"cluster": cluster, "applications": [{"name": "fruit", "import_path": "fruit:app"}]})
"""

from typing import TYPE_CHECKING, Any

from ray_static.constants import DEFAULT_IMAGE, RAY_VERSION
from ray_static.errors import RayStaticConfigError
from ray_static.inputs.cluster import (
    DisruptionBudgetArgs,
    EgressArgs,
    GcsFaultToleranceArgs,
    HeadArgs,
    IngressArgs,
    MetricsArgs,
    PodArgs,
    RayClusterArgs,
    ResourcesArgs,
    SecretKeyArgs,
    TolerationArgs,
    WorkerGroupArgs,
)
from ray_static.inputs.job import RayJobArgs, RayJobInputs
from ray_static.inputs.serve import RayServeArgs, RayServeInputs, ServeApplicationArgs
from ray_static.version import __version__

if TYPE_CHECKING:
    from ray_static.cluster.component import RayCluster
    from ray_static.jobs.component import RayJob
    from ray_static.serve.component import RayServe


def __getattr__(name: str) -> Any:
    # The components (and with them pulumi_kubernetes, ~0.4 s) are imported on first use: code that only
    # needs the args types or the validation (the program's config layer, tools) never pays for it.
    if name == "RayCluster":
        from ray_static.cluster.component import RayCluster  # noqa: PLC0415

        return RayCluster
    if name == "RayJob":
        from ray_static.jobs.component import RayJob  # noqa: PLC0415

        return RayJob
    if name == "RayServe":
        from ray_static.serve.component import RayServe  # noqa: PLC0415

        return RayServe
    raise AttributeError(f"module 'ray_static' has no attribute {name!r}")


__all__ = [
    "DEFAULT_IMAGE",
    "RAY_VERSION",
    "DisruptionBudgetArgs",
    "EgressArgs",
    "GcsFaultToleranceArgs",
    "HeadArgs",
    "IngressArgs",
    "MetricsArgs",
    "PodArgs",
    "RayCluster",
    "RayClusterArgs",
    "RayJob",
    "RayJobArgs",
    "RayJobInputs",
    "RayServe",
    "RayServeArgs",
    "RayServeInputs",
    "RayStaticConfigError",
    "ResourcesArgs",
    "SecretKeyArgs",
    "ServeApplicationArgs",
    "TolerationArgs",
    "WorkerGroupArgs",
    "__version__",
]
