"""What a Pulumi user of KubeRay writes: a namespace and a RayCluster custom resource (the operator and
its CRDs are installed beforehand, as a cluster add-on)."""

import pulumi
import pulumi_kubernetes as k8s
from raycluster import API_VERSION, KIND, spec

config = pulumi.Config()
namespace = k8s.core.v1.Namespace(
    "namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=config.require("namespace"))
)
k8s.apiextensions.CustomResource(
    "raycluster",
    api_version=API_VERSION,
    kind=KIND,
    metadata=k8s.meta.v1.ObjectMetaArgs(name="kuberay", namespace=namespace.metadata.name),
    spec=spec(config.require_int("workers"), config.require("image"), config.require("rayVersion")),
)
pulumi.export("namespace", namespace.metadata.name)
