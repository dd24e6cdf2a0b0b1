"""Every number and name that more than one module needs, defined once.

Ports are pinned (Ray would otherwise pick several of them at random) so that the containers, probes,
Service and NetworkPolicy can all list the same exact values.
"""

RAY_VERSION = "2.60.0"
"""The Ray release the default image runs (and the version of ray[default] the tests use)."""

DEFAULT_IMAGE = f"rayproject/ray:{RAY_VERSION}"
DEFAULT_NAME = "ray"
DEFAULT_NAMESPACE = "ray"
COMPONENT_TYPE = "ray-static:index:RayCluster"

# Ray ports: the head's public ones (Service) ...
GCS_PORT = 6379
CLIENT_PORT = 10001
DASHBOARD_PORT = 8265
METRICS_PORT = 8080
# ... and the per-node ones Ray would otherwise choose at random.
OBJECT_MANAGER_PORT = 8076
NODE_MANAGER_PORT = 8077
DASHBOARD_AGENT_GRPC_PORT = 8078
RUNTIME_ENV_AGENT_PORT = 8079
DASHBOARD_AGENT_LISTEN_PORT = 52365
MIN_WORKER_PORT = 10002
MAX_WORKER_PORT = 10999
"""Ray worker processes (one per task/actor process) take ports from this range: ~1000 per pod."""
DASHBOARD_METRICS_PORT = 44227
"""The head's dashboard exports its own Prometheus metrics here (Ray's default, pinned through the
DASHBOARD_METRICS_PORT_ENV variable so the Service, the NetworkPolicy and the PodMonitor agree)."""
DASHBOARD_METRICS_PORT_ENV = "DASHBOARD_METRIC_PORT"
"""The variable Ray 2.60's dashboard reads its metrics port from (ray/dashboard/consts.py)."""
GRAFANA_HOST_ENV = "RAY_GRAFANA_HOST"
"""Where the head's dashboard asks Grafana for its panels (metrics.grafana_url)."""
GRAFANA_IFRAME_HOST_ENV = "RAY_GRAFANA_IFRAME_HOST"
"""Where the browser loads the embedded panels from: the same URL unless the user's env says otherwise."""
PROMETHEUS_HOST_ENV = "RAY_PROMETHEUS_HOST"
"""Where the head's dashboard queries Prometheus (metrics.prometheus_url)."""
DEFAULT_SERVE_PORT = 8000
"""Ray Serve's default HTTP port."""
PINNED_PORTS = frozenset(
    {
        GCS_PORT,
        CLIENT_PORT,
        DASHBOARD_PORT,
        METRICS_PORT,
        OBJECT_MANAGER_PORT,
        NODE_MANAGER_PORT,
        DASHBOARD_AGENT_GRPC_PORT,
        RUNTIME_ENV_AGENT_PORT,
        DASHBOARD_AGENT_LISTEN_PORT,
        DASHBOARD_METRICS_PORT,
    }
)
"""Every single port Ray listens on here (the worker-process range aside)."""

# Kubernetes label keys.
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_VERSION = "app.kubernetes.io/version"
LABEL_CLUSTER = "ray.io/cluster"
LABEL_NODE_TYPE = "ray.io/node-type"
LABEL_GROUP = "ray.io/group"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

HEAD = "head"
WORKER = "worker"
HEAD_GROUP = "headgroup"
DEFAULT_WORKER_GROUP = "default"

HEAD_TEMPLATE_HASH_ANNOTATION = "ray-static/head-template-hash"
AUTH_TOKEN_FINGERPRINT_ANNOTATION = "ray-static/auth-token-fingerprint"
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"
SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"

# Pod security: the Ray image's user `ray` (uid 1000, gid 100).
RAY_UID = 1000
RAY_GID = 100
RAY_HOME = "/home/ray"
WRITABLE_DIRS = {"tmp": "/tmp", "home-cache": f"{RAY_HOME}/.cache"}
"""emptyDirs under a read-only root filesystem, by volume name: Ray's session directory (/tmp/ray: logs,
sockets, runtime_env resources) and the user's cache (pip and model downloads of runtime_env and tasks)."""

