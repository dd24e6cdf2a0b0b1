"""The `gcs_fault_tolerance` input: the head keeps the GCS state in an external Redis.

Wiring (as KubeRay's ray-operator does it in common/pod.go, and Ray's "GCS fault tolerance" guide): the
head gets RAY_REDIS_ADDRESS, the password from a Secret as REDIS_PASSWORD (passed to `ray start
--redis-password`), and a RAY_external_storage_namespace that stays the same across head restarts; the
workers wait for a restarted GCS far longer than Ray's default 60 s (RAY_gcs_rpc_server_reconnect_timeout_s)
instead of exiting.
"""

import re
import secrets
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes.core.v1 as core

from ray_static import checks
from ray_static import constants as c
from ray_static.args import GcsFaultToleranceArgs
from ray_static.checks import At
from ray_static.errors import RayStaticConfigError, invalid, show
from ray_static.token import stashed

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


STORAGE_SUFFIX_BYTES = 4
"""8 hex digits after `<namespace>-<name>-`: unique per stack, still readable in Redis's key list."""


def generated_storage_namespace(
    name: str, prefix: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """`<prefix>-<8 hex digits>`, made on the first `pulumi up` and kept in the stack state (a Stash).

    Like KubeRay's default (the RayCluster's UID): a head restart finds its state again, while a cluster
    destroyed and deployed anew starts empty instead of picking up the old cluster's nodes, actors and
    jobs, and two stacks with the same namespace and name (two Kubernetes clusters, one Redis) never
    share state. A name derived from the namespace and name alone would do neither.
    """
    proposed = pulumi.Output.concat(prefix, "-", secrets.token_hex(STORAGE_SUFFIX_BYTES))
    return stashed(name, proposed, opts)


def _unless_set(env: list[core.EnvVarArgs], user_names: frozenset[str]) -> list[core.EnvVarArgs]:
    """A variable the user's env (or secret_env) sets wins, as KubeRay's EnvVarExists checks do."""
    return [e for e in env if e.name not in user_names]


def head_env(ft: GcsFaultTolerance | None, user_names: frozenset[str]) -> list[core.EnvVarArgs]:
    """The head's Redis address, storage namespace and (with a Secret) Redis password."""
    if ft is None:
        return []
    env = [
        core.EnvVarArgs(name=c.REDIS_ADDRESS_ENV, value=ft.redis_address),
        core.EnvVarArgs(name=c.EXTERNAL_STORAGE_NAMESPACE_ENV, value=ft.storage_namespace),
    ]
    if ft.redis_password_secret is not None:
        env.append(
            core.EnvVarArgs(
                name=c.REDIS_PASSWORD_ENV,
                value_from=core.EnvVarSourceArgs(
                    secret_key_ref=core.SecretKeySelectorArgs(
                        name=ft.redis_password_secret, key=ft.redis_password_key
                    )
                ),
            )
        )
    return _unless_set(env, user_names)


def redis_password_flag(ft: GcsFaultTolerance | None) -> str | None:
    """`ray start --head` flag for the password, as shell text expanding REDIS_PASSWORD: Ray 2.60 reads the
    password from this flag only. Double quotes keep any character of it; the pod spec holds no secret."""
    if ft is None or ft.redis_password_secret is None:
        return None
    return f'--redis-password="${c.REDIS_PASSWORD_ENV}"'


def worker_env(ft: GcsFaultTolerance | None, user_names: frozenset[str]) -> list[core.EnvVarArgs]:
    """The workers' long GCS reconnect timeout, unless the user's env sets one."""
    if ft is None:
        return []
    timeout = str(c.WORKER_GCS_RECONNECT_TIMEOUT_SECONDS)
    return _unless_set([core.EnvVarArgs(name=c.GCS_RECONNECT_TIMEOUT_ENV, value=timeout)], user_names)


def worker_annotations(ft: GcsFaultTolerance) -> dict[str, pulumi.Input[str]]:
    """Where the cluster's state lives, on the worker pods: pointing the head elsewhere rolls them."""
    namespace = ft.storage_namespace
    if isinstance(namespace, str):
        return {c.GCS_STORAGE_ANNOTATION: f"{ft.redis_address} {namespace}"}
    return {c.GCS_STORAGE_ANNOTATION: pulumi.Output.concat(ft.redis_address, " ", namespace)}
