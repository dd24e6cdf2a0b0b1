"""GCS fault tolerance in the pods: the head's Redis variables and password flag, the workers' long
reconnect timeout, and the storage namespace generated once and kept in the stack state.

Wiring as KubeRay's ray-operator does it (common/pod.go) and Ray's "GCS fault tolerance" guide describes;
the input itself is validated in `ray_static.config.fault_tolerance`.
"""

import secrets

import pulumi
import pulumi_kubernetes.core.v1 as core

from ray_static import constants as c
from ray_static.cluster.token import stashed
from ray_static.config.fault_tolerance import GcsFaultTolerance

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