SHM_VOLUME = "dshm"
SHM_PATH = "/dev/shm"
AUTH_VOLUME = "ray-auth"
HEAD_CONTAINER = "ray-head"
WORKER_CONTAINER = "ray-worker"
WAIT_CONTAINER = "wait-gcs-ready"

AUTH_SECRET_KEY = "token"
"""Key of the token inside the `<name>-auth` Secret."""
AUTH_TOKEN_DIR = "/var/run/secrets/ray"
"""Where every Ray container (init containers too) has the Secret mounted, read-only."""
AUTH_TOKEN_PATH = f"{AUTH_TOKEN_DIR}/{AUTH_SECRET_KEY}"
"""RAY_AUTH_TOKEN_PATH: Ray reads the token from this file, so it is never in the environment."""
AUTH_TOKEN_MODE = 0o440
"""Owner root, group the pod's fsGroup (Ray's gid 100): readable by Ray, by no one else."""

OWNED_VOLUMES = frozenset({SHM_VOLUME, AUTH_VOLUME, *WRITABLE_DIRS})
"""Volume names ray-static gives its own volumes: a user's volume may not take one."""
OWNED_MOUNT_PATHS = (SHM_PATH, AUTH_TOKEN_DIR, *WRITABLE_DIRS.values())
"""Where ray-static mounts its own volumes in the Ray containers: a user's mount may not replace one (a
mount below /tmp, e.g. a log volume at /tmp/ray, is fine)."""
OWNED_CONTAINERS = frozenset({HEAD_CONTAINER, WORKER_CONTAINER, WAIT_CONTAINER})
OWNED_ANNOTATION_PREFIX = "ray-static/"
NOFILE_LIMIT = 65536
"""Open files `ray start` asks for (KubeRay raises the limit the same way): a large cluster's raylets and
workers exceed the common default of 1024 (kuberay#4860)."""
DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"

GCS_WAIT_INTERVAL_SECONDS = 0.5
"""How often a waiting worker tries the GCS port (a bash TCP connect: nearly free)."""
GCS_WAIT_MESSAGE_SECONDS = 10
"""How often it says in its log what it waits for."""
WAIT_CONTAINER_CPU = "200m"
WAIT_CONTAINER_MEMORY = "512Mi"
"""The init container that waits for the GCS runs a bash loop only."""
POD_IP_ENV = "RAY_STATIC_POD_IP"
"""The pod's IP (downward API), for `ray start --node-ip-address`: without it Ray finds its address by
dialling a public DNS server, which a private cluster cannot reach."""

# Limits that catch typos rather than constrain real clusters.
MAX_WORKERS_PER_GROUP = 1000
MAX_GPUS_PER_POD = 64
MIN_MEMORY_BYTES = 512 * 1024**2
MAX_NAME_LENGTH = 40
"""Instance names stay short so `<name>-worker-<group>` fits in a 63-character label."""
MAX_GROUP_NAME_LENGTH = 15
MAX_GRACE_PERIOD_SECONDS = 86400

# Stopping a worker: SIGTERM reaches `ray start --block` (the container execs it), which drains the node
# (no new work; running tasks and actors may finish) for the drain timeout, then stops Ray.
DEFAULT_GRACE_PERIOD_SECONDS = 60
DRAIN_MARGIN_SECONDS = 15
"""The default drain timeout is the grace period less this: time for Ray to stop its processes after the
drain ends, before the kubelet's SIGKILL."""
DRAIN_TIMEOUT_ENV = "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"
"""Ray 2.60 `_private/ray_constants.py`: how long `ray start --block` drains its node on SIGTERM (0: no
drain)."""


# Ray >= 2.53 serves one health endpoint on the dashboard agent; older Ray needs the raylet/GCS ones.
HEALTHZ_MIN_VERSION = (2, 53, 0)
TOKEN_AUTH_MIN_VERSION = (2, 52, 0)

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")

