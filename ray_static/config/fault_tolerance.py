"""The `gcs_fault_tolerance` input: the head keeps the GCS state in an external Redis.

Wiring (as KubeRay's ray-operator does it in common/pod.go, and Ray's "GCS fault tolerance" guide): the
head gets RAY_REDIS_ADDRESS, the password from a Secret as REDIS_PASSWORD (passed to `ray start
--redis-password`), and a RAY_external_storage_namespace that stays the same across head restarts; the
workers wait for a restarted GCS far longer than Ray's default 60 s (RAY_gcs_rpc_server_reconnect_timeout_s)
instead of exiting.
"""

import re
from dataclasses import dataclass, replace
from typing import Any

import pulumi

from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.errors import RayStaticConfigError, invalid, show
from ray_static.inputs.cluster import GcsFaultToleranceArgs

FIELDS = frozenset(GcsFaultToleranceArgs.__annotations__)
DEFAULT_PASSWORD_KEY = "password"
_HOST_PORT = re.compile(
    r"^(?:rediss?://)?(?P<host>[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})$"
)
_STORAGE_NAMESPACE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]{0,127}$")


@dataclass(frozen=True)
class GcsFaultTolerance:
    """The validated `gcs_fault_tolerance` input."""

    redis_address: str
    redis_password_secret: str | None
    redis_password_key: str
    external_storage_namespace: pulumi.Input[str] | None
    """As given; when not given, None until the component fills in one made once and kept in the stack
    state (`generated_storage_namespace`)."""

    def with_storage_namespace(self, namespace: pulumi.Input[str]) -> "GcsFaultTolerance":
        return replace(self, external_storage_namespace=namespace)

    @property
    def storage_namespace(self) -> pulumi.Input[str]:
        """The storage namespace the head runs with (the component has filled it in by now)."""
        if self.external_storage_namespace is None:
            raise RuntimeError("the GCS storage namespace is not set: RayCluster fills it in before building")
        return self.external_storage_namespace


def redis_address(value: Any, at: At) -> str:
    """host:port (optionally redis:// or rediss://), with a port from 1 to 65535."""
    match = _HOST_PORT.match(value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise invalid(
            at.name, value, 'a Redis address "host:port" such as "redis.ray.svc.cluster.local:6379"'
        )
    return value


def storage_namespace(value: Any, at: At) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _STORAGE_NAMESPACE.match(value):
        raise invalid(
            at.name,
            value,
            "letters, digits, '-', '_' and '.', starting with a letter or digit, at most 128 characters",
        )
    return value


def gcs_fault_tolerance(value: Any, at: At) -> GcsFaultTolerance | None:
    """Validate a GcsFaultToleranceArgs mapping, or None (no fault tolerance) when not given."""
    if value is None:
        return None
    given = checks.mapping(value, at, 'a mapping with a redis_address, e.g. {"redis_address": "redis:6379"}')
    checks.unknown_keys(given, FIELDS, at)
    if "redis_address" not in given:
        raise RayStaticConfigError(at.field("redis_address").name, "no value", 'a Redis address "host:port"')
    secret = given.get("redis_password_secret")
    key = given.get("redis_password_key", DEFAULT_PASSWORD_KEY)
    if "redis_password_key" in given and secret in (None, ""):
        raise RayStaticConfigError(
            at.field("redis_password_secret").name,
            "no value",
            f"the name of the Secret holding {at.field('redis_password_key').name} {show(key)}",
        )
    return GcsFaultTolerance(
        redis_address=redis_address(given["redis_address"], at.field("redis_address")),
        redis_password_secret=checks.optional_object_name(secret, at.field("redis_password_secret")) or None,
        redis_password_key=checks.secret_key(key, at.field("redis_password_key")),
        external_storage_namespace=storage_namespace(
            given.get("external_storage_namespace"), at.field("external_storage_namespace")
        ),
    )
