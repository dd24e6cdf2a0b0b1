"""Validators for single values: each takes the value and the setting's name as the user typed it, and
returns the value normalised or raises RayStaticConfigError with one sentence.

They know nothing about where a value came from (component args or stack config) or about other settings;
rules that combine settings are steps of ``settings.resolve``.
"""

import ipaddress
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi

from ray_static import constants as c
from ray_static.config.quantities import memory_bytes, whole_cpus
from ray_static.errors import RayStaticConfigError, invalid, show
from ray_static.names import did_you_mean

Naming = Callable[[str], str]
"""Turns an argument path (``head_resources.cpu``) into the name the user typed (``headCpu``)."""


def identity(path: str) -> str:
    return path


@dataclass(frozen=True)
class At:
    """Where a value sits: its argument path, named the way the user typed it."""

    path: str
    naming: Naming = identity

    @property
    def name(self) -> str:
        return self.naming(self.path)

    def field(self, key: str) -> "At":
        return At(f"{self.path}.{key}" if self.path else key, self.naming)

    def item(self, index: int) -> "At":
        return At(f"{self.path}[{index}]", self.naming)

    def sibling(self, path: str) -> str:
        """The user's name of another setting, for rules that mention it."""
        return self.naming(path)


Check = Callable[[Any, At], Any]
"""A validator: ``(value, where it is) -> normalised value``."""

_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")
MANAGED_ENV = (
    "RAY_AUTH_MODE",
    "RAY_AUTH_TOKEN",
    "RAY_AUTH_TOKEN_PATH",
    "RAY_CLUSTER_NAME",
    "RAY_ADDRESS",
    "RAY_USAGE_STATS_ENABLED",
    c.POD_IP_ENV,
    c.DASHBOARD_METRICS_PORT_ENV,
    c.REDIS_ADDRESS_ENV,
    c.REDIS_PASSWORD_ENV,
    c.EXTERNAL_STORAGE_NAMESPACE_ENV,
    c.DRAIN_TIMEOUT_ENV,
)
"""Variables ray-static sets itself on Ray containers (the Redis ones through gcs_fault_tolerance, which
wires them together; the drain timeout through drain_timeout_seconds), refused in the user's env.
RAY_AUTH_TOKEN is never set (the token is a file), but would override that file."""
DEFAULT_ENV = (
    c.GRAFANA_HOST_ENV,
    c.GRAFANA_IFRAME_HOST_ENV,
    c.PROMETHEUS_HOST_ENV,
    c.GCS_RECONNECT_TIMEOUT_ENV,
)
"""Variables ray-static sets from other options unless the pod's env or secret_env sets them: the user's
value wins (e.g. a Grafana address the browser reaches differently from the head)."""
MIN_TOKEN_LENGTH = 16
AFFINITY_KINDS = ("nodeAffinity", "podAffinity", "podAntiAffinity")


def is_int(value: Any) -> bool:
    """A whole number, and not a bool (Python counts True as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def unknown_keys(given: Mapping[str, Any], known: Collection[str], at: At) -> None:
    """Refuse a key of ``given`` that is not in ``known``, suggesting the closest one, or listing them all
    when none is close."""
    for key in given:
        if key not in known:
            setting = at.field(key).name if at.path else key
            hint = did_you_mean(key, known, lambda close: show(at.field(close).name))
            if hint:
                raise RayStaticConfigError(setting, "an unknown setting", f"{_known(at, known)}{hint}")
            raise RayStaticConfigError(setting, "an unknown setting", _listed(at, known))


MAX_LISTED = 12
"""Known settings an error lists when a close one is suggested; beyond that it counts them."""


def _known(at: At, known: Collection[str]) -> str:
    if len(known) > MAX_LISTED:
        return f"one of the {len(known)} known settings"
    return _listed(at, known)


def _listed(at: At, known: Collection[str]) -> str:
    return "one of " + ", ".join(sorted(at.field(k).name for k in known))


def mapping(value: Any, at: At, expected: str) -> Mapping[str, Any]:
    """A mapping (or None for an empty one)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid(at.name, value, expected)
    return cast(Mapping[str, Any], value)


