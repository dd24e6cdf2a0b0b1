"""Validate RayClusterArgs into frozen settings, before any resource exists.

`resolve` is a short list of named steps. Each option's own check and default come from the option table
(options.py); the steps combine options that depend on each other. Every refusal is a RayStaticConfigError
with one sentence naming the setting, the value given and what is allowed. ``naming`` turns an argument
path (``head_resources.cpu``) into the name the user typed (the program passes one yielding stack-config
keys such as ``headCpu``).
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

import pulumi

from ray_static import constants as c
from ray_static.config import checks
from ray_static.config.checks import At, Naming, identity
from ray_static.config.egress import EVERYWHERE, Egress, Target, redis_target, url_target
from ray_static.config.fault_tolerance import GcsFaultTolerance
from ray_static.config.groups import WorkerGroup, default_group, extra_groups
from ray_static.config.ingress import Ingress
from ray_static.config.metrics import Metrics
from ray_static.config.options import OPTIONS, defaults_under
from ray_static.config.pod_options import POD_OPTIONS, PodBase, PodOptions, owned_volumes
from ray_static.config.pod_security import check_level
from ray_static.config.resources import Resources, parse_resources
from ray_static.config.rollout import GroupDefaults, rollout
from ray_static.errors import RayStaticConfigError, invalid, show
from ray_static.inputs.cluster import RayClusterArgs

__all__ = [
    "RayStaticConfigError",
    "Resources",
    "Settings",
    "WorkerGroup",
    "parse_ray_version",
    "resolve",
]

KNOWN_ARGS = frozenset(RayClusterArgs.__annotations__)


@dataclass(frozen=True)
class Settings:
    """Everything the pure builders need, validated; every default comes from the option table."""

    name: str
    namespace: str
    create_namespace: bool
    image: str
    """The top-level image (the head and groups may have their own, of the same Ray version)."""
    image_pull_policy: str
    ray_version: tuple[int, int, int]
    head: Resources
    head_pod: PodOptions
    """The head's pod options: the top-level ones with `head` over them."""
    pod_base: PodBase
    """The top-level pod options, which the head's and every group's start from."""
    head_ray_cpus: int
    groups: tuple[WorkerGroup, ...]
    """The default group first, then the extra groups in the order given."""
    service_type: str
    service_account: str
    create_service_account: bool
    auth: bool
    auth_token: pulumi.Input[str] | None
    network_policy: bool
    allowed_client_namespaces: tuple[str, ...]
    allowed_client_pod_labels: dict[str, str]
    allowed_client_cidrs: tuple[str, ...]
    egress: Egress | None
    """None: the NetworkPolicy limits ingress only."""
    read_only_root_filesystem: bool
    pod_security: str
    """The Pod Security Standard the namespace enforces (when ray-static creates it) and the pods meet."""
    usage_stats: bool
    metrics: Metrics
    ingress: Ingress | None
    service_annotations: dict[str, str]
    load_balancer_source_ranges: tuple[str, ...]
    serve_port: int | None
    """Ray Serve's HTTP port when `serve` is on, else None."""
    gcs_fault_tolerance: GcsFaultTolerance | None
    pod_disruption_budget: bool
    suspend: bool
    """Every Deployment at 0 replicas; everything else stays."""

    @property
    def ray_version_text(self) -> str:
        return ".".join(str(p) for p in self.ray_version)

    @property
    def head_name(self) -> str:
        """Name of the head Service and Deployment."""
        return f"{self.name}-head"

    @property
    def head_fqdn(self) -> str:
        return f"{self.head_name}.{self.namespace}.svc.cluster.local"

    @property
    def gcs_address(self) -> str:
        """The GCS through the head Service: what clients and outputs use."""
        return f"{self.head_fqdn}:{c.GCS_PORT}"

    @property
    def worker_gcs_service_name(self) -> str:
        """The Service workers join through: it selects only a head of their Ray version, so a worker
        never meets a head of another version (Ray refuses it, and the worker would crash-loop)."""
        return f"{self.name}-gcs-{'-'.join(str(p) for p in self.ray_version)}"

    @property
    def worker_gcs_address(self) -> str:
        return f"{self.worker_gcs_service_name}.{self.namespace}.svc.cluster.local:{c.GCS_PORT}"

    @property
    def auth_secret_name(self) -> str:
        return f"{self.name}-auth"


