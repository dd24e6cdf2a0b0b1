"""The `ray start` command lines, and the shell loop that waits for the head's GCS."""

import shlex

from ray_static import constants as c
from ray_static.cluster.fault_tolerance import redis_password_flag
from ray_static.config.pod_options import PodOptions
from ray_static.config.ray_flags import custom_args
from ray_static.config.settings import Resources, Settings


def pinned_port_args() -> list[str]:
    """Ports Ray would otherwise pick at random, pinned so the NetworkPolicy can list them."""
    return [
        f"--node-manager-port={c.NODE_MANAGER_PORT}",
        f"--object-manager-port={c.OBJECT_MANAGER_PORT}",
        f"--dashboard-agent-grpc-port={c.DASHBOARD_AGENT_GRPC_PORT}",
        f"--dashboard-agent-listen-port={c.DASHBOARD_AGENT_LISTEN_PORT}",
        f"--runtime-env-agent-port={c.RUNTIME_ENV_AGENT_PORT}",
        f"--min-worker-port={c.MIN_WORKER_PORT}",
        f"--max-worker-port={c.MAX_WORKER_PORT}",
    ]


def node_ip_arg() -> str:
    """The pod's own IP, as Kubernetes expands `$(VAR)` in a container's command."""
    return f"--node-ip-address=$({c.POD_IP_ENV})"


def resource_args(resources: Resources, ray_cpus: int) -> list[str]:
    """Ray's view of the pod: CPUs, memory and GPUs from the limits, never what the node has.

    --num-gpus is always given (0 too), so Ray does not count the host's GPUs (ray#20265).
    """
    return [
        f"--num-cpus={ray_cpus}",
        f"--memory={resources.memory_bytes}",
        f"--num-gpus={resources.gpus}",
    ]


def head_start_args(settings: Settings) -> list[str]:
    """`ray start --head ...` for the head container, with the head's custom resources, labels and flags."""
    return [
        "ray",
        "start",
        "--head",
        node_ip_arg(),
        f"--port={c.GCS_PORT}",
        "--dashboard-host=0.0.0.0",
        f"--dashboard-port={c.DASHBOARD_PORT}",
        f"--ray-client-server-port={c.CLIENT_PORT}",
        f"--metrics-export-port={c.METRICS_PORT}",
        *resource_args(settings.head, settings.head_ray_cpus),
        *pinned_port_args(),
        *_custom(settings.head_pod),
        "--block",
    ]


def _custom(pod: PodOptions) -> list[str]:
    return custom_args(pod.ray_resources, pod.ray_labels, pod.ray_start_args)


def worker_start_args(settings: Settings, resources: Resources, pod: PodOptions) -> list[str]:
    """`ray start --address=<head fqdn>:6379 ...` for a worker container of a group with ``pod``."""
    return [
        "ray",
        "start",
        f"--address={settings.worker_gcs_address}",
        node_ip_arg(),
        f"--metrics-export-port={c.METRICS_PORT}",
        *resource_args(resources, resources.ray_cpus),
        *pinned_port_args(),
        *_custom(pod),
        "--block",
    ]


def wait_for_gcs_script(gcs_address: str) -> str:
    """A bash loop that returns once the head's GCS accepts a TCP connection, saying every few seconds
    what it waits for.

    Bash alone (its /dev/tcp): a `ray health-check` is a Python start, about a second of CPU per try, and
    the wait runs on every worker at once while the head starts. A GCS that listens takes `ray start`'s
    own connection; one that rejects the worker (another Ray version, a wrong token) fails `ray start`
    with Ray's error in the container's log, where a health-check loop would have waited silently.
    """
    host, port = gcs_address.rsplit(":", 1)
    every = round(c.GCS_WAIT_MESSAGE_SECONDS / c.GCS_WAIT_INTERVAL_SECONDS)
    say = f'echo "waiting for the Ray head (GCS at {gcs_address})"'
    return (
        "tries=0; "
        f"until (exec 3<>{shlex.quote(f'/dev/tcp/{host}/{port}')}) 2>/dev/null; do "
        f"if [ $((tries % {every})) -eq 0 ]; then {say}; fi; "
        "tries=$((tries + 1)); "
        f"sleep {c.GCS_WAIT_INTERVAL_SECONDS}; "
        "done"
    )


STOP_ON_SIGTERM = "trap 'exit 143' TERM"
"""bash as a container's PID 1 ignores SIGTERM unless it handles it; 143 is 128 + SIGTERM, a shell's
own exit status for it."""


def wait_for_gcs_command(settings: Settings) -> list[str]:
    """The init container's command: wait for the GCS (a SIGTERM ends the wait), then exit."""
    return ["/bin/bash", "-c", f"{STOP_ON_SIGTERM}; {wait_for_gcs_script(settings.worker_gcs_address)}"]


def raise_nofile_script() -> str:
    """Raise the soft open-files limit to NOFILE_LIMIT, or as far as the hard limit allows: a node with a
    lower hard limit gets a smaller raise, never a failed container (only the soft limit changes, which
    needs no privilege up to the hard one)."""
    limit = c.NOFILE_LIMIT
    return f'ulimit -S -n {limit} 2>/dev/null || ulimit -S -n "$(ulimit -H -n)" 2>/dev/null || true'


def head_command(settings: Settings) -> list[str]:
    """Raise the open-files limit, then exec `ray start --head` (given the Redis password from the
    environment when GCS fault tolerance has one)."""
    start = shlex.join(head_start_args(settings))
    password = redis_password_flag(settings.gcs_fault_tolerance)
    if password is not None:
        start = f"{start} {password}"
    return ["/bin/bash", "-c", f"{raise_nofile_script()}; exec {start}"]


def worker_command(settings: Settings, resources: Resources, pod: PodOptions) -> list[str]:
    """Wait for the GCS, raise the open-files limit, then exec `ray start`.

    Init containers do not re-run when only the worker container restarts (e.g. after the head came back
    as a new cluster), so the worker container waits again itself instead of crash-looping.

    `exec` makes `ray start --block` PID 1, so the pod's SIGTERM reaches it and it drains its node. Until
    then bash is PID 1, which ignores a signal it has no handler for: the trap ends a wait at once instead
    of at the end of the grace period.
    """
    start = shlex.join(worker_start_args(settings, resources, pod))
    wait = wait_for_gcs_script(settings.worker_gcs_address)
    return ["/bin/bash", "-c", f"{STOP_ON_SIGTERM}; {wait}; {raise_nofile_script()}; exec {start}"]
