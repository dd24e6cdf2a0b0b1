"""Checks of the Kubernetes objects users hand over in wire format (volumes, mounts, containers, env
sources, spread constraints) and of the labels, annotations and Secret-backed variables of Ray pods.

The objects pass through unchanged once checked: the API server validates them in full, but only after
`pulumi up` has started changing things, so what would certainly fail (or silently clash with what
ray-static sets itself) is refused here first, naming the field.
"""

import ipaddress
import posixpath
from typing import Any, cast

from ray_static import constants as c
from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.errors import invalid, show
from ray_static.inputs.cluster import HeadArgs

MANAGED_LABELS = (
    c.LABEL_NAME,
    c.LABEL_INSTANCE,
    c.LABEL_COMPONENT,
    c.LABEL_MANAGED_BY,
    c.LABEL_PART_OF,
    c.LABEL_VERSION,
    c.LABEL_CLUSTER,
    c.LABEL_NODE_TYPE,
    c.LABEL_GROUP,
)
"""Labels ray-static sets on every Ray pod; its Deployments, Service and NetworkPolicy select on some."""
ENV_SOURCES = ("configMapRef", "secretRef")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
DNS_CONFIG_FIELDS = ("nameservers", "searches", "options")
MAX_NAMESERVERS = 3
"""The API server refuses a dnsConfig with more (validation.MaxDNSNameservers)."""
CLAIM_SOURCES = ("resourceClaimName", "resourceClaimTemplateName")


def _objects(value: Any, at: At, what: str) -> list[dict[str, Any]]:
    items = checks.sequence(value, at, f"a list of Kubernetes {what} objects")
    for i, item in enumerate(items):
        checks.mapping(item, at.item(i), f"a Kubernetes {what} object (camelCase fields)")
    return [dict(cast(dict[str, Any], item)) for item in items]


def _unique_names(items: list[dict[str, Any]], at: At, what: str, owned: frozenset[str]) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = at.item(i).field("name")
        name = checks.dns_label(item.get("name"), where)
        if name in owned:
            raise invalid(
                where.name, name, f"a {what} name other than {', '.join(sorted(owned))} (ray-static's)"
            )
        if name in seen:
            raise invalid(where.name, name, f"a {what} name used once")
        seen.add(name)


def volumes(value: Any, at: At) -> list[dict[str, Any]]:
    """Volumes: each named once, with a source, under a name ray-static does not use."""
    items = _objects(value, at, "Volume")
    _unique_names(items, at, "volume", c.OWNED_VOLUMES)
    for i, item in enumerate(items):
        if len(item) < 2:
            raise invalid(
                at.item(i).name,
                item,
                'a volume with a source, e.g. {"name": "data", "persistentVolumeClaim": '
                '{"claimName": "data"}}',
            )
    return items


def owned_path(path: str) -> bool:
    """A path ray-static mounts its own volume at, or below /dev/shm or the token's directory."""
    below = (c.SHM_PATH, c.AUTH_TOKEN_DIR)
    return path in c.OWNED_MOUNT_PATHS or any(path.startswith(f"{p}/") for p in below)


def volume_mounts(value: Any, at: At) -> list[dict[str, Any]]:
    """Mounts of the Ray containers: a volume name and an absolute path that is not ray-static's."""
    items = _objects(value, at, "VolumeMount")
    for i, item in enumerate(items):
        checks.dns_label(item.get("name"), at.item(i).field("name"))
        where = at.item(i).field("mountPath")
        path = item.get("mountPath")
        if not isinstance(path, str) or not path.startswith("/") or posixpath.normpath(path) != path:
            raise invalid(where.name, path, 'an absolute, normalised path such as "/data"')
        if owned_path(path):
            raise invalid(
                where.name,
                path,
                f"a path other than {', '.join(c.OWNED_MOUNT_PATHS)} (mounted by ray-static)",
            )
    return items


def containers(value: Any, at: At) -> list[dict[str, Any]]:
    """Sidecars or init containers: each with a unique name (not ray-static's) and an image."""
    items = _objects(value, at, "Container")
    _unique_names(items, at, "container", c.OWNED_CONTAINERS)
    for i, item in enumerate(items):
        image = item.get("image")
        checks.image(image, at.item(i).field("image"))
    return items


def env_from(value: Any, at: At) -> list[dict[str, Any]]:
    """EnvFromSource objects: exactly one of configMapRef and secretRef, naming its object."""
    items = _objects(value, at, "EnvFromSource")
    for i, item in enumerate(items):
        sources = [k for k in ENV_SOURCES if k in item]
        unknown = sorted(set(item) - {*ENV_SOURCES, "prefix"})
        if len(sources) != 1 or unknown:
            raise invalid(
                at.item(i).name, item, 'exactly one of "configMapRef" or "secretRef", and a "prefix"'
            )
        ref = checks.mapping(item[sources[0]], at.item(i).field(sources[0]), 'a mapping with a "name"')
        checks.object_name(ref.get("name"), at.item(i).field(sources[0]).field("name"))
    return items


def topology_spread_constraints(value: Any, at: At) -> list[dict[str, Any]]:
    """TopologySpreadConstraints: maxSkew of at least 1, a topologyKey, DoNotSchedule or ScheduleAnyway."""
    items = _objects(value, at, "TopologySpreadConstraint")
    for i, item in enumerate(items):
        checks.whole_number(1, None, "pods")(item.get("maxSkew"), at.item(i).field("maxSkew"))
        key = item.get("topologyKey")
        if not isinstance(key, str) or not checks.is_qualified_name(key):
            raise invalid(
                at.item(i).field("topologyKey").name,
                key,
                'a node label key such as "topology.kubernetes.io/zone"',
            )
        checks.one_of(*WHEN_UNSATISFIABLE)(
            item.get("whenUnsatisfiable"), at.item(i).field("whenUnsatisfiable")
        )
    return items


