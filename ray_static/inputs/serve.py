"""A RayServe's inputs: TypedDicts with a docstring under every field.

RayServeInputs is what every language sees (the inferred schema): Ray Serve's config and the cluster's
outputs, plain values or outputs of another stack. RayServeArgs adds `cluster`, a RayCluster object of the
same Python program. The Serve fields are Ray Serve's own config schema (ServeDeploySchema), snake_case as
Serve spells them. Keep to the schema rules of args.py here (no `from __future__ import annotations`,
`X | None` only, unique type names).
"""

from typing import TYPE_CHECKING, Any, Required, TypedDict

import pulumi

from ray_static.inputs.field_docs import document_fields

if TYPE_CHECKING:
    from ray_static.cluster.component import RayCluster


class ServeApplicationArgs(TypedDict, total=False):
    """One Ray Serve application, as in Serve's config file."""

    name: Required[str]
    """The application's name, unique in the cluster."""
    import_path: Required[str]
    """Where Serve finds the application: "module:attribute", e.g. "fruit.app:deployment_graph"."""
    route_prefix: str
    """The HTTP path the application answers under, starting with "/". Default "/"; unique in the cluster."""
    runtime_env: dict[str, Any]
    """Ray's runtime_env for the application (pip, env_vars, working_dir as a remote URI, ...)."""
    deployments: list[dict[str, Any]]
    """Overrides of the application's deployments, each naming one (`name`), with Serve's deployment
    options (num_replicas, user_config, ray_actor_options, autoscaling_config, ...)."""
    args: dict[str, Any]
    """Arguments passed to the application builder of `import_path`."""


class RayServeInputs(TypedDict, total=False):
    """Ray Serve applications deployed to a ray-static cluster, which is given by its outputs."""

    namespace: pulumi.Input[str]
    """The cluster's namespace (its `namespace` output); the deployer, the keeper and the Service go there."""
    dashboard_url: pulumi.Input[str]
    """The cluster's dashboard address (its `dashboard_url` output), where Serve's REST API is."""
    auth: bool
    """Whether the cluster has token auth (a plain value). Default true: then `auth_secret` is required."""
    auth_secret: pulumi.Input[str]
    """The cluster's token Secret (its `auth_secret_name` output); required unless `auth` is false."""
    image: pulumi.Input[str]
    """The cluster's image (its `image` output): the deployer and the keeper run it."""
    image_pull_secrets: pulumi.Input[list[str]]
    """The Secrets the cluster pulls its image with (its `image_pull_secrets` output)."""
    cluster_name: pulumi.Input[str]
    """The cluster's name (the RayCluster's resource name; its pods carry it as `ray.io/cluster`);
    required with the outputs. The serve Service is `<cluster_name>-serve`."""
    serve_port: pulumi.Input[int]
    """The cluster's Serve port (its `serve_port` output). Default 8000."""
    applications: Required[list[ServeApplicationArgs]]
    """The applications; Serve's config replaces every application of the cluster with these."""
    http_options: dict[str, Any]
    """Serve's http_options other than host and port (the cluster's serve_port decides the port), such as
    {"request_timeout_s": 30}. Serve applies them when it first starts on the cluster only."""
    proxy_location: str
    """Where Serve runs HTTP proxies: "EveryNode" (default: the head and every node with a replica),
    "HeadOnly" or "Disabled". Serve applies it when it first starts on the cluster only."""
    timeout_seconds: int
    """How long `pulumi up` waits for every application to be RUNNING (1 to 86400). Default 600."""
    service_type: str
    """The serve Service's type: "ClusterIP" (default), "NodePort" or "LoadBalancer". Serve's proxies check
    no token, so another type needs allow_unauthenticated_exposure."""
    service_annotations: dict[str, str]
    """Extra annotations on the serve Service (e.g. a cloud's load balancer settings)."""
    load_balancer_source_ranges: list[str]
    """CIDRs allowed to reach a LoadBalancer serve Service, e.g. ["203.0.113.0/24"]."""
    allow_unauthenticated_exposure: bool
    """Acknowledge that a NodePort or LoadBalancer serve Service answers anyone who reaches it: Ray's token
    does not guard the serve port. Default false."""


class RayServeArgs(RayServeInputs, total=False):
    """A RayServe's args in Python: the cluster's outputs, or the RayCluster itself."""

    cluster: "RayCluster"
    """A RayCluster of this Python program instead of its outputs; the applications come after it, and
    go first."""


document_fields([ServeApplicationArgs, RayServeInputs, RayServeArgs])
