"""The component's inputs: TypedDicts with a docstring under every field.

A value that only flows into the Kubernetes objects is a `pulumi.Input` (a plain value or an Output of
another resource or stack), checked once known. A value that decides which objects exist is plain, and
its docstring says so: Pulumi must know every resource of a program before it deploys one.

Pulumi infers the component schema from these (keep to `X | None`, `list[T]`, `dict[str, T]`, unique type
names, and no `from __future__ import annotations` here), so the docstrings become schema descriptions.
"""

from typing import Any, Required, TypedDict

import pulumi

from ray_static.inputs.field_docs import document_fields


class ResourcesArgs(TypedDict, total=False):
    """CPU, memory and GPUs of one Ray pod. Requests equal limits unless set lower."""

    cpu: pulumi.Input[str]
    """CPU limit as a whole number of CPUs ("2" or "2000m"); Ray's --num-cpus is derived from it."""
    memory: pulumi.Input[str]
    """Memory limit ("4Gi"); Ray's --memory and the /dev/shm size are derived from it."""
    gpus: pulumi.Input[int]
    """NVIDIA GPUs (nvidia.com/gpu); Ray's --num-gpus. Default 0."""
    cpu_request: pulumi.Input[str]
    """CPU request, if lower than the limit (default: equal to `cpu`)."""
    memory_request: pulumi.Input[str]
    """Memory request, if lower than the limit (default: equal to `memory`)."""
    ephemeral_storage: pulumi.Input[str]
    """Local disk ("20Gi") as the `ephemeral-storage` request and limit: Ray's logs and spilled objects
    count against it, and the kubelet evicts a pod above it. Default: none set."""
    gpu_resource: pulumi.Input[str]
    """The Kubernetes resource `gpus` counts ("nvidia.com/gpu" by default; e.g. "amd.com/gpu" or a MIG
    resource such as "nvidia.com/mig-1g.5gb"); Ray's --num-gpus either way."""


class TolerationArgs(TypedDict, total=False):
    """A Kubernetes toleration."""

    key: pulumi.Input[str]
    """Taint key to tolerate (empty with operator Exists tolerates everything)."""
    operator: pulumi.Input[str]
    """"Equal" (default) or "Exists"."""
    value: pulumi.Input[str]
    """Taint value to match when the operator is Equal."""
    effect: pulumi.Input[str]
    """"NoSchedule", "PreferNoSchedule" or "NoExecute" (empty matches all effects)."""
    toleration_seconds: pulumi.Input[int]
    """For NoExecute: how long the pod stays bound after the taint appears."""


class SecretKeyArgs(TypedDict, total=False):
    """A key of an existing Secret in the cluster's namespace."""

    secret: pulumi.Input[str]
    """The Secret's name."""
    key: pulumi.Input[str]
    """The key inside it."""


