"""Containers and pod templates for the head and the workers."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.meta.v1 as meta

from ray_static import constants as c
from ray_static.cluster import fault_tolerance
from ray_static.cluster.commands import head_command, wait_for_gcs_command, worker_command
from ray_static.cluster.labels import labels, selector_labels
from ray_static.cluster.probes import liveness_probe, readiness_probe, startup_probe
from ray_static.cluster.shared import container_security_context, pod_security_context
from ray_static.cluster.volumes import pod_volumes, ray_mounts, user_mounts
from ray_static.cluster.wire import has_output, to_wire
from ray_static.config.pod_options import PodOptions
from ray_static.config.settings import Resources, Settings, WorkerGroup


def resource_requirements(
    resources: Resources, claims: list[dict[str, str]] | None = None
) -> core.ResourceRequirementsArgs:
    """Limits and requests; GPUs (of the group's GPU resource) and local disk are requested as limited.
    ``claims``: the pod's resource claims, every one of them the Ray container's."""
    limits = {"cpu": resources.cpu, "memory": resources.memory}
    requests = {"cpu": resources.cpu_request, "memory": resources.memory_request}
    extra: dict[str, str] = {}
    if resources.gpus:
        extra[resources.gpu_resource] = str(resources.gpus)
    if resources.ephemeral_storage is not None:
        extra["ephemeral-storage"] = resources.ephemeral_storage
    return core.ResourceRequirementsArgs(
        limits=limits | extra,
        requests=requests | extra,
        claims=[core.ResourceClaimArgs(name=claim["name"]) for claim in claims or []] or None,
    )


def pod_resource_claims(pod: PodOptions) -> list[core.PodResourceClaimArgs] | None:
    """The pod's entries of its claims, each naming the existing ResourceClaim or the template of its own."""
    return [
        core.PodResourceClaimArgs(
            name=claim["name"],
            resource_claim_name=claim.get("resourceClaimName"),
            resource_claim_template_name=claim.get("resourceClaimTemplateName"),
        )
        for claim in pod.resource_claims
    ] or None


def user_env(pod: PodOptions) -> list[core.EnvVarArgs]:
    """The user's variables: plain ones, then those from Secrets, each sorted by name."""
    plain = [core.EnvVarArgs(name=k, value=v) for k, v in sorted(pod.env.items())]
    from_secrets = [
        core.EnvVarArgs(
            name=name,
            value_from=core.EnvVarSourceArgs(
                secret_key_ref=core.SecretKeySelectorArgs(name=ref["secret"], key=ref["key"])
            ),
        )
        for name, ref in sorted(pod.secret_env.items())
    ]
    return [*plain, *from_secrets]


def ray_env(settings: Settings, ray_address: str, pod: PodOptions) -> list[core.EnvVarArgs]:
    """Environment for every Ray container, init containers included.

    RAY_AUTH_MODE is set either way, since newer Ray images change its default. Usage statistics are off
    unless asked for: Ray 2.60's dashboard also probes the cloud metadata address while collecting them.
    """
    env = [
        core.EnvVarArgs(
            name=c.POD_IP_ENV,
            value_from=core.EnvVarSourceArgs(
                field_ref=core.ObjectFieldSelectorArgs(field_path="status.podIP")
            ),
        ),
        core.EnvVarArgs(name="RAY_CLUSTER_NAME", value=settings.name),
        core.EnvVarArgs(name="RAY_ADDRESS", value=ray_address),
        core.EnvVarArgs(name="RAY_AUTH_MODE", value="token" if settings.auth else "disabled"),
        core.EnvVarArgs(name="RAY_USAGE_STATS_ENABLED", value="1" if settings.usage_stats else "0"),
    ]
    if settings.auth:
        # A file, not RAY_AUTH_TOKEN: an env var shows in /proc/<pid>/environ and reaches every child.
        env.append(core.EnvVarArgs(name="RAY_AUTH_TOKEN_PATH", value=c.AUTH_TOKEN_PATH))
    return [*env, *user_env(pod)]


def user_env_names(pod: PodOptions) -> frozenset[str]:
    """Variables the user's env and secret_env set on a pod's Ray container."""
    return frozenset(pod.env) | frozenset(pod.secret_env)


def head_env(settings: Settings) -> list[core.EnvVarArgs]:
    """The head's own variables: its dashboard's metrics port, where Grafana and Prometheus are for the
    dashboard's embedded panels (the browser loads the panels from the Grafana URL too), and with GCS
    fault tolerance where Redis is."""
    user_names = user_env_names(settings.head_pod)
    metrics = settings.metrics
    defaults: list[core.EnvVarArgs] = []
    if metrics.grafana_url:
        defaults.append(core.EnvVarArgs(name=c.GRAFANA_HOST_ENV, value=metrics.grafana_url))
        defaults.append(core.EnvVarArgs(name=c.GRAFANA_IFRAME_HOST_ENV, value=metrics.grafana_url))
    if metrics.prometheus_url:
        defaults.append(core.EnvVarArgs(name=c.PROMETHEUS_HOST_ENV, value=metrics.prometheus_url))
    return [
        core.EnvVarArgs(name=c.DASHBOARD_METRICS_PORT_ENV, value=str(c.DASHBOARD_METRICS_PORT)),
        *(e for e in defaults if e.name not in user_names),  # the user's env wins (one entry per name)
        *fault_tolerance.head_env(settings.gcs_fault_tolerance, user_names),
    ]


def _port(name: str, port: int) -> core.ContainerPortArgs:
    return core.ContainerPortArgs(name=name, container_port=port, protocol="TCP")


def node_ports() -> list[core.ContainerPortArgs]:
    """Ports every Ray node listens on (the worker-process range is not listed: ~1000 entries)."""
    return [
        _port("metrics", c.METRICS_PORT),
        _port("object-manager", c.OBJECT_MANAGER_PORT),
        _port("node-manager", c.NODE_MANAGER_PORT),
        _port("agent-grpc", c.DASHBOARD_AGENT_GRPC_PORT),
        _port("agent-http", c.DASHBOARD_AGENT_LISTEN_PORT),
        _port("runtime-env", c.RUNTIME_ENV_AGENT_PORT),
    ]


def head_ports() -> list[core.ContainerPortArgs]:
    return [
        _port("gcs", c.GCS_PORT),
        _port("client", c.CLIENT_PORT),
        _port("dashboard", c.DASHBOARD_PORT),
        *node_ports(),
        _port("dash-metrics", c.DASHBOARD_METRICS_PORT),
    ]


def serve_ports(settings: Settings) -> list[core.ContainerPortArgs]:
    """Ray Serve's HTTP port when it is on: Serve runs a proxy on every node."""
    return [_port("serve", settings.serve_port)] if settings.serve_port is not None else []


def _ray_container(
    settings: Settings,
    pod: PodOptions,
    name: str,
    command: list[str],
    ray_address: str,
    *,
    extra_env: list[core.EnvVarArgs] | None = None,
) -> dict[str, Any]:
    """What the head and worker containers share (``extra_env``: the node type's own variables)."""
    return {
        "name": name,
        "image": pod.image,
        "image_pull_policy": settings.image_pull_policy,
        "command": command,
        "env": [*ray_env(settings, ray_address, pod), *(extra_env or [])],
        "env_from": pod.env_from or None,
        "volume_mounts": [*ray_mounts(settings), *user_mounts(pod)],
        "security_context": container_security_context(settings.read_only_root_filesystem, pod.capabilities),
    }


def head_container(settings: Settings) -> core.ContainerArgs:
    pod, address = settings.head_pod, f"127.0.0.1:{c.GCS_PORT}"
    # The head holds the GCS: draining it would only delay its replacement (its Deployment is Recreate).
    env = [*head_env(settings), core.EnvVarArgs(name=c.DRAIN_TIMEOUT_ENV, value="0")]
    return core.ContainerArgs(
        **_ray_container(settings, pod, c.HEAD_CONTAINER, head_command(settings), address, extra_env=env),
        ports=[*head_ports(), *serve_ports(settings)],
        resources=resource_requirements(settings.head, pod.resource_claims),
        startup_probe=startup_probe(settings.ray_version, c.HEAD),
        readiness_probe=readiness_probe(settings.ray_version, c.HEAD),
        liveness_probe=liveness_probe(settings.ray_version, c.HEAD),
    )


def wait_gcs_container(settings: Settings, pod: PodOptions) -> core.ContainerArgs:
    """Init container: same image, env and security as Ray, waits until the GCS accepts connections (a
    bash loop: small requests, equal to its limits, so a Guaranteed pod stays Guaranteed)."""
    return core.ContainerArgs(
        name=c.WAIT_CONTAINER,
        image=pod.image,
        image_pull_policy=settings.image_pull_policy,
        command=wait_for_gcs_command(settings),
        env=ray_env(settings, settings.worker_gcs_address, pod),
        env_from=pod.env_from or None,  # type: ignore[arg-type]  # wire format, passed through
        resources=core.ResourceRequirementsArgs(
            limits={"cpu": c.WAIT_CONTAINER_CPU, "memory": c.WAIT_CONTAINER_MEMORY},
            requests={"cpu": c.WAIT_CONTAINER_CPU, "memory": c.WAIT_CONTAINER_MEMORY},
        ),
        volume_mounts=ray_mounts(settings, shm=False) or None,
        security_context=container_security_context(settings.read_only_root_filesystem),
    )


def worker_container(settings: Settings, group: WorkerGroup) -> core.ContainerArgs:
    pod = group.pod
    command = worker_command(settings, group.resources, pod)
    own_env = [
        core.EnvVarArgs(name=c.DRAIN_TIMEOUT_ENV, value=str(group.drain_timeout_seconds)),
        *fault_tolerance.worker_env(settings.gcs_fault_tolerance, user_env_names(pod)),
    ]
    address = settings.worker_gcs_address
    return core.ContainerArgs(
        **_ray_container(settings, pod, c.WORKER_CONTAINER, command, address, extra_env=own_env),
        ports=[*node_ports(), *serve_ports(settings)],
        resources=resource_requirements(group.resources, pod.resource_claims),
        startup_probe=startup_probe(settings.ray_version, c.WORKER),
        readiness_probe=readiness_probe(settings.ray_version, c.WORKER),
        liveness_probe=liveness_probe(settings.ray_version, c.WORKER),
    )


def spread_constraints(pod: PodOptions, selector: dict[str, str]) -> list[dict[str, Any]] | None:
    """The user's constraints; one without a labelSelector counts the pods of its own group (without one
    Kubernetes counts no pods, and the constraint does nothing)."""
    out = [
        {**t, "labelSelector": {"matchLabels": selector}} if "labelSelector" not in t else t
        for t in pod.topology_spread_constraints
    ]
    return out or None


def _pod_spec(
    settings: Settings,
    pod: PodOptions,
    *,
    containers: list[Any],
    init_containers: list[Any],
    resources: Resources,
    selector: dict[str, str],
) -> core.PodSpecArgs:
    return core.PodSpecArgs(
        containers=containers,
        init_containers=init_containers or None,
        volumes=pod_volumes(settings, resources, pod),
        security_context=pod_security_context(),
        service_account_name=settings.service_account,
        # A static Ray cluster never talks to the Kubernetes API.
        automount_service_account_token=False,
        node_selector=pod.node_selector or None,
        tolerations=[core.TolerationArgs(**_toleration_kwargs(t)) for t in pod.tolerations] or None,
        affinity=pod.affinity or None,  # type: ignore[arg-type]  # wire-format mapping, passed through
        topology_spread_constraints=spread_constraints(pod, selector),  # type: ignore[arg-type]  # wire format
        priority_class_name=pod.priority_class_name,
        scheduler_name=pod.scheduler_name,
        runtime_class_name=pod.runtime_class_name,
        resource_claims=pod_resource_claims(pod),
        **host_and_dns(pod),
        image_pull_secrets=[core.LocalObjectReferenceArgs(name=n) for n in pod.image_pull_secrets] or None,
        termination_grace_period_seconds=pod.termination_grace_period_seconds,
        # Service links would put RAY_HEAD_PORT=tcp://... and the like in every container: RAY_ is Ray's
        # own configuration prefix, and nothing here reads them.
        enable_service_links=False,
    )


def dns_config(pod: PodOptions) -> core.PodDNSConfigArgs | None:
    """The user's PodDNSConfig (checked wire format) as typed Args."""
    dns = pod.dns_config
    if not dns:
        return None
    options = [
        core.PodDNSConfigOptionArgs(name=o["name"], value=o.get("value")) for o in dns.get("options", [])
    ]
    return core.PodDNSConfigArgs(
        nameservers=dns.get("nameservers"), searches=dns.get("searches"), options=options or None
    )


def host_and_dns(pod: PodOptions) -> dict[str, Any]:
    """The node's namespaces the pod shares, and its resolver: on the node's network it would use the
    node's, which knows no Service names (the workers find the head by one), unless told otherwise."""
    return {
        "host_network": pod.host_network or None,
        "host_ipc": pod.host_ipc or None,
        "dns_policy": c.HOST_NETWORK_DNS_POLICY if pod.host_network else None,
        "dns_config": dns_config(pod),
    }


def _toleration_kwargs(wire: dict[str, Any]) -> dict[str, Any]:
    names = {"tolerationSeconds": "toleration_seconds"}
    return {names.get(k, k): v for k, v in wire.items()}


Annotations = Mapping[str, pulumi.Input[str]]


def _annotations(pod: PodOptions, *extra: Annotations | None) -> dict[str, pulumi.Input[str]] | None:
    merged: dict[str, pulumi.Input[str]] = dict(pod.annotations)
    for more in extra:
        merged.update(more or {})
    return merged or None


def head_pod_template(settings: Settings, rollout: Annotations | None = None) -> core.PodTemplateSpecArgs:
    """The head pod; ``rollout`` annotations (values may be Outputs) restart it when they change."""
    pod = settings.head_pod
    return core.PodTemplateSpecArgs(
        metadata=meta.ObjectMetaArgs(
            labels={**pod.labels, **labels(settings, c.HEAD, c.HEAD_GROUP)},
            annotations=_annotations(pod, rollout),
        ),
        spec=_pod_spec(
            settings,
            pod,
            containers=[head_container(settings), *pod.sidecars],
            init_containers=list(pod.init_containers),
            resources=settings.head,
            selector=selector_labels(settings, c.HEAD, c.HEAD_GROUP),
        ),
    )


def _digest(wire: Any) -> str:
    canonical = json.dumps(wire, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def template_hash(template: core.PodTemplateSpecArgs) -> pulumi.Input[str]:
    """sha256 of a pod template's wire form: changes exactly when the template does. A template holding
    an Output (in a user's volume, say) hashes once it is known."""
    wire = to_wire(template)
    if has_output(wire):
        return pulumi.Output.from_input(wire).apply(_digest)
    return _digest(wire)


def head_restart_annotations(settings: Settings) -> dict[str, pulumi.Input[str]]:
    """What ties the workers to the head. Without GCS fault tolerance a new head is a new, empty Ray
    cluster, so the head template's hash rolls the workers whenever the head pod changes. With it a new
    head picks the cluster up again and the workers wait for it: only a move of the cluster's state (Redis
    address, storage namespace) rolls them."""
    ft = settings.gcs_fault_tolerance
    if ft is not None:
        return fault_tolerance.worker_annotations(ft)
    return {c.HEAD_TEMPLATE_HASH_ANNOTATION: template_hash(head_pod_template(settings))}


def worker_pod_template(
    settings: Settings, group: WorkerGroup, rollout: Annotations | None = None
) -> core.PodTemplateSpecArgs:
    """A worker pod, tied to the head by `head_restart_annotations`."""
    pod = group.pod
    return core.PodTemplateSpecArgs(
        metadata=meta.ObjectMetaArgs(
            labels={**pod.labels, **labels(settings, c.WORKER, group.group)},
            annotations=_annotations(pod, head_restart_annotations(settings), rollout),
        ),
        spec=_pod_spec(
            settings,
            pod,
            containers=[worker_container(settings, group), *pod.sidecars],
            # The user's init containers first: they may prepare what Ray needs, and need no head.
            init_containers=[*pod.init_containers, wait_gcs_container(settings, pod)],
            resources=group.resources,
            selector=selector_labels(settings, c.WORKER, group.group),
        ),
    )