def sequence(value: Any, at: At, expected: str) -> list[Any]:
    """A list (or None for an empty one); a string is not a list here."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise invalid(at.name, value, expected)
    return list(cast(list[Any], value))


def boolean(value: Any, at: At) -> bool:
    if not isinstance(value, bool):
        raise invalid(at.name, value, "true or false")
    return value


def whole(value: Any) -> int | None:
    """``value`` as an int when it is a whole number, else None. A float with no fraction counts: numbers
    that cross the Pulumi engine (another stack's outputs, a provider's, another language's) are float64,
    so `2` read from a StackReference arrives as 2.0."""
    if is_int(value):
        return cast(int, value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def count(value: Any, at: At) -> int:
    """A replica count."""
    number = whole(value)
    if number is None or not 0 <= number <= c.MAX_WORKERS_PER_GROUP:
        raise invalid(at.name, value, f"a whole number from 0 to {c.MAX_WORKERS_PER_GROUP}")
    return number


def whole_number(low: int | None, high: int | None = None, unit: str = "") -> Check:
    """A whole number within the bounds given; ``unit`` names what it counts when there is no range."""
    expected = f"a whole number from {low} to {high}" if high is not None else f"a whole number of {unit}"

    def check(value: Any, at: At) -> int:
        number = whole(value)
        if number is None or (low is not None and number < low) or (high is not None and number > high):
            raise invalid(at.name, value, expected)
        return number

    return check


def one_of(*allowed: str) -> Check:
    """One of a few fixed strings."""
    expected = ", ".join(show(a) for a in allowed[:-1]) + f" or {show(allowed[-1])}"

    def check(value: Any, at: At) -> str:
        if value not in allowed:
            raise invalid(at.name, value, expected)
        return cast(str, value)

    return check


def is_dns_label(value: Any, *, max_length: int = 63, dns_1035: bool = False) -> bool:
    """Whether ``value`` is a DNS label (RFC 1123, or with ``dns_1035`` one starting with a letter)."""
    pattern = _DNS_1035_LABEL if dns_1035 else _DNS_1123_LABEL
    return isinstance(value, str) and len(value) <= max_length and bool(pattern.match(value))


def dns_label(value: Any, at: At, *, max_length: int = 63, dns_1035: bool = False) -> str:
    """A Kubernetes name that is a DNS label (namespaces; with ``dns_1035``, Service names)."""
    if not is_dns_label(value, max_length=max_length, dns_1035=dns_1035):
        start = "a letter" if dns_1035 else "a letter or digit"
        raise invalid(
            at.name,
            value,
            f"a Kubernetes name: lowercase letters, digits and '-', starting with {start}, "
            f"ending with a letter or digit, at most {max_length} characters",
        )
    return value


def instance_name(value: Any, at: At) -> str:
    """The cluster's name: it prefixes Service names, so a DNS-1035 label, short enough for suffixes."""
    return dns_label(value, at, max_length=c.MAX_NAME_LENGTH, dns_1035=True)


def group_name(value: Any, at: At) -> str:
    """A worker group's name, short enough for `<name>-worker-<group>` to fit in a label value."""
    return dns_label(value, at, max_length=c.MAX_GROUP_NAME_LENGTH)


def object_name(value: Any, at: At) -> str:
    """A Kubernetes object name (DNS subdomain): Secrets, ServiceAccounts."""
    if not isinstance(value, str) or len(value) > 253 or not _DNS_1123_SUBDOMAIN.match(value):
        raise invalid(at.name, value, "a Kubernetes object name (lowercase letters, digits, '-' and '.')")
    return value


def optional_object_name(value: Any, at: At) -> str:
    """An object name, or "" for none."""
    return "" if value in (None, "") else object_name(value, at)


def image(value: Any, at: At) -> str:
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        raise invalid(at.name, value, f'a container image reference such as "{c.DEFAULT_IMAGE}"')
    return value


def ray_version(value: Any, at: At) -> tuple[int, int, int] | None:
    """A Ray version ("2.60.0"), or None when not given."""
    if value in (None, ""):
        return None
    parsed = VERSION.match(value) if isinstance(value, str) else None
    if parsed is None or parsed[0] != cast(str, value).removeprefix("v"):
        raise invalid(at.name, value, 'a Ray version such as "2.60.0"')
    return (int(parsed[1]), int(parsed[2]), int(parsed[3]))


def cpu(value: Any, at: At) -> str:
    """A CPU limit in whole CPUs (Ray's --num-cpus takes integers), as a Kubernetes quantity: a string, as
    the args' type says."""
    if is_int(value):
        raise invalid(at.name, value, f'a string such as "{value}" (a Kubernetes quantity)')
    text = value
    if not isinstance(text, str) or whole_cpus(text) is None:
        raise invalid(
            at.name, text, 'a whole number of CPUs such as "2" or "2000m" (Ray schedules whole CPUs)'
        )
    return text


def memory(value: Any, at: At) -> str:
    """A memory limit of at least 512Mi (Ray's object store and /dev/shm are sized from it)."""
    size = memory_bytes(value) if isinstance(value, str) else None
    if size is None or size < c.MIN_MEMORY_BYTES:
        raise invalid(at.name, value, 'a Kubernetes memory quantity of at least 512Mi, such as "4Gi"')
    return cast(str, value)


def str_list(value: Any, at: At) -> list[str]:
    items = sequence(value, at, "a list of strings")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise invalid(at.item(i).name, item, "a string")
    return cast(list[str], items)


def name_list(value: Any, at: At) -> list[str]:
    """Object names (image pull Secrets)."""
    names = str_list(value, at)
    for i, name in enumerate(names):
        object_name(name, at.item(i))
    return names


def namespace_list(value: Any, at: At) -> list[str]:
    names = str_list(value, at)
    for i, name in enumerate(names):
        dns_label(name, at.item(i))
    return names


def str_map(value: Any, at: At) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, item in mapping(value, at, "a mapping of strings to strings").items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise invalid(at.field(key).name, item, "a string")
        out[key] = item
    return out


def label_map(value: Any, at: At) -> dict[str, str]:
    """Kubernetes labels (node selectors, client pod labels)."""
    labels = str_map(value, at)
    for key, item in labels.items():
        label(key, item, at.field(key))
    return labels


def is_qualified_name(key: str) -> bool:
    """A label or annotation key: an optional DNS-subdomain prefix and "/", then a 63-character name."""
    prefix, _, name = key.rpartition("/")
    return not (
        not name
        or len(name) > 63
        or not _LABEL_NAME.match(name)
        or (prefix and (len(prefix) > 253 or not _DNS_1123_SUBDOMAIN.match(prefix)))
    )


def label(key: str, value: str, at: At) -> None:
    """A label key and value, as the API server would accept them."""
    if not is_qualified_name(key):
        raise invalid(at.name, key, 'a Kubernetes label key such as "team" or "example.com/team"')
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise invalid(
            at.name, value, "a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.')"
        )


def env_map(value: Any, at: At) -> dict[str, str]:
    """Extra environment variables: valid names, none of those ray-static manages."""
    env = str_map(value, at)
    for key in env:
        if not _ENV_NAME.match(key):
            raise invalid(
                at.field(key).name, key, "an environment variable name (letters, digits, '_', '-', '.')"
            )
        if key in MANAGED_ENV:
            raise invalid(
                at.field(key).name, key, f"a variable ray-static does not manage ({', '.join(MANAGED_ENV)})"
            )
    return env


def affinity(value: Any, at: At) -> dict[str, Any]:
    """A Kubernetes affinity in wire format, passed through after checking its top-level kinds."""
    given = mapping(value, at, "a Kubernetes affinity mapping")
    for key in sorted(given):
        if key not in AFFINITY_KINDS:
            raise invalid(at.field(key).name, key, '"nodeAffinity", "podAffinity" or "podAntiAffinity"')
    return dict(given)


def token(value: Any, at: At) -> pulumi.Input[str] | None:
    """The Ray token: a string of at least 16 characters or an Output; "" means generate one.

    Never echoes the value: the error describes it instead.
    """
    if value in (None, ""):
        return None
    if isinstance(value, str) and len(value) < MIN_TOKEN_LENGTH:
        raise RayStaticConfigError(
            at.name, f"a {len(value)}-character value", f"at least {MIN_TOKEN_LENGTH} characters"
        )
    if not isinstance(value, str | pulumi.Output):
        raise RayStaticConfigError(at.name, f"a {type(value).__name__}", "a string (a secret)")
    return cast(pulumi.Input[str], value)


def annotation_map(value: Any, at: At) -> dict[str, str]:
    """Kubernetes annotations: label-style keys, any string values."""
    annotations = str_map(value, at)
    for key in annotations:
        if not is_qualified_name(key):
            raise invalid(at.field(key).name, key, 'an annotation key such as "example.com/owner" or "owner"')
    return annotations


def cidr_list(value: Any, at: At) -> list[str]:
    """IP ranges in CIDR notation ("203.0.113.0/24", "2001:db8::/32"), each with its prefix length."""
    ranges = str_list(value, at)
    for i, text in enumerate(ranges):
        try:
            ipaddress.ip_network(text, strict=True)
        except ValueError:
            ok = False
        else:
            ok = "/" in text
        if not ok:
            raise invalid(at.item(i).name, text, 'an IP range in CIDR notation such as "203.0.113.0/24"')
    return ranges


def normal_cidr(text: str) -> str:
    """A range as ipaddress writes it ("0.0.0.0/00" -> "0.0.0.0/0"), for comparing ranges checked by
    cidr_list."""
    return str(ipaddress.ip_network(text, strict=False))


def host_name(value: Any, at: At) -> str:
    """A DNS name an Ingress can answer for (a leading "*." wildcard allowed; no IP address, no port)."""
    if not isinstance(value, str) or len(value) > 253 or not _HOST.match(value):
        raise invalid(at.name, value, 'a lowercase DNS name such as "ray.example.com"')
    return value


def url_path(value: Any, at: At) -> str:
    """An absolute URL path ("/", "/ray")."""
    if not isinstance(value, str) or not _URL_PATH.match(value) or "//" in value:
        raise invalid(at.name, value, 'an absolute URL path such as "/" or "/ray"')
    return value


_HTTP_ORIGIN = re.compile(r"^https?://[^\s/]+(:\d+)?/?$")


def http_origin(value: Any, at: At, example: str) -> str:
    """An http(s) URL of a server alone (scheme, host, optional port; no path), such as ``example``."""
    if not isinstance(value, str) or not _HTTP_ORIGIN.match(value):
        raise invalid(at.name, value, example)
    return value


def http_url(value: Any, at: At) -> str | None:
    """An http(s) URL with a host and no trailing slash, or None when not given."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", value):
        return value.rstrip("/")
    raise invalid(at.name, value, 'an http(s) URL such as "http://grafana.monitoring.svc:80"')


def serve_port(value: Any, at: At) -> int:
    """Ray Serve's HTTP port: unprivileged, and none of the ports ray-static pins for Ray itself."""
    taken = sorted(c.PINNED_PORTS)
    if (
        not is_int(value)
        or not 1024 <= value <= 65535
        or value in c.PINNED_PORTS
        or c.MIN_WORKER_PORT <= value <= c.MAX_WORKER_PORT
    ):
        raise invalid(
            at.name,
            value,
            f"a port from 1024 to 65535 that Ray does not use already ({', '.join(map(str, taken))}, "
            f"{c.MIN_WORKER_PORT}-{c.MAX_WORKER_PORT})",
        )
    return cast(int, value)


_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def secret_key(value: Any, at: At) -> str:
    """A key inside a Secret or ConfigMap."""
    if not isinstance(value, str) or len(value) > 253 or not _SECRET_KEY.match(value):
        raise invalid(at.name, value, "a Secret key (letters, digits, '-', '_' and '.')")
    return value


def ephemeral_storage(value: Any, at: At) -> str | None:
    """A local-disk quantity ("20Gi"), or None when not given."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or memory_bytes(value) is None:
        raise invalid(at.name, value, 'a Kubernetes quantity greater than 0, such as "20Gi"')
    return value


def extended_resource(value: Any, at: At) -> str:
    """A device plugin's resource name: a domain prefix and a name ("nvidia.com/gpu", "amd.com/gpu")."""
    prefix = value.rpartition("/")[0] if isinstance(value, str) else ""
    if (
        not isinstance(value, str)
        or not prefix
        or not is_qualified_name(value)
        or prefix.endswith("kubernetes.io")
    ):
        raise invalid(
            at.name,
            value,
            'an extended resource name such as "nvidia.com/gpu", "amd.com/gpu" or "nvidia.com/mig-1g.5gb"',
        )
    return value


def json_mapping(value: Any, at: At, expected: str = "a mapping of plain JSON values") -> dict[str, Any]:
    """A mapping of plain JSON values (what Ray's APIs take on the wire), as a plain copy."""
    if not isinstance(value, Mapping):
        raise invalid(at.name, value, expected)
    try:
        return cast(dict[str, Any], json.loads(json.dumps(value, allow_nan=False)))
    except (TypeError, ValueError):
        raise RayStaticConfigError(at.name, "a mapping holding values that are not JSON", expected) from None
