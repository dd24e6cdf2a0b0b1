"""A platform stack as platform teams write one: its own Namespace, the image and the worker count read
from a ConfigMap it also manages (Outputs, known only during the deployment), and a transform that sets a
pod field the component does not offer (runtimeClassName) on every Deployment of the cluster.

Config `mode` picks a deliberate mistake instead: `short-token` (a secret token of 5 characters) or
`job-without-secret` (a RayJob whose auth_secret resolves to nothing).
"""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ray_static import RayCluster, RayJob

config = pulumi.Config()
mode = config.get("mode") or "cluster"
RUNTIME_CLASS = "sandboxed"


def runtime_class(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Every Deployment's pods run with the platform's RuntimeClass."""
    if args.type_ != "kubernetes:apps/v1:Deployment":
        return None
    props: dict[str, Any] = dict(args.props)
    spec = dict(props["spec"])
    template = dict(spec["template"])
    template["spec"] = {**template["spec"], "runtimeClassName": RUNTIME_CLASS}
    spec["template"] = template
    props["spec"] = spec
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)


if mode == "cluster":
    namespace = k8s.core.v1.Namespace("platform", metadata={"name": "platform"})
    k8s.node.v1.RuntimeClass("sandboxed", metadata={"name": RUNTIME_CLASS}, handler="runc")
    versions = k8s.core.v1.ConfigMap(
        "ray-versions",
        metadata={"namespace": namespace.metadata.name},
        data={"image": "rayproject/ray:2.60.0", "workers": "2"},
    )
    cluster = RayCluster(
        "ray",
        {
            "namespace": namespace.metadata.name,
            "create_namespace": False,
            "image": versions.data.apply(lambda d: d["image"]),
            "workers": versions.data.apply(lambda d: int(d["workers"])),
            "worker_resources": {"cpu": "1", "memory": "1Gi"},
        },
        pulumi.ResourceOptions(transforms=[runtime_class]),
    )
    pulumi.export("namespace", cluster.namespace)
    pulumi.export("image", cluster.image)
    pulumi.export("client_address", cluster.client_address)
elif mode == "short-token":
    RayCluster("ray", {"namespace": "short-token", "auth_token": config.require_secret("token")})
elif mode == "job-without-secret":
    # What `get_output` of an export another stack does not have resolves to: nothing.
    missing = pulumi.StackReference(config.require("clusterStack")).get_output("auth_secret_name")
    RayJob(
        "hello",
        {
            "namespace": "default",
            "dashboard_url": "http://ray-head.ray.svc.cluster.local:8265",
            "auth_secret": missing,
            "entrypoint": "python -c 'print(1)'",
        },
    )