# Metrics and dashboards.
GRAFANA_DASHBOARD_LABEL = "grafana_dashboard"
"""The label Grafana's dashboard sidecar (kube-prometheus-stack, the grafana chart) looks for."""
GRAFANA_FOLDER_ANNOTATION = "grafana_folder"
"""The annotation the sidecar can file dashboards under (its `folderAnnotation` setting)."""
GRAFANA_FOLDER = "Ray"
MAX_CONFIGMAP_BYTES = 1024 * 1024
"""Kubernetes refuses objects above 1 MiB: one dashboard per ConfigMap stays well below."""
IMAGE_PULL_POLICIES = ("IfNotPresent", "Always", "Never")

# RayJob: a Kubernetes Job whose one container submits a Ray job and follows it to its end.
JOB_COMPONENT_TYPE = "ray-static:index:RayJob"
SUBMITTER_LABEL = "ray-static/job-submitter"
"""Label of submitter pods: every cluster's NetworkPolicy admits them on the dashboard (Jobs API) port."""
SUBMITTER_CONTAINER = "submitter"
SUBMITTER_CPU = "250m"
SUBMITTER_MEMORY = "512Mi"
SUBMITTER_GRACE_PERIOD_SECONDS = 30
"""Time the submitter has, once its pod is terminated, to stop the Ray job it follows."""
JOB_BACKOFF_LIMIT = 1
"""One retry. The submitter waits for the Jobs API itself, and the retry of an ended job submits nothing
and fails the same way; but pulumi-kubernetes 4.25 reports a failed Job only for BackoffLimitExceeded (a
podFailurePolicy FailJob leaves `pulumi up` waiting until its timeout), with the termination messages of
the pods it saw fail: the first pod's, seen while the retry runs, is the job's last log lines."""
JOB_TTL_SECONDS = 86400
"""Kubernetes deletes a finished Job (and its pod's logs) a day after it ended."""
JOB_UNSUCCESSFUL_EXIT_CODE = 3
"""The submitter's exit code when the Ray job ended FAILED or STOPPED (1 is for its own errors)."""
DEFAULT_JOB_WAIT_SECONDS = 86400
"""How long `pulumi up` waits for a job with no timeout_seconds."""
JOB_WAIT_MARGIN_SECONDS = 120
"""Added to timeout_seconds for `pulumi up`'s wait: the submitter's start and the stop at the deadline."""
MAX_JOB_TIMEOUT_SECONDS = 30 * 86400
MAX_SUBMISSION_ID_LENGTH = 128
TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
CREATED_CONDITION = "jsonpath={.metadata.name}"
"""A waitFor condition every created object meets at once: not awaited on create, unlike skipAwait, which
pulumi-kubernetes 4.25 also applies to a Job's delete."""
SAFE_TO_EVICT_ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict"

# GCS fault tolerance: the head keeps the GCS state in an external Redis (fault_tolerance.py).
REDIS_ADDRESS_ENV = "RAY_REDIS_ADDRESS"
"""Where Ray 2.60's head finds the external Redis (ray/_private/node.py reads it at `ray start --head`)."""
REDIS_PASSWORD_ENV = "REDIS_PASSWORD"
"""The head's copy of the Redis password, from the Secret; `ray start --redis-password` takes it from the
shell, so the pod spec never holds it (KubeRay names the variable the same)."""
EXTERNAL_STORAGE_NAMESPACE_ENV = "RAY_external_storage_namespace"
"""Ray's config `external_storage_namespace`: the prefix of every key this cluster keeps in Redis."""
GCS_RECONNECT_TIMEOUT_ENV = "RAY_gcs_rpc_server_reconnect_timeout_s"
WORKER_GCS_RECONNECT_TIMEOUT_SECONDS = 600
"""How long a worker's raylet waits for a restarted GCS before it exits (Ray's default is 60 s). KubeRay's
DefaultWorkerRayGcsReconnectTimeoutS (ray-operator/controllers/ray/utils/constant.go): a new head is
typically back within 120 s; the head itself keeps Ray's 60 s, so a head whose GCS is gone exits and is
restarted well before the workers give up."""
GCS_STORAGE_ANNOTATION = "ray-static/gcs-storage"
"""On worker pods with GCS fault tolerance: the Redis address and storage namespace. A head restart keeps
the workers; moving the cluster's state elsewhere is a new, empty Ray cluster, so it rolls them."""

