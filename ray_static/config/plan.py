"""From a RayCluster's args to what the component builds: its shape (plain, now) and its settings (an
Output: known now for plain args, during the deployment for args that hold Outputs).

Plain args are validated at once, so a bad value raises before anything is registered. Args holding
Outputs are validated in two parts: the settings that decide which objects exist at once (shape.py), the
rest when their values are known (deferred.py). The token is kept apart from the settings: a secret
inside them would make every object's fields secret.
"""

import weakref
from collections.abc import Mapping
from typing import Any, cast

import pulumi

from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.config.deferred import checked, has_outputs
from ray_static.config.settings import Settings, resolve
from ray_static.config.shape import Shape, shape_of
from ray_static.errors import RayStaticConfigError, invalid, show
from ray_static.inputs.cluster import RayClusterArgs

_CREATED_NAMESPACES: "weakref.WeakKeyDictionary[Any, dict[str, str]]" = weakref.WeakKeyDictionary()
"""Per program run (its root Stack resource): namespace -> the cluster that creates it."""


def plan(
    name: str, args: RayClusterArgs | Mapping[str, Any] | None
) -> tuple[Shape, pulumi.Output[Settings], pulumi.Input[str] | None]:
    """The cluster's shape, its settings and the token given (None: generate one, or auth is off)."""
    if args is not None and not isinstance(args, Mapping):
        raise invalid("args", args, "a RayClusterArgs mapping")
    given = dict(args or {})
    token = cast(pulumi.Input[str] | None, given.get("auth_token"))
    rest = {k: v for k, v in given.items() if k != "auth_token"}
    if not has_outputs(rest):
        settings = resolve(name, given)
        shape = Shape.of(settings)
        if shape.create_namespace:
            claim_namespace(settings.namespace, name)
        return shape, pulumi.Output.from_input(settings), _token(settings.auth_token)
    checks.instance_name(name, At("name"))
    shape = shape_of(name, given)

    def known(values: dict[str, Any]) -> Settings:
        settings = resolve(name, {**values, **({"auth_token": token} if "auth_token" in given else {})})
        if shape.create_namespace:
            claim_namespace(settings.namespace, name)
        return settings

    return shape, checked(pulumi.Output.from_input(rest), known), _token(token)


def _token(token: pulumi.Input[str] | None) -> pulumi.Input[str] | None:
    """The token given: checked now by `resolve` when plain, once known when an Output (a secret's value
    is checked all the same, and never shown)."""
    return checked(token, _known_token) if isinstance(token, pulumi.Output) else token


def _known_token(value: Any) -> str:
    token = checks.token(value, At("auth_token"))
    if token is None:  # an Output cannot ask for a generated token: that decides a resource
        expected = f"at least {checks.MIN_TOKEN_LENGTH} characters (or no auth_token at all)"
        raise RayStaticConfigError("auth_token", "an empty value", expected)
    return str(token)


def claim_namespace(namespace: str, cluster: str) -> None:
    """Refuse a second cluster of the same program creating the same Namespace (two resources, one
    object: the second create fails, or one destroy deletes the other cluster)."""
    root = pulumi.runtime.get_root_resource()
    if root is None:
        return
    owner = _CREATED_NAMESPACES.setdefault(root, {}).setdefault(namespace, cluster)
    if owner != cluster:
        raise RayStaticConfigError(
            "create_namespace",
            f"true in cluster {show(cluster)} for namespace {show(namespace)}, which cluster {show(owner)} "
            "of this program creates",
            "false, with that cluster's `namespace` output as this one's namespace",
        )
