"""Validate RayClusterArgs into frozen settings, before any resource exists.

Every check raises RayStaticConfigError with one sentence naming the setting, the value given and what is
allowed. ``naming`` turns an argument path (``head_resources.cpu``) into the name the user typed (the
program passes one that yields stack config keys such as ``headCpu``).
"""

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi

from ray_static import constants as c
from ray_static.args import RayClusterArgs, ResourcesArgs
from ray_static.errors import RayStaticConfigError, invalid, show
from ray_static.quantities import memory_bytes, parse_quantity, positive_quantity, whole_cpus

__all__ = [
    "RayStaticConfigError",
    "Resources",
    "Settings",
    "WorkerGroup",
    "parse_ray_version",
    "resolve",
]

Naming = Callable[[str], str]

_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")
_TOLERATION_OPERATORS = ("Equal", "Exists")
_TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_MANAGED_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_CLUSTER_NAME", "RAY_ADDRESS")
MIN_TOKEN_LENGTH = 16

_KNOWN_ARGS = frozenset(RayClusterArgs.__annotations__)
_KNOWN_RESOURCES = frozenset(ResourcesArgs.__annotations__)
_KNOWN_GROUP = frozenset({"name", "replicas", "resources", "node_selector", "tolerations"})
_KNOWN_TOLERATION = frozenset({"key", "operator", "value", "effect", "toleration_seconds"})


@dataclass(frozen=True)
class Resources:
    """Validated resources of one Ray pod, with the whole-number figures Ray's flags need."""

    cpu: str
    memory: str
    cpu_request: str
    memory_request: str
    gpus: int
    ray_cpus: int
    """Whole CPUs in the limit (``--num-cpus`` for workers)."""
    memory_bytes: int
    """Bytes in the memory limit (``--memory``, /dev/shm size)."""


@dataclass(frozen=True)
class WorkerGroup:
    """One worker Deployment."""

    group: str
    """The ``ray.io/group`` label value."""
    deployment_name: str
    replicas: int
    resources: Resources
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    """Kubernetes wire format (camelCase)."""


@dataclass(frozen=True)
class Settings:
    """Everything the pure builders need, validated."""

    name: str
    namespace: str
    create_namespace: bool
    image: str
    image_pull_policy: str
    ray_version: tuple[int, int, int]
    head: Resources
    head_ray_cpus: int
    groups: tuple[WorkerGroup, ...]
    """The default group first, then the extra groups in the order given."""
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    affinity: dict[str, Any] = field(default_factory=dict)
    image_pull_secrets: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    pod_annotations: dict[str, str] = field(default_factory=dict)
    service_type: str = "ClusterIP"
    service_account: str = ""
    create_service_account: bool = True
    auth: bool = True
    auth_token: pulumi.Input[str] | None = None
    network_policy: bool = True
    allowed_client_namespaces: tuple[str, ...] = ()
    allowed_client_pod_labels: dict[str, str] = field(default_factory=dict)

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
        return f"{self.head_fqdn}:{c.GCS_PORT}"

    @property
    def auth_secret_name(self) -> str:
        return f"{self.name}-auth"