# Pod Security Standards (the PodSecurity admission controller's checks, k8s.io/pod-security-admission).
POD_SECURITY_LEVELS = ("restricted", "baseline", "privileged")
"""From the strictest up; the namespace's Pod Security labels enforce and warn at the chosen one."""
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
"""What `restricted` lets a container add (policy/check_capabilities_restricted.go)."""
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
"""What `baseline` lets a container add: the runtime's default set (policy/check_capabilities_baseline.go)."""
LINUX_CAPABILITIES = frozenset(
    {
        *BASELINE_CAPABILITIES,
        "AUDIT_CONTROL",
        "AUDIT_READ",
        "BLOCK_SUSPEND",
        "BPF",
        "CHECKPOINT_RESTORE",
        "DAC_READ_SEARCH",
        "IPC_LOCK",
        "IPC_OWNER",
        "LEASE",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "NET_ADMIN",
        "NET_BROADCAST",
        "NET_RAW",
        "PERFMON",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_MODULE",
        "SYS_NICE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "SYSLOG",
        "WAKE_ALARM",
    }
)
"""Every Linux capability (capabilities(7)), named as Kubernetes compares them: without CAP_."""
HOST_NETWORK_DNS_POLICY = "ClusterFirstWithHostNet"
"""A pod on the host's network resolves with the node's resolver unless asked: the workers would no longer
find the head's Service name."""

# RayServe: Ray Serve applications deployed to a cluster by an in-cluster Job, and the Service in front of
# the pods whose Serve proxy is ready.
SERVE_COMPONENT_TYPE = "ray-static:index:RayServe"
SERVE_SERVICE_SUFFIX = "-serve"
"""The serve Service is `<cluster>-serve` (`ray-serve` for the default cluster name)."""
SERVE_PROXY_LABEL = "ray-static/serve-proxy"
"""On the cluster's pods: "true" while the pod's Serve proxy answers /-/healthz; the serve Service selects
it. Kept current by the RayServe's keeper."""
SERVE_KEEPER_LABEL = "ray-static/serve-keeper"
"""Label of a RayServe's keeper pod: the cluster's NetworkPolicy admits it on the serve and dashboard
ports."""
SERVE_HEALTH_PATH = "/-/healthz"
"""The Serve proxy's health endpoint (no token: Ray's auth exempts it, and the proxy checks none)."""
SERVE_PROXY_LOCATIONS = ("EveryNode", "HeadOnly", "Disabled")
"""Ray Serve's `proxy_location` values (ray/serve/config.py ProxyLocation); EveryNode is its default."""
SERVE_HTTP_HOST = "0.0.0.0"
"""Where every proxy listens: all of the pod's addresses, so the Service and the keeper reach it."""
DEPLOYER_CONTAINER = "deployer"
KEEPER_CONTAINER = "keeper"
KEEPER_CPU = "100m"
KEEPER_MEMORY = "128Mi"
"""The keeper is one Python process of the standard library: a few MiB of its own beside the interpreter."""
KEEPER_GRACE_PERIOD_SECONDS = 120
"""Time a removed RayServe's keeper has to delete its applications and see them gone."""
DEFAULT_SERVE_WAIT_SECONDS = 600
"""How long `pulumi up` waits, by default, for every application to be RUNNING."""
MAX_SERVE_WAIT_SECONDS = 86400
SERVE_DEPLOY_FAILED_EXIT_CODE = 3
"""The deployer's exit code when an application failed (1 is for its own errors, such as a refused PUT)."""
