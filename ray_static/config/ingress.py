"""The `ingress` input: how the dashboard is reached from outside the cluster through an Ingress."""

from dataclasses import dataclass, field
from typing import Any

from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.errors import RayStaticConfigError
from ray_static.inputs.cluster import IngressArgs

FIELDS = frozenset(IngressArgs.__annotations__)


@dataclass(frozen=True)
class Ingress:
    """The validated `ingress` input."""

    host: str
    class_name: str | None = None
    tls_secret: str | None = None
    annotations: dict[str, str] = field(default_factory=dict[str, str])
    path: str = "/"
    controller_namespaces: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """Where a browser reaches the dashboard: https when a TLS Secret is given."""
        scheme = "https" if self.tls_secret else "http"
        return f"{scheme}://{self.host}{self.path}"


def ingress(value: Any, at: At) -> Ingress | None:
    """Validate an IngressArgs mapping, or None (no Ingress) when not given."""
    if value is None:
        return None
    given = checks.mapping(value, at, 'a mapping with a host, e.g. {"host": "ray.example.com"}')
    checks.unknown_keys(given, FIELDS, at)
    if "host" not in given:
        raise RayStaticConfigError(at.field("host").name, "no value", 'a DNS name such as "ray.example.com"')
    class_name = given.get("class_name")
    tls_secret = given.get("tls_secret")
    return Ingress(
        host=checks.host_name(given["host"], at.field("host")),
        class_name=None
        if class_name in (None, "")
        else checks.object_name(class_name, at.field("class_name")),
        tls_secret=None
        if tls_secret in (None, "")
        else checks.object_name(tls_secret, at.field("tls_secret")),
        annotations=checks.annotation_map(given.get("annotations"), at.field("annotations")),
        path=checks.url_path(given.get("path", "/"), at.field("path")),
        controller_namespaces=tuple(
            checks.namespace_list(given.get("controller_namespaces"), at.field("controller_namespaces"))
        ),
    )
