"""The component's inputs: TypedDicts with a docstring under every field.

Pulumi infers the component schema from these (keep to `X | None`, `list[T]`, `dict[str, T]`, unique type
names, and no `from __future__ import annotations` here), so the docstrings become schema descriptions.
"""

from typing import Any, TypedDict

import pulumi


class ResourcesArgs(TypedDict, total=False):
    """CPU, memory and GPUs of one Ray pod. Requests equal limits unless set lower."""

    cpu: str
    """CPU limit as a whole number of CPUs ("2" or "2000m"); Ray's --num-cpus is derived from it."""
    memory: str
    """Memory limit ("4Gi"); Ray's --memory and the /dev/shm size are derived from it."""
    gpus: int
    """NVIDIA GPUs (nvidia.com/gpu); Ray's --num-gpus. Default 0."""
    cpu_request: str
    """CPU request, if lower than the limit (default: equal to `cpu`)."""
    memory_request: str
    """Memory request, if lower than the limit (default: equal to `memory`)."""


class TolerationArgs(TypedDict, total=False):
    """A Kubernetes toleration."""

    key: str
    """Taint key to tolerate (empty with operator Exists tolerates everything)."""
    operator: str
    """"Equal" (default) or "Exists"."""
    value: str
    """Taint value to match when the operator is Equal."""
    effect: str
    """"NoSchedule", "PreferNoSchedule" or "NoExecute" (empty matches all effects)."""
    toleration_seconds: int
    """For NoExecute: how long the pod stays bound after the taint appears."""


class WorkerGroupArgs(TypedDict, total=False):
    """An additional group of Ray workers (its own Deployment `<name>-worker-<group>`), e.g. GPU nodes."""

    name: str
    """Group name: a lowercase DNS label of at most 15 characters, unique, not "default"."""
    replicas: int
    """Number of workers in this group (0 to 1000). Default 1."""
    resources: ResourcesArgs
    """CPU, memory and GPUs of each worker in this group (default: the default group's)."""
    node_selector: dict[str, str]
    """Node labels this group's pods must match (added to the cluster-wide `node_selector`)."""
    tolerations: list[TolerationArgs]
    """Tolerations for this group's pods (added to the cluster-wide `tolerations`)."""


class MetricsArgs(TypedDict, total=False):
    """Prometheus scraping and Grafana dashboards for the cluster."""

    prometheus_namespaces: list[str]
    """Namespaces whose pods (Prometheus) may scrape the metrics ports (8080 on every Ray pod, the
    dashboard's 44227 on the head) through the NetworkPolicy."""
    pod_monitor: bool
    """Create a monitoring.coreos.com/v1 PodMonitor for the head and the workers (needs the Prometheus
    Operator's CRD). Default false."""
    pod_monitor_labels: dict[str, str]
    """Extra labels on the PodMonitor, e.g. {"release": "kube-prometheus-stack"} for a Prometheus that
    selects PodMonitors by label."""
    grafana_dashboards: bool
    """Create ConfigMaps labelled grafana_dashboard=1 holding Ray's own Grafana dashboards. Default false."""
    grafana_namespace: str
    """Namespace of those ConfigMaps (where Grafana's dashboard sidecar looks). Default: the cluster's."""
    grafana_url: str
    """Grafana as the browser reaches it (RAY_GRAFANA_HOST, RAY_GRAFANA_IFRAME_HOST): the Ray dashboard
    embeds its panels from there."""
    prometheus_url: str
    """Prometheus as the head reaches it (RAY_PROMETHEUS_HOST): the Ray dashboard queries it."""


class IngressArgs(TypedDict, total=False):
    """A networking.k8s.io/v1 Ingress to the head's dashboard (and Jobs API)."""

    host: str
    """Host name the Ingress answers for, e.g. "ray.example.com" (required)."""
    class_name: str
    """IngressClass to use (ingressClassName), e.g. "nginx". Default: the cluster's default class."""
    tls_secret: str
    """Existing TLS Secret in the cluster's namespace for `host`; the URL is then https."""
    annotations: dict[str, str]
    """Annotations on the Ingress (controller settings, cert-manager issuers, ...)."""
    path: str
    """Path prefix routed to the dashboard. Default "/"."""
    controller_namespaces: list[str]
    """Namespaces of the Ingress controller's pods: the NetworkPolicy admits them to the dashboard port."""