def parse_ray_version(image: str) -> tuple[int, int, int] | None:
    """The Ray version in an image tag (``rayproject/ray:2.60.0-py311-cpu`` -> (2, 60, 0)), if any."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    match = _VERSION.match(last.split(":", 1)[1])
    if match is None:
        return None
    return (int(match[1]), int(match[2]), int(match[3]))


def _identity(path: str) -> str:
    return path


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_unknown(given: Mapping[str, Any], known: frozenset[str], path: str, naming: Naming) -> None:
    for key in given:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {show(naming(_join(path, close[0])))}?)" if close else ""
            listed = ", ".join(sorted(naming(_join(path, k)) for k in known))
            raise RayStaticConfigError(
                naming(_join(path, key)) if path else key, "an unknown setting", f"one of {listed}{hint}"
            )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _bool(args: Mapping[str, Any], key: str, default: bool, naming: Naming) -> bool:
    value = args.get(key, default)
    if not isinstance(value, bool):
        raise invalid(naming(key), value, "true or false")
    return value


def _str_map(value: Any, setting: str, *, label_values: bool) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid(setting, value, "a mapping of strings to strings")
    out: dict[str, str] = {}
    for key, item in cast(Mapping[Any, Any], value).items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise invalid(f"{setting}.{key}", item, "a string")
        if label_values:
            _check_label(key, item, f"{setting}.{key}")
        out[key] = item
    return out


def _check_label(key: str, value: str, setting: str) -> None:
    prefix, _, name = key.rpartition("/")
    if (
        not name
        or len(name) > 63
        or not _LABEL_NAME.match(name)
        or (prefix and (len(prefix) > 253 or not _DNS_1123_SUBDOMAIN.match(prefix)))
    ):
        raise invalid(setting, key, 'a Kubernetes label key such as "team" or "example.com/team"')
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise invalid(
            setting, value, "a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.')"
        )


def _str_list(value: Any, setting: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise invalid(setting, value, "a list of strings")
    items = list(cast(list[Any], value))
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise invalid(f"{setting}[{i}]", item, "a string")
    return cast(list[str], items)


def _dns_label(value: Any, setting: str, *, max_length: int = 63, dns_1035: bool = False) -> str:
    pattern = _DNS_1035_LABEL if dns_1035 else _DNS_1123_LABEL
    if not isinstance(value, str) or len(value) > max_length or not pattern.match(value):
        start = "a letter" if dns_1035 else "a letter or digit"
        raise invalid(
            setting,
            value,
            f"a Kubernetes name: lowercase letters, digits and '-', starting with {start}, "
            f"ending with a letter or digit, at most {max_length} characters",
        )
    return value


def _count(value: Any, setting: str, default: int) -> int:
    if value is None:
        return default
    if not _is_int(value) or not 0 <= value <= c.MAX_WORKERS_PER_GROUP:
        raise invalid(setting, value, f"a whole number from 0 to {c.MAX_WORKERS_PER_GROUP}")
    return cast(int, value)


def _resources(value: Any, path: str, default: Resources, naming: Naming) -> Resources:
    if value is None:
        return default
    if not isinstance(value, Mapping):
        raise invalid(naming(path), value, "a mapping with cpu, memory and gpus")
    given = cast(Mapping[str, Any], value)
    _check_unknown(given, _KNOWN_RESOURCES, path, naming)

    cpu = given.get("cpu", default.cpu)
    if _is_int(cpu):
        cpu = str(cpu)
    if not isinstance(cpu, str) or whole_cpus(cpu) is None:
        raise invalid(
            naming(f"{path}.cpu"),
            cpu,
            'a whole number of CPUs such as "2" or "2000m" (Ray schedules whole CPUs)',
        )
    memory = given.get("memory", default.memory)
    memory_quantity = memory_bytes(memory) if isinstance(memory, str) else None
    if memory_quantity is None or memory_quantity < c.MIN_MEMORY_BYTES:
        raise invalid(
            naming(f"{path}.memory"), memory, 'a Kubernetes memory quantity of at least 512Mi, such as "4Gi"'
        )
    gpus = given.get("gpus", default.gpus)
    if not _is_int(gpus) or not 0 <= gpus <= c.MAX_GPUS_PER_POD:
        raise invalid(naming(f"{path}.gpus"), gpus, f"a whole number from 0 to {c.MAX_GPUS_PER_POD}")

    cpu_limit = parse_quantity(cpu)
    cpu_request = given.get("cpu_request", cpu)
    if _is_int(cpu_request):
        cpu_request = str(cpu_request)
    if (
        not isinstance(cpu_request, str)
        or not positive_quantity(cpu_request)
        or cast(Any, parse_quantity(cpu_request)) > cpu_limit
    ):
        raise invalid(
            naming(f"{path}.cpu_request"),
            cpu_request,
            f'a CPU quantity greater than 0 and at most the limit "{cpu}"',
        )
    memory_request = given.get("memory_request", memory)
    request_bytes = memory_bytes(memory_request) if isinstance(memory_request, str) else None
    if request_bytes is None or request_bytes > memory_quantity:
        raise invalid(
            naming(f"{path}.memory_request"),
            memory_request,
            f'a memory quantity greater than 0 and at most the limit "{memory}"',
        )
    return Resources(
        cpu=cpu,
        memory=memory,
        cpu_request=cpu_request,
        memory_request=cast(str, memory_request),
        gpus=cast(int, gpus),
        ray_cpus=cast(int, whole_cpus(cpu)),
        memory_bytes=memory_quantity,
    )


def _tolerations(value: Any, path: str, naming: Naming) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise invalid(naming(path), value, "a list of tolerations")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(cast(list[Any], value)):
        where = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            raise invalid(naming(where), item, "a toleration with key, operator, value and effect")
        tol = cast(Mapping[str, Any], item)
        _check_unknown(tol, _KNOWN_TOLERATION, where, naming)
        operator = tol.get("operator", "Equal")
        if operator not in _TOLERATION_OPERATORS:
            raise invalid(naming(f"{where}.operator"), operator, '"Equal" or "Exists"')
        effect = tol.get("effect")
        if effect is not None and effect not in _TOLERATION_EFFECTS:
            raise invalid(
                naming(f"{where}.effect"), effect, '"NoSchedule", "PreferNoSchedule" or "NoExecute"'
            )
        wire: dict[str, Any] = {"operator": operator}
        for key, wire_key in (("key", "key"), ("value", "value"), ("effect", "effect")):
            if tol.get(key) is not None:
                if not isinstance(tol[key], str):
                    raise invalid(naming(f"{where}.{key}"), tol[key], "a string")
                wire[wire_key] = tol[key]
        seconds = tol.get("toleration_seconds")
        if seconds is not None:
            if not _is_int(seconds):
                raise invalid(naming(f"{where}.toleration_seconds"), seconds, "a whole number of seconds")
            wire["tolerationSeconds"] = seconds
        out.append(wire)
    return out


def _node_selector(value: Any, path: str, naming: Naming) -> dict[str, str]:
    return _str_map(value, naming(path), label_values=True)


def resolve(name: str, args: Mapping[str, Any] | None, naming: Naming = _identity) -> Settings:
    """Validate a RayCluster's name and args; return the settings the builders use."""
    args = {} if args is None else args
    if not isinstance(args, Mapping):
        raise invalid("args", args, "a RayClusterArgs mapping")
    _check_unknown(args, _KNOWN_ARGS, "", naming)
    name = _dns_label(name, naming("name"), max_length=c.MAX_NAME_LENGTH, dns_1035=True)

    namespace = _dns_label(args.get("namespace", c.DEFAULT_NAMESPACE), naming("namespace"))
    create_namespace = _bool(args, "create_namespace", True, naming)

    image = args.get("image", c.DEFAULT_IMAGE)
    if not isinstance(image, str) or not image or any(ch.isspace() for ch in image):
        raise invalid(naming("image"), image, f'a container image reference such as "{c.DEFAULT_IMAGE}"')
    pull_policy = args.get("image_pull_policy", "IfNotPresent")
    if pull_policy not in c.IMAGE_PULL_POLICIES:
        raise invalid(naming("image_pull_policy"), pull_policy, '"IfNotPresent", "Always" or "Never"')

    explicit_version = args.get("ray_version")
    if explicit_version not in (None, ""):
        parsed = _VERSION.match(explicit_version) if isinstance(explicit_version, str) else None
        if parsed is None or parsed[0] != explicit_version.removeprefix("v"):
            raise invalid(naming("ray_version"), explicit_version, 'a Ray version such as "2.60.0"')
        version = (int(parsed[1]), int(parsed[2]), int(parsed[3]))
    else:
        version = parse_ray_version(image) or cast(
            tuple[int, int, int], tuple(int(p) for p in c.RAY_VERSION.split("."))
        )

    head = _resources(
        args.get("head_resources"),
        "head_resources",
        Resources("2", "4Gi", "2", "4Gi", 0, 2, 4 * 2**30),
        naming,
    )
    head_ray_cpus = args.get("head_ray_cpus", 0)
    if not _is_int(head_ray_cpus) or not 0 <= head_ray_cpus <= head.ray_cpus:
        raise invalid(
            naming("head_ray_cpus"),
            head_ray_cpus,
            f"a whole number from 0 to the head's CPU limit ({head.ray_cpus})",
        )

    worker_default = _resources(
        args.get("worker_resources"),
        "worker_resources",
        Resources("1", "2Gi", "1", "2Gi", 0, 1, 2 * 2**30),
        naming,
    )
    groups = [
        WorkerGroup(
            group=c.DEFAULT_WORKER_GROUP,
            deployment_name=f"{name}-worker",
            replicas=_count(args.get("workers"), naming("workers"), 3),
            resources=worker_default,
            node_selector={},
            tolerations=[],
        )
    ]
    extra = args.get("worker_groups") or []
    if not isinstance(extra, list | tuple):
        raise invalid(naming("worker_groups"), extra, "a list of worker groups")
    seen: set[str] = set()
    for i, raw_group in enumerate(cast(list[Any], extra)):
        where = f"worker_groups[{i}]"
        if not isinstance(raw_group, Mapping):
            raise invalid(naming(where), raw_group, "a worker group with at least a name")
        group = cast(Mapping[str, Any], raw_group)
        _check_unknown(group, _KNOWN_GROUP, where, naming)
        group_name = _dns_label(
            group.get("name"), naming(f"{where}.name"), max_length=c.MAX_GROUP_NAME_LENGTH
        )
        if group_name in seen or group_name == c.DEFAULT_WORKER_GROUP:
            raise invalid(
                naming(f"{where}.name"),
                group_name,
                f'a group name that is unique and not "{c.DEFAULT_WORKER_GROUP}"',
            )
        seen.add(group_name)
        groups.append(
            WorkerGroup(
                group=group_name,
                deployment_name=f"{name}-worker-{group_name}",
                replicas=_count(group.get("replicas"), naming(f"{where}.replicas"), 1),
                resources=_resources(group.get("resources"), f"{where}.resources", worker_default, naming),
                node_selector=_node_selector(group.get("node_selector"), f"{where}.node_selector", naming),
                tolerations=_tolerations(group.get("tolerations"), f"{where}.tolerations", naming),
            )
        )

    affinity = args.get("affinity") or {}
    if not isinstance(affinity, Mapping):
        raise invalid(naming("affinity"), affinity, "a Kubernetes affinity mapping")
    unknown_affinity = set(cast(Mapping[str, Any], affinity)) - {
        "nodeAffinity",
        "podAffinity",
        "podAntiAffinity",
    }
    if unknown_affinity:
        key = sorted(unknown_affinity)[0]
        raise invalid(naming(f"affinity.{key}"), key, '"nodeAffinity", "podAffinity" or "podAntiAffinity"')

    pull_secrets = _str_list(args.get("image_pull_secrets"), naming("image_pull_secrets"))
    for i, secret in enumerate(pull_secrets):
        _dns_label_or_subdomain(secret, naming(f"image_pull_secrets[{i}]"))

    env = _str_map(args.get("env"), naming("env"), label_values=False)
    for key in env:
        if not _ENV_NAME.match(key):
            raise invalid(
                naming(f"env.{key}"), key, "an environment variable name (letters, digits, '_', '-', '.')"
            )
        if key in _MANAGED_ENV:
            raise invalid(
                naming(f"env.{key}"),
                key,
                f"a variable ray-static does not manage ({', '.join(_MANAGED_ENV)})",
            )
    annotations = _str_map(args.get("pod_annotations"), naming("pod_annotations"), label_values=False)

    service_account = args.get("service_account") or ""
    if service_account:
        _dns_label_or_subdomain(service_account, naming("service_account"))

    auth = _bool(args, "auth", True, naming)
    if auth and version < c.TOKEN_AUTH_MIN_VERSION:
        raise invalid(
            naming("auth"),
            True,
            f"false for Ray {'.'.join(map(str, version))}: token authentication needs Ray 2.52 or newer",
        )
    token = args.get("auth_token")
    if token == "":
        token = None
    if isinstance(token, str) and len(token) < MIN_TOKEN_LENGTH:
        # Never echo a secret: describe it instead.
        raise RayStaticConfigError(
            naming("auth_token"), f"a {len(token)}-character value", f"at least {MIN_TOKEN_LENGTH} characters"
        )
    if token is not None and not isinstance(token, str | pulumi.Output):
        raise RayStaticConfigError(naming("auth_token"), f"a {type(token).__name__}", "a string (a secret)")

    service_type = args.get("service_type", "ClusterIP")
    if service_type not in c.SERVICE_TYPES:
        raise invalid(naming("service_type"), service_type, '"ClusterIP", "NodePort" or "LoadBalancer"')
    allow_exposure = _bool(args, "allow_unauthenticated_exposure", False, naming)
    if service_type != "ClusterIP" and not auth and not allow_exposure:
        raise invalid(
            naming("service_type"),
            service_type,
            f'"ClusterIP" while {naming("auth")} is false (anyone reaching the port could run code), '
            f"unless {naming('allow_unauthenticated_exposure')} is true",
        )

    client_namespaces = _str_list(args.get("allowed_client_namespaces"), naming("allowed_client_namespaces"))
    for i, ns in enumerate(client_namespaces):
        _dns_label(ns, naming(f"allowed_client_namespaces[{i}]"))
    client_labels = _str_map(
        args.get("allowed_client_pod_labels"), naming("allowed_client_pod_labels"), label_values=True
    )

    return Settings(
        name=name,
        namespace=namespace,
        create_namespace=create_namespace,
        image=image,
        image_pull_policy=pull_policy,
        ray_version=version,
        head=head,
        head_ray_cpus=cast(int, head_ray_cpus),
        groups=tuple(groups),
        node_selector=_node_selector(args.get("node_selector"), "node_selector", naming),
        tolerations=_tolerations(args.get("tolerations"), "tolerations", naming),
        affinity=dict(cast(Mapping[str, Any], affinity)),
        image_pull_secrets=tuple(pull_secrets),
        env=env,
        pod_annotations=annotations,
        service_type=service_type,
        service_account=service_account or name,
        create_service_account=not service_account,
        auth=auth,
        auth_token=token,
        network_policy=_bool(args, "network_policy", True, naming),
        allowed_client_namespaces=tuple(client_namespaces),
        allowed_client_pod_labels=client_labels,
    )


def _dns_label_or_subdomain(value: str, setting: str) -> None:
    if len(value) > 253 or not _DNS_1123_SUBDOMAIN.match(value):
        raise invalid(setting, value, "a Kubernetes object name (lowercase letters, digits, '-' and '.')")