class PodArgs(TypedDict, total=False):
    """What every Ray pod can carry: set at the top level of RayClusterArgs (every Ray pod), in `head`
    (the head alone) and in a `worker_groups` entry (that group). A group's or the head's lists and maps
    add to the top-level ones; its single values replace them."""

    image: pulumi.Input[str]
    """Ray container image. Default rayproject/ray:2.60.0; a group's or the head's must run the same
    Ray version."""
    image_pull_secrets: pulumi.Input[list[pulumi.Input[str]]]
    """Names of existing Secrets used to pull the image."""
    labels: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Extra labels on the Ray pods (not on their Deployments' selectors)."""
    annotations: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Extra annotations on the Ray pods."""
    env: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Extra environment variables for the Ray containers."""
    secret_env: pulumi.Input[dict[str, pulumi.Input[SecretKeyArgs]]]
    """Environment variables of the Ray containers taken from keys of existing Secrets."""
    env_from: pulumi.Input[list[dict[str, Any]]]
    """Kubernetes EnvFromSource objects (camelCase; `configMapRef` or `secretRef`) for the Ray
    containers."""
    volumes: pulumi.Input[list[dict[str, Any]]]
    """Kubernetes Volume objects (camelCase, e.g. a `persistentVolumeClaim`) added to the Ray pods."""
    volume_mounts: pulumi.Input[list[dict[str, Any]]]
    """Kubernetes VolumeMount objects (camelCase) for the Ray containers, each naming one of `volumes`;
    not at /dev/shm or the directories ray-static mounts itself."""
    sidecars: pulumi.Input[list[dict[str, Any]]]
    """Kubernetes Container objects (camelCase) run beside Ray in each pod (log shippers, proxies)."""
    init_containers: pulumi.Input[list[dict[str, Any]]]
    """Kubernetes Container objects (camelCase) run to completion before Ray starts (on workers, before
    the wait for the head)."""
    ray_resources: pulumi.Input[dict[str, pulumi.Input[float]]]
    """Custom Ray resources the nodes offer (`ray start --resources`), e.g. {"tpu-slice": 1}."""
    ray_labels: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Ray node labels (`ray start --labels`) for label-based scheduling; keys in Kubernetes label syntax,
    not under "ray.io/"."""
    ray_start_args: pulumi.Input[list[pulumi.Input[str]]]
    """Extra `ray start` flags (e.g. "--object-store-memory=2000000000"); the flags ray-static sets itself
    (addresses, ports, CPUs, GPUs, memory, resources, labels) are refused."""
    node_selector: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Node labels the Ray pods must match."""
    tolerations: pulumi.Input[list[pulumi.Input[TolerationArgs]]]
    """Tolerations for the Ray pods."""
    affinity: pulumi.Input[dict[str, Any]]
    """Kubernetes affinity for the Ray pods, in Kubernetes field names (camelCase)."""
    topology_spread_constraints: pulumi.Input[list[dict[str, Any]]]
    """Kubernetes TopologySpreadConstraint objects (camelCase); one without a `labelSelector` spreads the
    pods of its own group."""
    priority_class_name: pulumi.Input[str]
    """An existing PriorityClass for the Ray pods."""
    scheduler_name: pulumi.Input[str]
    """The scheduler of the Ray pods (schedulerName), e.g. "volcano" or "yunikorn" for a batch scheduler's
    queues and gang scheduling, which read `labels` and `annotations` (docs/configuration.md, "Schedulers
    and accelerators"). Default: the cluster's default scheduler."""
    runtime_class_name: pulumi.Input[str]
    """An existing RuntimeClass for the Ray pods (runtimeClassName), e.g. "nvidia" where the GPU runtime is
    not the node's default."""
    dns_config: pulumi.Input[dict[str, Any]]
    """A Kubernetes PodDNSConfig (camelCase: `nameservers`, `searches`, `options` of `name` and `value`)
    merged into the pods' resolver configuration."""
    resource_claims: pulumi.Input[list[dict[str, Any]]]
    """Dynamic resource allocation: claims of the Ray container, each {"name": ..., and one of
    "resourceClaimName" (an existing ResourceClaim, shared) or "resourceClaimTemplateName" (a claim of its
    own per pod)}. Each becomes an entry of the pod's `resourceClaims` and of the Ray container's
    `resources.claims`."""
    host_network: pulumi.Input[bool]
    """Run the Ray pods on the node's network (e.g. for RDMA or a host-only fabric). Needs `pod_security`
    "privileged"; the pods then resolve names with ClusterFirstWithHostNet so they still find the head's
    Service. Ray's ports are pinned: two Ray pods with it cannot share a node. Default false."""
    host_ipc: pulumi.Input[bool]
    """Share the node's IPC namespace with the Ray pods. Needs `pod_security` "privileged". Default
    false."""
    capabilities: pulumi.Input[list[pulumi.Input[str]]]
    """Linux capabilities added to the Ray container, without "CAP_" (e.g. ["IPC_LOCK"] for RDMA); it
    still drops all others and runs as Ray's non-root user. NET_BIND_SERVICE passes any `pod_security`;
    the runtime's default set needs "baseline"; any other "privileged"."""
    termination_grace_period_seconds: pulumi.Input[int]
    """Seconds a stopping Ray pod gets between SIGTERM and SIGKILL (0 to 86400). Default 60: a worker's
    Ray drains its node for up to `drain_timeout_seconds` of it first."""


class DisruptionBudgetArgs(TypedDict, total=False):
    """A PodDisruptionBudget for a worker group: exactly one of the two, a number of pods or a percentage
    of the group ("50%"). Node drains (evictions) wait while the group would fall below it."""

    min_available: str
    """Pods of the group that must stay up, e.g. "2" or "50%"."""
    max_unavailable: str
    """Pods of the group that may be down at once, e.g. "1" or "25%"."""


class HeadArgs(PodArgs, total=False):
    """Values for the head pod alone, over the top-level ones (its resources are `head_resources`)."""


class WorkerGroupArgs(PodArgs, total=False):
    """An additional group of Ray workers (its own Deployment `<name>-worker-<group>`), e.g. GPU nodes."""

    name: Required[str]
    """Group name: a lowercase DNS label of at most 15 characters, unique, not "default". A plain value: it
    decides which resources exist."""
    replicas: pulumi.Input[int]
    """Number of workers in this group (0 to 1000). Default 1."""
    resources: pulumi.Input[ResourcesArgs]
    """CPU, memory and GPUs of each worker in this group (default: the default group's)."""
    max_surge: pulumi.Input[str]
    """Pods above the group's size while it rolls ("1", "25%"). Default: the top-level `max_surge`."""
    max_unavailable: pulumi.Input[str]
    """Pods below the group's size while it rolls ("1", "25%"). Default: the top-level `max_unavailable`."""
    pod_disruption_budget: DisruptionBudgetArgs
    """A PodDisruptionBudget for this group's pods. Default: the top-level `worker_pod_disruption_budget`.
    A plain value: it decides which resources exist."""


class GcsFaultToleranceArgs(TypedDict, total=False):
    """The head keeps the cluster's GCS state in an external Redis, so a restarted head picks the cluster
    up again: workers, detached actors and jobs survive it."""

    redis_address: pulumi.Input[str]
    """Redis as the head reaches it, "host:port" (e.g. "redis.ray.svc.cluster.local:6379"); required."""
    redis_password_secret: pulumi.Input[str]
    """An existing Secret in the cluster's namespace holding Redis's password."""
    redis_password_key: pulumi.Input[str]
    """The key of the password in that Secret. Default "password"."""
    external_storage_namespace: pulumi.Input[str]
    """Where in Redis this cluster's state lives (the prefix of its keys); two clusters sharing one Redis
    need different ones. Default: `<namespace>-<name>-<8 hex digits>`, made on the first deployment and
    kept in the stack state, so a re-created cluster starts empty."""


class MetricsArgs(TypedDict, total=False):
    """Prometheus scraping and Grafana dashboards for the cluster."""

    prometheus_namespaces: pulumi.Input[list[pulumi.Input[str]]]
    """Namespaces whose pods (Prometheus) may scrape the metrics ports (8080 on every Ray pod, the
    dashboard's 44227 on the head) through the NetworkPolicy."""
    pod_monitor: bool
    """Create a monitoring.coreos.com/v1 PodMonitor for the head and the workers (needs the Prometheus
    Operator's CRD). Default false. A plain value: it decides which resources exist."""
    pod_monitor_labels: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Extra labels on the PodMonitor, e.g. {"release": "kube-prometheus-stack"} for a Prometheus that
    selects PodMonitors by label."""
    grafana_dashboards: bool
    """Create ConfigMaps labelled grafana_dashboard=1 holding Ray's own Grafana dashboards. Default false. A
    plain value: it decides which resources exist."""
    grafana_namespace: pulumi.Input[str]
    """Namespace of those ConfigMaps (where Grafana's dashboard sidecar looks). Default: the cluster's."""
    grafana_url: pulumi.Input[str]
    """Grafana as the browser reaches it (RAY_GRAFANA_HOST, RAY_GRAFANA_IFRAME_HOST): the Ray dashboard
    embeds its panels from there."""
    prometheus_url: pulumi.Input[str]
    """Prometheus as the head reaches it (RAY_PROMETHEUS_HOST): the Ray dashboard queries it."""


class IngressArgs(TypedDict, total=False):
    """A networking.k8s.io/v1 Ingress to the head's dashboard (and Jobs API)."""

    host: pulumi.Input[str]
    """Host name the Ingress answers for, e.g. "ray.example.com" (required)."""
    class_name: pulumi.Input[str]
    """IngressClass to use (ingressClassName), e.g. "nginx". Default: the cluster's default class."""
    tls_secret: pulumi.Input[str]
    """Existing TLS Secret in the cluster's namespace for `host`; the URL is then https."""
    annotations: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Annotations on the Ingress (controller settings, cert-manager issuers, ...)."""
    path: pulumi.Input[str]
    """Path prefix routed to the dashboard. Default "/"."""
    controller_namespaces: pulumi.Input[list[pulumi.Input[str]]]
    """Namespaces of the Ingress controller's pods: the NetworkPolicy admits them to the dashboard port."""


class EgressArgs(TypedDict, total=False):
    """What the Ray pods may reach, once the NetworkPolicy limits egress too: the cluster DNS, the
    cluster's own pods, the Redis of gcs_fault_tolerance, the Prometheus and Grafana of metrics, and
    what is listed here."""

    allowed_namespaces: pulumi.Input[list[pulumi.Input[str]]]
    """Namespaces whose pods the Ray pods may reach, on any port."""
    allowed_cidrs: pulumi.Input[list[pulumi.Input[str]]]
    """IP ranges the Ray pods may reach, on any port (e.g. a package mirror, object storage)."""
    dns_cidrs: pulumi.Input[list[pulumi.Input[str]]]
    """Where the cluster DNS answers, when not in pods labelled k8s-app=kube-dns in kube-system (e.g.
    ["169.254.20.10/32"] for NodeLocal DNSCache); port 53, UDP and TCP."""


class RayClusterArgs(PodArgs, total=False):
    """Inputs of a static Ray cluster: one head Deployment and fixed-size worker Deployments. The PodArgs
    fields apply to every Ray pod."""

    workers: pulumi.Input[int]
    """Number of Ray workers in the default group (0 to 1000). Default 3."""
    ray_version: pulumi.Input[str]
    """Ray version in the image ("2.60.0"), when the image tag does not start with it (e.g. "latest")."""
    image_pull_policy: pulumi.Input[str]
    """"IfNotPresent" (default), "Always" or "Never"."""
    namespace: pulumi.Input[str]
    """Kubernetes namespace for every object. Default "ray"."""
    create_namespace: bool
    """Create (and on destroy delete) the namespace. False deploys into an existing one. Default true. A
    plain value: it decides which resources exist."""
    head_resources: pulumi.Input[ResourcesArgs]
    """CPU, memory and GPUs of the head pod. Default 2 CPUs, 4Gi."""
    head: HeadArgs
    """Values for the head pod alone (volumes, sidecars, Ray resources, scheduling, ...), over the
    top-level ones."""
    head_ray_cpus: pulumi.Input[int]
    """CPUs the head offers to Ray tasks (--num-cpus). Default 0: tasks run on workers only."""
    worker_resources: pulumi.Input[ResourcesArgs]
    """CPU, memory and GPUs of each worker in the default group. Default 1 CPU, 2Gi."""
    worker_groups: list[WorkerGroupArgs]
    """Additional worker groups, each its own Deployment. A plain value: it decides which resources exist."""
    pod_annotations: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Extra annotations on every Ray pod: the same as `annotations`, kept for existing programs."""
    service_account: pulumi.Input[str]
    """Use this existing ServiceAccount instead of creating `<name>`."""
    service_type: pulumi.Input[str]
    """Head Service type: "ClusterIP" (default), "NodePort" or "LoadBalancer"."""
    auth: bool
    """Ray token authentication (RAY_AUTH_MODE=token). Default true. A plain value: it decides which
    resources exist."""
    auth_token: pulumi.Input[str]
    """The token (a secret; at least 16 characters). Default: generated once and kept in the stack state."""
    network_policy: bool
    """Create a NetworkPolicy admitting only this cluster's pods and the allowed clients. Default true. A
    plain value: it decides which resources exist."""
    allowed_client_namespaces: pulumi.Input[list[pulumi.Input[str]]]
    """Namespaces whose pods may reach the client, dashboard and GCS ports."""
    allowed_client_pod_labels: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Pods in the cluster's namespace with these labels may reach the client, dashboard and GCS ports."""
    allowed_client_cidrs: pulumi.Input[list[pulumi.Input[str]]]
    """IP ranges outside the cluster (a VPN, a scheduler host) whose hosts may reach the client,
    dashboard and GCS ports, e.g. ["10.8.0.0/16"]."""
    egress: pulumi.Input[EgressArgs]
    """Limit what the Ray pods may reach as well (the NetworkPolicy's egress rules). Default: not set, so
    the policy limits ingress only."""
    allow_unauthenticated_exposure: pulumi.Input[bool]
    """Allow a NodePort/LoadBalancer Service while auth is off. Default false."""
    read_only_root_filesystem: pulumi.Input[bool]
    """Ray containers get a read-only root filesystem, writing only to emptyDirs at /tmp and
    /home/ray/.cache. Default true."""
    pod_security: pulumi.Input[str]
    """The Pod Security Standard: "restricted" (default), "baseline" or "privileged". The namespace ray-static
    creates enforces it (its pod-security.kubernetes.io labels); an existing namespace (create_namespace
    false) keeps its own labels, which must allow it. Pod options that need more than it allows are
    refused. The Ray containers keep the restricted security context either way, bar added
    `capabilities`."""
    usage_stats: pulumi.Input[bool]
    """Let Ray send its anonymous usage statistics (RAY_USAGE_STATS_ENABLED). Default false: no phone-home."""
    metrics: MetricsArgs
    """Prometheus and Grafana: which namespaces may scrape, a PodMonitor, Ray's Grafana dashboards."""
    ingress: IngressArgs
    """An Ingress to the dashboard (needs auth on, or allow_unauthenticated_exposure)."""
    service_annotations: pulumi.Input[dict[str, pulumi.Input[str]]]
    """Extra annotations on the head Service (e.g. a cloud load balancer's settings)."""
    load_balancer_source_ranges: pulumi.Input[list[pulumi.Input[str]]]
    """CIDRs allowed to reach a LoadBalancer head Service, e.g. ["203.0.113.0/24"]."""
    serve: pulumi.Input[bool]
    """Open Ray Serve's HTTP port (serve_port) on the Ray pods, the head Service and the NetworkPolicy."""
    serve_port: pulumi.Input[int]
    """Ray Serve's HTTP port (1024 to 65535). Default 8000. Setting it turns `serve` on unless `serve` is
    false."""
    gcs_fault_tolerance: GcsFaultToleranceArgs
    """Keep the GCS state in an external Redis: a head restart then keeps the workers, detached actors
    and jobs instead of starting a new, empty cluster."""
    max_surge: pulumi.Input[str]
    """Worker pods above a group's size while it rolls: a number ("1") or a percentage ("25%"). Default "0":
    a rollout never needs room for an extra pod, so it moves on a full node."""
    max_unavailable: pulumi.Input[str]
    """Worker pods below a group's size while it rolls: a number or a percentage, rounded down but at least
    1 when `max_surge` is 0. Default "25%". A group may set its own of both."""
    worker_pod_disruption_budget: DisruptionBudgetArgs
    """A PodDisruptionBudget for the default group's workers, and for every extra group that sets none.
    Default: none. A plain value: it decides which resources exist."""
    drain_timeout_seconds: pulumi.Input[int]
    """Seconds a stopping worker's Ray waits for its running tasks and actors to finish before it stops
    them (RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S); no new work lands on it meanwhile. Default: its
    termination_grace_period_seconds less 15 (45 s by default), so the kubelet never kills Ray mid-drain;
    a value given must be below each worker's grace period. 0 stops workers without draining."""
    suspend: pulumi.Input[bool]
    """Scale the head and every worker group to 0 pods, keeping everything else (the token, Services,
    NetworkPolicy, volumes' claims); false brings the same cluster back. Default false."""
    pod_disruption_budget: bool
    """A PodDisruptionBudget for the head, so a node drain waits instead of evicting it (and with it the
    whole cluster, without gcs_fault_tolerance). Default false: it makes every drain of the head's node
    wait for someone to move the head. A plain value: it decides which resources exist."""


document_fields(
    [
        ResourcesArgs,
        TolerationArgs,
        SecretKeyArgs,
        PodArgs,
        DisruptionBudgetArgs,
        HeadArgs,
        WorkerGroupArgs,
        GcsFaultToleranceArgs,
        MetricsArgs,
        IngressArgs,
        EgressArgs,
        RayClusterArgs,
    ]
)
