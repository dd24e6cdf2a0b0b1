"""Every option of a RayCluster, declared once.

One row per option: where it goes in RayClusterArgs, its stack-config key in the repository's program,
its kind, its default, its description and its validator. The rest is derived from this table or tested
against it: the defaults `resolve` applies, the program's stack-config keys and the names in its error
messages, Pulumi.yaml's `config:` block and the README's table (tests/unit/test_options.py). RayClusterArgs
(args.py) stays the typed, documented input the schema is inferred from; a test keeps the two equal.

Adding an option: a row here, a field in args.py, its builder, tests; then `scripts/sync-config` rewrites
Pulumi.yaml and the README table.
"""

from dataclasses import dataclass
from typing import Any, Literal

from ray_static import constants as c
from ray_static.config import checks, kube_values, ray_flags, rollout
from ray_static.config.checks import Check
from ray_static.config.egress import egress
from ray_static.config.fault_tolerance import gcs_fault_tolerance
from ray_static.config.ingress import ingress
from ray_static.config.metrics import metrics
from ray_static.config.scheduling import tolerations

Kind = Literal[
    "integer",
    "boolean",
    "string",
    "list",
    "map",
    "object",
    "objects",
    "numbers",
    "secret_env",
    "groups",
    "tolerations",
    "record",
    "pod",
]
"""How the value is typed: scalars, a list of strings, a map of strings, any JSON object, a list of
Kubernetes objects in wire format, a map of numbers, Secret-backed variables, worker groups, tolerations,
a record (one of the args' nested TypedDicts, e.g. MetricsArgs), the head's pod options. The program's
stack config carries every non-scalar kind as a JSON string, records with their fields in camelCase."""
Scope = Literal["cluster", "pod"]
""""pod": also a field of `head` and of each worker group (PodArgs), merged over the top-level value."""


@dataclass(frozen=True)
class Option:
    """One option."""

    path: str
    """Where the value goes in RayClusterArgs, dotted for nested fields (``head_resources.cpu``); ``name``
    is the instance name, the component's first argument."""
    key: str
    """The stack-config key in the repository's program (``headCpu``)."""
    kind: Kind
    default: Any
    """The value when unset; None means "not set" (e.g. no token given: one is generated)."""
    description: str
    """One line for Pulumi.yaml and the README (the args' docstrings describe the component's inputs)."""
    check: Check | None
    """Validates and normalises a given value alone; None when a step of `resolve` checks it together
    with other options (its rule names both)."""
    secret: bool = False
    """A secret: the program warns when its stack-config value is stored in plaintext, and the plugin's
    schema marks the property secret (schema_docs.with_secrets)."""
    scope: Scope = "cluster"