def pod_labels(value: Any, at: At) -> dict[str, str]:
    """Extra pod labels, none of those ray-static sets (its selectors would stop matching)."""
    labels = checks.label_map(value, at)
    for key in labels:
        if key in MANAGED_LABELS:
            raise invalid(
                at.field(key).name, key, f"a label ray-static does not set ({', '.join(MANAGED_LABELS)})"
            )
    return labels


def pod_annotations(value: Any, at: At) -> dict[str, str]:
    """Extra pod annotations, none under ray-static's own prefix."""
    annotations = checks.annotation_map(value, at)
    for key in annotations:
        if key.startswith(c.OWNED_ANNOTATION_PREFIX):
            raise invalid(
                at.field(key).name,
                key,
                f"an annotation key not starting with {show(c.OWNED_ANNOTATION_PREFIX)}",
            )
    return annotations


def secret_env(value: Any, at: At) -> dict[str, dict[str, str]]:
    """Variables from Secrets: valid, unmanaged names, each with a Secret name and a key."""
    out: dict[str, dict[str, str]] = {}
    for name, ref in checks.mapping(
        value, at, 'a mapping such as {"API_KEY": {"secret": "s", "key": "k"}}'
    ).items():
        checks.env_map({name: ""}, at)
        where = at.field(name)
        given = checks.mapping(ref, where, 'a mapping with "secret" and "key"')
        checks.unknown_keys(given, ("secret", "key"), where)
        secret = checks.object_name(given.get("secret"), where.field("secret"))
        out[name] = {"secret": secret, "key": checks.secret_key(given.get("key"), where.field("key"))}
    return out


def priority_class_name(value: Any, at: At) -> str | None:
    """A PriorityClass name, or None when not given."""
    return None if value in (None, "") else checks.object_name(value, at)


def optional_name(value: Any, at: At) -> str | None:
    """An object name the API server checks as a DNS subdomain (a scheduler, a RuntimeClass), or None when
    not given."""
    return None if value in (None, "") else checks.object_name(value, at)


def dns_config(value: Any, at: At) -> dict[str, Any]:
    """A PodDNSConfig: at most three nameserver IPs, search domains, and options with a name each."""
    given = checks.mapping(value, at, 'a PodDNSConfig such as {"options": [{"name": "ndots", "value": "2"}]}')
    checks.unknown_keys(given, DNS_CONFIG_FIELDS, at)
    servers = checks.str_list(given.get("nameservers"), at.field("nameservers"))
    for i, server in enumerate(servers):
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise invalid(at.field("nameservers").item(i).name, server, "an IP address") from None
    if len(servers) > MAX_NAMESERVERS:
        raise invalid(at.field("nameservers").name, servers, f"at most {MAX_NAMESERVERS} IP addresses")
    searches = checks.str_list(given.get("searches"), at.field("searches"))
    options = _objects(given.get("options"), at.field("options"), "PodDNSConfigOption")
    for i, option in enumerate(options):
        where = at.field("options").item(i)
        checks.unknown_keys(option, ("name", "value"), where)
        if not isinstance(option.get("name"), str) or not option["name"]:
            raise invalid(where.field("name").name, option.get("name"), 'a resolver option such as "ndots"')
        if not isinstance(option.get("value", ""), str):
            raise invalid(where.field("value").name, option["value"], 'a string such as "2"')
    return {k: v for k, v in (("nameservers", servers), ("searches", searches), ("options", options)) if v}


def resource_claims(value: Any, at: At) -> list[dict[str, str]]:
    """Dynamic resource allocation: each claim a DNS label naming exactly one existing ResourceClaim or
    ResourceClaimTemplate (the Ray container is given every claim of its pod)."""
    items = _objects(value, at, "resource claim")
    _unique_names(items, at, "claim", frozenset())
    for i, item in enumerate(items):
        checks.unknown_keys(item, ("name", *CLAIM_SOURCES), at.item(i))
        sources = [k for k in CLAIM_SOURCES if k in item]
        if len(sources) != 1:
            raise invalid(
                at.item(i).name,
                item,
                'a name and exactly one of "resourceClaimName" or "resourceClaimTemplateName"',
            )
        checks.object_name(item[sources[0]], at.item(i).field(sources[0]))
    return [{k: cast(str, v) for k, v in item.items()} for item in items]


def capabilities(value: Any, at: At) -> list[str]:
    """Linux capabilities added to the Ray container, named as Kubernetes compares them (no CAP_)."""
    names = checks.str_list(value, at)
    for i, name in enumerate(names):
        if name not in c.LINUX_CAPABILITIES:
            raise invalid(at.item(i).name, name, 'a Linux capability name without "CAP_", e.g. "IPC_LOCK"')
    return list(dict.fromkeys(names))


def head_options(value: Any, at: At) -> dict[str, Any]:
    """The `head` mapping: pod options only (each is checked with the others of the head's pod)."""
    given = checks.mapping(value, at, 'a mapping of pod options, e.g. {"ray_resources": {"a": 1}}')
    checks.unknown_keys(given, HeadArgs.__annotations__, at)
    return dict(given)