def parse_ray_version(image: str) -> tuple[int, int, int] | None:
    """The Ray version in an image tag (``rayproject/ray:2.60.0-py311-cpu`` -> (2, 60, 0)), if any."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    match = checks.VERSION.match(last.split(":", 1)[1])
    if match is None:
        return None
    return (int(match[1]), int(match[2]), int(match[3]))


def resolve(name: str, args: Mapping[str, Any] | None, naming: Naming = identity) -> Settings:
    """Validate a RayCluster's name and args; return the settings the builders use."""
    name = checks.instance_name(name, At("name", naming))
    values = _checked_options(args, naming)
    head, head_ray_cpus, worker = _resources(args or {}, values, naming)
    version = _ray_version(values, naming)
    pod = _pod_base(values, naming)
    head_pod = _same_version(pod.resolve(values["head"], At("head", naming)), version, At("head", naming))
    return Settings(
        name=name,
        namespace=values["namespace"],
        create_namespace=values["create_namespace"],
        image=values["image"],
        image_pull_policy=values["image_pull_policy"],
        ray_version=version,
        head=head,
        head_pod=head_pod,
        pod_base=pod,
        head_ray_cpus=head_ray_cpus,
        groups=_worker_groups(name, values, worker, pod, version),
        service_type=values["service_type"],
        service_account=values["service_account"] or name,
        create_service_account=not values["service_account"],
        auth=_auth(values, naming),
        auth_token=values["auth_token"],
        network_policy=values["network_policy"],
        allowed_client_namespaces=tuple(values["allowed_client_namespaces"]),
        allowed_client_pod_labels=values["allowed_client_pod_labels"],
        allowed_client_cidrs=_client_cidrs(values, naming),
        egress=_egress(values, naming),
        read_only_root_filesystem=values["read_only_root_filesystem"],
        pod_security=_pod_security(values, naming),
        usage_stats=values["usage_stats"],
        metrics=values["metrics"],
        ingress=_ingress(values, naming),
        service_annotations=values["service_annotations"],
        load_balancer_source_ranges=_source_ranges(values, naming),
        serve_port=_serve_port(args or {}, values, naming),
        gcs_fault_tolerance=values["gcs_fault_tolerance"],
        pod_disruption_budget=values["pod_disruption_budget"],
        suspend=values["suspend"],
    )


def _checked_options(args: Any, naming: Naming) -> dict[str, Any]:
    """Every top-level option, given or defaulted, passed through its own check."""
    if args is not None and not isinstance(args, Mapping):
        raise invalid("args", args, "a RayClusterArgs mapping")
    given = cast(Mapping[str, Any], args or {})
    checks.unknown_keys(given, KNOWN_ARGS, At("", naming))
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.path == "name" or "." in option.path:
            continue  # the name is an argument of its own; nested options belong to their parent's step
        value = given.get(option.path, option.default)
        values[option.path] = value if option.check is None else option.check(value, At(option.path, naming))
    return values


def _ray_version(values: Mapping[str, Any], naming: Naming) -> tuple[int, int, int]:
    """The version the probes and auth depend on: as given, else from the image tag, else the default's.

    An image pinned by digest alone carries no version, and guessing one could give it the wrong probes:
    it needs `ray_version`.
    """
    explicit = cast(tuple[int, int, int] | None, values["ray_version"])
    image = cast(str, values["image"])
    tagged = parse_ray_version(image)
    if explicit is None and tagged is None and "@" in image:
        raise RayStaticConfigError(
            naming("ray_version"),
            "no value",
            f'the Ray version in {show(image)} such as "{c.RAY_VERSION}" '
            "(an image pinned by digest names none)",
        )
    return explicit or tagged or cast(tuple[int, int, int], parse_ray_version(c.DEFAULT_IMAGE))


