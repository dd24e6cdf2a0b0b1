"""The `egress` input: when given, the NetworkPolicy also limits what the Ray pods may reach.

Allowed then: the cluster DNS, the cluster's own pods, what the cluster's settings point at (the Redis of
`gcs_fault_tolerance`, the Prometheus and Grafana of `metrics`), and the namespaces and IP ranges listed.
A NetworkPolicy matches addresses, not names: a target given as a Service name of this cluster becomes its
namespace on that port, an IP address its own range; a name outside the cluster cannot be allowed, so a
setting pointing at one is refused while egress is on.
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ray_static.config import checks
from ray_static.config.checks import At, Naming
from ray_static.errors import invalid
from ray_static.inputs.cluster import EgressArgs

FIELDS = frozenset(EgressArgs.__annotations__)
EVERYWHERE = frozenset({"0.0.0.0/0", "::/0"})
"""Ranges that allow every address: egress rules with one of them restrict nothing."""
_SERVICE_NAME = re.compile(
    r"^(?P<service>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
    r"(\.(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.svc(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?)?$"
)
"""`service`, `service.namespace` or `service.namespace.svc[.cluster.local]`: how a pod names a Service."""


@dataclass(frozen=True)
class Egress:
    """The validated `egress` input."""

    allowed_namespaces: tuple[str, ...] = ()
    allowed_cidrs: tuple[str, ...] = ()
    dns_cidrs: tuple[str, ...] = ()
    """Empty: the cluster DNS is the kube-dns pods of kube-system."""
    targets: tuple["Target", ...] = ()
    """What the other settings point the Ray pods at (filled in by `resolve`)."""


@dataclass(frozen=True)
class Target:
    """Somewhere the Ray pods connect to because a setting says so: a namespace's pods or an IP range,
    on one TCP port."""

    port: int
    namespace: str | None = None
    cidr: str | None = None


def egress(value: Any, at: At) -> Egress | None:
    """Validate an EgressArgs mapping, or None (ingress rules only) when not given."""
    if value is None:
        return None
    given = checks.mapping(value, at, "a mapping with " + ", ".join(sorted(FIELDS)))
    checks.unknown_keys(given, FIELDS, at)
    cidrs = checks.cidr_list(given.get("allowed_cidrs"), at.field("allowed_cidrs"))
    for i, cidr in enumerate(cidrs):
        if checks.normal_cidr(cidr) in EVERYWHERE:
            raise invalid(
                at.field("allowed_cidrs").item(i).name,
                cidr,
                "a range narrower than every address (with it egress restricts nothing: leave egress unset)",
            )
    return Egress(
        allowed_namespaces=tuple(
            checks.namespace_list(given.get("allowed_namespaces"), at.field("allowed_namespaces"))
        ),
        allowed_cidrs=tuple(cidrs),
        dns_cidrs=tuple(checks.cidr_list(given.get("dns_cidrs"), at.field("dns_cidrs"))),
    )


def target(host: str, port: int, namespace: str, setting: str, given: str) -> Target:
    """Where a host the cluster's settings name lives, for an egress rule: an IP address is its own range,
    a Service name its namespace (the cluster's own for a bare name); anything else is refused, naming
    ``setting`` and the value ``given`` there."""
    bare = host.strip("[]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        pass
    else:
        return Target(port=port, cidr=f"{address}/{address.max_prefixlen}")
    match = _SERVICE_NAME.match(host)
    if match is None:
        raise invalid(
            setting,
            given,
            "an IP address or a Service of this cluster (name, name.namespace or "
            "name.namespace.svc.cluster.local) while egress is on: a NetworkPolicy cannot allow a name "
            "outside the cluster",
        )
    return Target(port=port, namespace=match["namespace"] or namespace)


def url_target(url: str, namespace: str, setting: str) -> Target:
    """`target` for an http(s) URL (its port, or 80/443 by scheme)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return target(parts.hostname or "", port, namespace, setting, url)


def redis_target(address: str, namespace: str, naming: Naming) -> Target:
    """`target` for the `gcs_fault_tolerance` Redis address ("[redis://]host:port")."""
    host, _, port = address.rsplit("://", 1)[-1].rpartition(":")
    return target(host, int(port), namespace, naming("gcs_fault_tolerance.redis_address"), address)