OPTIONS: tuple[Option, ...] = (
    Option("name", "clusterName", "string", c.DEFAULT_NAME,
           "Instance name; objects are named {clusterName}-head, {clusterName}-worker and so on.",
           checks.instance_name),
    Option("workers", "workers", "integer", 3,
           "Number of Ray workers in the default group (0 to 1000).", checks.count),
    Option("image", "image", "string", c.DEFAULT_IMAGE,
           "Ray container image for every pod (head and groups may set their own, same Ray version).",
           checks.image, scope="pod"),
    Option("ray_version", "rayVersion", "string", None,
           'Ray version in the image, when its tag does not start with one (e.g. "latest").',
           checks.ray_version),
    Option("image_pull_policy", "imagePullPolicy", "string", "IfNotPresent",
           "IfNotPresent, Always or Never.", checks.one_of(*c.IMAGE_PULL_POLICIES)),
    Option("namespace", "namespace", "string", c.DEFAULT_NAMESPACE,
           "Kubernetes namespace for every object.", checks.dns_label),
    Option("create_namespace", "createNamespace", "boolean", True,
           "Create (and on destroy delete) the namespace; false deploys into an existing one.",
           checks.boolean),
    Option("head_resources.cpu", "headCpu", "string", "2",
           'CPU limit (= request) of the head, whole CPUs ("2" or "2000m").', checks.cpu),
    Option("head_resources.memory", "headMemory", "string", "4Gi",
           "Memory limit (= request) of the head; also sizes its /dev/shm.", checks.memory),
    Option("head_resources.ephemeral_storage", "headEphemeralStorage", "string", None,
           'Local disk (ephemeral-storage request and limit) of the head, e.g. "20Gi"; empty: none set.',
           checks.ephemeral_storage),
    Option("head_resources.cpu_request", "headCpuRequest", "string", None,
           "CPU request of the head, when lower than headCpu (empty: equal to it).", None),
    Option("head_resources.memory_request", "headMemoryRequest", "string", None,
           "Memory request of the head, when lower than headMemory (empty: equal to it).", None),
    Option("head", "head", "pod", {},
           'Pod options for the head alone, as JSON with camelCase fields, e.g. {"rayResources": {"a": 1}}.',
           kube_values.head_options),
    Option("head_ray_cpus", "headRayCpus", "integer", 0,
           "CPUs the head offers to Ray tasks (--num-cpus); 0 keeps tasks off the head.", None),
    Option("worker_resources.cpu", "workerCpu", "string", "1",
           "CPU limit (= request) of each worker, whole CPUs; Ray's --num-cpus.", checks.cpu),
    Option("worker_resources.memory", "workerMemory", "string", "2Gi",
           "Memory limit (= request) of each worker; Ray's --memory and the /dev/shm size.", checks.memory),
    Option("worker_resources.cpu_request", "workerCpuRequest", "string", None,
           "CPU request of each worker, when lower than workerCpu (empty: equal to it; Ray still counts "
           "workerCpu).", None),
    Option("worker_resources.memory_request", "workerMemoryRequest", "string", None,
           "Memory request of each worker, when lower than workerMemory (empty: equal to it).", None),
    Option("worker_resources.gpus", "workerGpus", "integer", 0,
           "NVIDIA GPUs (nvidia.com/gpu) per worker; Ray's --num-gpus.",
           checks.whole_number(0, c.MAX_GPUS_PER_POD)),
    Option("worker_resources.gpu_resource", "workerGpuResource", "string", c.DEFAULT_GPU_RESOURCE,
           'The Kubernetes resource workerGpus counts, e.g. "amd.com/gpu" or "nvidia.com/mig-1g.5gb".',
           checks.extended_resource),
    Option("worker_resources.ephemeral_storage", "workerEphemeralStorage", "string", None,
           'Local disk (ephemeral-storage request and limit) of each worker, e.g. "20Gi"; empty: none set.',
           checks.ephemeral_storage),
    Option("worker_groups", "workerGroups", "groups", [],
           'Extra worker groups as JSON, e.g. [{"name": "gpu", "replicas": 1, "cpu": "4", "memory": "16Gi", '
           '"gpus": 1}].', None),
    Option("node_selector", "nodeSelector", "map", {},
           'Node labels every Ray pod must match, as JSON, e.g. {"pool": "ray"}.', checks.label_map,
           scope="pod"),
    Option("tolerations", "tolerations", "tolerations", [],
           'Tolerations for every Ray pod, as JSON, e.g. [{"key": "ray", "operator": "Exists"}].',
           tolerations, scope="pod"),
    Option("affinity", "affinity", "object", {},
           "Kubernetes affinity for every Ray pod, as JSON (camelCase field names).", checks.affinity,
           scope="pod"),
    Option("topology_spread_constraints", "topologySpreadConstraints", "objects", [],
           "Kubernetes topologySpreadConstraints for every Ray pod, as JSON (without labelSelector: its "
           "own group's pods).", kube_values.topology_spread_constraints, scope="pod"),
    Option("priority_class_name", "priorityClassName", "string", None,
           "An existing PriorityClass for every Ray pod.", kube_values.priority_class_name, scope="pod"),
    Option("scheduler_name", "schedulerName", "string", None,
           'The scheduler of every Ray pod, e.g. "volcano" or "yunikorn"; empty: the default scheduler.',
           kube_values.optional_name, scope="pod"),
    Option("runtime_class_name", "runtimeClassName", "string", None,
           'An existing RuntimeClass for every Ray pod, e.g. "nvidia".', kube_values.optional_name,
           scope="pod"),
    Option("dns_config", "dnsConfig", "object", {},
           'Kubernetes PodDNSConfig for every Ray pod, as JSON, e.g. {"options": [{"name": "ndots", '
           '"value": "2"}]}.', kube_values.dns_config, scope="pod"),
    Option("resource_claims", "resourceClaims", "objects", [],
           'Dynamic resource allocation claims of the Ray container, as JSON, e.g. [{"name": "gpu", '
           '"resourceClaimTemplateName": "single-gpu"}].', kube_values.resource_claims, scope="pod"),
    Option("host_network", "hostNetwork", "boolean", False,
           'Ray pods on the node\'s network (needs podSecurity "privileged").', checks.boolean, scope="pod"),
    Option("host_ipc", "hostIpc", "boolean", False,
           'Ray pods share the node\'s IPC namespace (needs podSecurity "privileged").', checks.boolean,
           scope="pod"),
    Option("capabilities", "capabilities", "list", [],
           'Linux capabilities added to the Ray container, e.g. ["IPC_LOCK"] (beyond NET_BIND_SERVICE they '
           "need a podSecurity level that allows them).", kube_values.capabilities, scope="pod"),
    Option("image_pull_secrets", "imagePullSecrets", "list", [],
           "Existing Secrets to pull the image with, as a JSON list or comma-separated.", checks.name_list,
           scope="pod"),
    Option("env", "env", "map", {},
           'Extra environment variables for every Ray container, as JSON, e.g. {"RAY_LOG_TO_STDERR": "1"}.',
           checks.env_map, scope="pod"),
    Option("secret_env", "secretEnv", "secret_env", {},
           'Variables from existing Secrets, as JSON, e.g. {"API_KEY": {"secret": "api", "key": "token"}}.',
           kube_values.secret_env, scope="pod"),
    Option("env_from", "envFrom", "objects", [],
           'Kubernetes envFrom sources for every Ray container, as JSON, e.g. [{"secretRef": {"name": "s"}}]',
           kube_values.env_from, scope="pod"),
    Option("labels", "labels", "map", {},
           "Extra labels on every Ray pod, as JSON (not ray-static's own keys).", kube_values.pod_labels,
           scope="pod"),
    Option("annotations", "annotations", "map", {},
           "Extra annotations on every Ray pod, as JSON.", kube_values.pod_annotations, scope="pod"),
    Option("pod_annotations", "podAnnotations", "map", {},
           "The same as annotations (kept for existing stacks).", kube_values.pod_annotations),
    Option("volumes", "volumes", "objects", [],
           'Kubernetes volumes for every Ray pod, as JSON, e.g. [{"name": "data", "persistentVolumeClaim": '
           '{"claimName": "data"}}].', kube_values.volumes, scope="pod"),
    Option("volume_mounts", "volumeMounts", "objects", [],
           'Where the Ray containers mount them, as JSON, e.g. [{"name": "data", "mountPath": "/data"}].',
           kube_values.volume_mounts, scope="pod"),
    Option("sidecars", "sidecars", "objects", [],
           "Kubernetes containers run beside Ray in every Ray pod, as JSON (camelCase).",
           kube_values.containers, scope="pod"),
    Option("init_containers", "initContainers", "objects", [],
           "Kubernetes containers run before Ray starts in every Ray pod, as JSON (camelCase).",
           kube_values.containers, scope="pod"),
    Option("ray_resources", "rayResources", "numbers", {},
           'Custom Ray resources of every Ray node (ray start --resources), as JSON, e.g. {"tpu": 4}.',
           ray_flags.ray_resources, scope="pod"),
    Option("ray_labels", "rayLabels", "map", {},
           'Ray node labels (ray start --labels), as JSON, e.g. {"zone": "a"}.', ray_flags.ray_labels,
           scope="pod"),
    Option("ray_start_args", "rayStartArgs", "list", [],
           'Extra ray start flags, as JSON, e.g. ["--object-store-memory=2000000000"] (not the ones '
           "ray-static sets).", ray_flags.ray_start_args, scope="pod"),
    Option("service_account", "serviceAccount", "string", None,
           "Use this existing ServiceAccount; empty creates one named {clusterName} (no API token mounted).",
           checks.optional_object_name),
    Option("service_type", "serviceType", "string", "ClusterIP",
           "Head Service type, ClusterIP, NodePort or LoadBalancer (the last two need auth on, and "
           "allowUnauthenticatedExposure with serve on).",
           checks.one_of(*c.SERVICE_TYPES)),
    Option("auth", "auth", "boolean", True,
           "Ray token authentication; false disables it (anyone reaching a port can run code).",
           checks.boolean),
    Option("auth_token", "authToken", "string", None,
           "The Ray token (set with --secret, at least 16 characters); empty generates one kept in state.",
           checks.token, secret=True),
    Option("network_policy", "networkPolicy", "boolean", True,
           "Admit traffic to Ray pods only from this cluster's pods and the allowed clients.",
           checks.boolean),
    Option("allowed_client_namespaces", "allowedClientNamespaces", "list", [],
           "Namespaces whose pods may reach the client, dashboard and GCS ports "
           "(JSON list or comma-separated).",
           checks.namespace_list),
    Option("allowed_client_pod_labels", "allowedClientPodLabels", "map", {},
           'Pods in the cluster namespace with these labels may reach the client ports, as JSON, e.g. '
           '{"ray-client": "true"}.', checks.label_map),
    Option("allowed_client_cidrs", "allowedClientCidrs", "list", [],
           'IP ranges outside the cluster (a VPN, a scheduler host) that may reach the client ports, e.g. '
           '["10.8.0.0/16"].', checks.cidr_list),
    Option("egress", "egress", "record", None,
           'Limit what Ray pods may reach too, as JSON, e.g. {"allowedNamespaces": ["data"], '
           '"allowedCidrs": ["10.0.5.0/24"]} (DNS, own pods, Redis and Prometheus stay allowed).', egress),
    Option("allow_unauthenticated_exposure", "allowUnauthenticatedExposure", "boolean", False,
           "Allow a NodePort/LoadBalancer Service while auth is off.", checks.boolean),
    Option("read_only_root_filesystem", "readOnlyRootFilesystem", "boolean", True,
           "Read-only root filesystem for every container; Ray writes to emptyDirs at /tmp and ~/.cache.",
           checks.boolean),
    Option("pod_security", "podSecurity", "string", "restricted",
           'The Pod Security Standard of the namespace and the Ray pods: "restricted", "baseline" or '
           '"privileged".', checks.one_of(*c.POD_SECURITY_LEVELS)),
    Option("usage_stats", "usageStats", "boolean", False,
           "Let Ray send anonymous usage statistics (RAY_USAGE_STATS_ENABLED); off: no phone-home.",
           checks.boolean),
    Option("termination_grace_period_seconds", "terminationGracePeriodSeconds", "integer",
           c.DEFAULT_GRACE_PERIOD_SECONDS,
           "Seconds a stopping Ray pod gets between SIGTERM and SIGKILL (0 to 86400).",
           checks.whole_number(0, c.MAX_GRACE_PERIOD_SECONDS), scope="pod"),
    Option("drain_timeout_seconds", "drainTimeoutSeconds", "integer", None,
           "Seconds a stopping worker lets running tasks finish (no new work) before Ray stops; empty: the "
           "grace period less 15; 0: no drain.", None),
    Option("max_surge", "maxSurge", "string", "0",
           'Worker pods above a group\'s size while it rolls, a number or a percentage ("25%").',
           rollout.int_or_percent),
    Option("max_unavailable", "maxUnavailable", "string", "25%",
           "Worker pods below a group's size while it rolls (at least 1 while maxSurge is 0).",
           rollout.int_or_percent),
    Option("worker_pod_disruption_budget", "workerPodDisruptionBudget", "record", None,
           'A PodDisruptionBudget for each worker group without its own, as JSON, e.g. {"maxUnavailable": '
           '"1"}.', rollout.disruption_budget),
    Option("suspend", "suspend", "boolean", False,
           "Scale the head and every worker group to 0, keeping everything else; false resumes.",
           checks.boolean),
    Option("metrics", "metrics", "record", {},
           'Prometheus and Grafana, as JSON, e.g. {"prometheusNamespaces": ["monitoring"], '
           '"podMonitor": true, "grafanaDashboards": true}.', metrics),
    Option("ingress", "ingress", "record", None,
           'An Ingress to the dashboard, as JSON, e.g. {"host": "ray.example.com", "className": "nginx", '
           '"tlsSecret": "ray-tls"} (needs auth on).', ingress),
    Option("service_annotations", "serviceAnnotations", "map", {},
           "Extra annotations on the head Service, as JSON.", checks.annotation_map),
    Option("load_balancer_source_ranges", "loadBalancerSourceRanges", "list", [],
           'CIDRs allowed to reach a LoadBalancer head Service, e.g. ["203.0.113.0/24"].', checks.cidr_list),
    Option("serve", "serve", "boolean", False,
           "Open Ray Serve's HTTP port (servePort) on the Ray pods, the head Service and the NetworkPolicy.",
           checks.boolean),
    Option("serve_port", "servePort", "integer", c.DEFAULT_SERVE_PORT,
           "Ray Serve's HTTP port (1024 to 65535, none of Ray's pinned ports); setting it turns serve on.",
           checks.serve_port),
    Option("gcs_fault_tolerance", "gcsFaultTolerance", "record", None,
           'Keep the GCS in an external Redis so a head restart keeps the cluster, as JSON, e.g. '
           '{"redisAddress": "redis:6379", "redisPasswordSecret": "redis"}.', gcs_fault_tolerance),
    Option("pod_disruption_budget", "podDisruptionBudget", "boolean", False,
           "A PodDisruptionBudget that makes node drains wait instead of evicting the head.", checks.boolean),
)  # fmt: skip

BY_PATH = {o.path: o for o in OPTIONS}
BY_KEY = {o.key: o for o in OPTIONS}


def default(path: str) -> Any:
    """The declared default of the option at ``path``."""
    return BY_PATH[path].default


def defaults_under(parent: str) -> dict[str, Any]:
    """Declared defaults of the nested options under ``parent`` (``head_resources`` -> cpu, memory),
    leaving out those whose default is "not set"."""
    prefix = f"{parent}."
    return {
        o.path.removeprefix(prefix): o.default
        for o in OPTIONS
        if o.path.startswith(prefix) and o.default is not None
    }
