"""The `pod_security` input: the Pod Security Standard the cluster's namespace enforces, and the pod options
that need a level above `restricted` (host namespaces, added capabilities).

The levels follow the PodSecurity admission controller's own checks (k8s.io/pod-security-admission/policy):
hostNetwork and hostIPC pass `privileged` only; `restricted` lets a container add NET_BIND_SERVICE alone;
`baseline` the runtime's default set. A pod option that needs more than `pod_security` gives is refused
before anything is deployed, instead of the API server refusing the pods of a half-deployed cluster.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from ray_static import constants as c
from ray_static.config.checks import At
from ray_static.errors import invalid, show

HOST_NAMESPACES = ("host_network", "host_ipc")
"""Pod options that share a namespace of the node: `privileged` only."""


def rank(level: str) -> int:
    """Where a level stands, the strictest first."""
    return c.POD_SECURITY_LEVELS.index(level)


def allowed_capabilities(level: str) -> frozenset[str] | None:
    """What a container may add at ``level``; None: anything."""
    return {"restricted": c.RESTRICTED_CAPABILITIES, "baseline": c.BASELINE_CAPABILITIES}.get(level)


def capability_level(name: str) -> str:
    """The lowest level that admits adding capability ``name``."""
    return next(
        level
        for level in c.POD_SECURITY_LEVELS
        if (allowed := allowed_capabilities(level)) is None or name in allowed
    )


def check_level(given: Mapping[str, Any], at: At, level: str) -> None:
    """Refuse, naming the first, a pod option in ``given`` (one level: the top, `head` or a group, at
    ``at``) that needs a higher Pod Security level than ``level``."""
    setting = at.sibling("pod_security")
    for key in HOST_NAMESPACES:
        if given.get(key) and level != "privileged":
            raise invalid(
                at.field(key).name,
                True,
                f"false while {setting} is {show(level)} (the Pod Security Standards forbid sharing the "
                f'node\'s namespaces below "privileged"), or {setting} "privileged"',
            )
    for i, name in _too_high(given.get("capabilities") or [], level):
        allowed = allowed_capabilities(level) or frozenset()
        raise invalid(
            at.field("capabilities").item(i).name,
            name,
            f"one of the capabilities {setting} {show(level)} lets a container add "
            f"({', '.join(sorted(allowed))}), or {setting} {show(capability_level(name))}",
        )


def _too_high(names: list[str], level: str) -> Iterator[tuple[int, str]]:
    for i, name in enumerate(names):
        if rank(capability_level(name)) > rank(level):
            yield i, name