def _resources(
    args: Mapping[str, Any], values: Mapping[str, Any], naming: Naming
) -> tuple[Resources, int, Resources]:
    """Head resources, the CPUs the head offers Ray (at most its limit), and the default workers'."""
    head = parse_resources(
        args.get("head_resources"), At("head_resources", naming), defaults_under("head_resources")
    )
    at = At("head_ray_cpus", naming)
    head_ray_cpus = values["head_ray_cpus"]
    if not checks.is_int(head_ray_cpus) or not 0 <= head_ray_cpus <= head.ray_cpus:
        raise invalid(
            at.name, head_ray_cpus, f"a whole number from 0 to the head's CPU limit ({head.ray_cpus})"
        )
    worker = parse_resources(
        args.get("worker_resources"), At("worker_resources", naming), defaults_under("worker_resources")
    )
    return head, cast(int, head_ray_cpus), worker


def _pod_base(values: Mapping[str, Any], naming: Naming) -> PodBase:
    """The top-level pod options (`pod_annotations` folded into `annotations`), the base of every pod's."""
    top = {o.path: values[o.path] for o in POD_OPTIONS}
    top["annotations"] = {**values["pod_annotations"], **values["annotations"]}
    owned = owned_volumes(values["auth"], values["read_only_root_filesystem"])
    return PodBase(top, owned, naming)


def _same_version(pod: PodOptions, version: tuple[int, int, int], at: At) -> PodOptions:
    """A head's or group's own image runs the cluster's Ray version: Ray refuses nodes of another one."""
    tagged = parse_ray_version(pod.image)
    if tagged is not None and tagged != version:
        text = ".".join(map(str, version))
        raise invalid(at.field("image").name, pod.image, f"an image of Ray {text}, the cluster's version")
    return pod


def _worker_groups(
    name: str, values: Mapping[str, Any], worker: Resources, pod: PodBase, version: tuple[int, int, int]
) -> tuple[WorkerGroup, ...]:
    """The default group (`workers` x `worker_resources`), then the extra groups."""
    defaults = _group_defaults(values, pod.naming)
    at = At("worker_groups", pod.naming)
    extra = extra_groups(name, values["worker_groups"], at, worker, pod, defaults=defaults)
    for i, group in enumerate(extra):
        _same_version(group.pod, version, at.item(i))
    return (default_group(name, values["workers"], worker, pod, defaults), *extra)


def _group_defaults(values: Mapping[str, Any], naming: Naming) -> GroupDefaults:
    """The rollout, budget and drain every group starts from (the rollout's two values checked together)."""
    drain = values["drain_timeout_seconds"]
    if drain is not None:
        drain = checks.whole_number(0, c.MAX_GRACE_PERIOD_SECONDS)(drain, At("drain_timeout_seconds", naming))
    return GroupDefaults(
        rollout=rollout(values["max_surge"], values["max_unavailable"], At("", naming)),
        disruption_budget=values["worker_pod_disruption_budget"],
        drain_timeout_seconds=drain,
    )


def _auth(values: Mapping[str, Any], naming: Naming) -> bool:
    """Token auth needs a Ray that has it; exposing the head outside the cluster needs auth (or a waiver)."""
    auth = cast(bool, values["auth"])
    version = _ray_version(values, naming)
    if auth and version < c.TOKEN_AUTH_MIN_VERSION:
        raise invalid(
            naming("auth"),
            True,
            f"false for Ray {'.'.join(map(str, version))}: token authentication needs Ray 2.52 or newer",
        )
    service_type = values["service_type"]
    if service_type != "ClusterIP" and not auth and not values["allow_unauthenticated_exposure"]:
        raise invalid(
            naming("service_type"),
            service_type,
            f'"ClusterIP" while {naming("auth")} is false (anyone reaching the port could run code), '
            f"unless {naming('allow_unauthenticated_exposure')} is true",
        )
    return auth


def _pod_security(values: Mapping[str, Any], naming: Naming) -> str:
    """Host namespaces and added capabilities, at every level they are given, need a Pod Security level
    that admits them (the API server would refuse the pods after the rest was deployed)."""
    level = cast(str, values["pod_security"])
    check_level(values, At("", naming), level)
    check_level(values["head"], At("head", naming), level)
    for i, group in enumerate(cast(list[Mapping[str, Any]], values["worker_groups"] or [])):
        check_level(group, At("worker_groups", naming).item(i), level)
    return level