class RayClusterArgs(TypedDict, total=False):
    """Inputs of a static Ray cluster: one head Deployment and fixed-size worker Deployments."""

    workers: int
    """Number of Ray workers in the default group (0 to 1000). Default 3."""
    image: str
    """Ray container image for every pod. Default rayproject/ray:2.60.0."""
    ray_version: str
    """Ray version in the image ("2.60.0"), when the image tag does not start with it (e.g. "latest")."""
    image_pull_policy: str
    """"IfNotPresent" (default), "Always" or "Never"."""
    namespace: str
    """Kubernetes namespace for every object. Default "ray"."""
    create_namespace: bool
    """Create (and on destroy delete) the namespace. False deploys into an existing one. Default true."""
    head_resources: ResourcesArgs
    """CPU, memory and GPUs of the head pod. Default 2 CPUs, 4Gi."""
    head_ray_cpus: int
    """CPUs the head offers to Ray tasks (--num-cpus). Default 0: tasks run on workers only."""
    worker_resources: ResourcesArgs
    """CPU, memory and GPUs of each worker in the default group. Default 1 CPU, 2Gi."""
    worker_groups: list[WorkerGroupArgs]
    """Additional worker groups, each its own Deployment."""
    node_selector: dict[str, str]
    """Node labels every Ray pod must match."""
    tolerations: list[TolerationArgs]
    """Tolerations for every Ray pod."""
    affinity: dict[str, Any]
    """Kubernetes affinity for every Ray pod, in Kubernetes field names (camelCase)."""
    image_pull_secrets: list[str]
    """Names of existing Secrets used to pull the image."""
    env: dict[str, str]
    """Extra environment variables for every Ray container."""
    pod_annotations: dict[str, str]
    """Extra annotations on every Ray pod."""
    service_account: str
    """Use this existing ServiceAccount instead of creating `<name>`."""
    service_type: str
    """Head Service type: "ClusterIP" (default), "NodePort" or "LoadBalancer"."""
    auth: bool
    """Ray token authentication (RAY_AUTH_MODE=token). Default true."""
    auth_token: pulumi.Input[str]
    """The token (a secret; at least 16 characters). Default: generated once and kept in the stack state."""
    network_policy: bool
    """Create a NetworkPolicy admitting only this cluster's pods and the allowed clients. Default true."""
    allowed_client_namespaces: list[str]
    """Namespaces whose pods may reach the client, dashboard and GCS ports."""
    allowed_client_pod_labels: dict[str, str]
    """Pods in the cluster's namespace with these labels may reach the client, dashboard and GCS ports."""
    allow_unauthenticated_exposure: bool
    """Allow a NodePort/LoadBalancer Service while auth is off. Default false."""
    read_only_root_filesystem: bool
    """Ray containers get a read-only root filesystem, writing only to emptyDirs at /tmp and
    /home/ray/.cache. Default true."""
    usage_stats: bool
    """Let Ray send its anonymous usage statistics (RAY_USAGE_STATS_ENABLED). Default false: no phone-home."""
    termination_grace_period_seconds: int
    """Seconds a stopping Ray pod gets between SIGTERM and SIGKILL (0 to 86400). Default 30."""
    metrics: MetricsArgs
    """Prometheus and Grafana: which namespaces may scrape, a PodMonitor, Ray's Grafana dashboards."""
    ingress: IngressArgs
    """An Ingress to the dashboard (needs auth on, or allow_unauthenticated_exposure)."""
    service_annotations: dict[str, str]
    """Extra annotations on the head Service (e.g. a cloud load balancer's settings)."""
    load_balancer_source_ranges: list[str]
    """CIDRs allowed to reach a LoadBalancer head Service, e.g. ["203.0.113.0/24"]."""
    serve: bool
    """Open Ray Serve's HTTP port (serve_port) on the Ray pods, the head Service and the NetworkPolicy."""
    serve_port: int
    """Ray Serve's HTTP port (1024 to 65535). Default 8000. Setting it turns `serve` on unless `serve` is
    false."""