def _ingress(values: Mapping[str, Any], naming: Naming) -> Ingress | None:
    """An Ingress exposes the dashboard (and with it the Jobs API): it needs auth, like NodePort does."""
    ingress = cast(Ingress | None, values["ingress"])
    if ingress is not None and not values["auth"] and not values["allow_unauthenticated_exposure"]:
        raise RayStaticConfigError(
            naming("ingress"),
            f"an Ingress for {show(ingress.host)}",
            f"none while {naming('auth')} is false (anyone reaching the dashboard could run code), "
            f"unless {naming('allow_unauthenticated_exposure')} is true",
        )
    return ingress


def _client_cidrs(values: Mapping[str, Any], naming: Naming) -> tuple[str, ...]:
    """A range of every address would open the client ports to the world: only with auth on (or the
    waiver), as for a NodePort."""
    cidrs = tuple(cast(list[str], values["allowed_client_cidrs"]))
    everywhere = [cidr for cidr in cidrs if checks.normal_cidr(cidr) in EVERYWHERE]
    if everywhere and not values["auth"] and not values["allow_unauthenticated_exposure"]:
        raise invalid(
            naming("allowed_client_cidrs"),
            list(cidrs),
            f"ranges narrower than every address while {naming('auth')} is false (anyone could run code), "
            f"unless {naming('allow_unauthenticated_exposure')} is true",
        )
    return cidrs


def _egress(values: Mapping[str, Any], naming: Naming) -> Egress | None:
    """Egress rules live in the NetworkPolicy; the targets the other settings name must be allowable."""
    egress = cast(Egress | None, values["egress"])
    if egress is None:
        return None
    if not values["network_policy"]:
        raise RayStaticConfigError(
            naming("egress"),
            "egress rules",
            f"none while {naming('network_policy')} is false (egress rules are part of the NetworkPolicy)",
        )
    namespace = cast(str, values["namespace"])
    targets: list[Target] = []
    ft = cast(GcsFaultTolerance | None, values["gcs_fault_tolerance"])
    if ft is not None:
        targets.append(redis_target(ft.redis_address, namespace, naming))
    metrics = cast(Metrics, values["metrics"])
    for field_name in ("prometheus_url", "grafana_url"):
        url = getattr(metrics, field_name)
        if url is not None:
            targets.append(url_target(url, namespace, naming(f"metrics.{field_name}")))
    return replace(egress, targets=tuple(dict.fromkeys(targets)))


def _source_ranges(values: Mapping[str, Any], naming: Naming) -> tuple[str, ...]:
    """Source ranges only mean something on a LoadBalancer; elsewhere they would silently admit anyone."""
    ranges = tuple(cast(list[str], values["load_balancer_source_ranges"]))
    if ranges and values["service_type"] != "LoadBalancer":
        raise invalid(
            naming("load_balancer_source_ranges"),
            list(ranges),
            f"no ranges while {naming('service_type')} is {show(values['service_type'])} "
            '(they apply to a "LoadBalancer" only)',
        )
    return ranges


def _serve_port(args: Mapping[str, Any], values: Mapping[str, Any], naming: Naming) -> int | None:
    """Serve's port when `serve` is true, or when `serve_port` is given and `serve` is not set to false.

    The head Service then carries the serve port, which Ray's token does not guard (Serve's proxies check
    none): beyond the cluster only with the waiver, even with auth on."""
    on = values["serve"] if "serve" in args else "serve_port" in args
    if on and values["service_type"] != "ClusterIP" and not values["allow_unauthenticated_exposure"]:
        raise invalid(
            naming("service_type"),
            values["service_type"],
            f'"ClusterIP" while {naming("serve")} is on (the head Service then carries the serve port, '
            "which Ray's token does not guard), unless "
            f"{naming('allow_unauthenticated_exposure')} is true",
        )
    return cast(int, values["serve_port"]) if on else None
