"""The options every Ray pod can carry (PodArgs), resolved for the head and for each worker group.

They are given at up to two levels: the top level of RayClusterArgs (every Ray pod), and `head` or a
`worker_groups` entry. The more specific level adds to lists and maps and replaces single values; which
options are pod options and how each merges comes from the option table (scope "pod", its kind).
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ray_static import constants as c
from ray_static.config.checks import At, Naming
from ray_static.config.options import OPTIONS, Option
from ray_static.errors import invalid

POD_OPTIONS: tuple[Option, ...] = tuple(o for o in OPTIONS if o.scope == "pod")
LIST_KINDS = ("list", "tolerations", "objects")
MAP_KINDS = ("map", "numbers", "secret_env")


@dataclass(frozen=True)
class PodOptions:
    """The pod options of one Ray pod template, checked and merged (field names are the options' paths)."""

    image: str
    image_pull_secrets: list[str]
    labels: dict[str, str]
    annotations: dict[str, str]
    env: dict[str, str]
    secret_env: dict[str, dict[str, str]]
    env_from: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    volume_mounts: list[dict[str, Any]]
    sidecars: list[dict[str, Any]]
    init_containers: list[dict[str, Any]]
    ray_resources: dict[str, float]
    ray_labels: dict[str, str]
    ray_start_args: list[str]
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    affinity: dict[str, Any]
    topology_spread_constraints: list[dict[str, Any]]
    priority_class_name: str | None
    scheduler_name: str | None
    runtime_class_name: str | None
    dns_config: dict[str, Any]
    resource_claims: list[dict[str, str]]
    host_network: bool
    host_ipc: bool
    capabilities: list[str]
    termination_grace_period_seconds: int


FIELDS = tuple(f.name for f in fields(PodOptions))


def checked(given: Mapping[str, Any], at: At) -> dict[str, Any]:
    """The pod options present in ``given`` (a group, the head), each through its own check."""
    return {
        o.path: o.check(given[o.path], at.field(o.path)) for o in POD_OPTIONS if o.path in given and o.check
    }


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: lists concatenated, maps merged (``over`` wins a key), others replaced."""
    merged = dict(base)
    for option in POD_OPTIONS:
        if option.path not in over:
            continue
        value = over[option.path]
        if option.kind in LIST_KINDS:
            merged[option.path] = [*base.get(option.path, []), *value]
        elif option.kind in MAP_KINDS:
            merged[option.path] = {**base.get(option.path, {}), **value}
        else:
            merged[option.path] = value
    return merged


def _volume_names(values: Mapping[str, Any], owned: Collection[str]) -> set[str]:
    return {*owned, *(v["name"] for v in values["volumes"])}


def _check_references(
    merged: Mapping[str, Any], own: Mapping[str, Any], at: At, owned: Collection[str]
) -> None:
    """Mounts (of Ray and of the sidecars and init containers given at this level) name a volume the pod
    has; no variable is both plain and from a Secret."""
    names = _volume_names(merged, owned)
    for i, mount in enumerate(own.get("volume_mounts", [])):
        if mount["name"] not in names:
            raise invalid(at.field("volume_mounts").item(i).field("name").name, mount["name"], _one_of(names))
    for key in ("sidecars", "init_containers"):
        for i, container in enumerate(own.get(key, [])):
            for j, mount in enumerate(container.get("volumeMounts") or []):
                name = mount.get("name") if isinstance(mount, Mapping) else None
                if name not in names:
                    where = at.field(key).item(i).field("volumeMounts").item(j).field("name")
                    raise invalid(where.name, name, _one_of(names))
    for name in set(own.get("secret_env", {})) & set(merged["env"]):
        raise invalid(
            at.field("secret_env").field(name).name, name, f"a variable not also in {at.sibling('env')}"
        )


def _check_claims(top: Mapping[str, Any], own: Mapping[str, Any], at: At) -> None:
    """A claim added by the head or a group has a name the top-level claims do not use (the pod's claims
    are one list, each name once)."""
    taken = {claim["name"] for claim in top["resource_claims"]}
    for i, claim in enumerate(own.get("resource_claims", [])):
        if claim["name"] in taken:
            where = at.field("resource_claims").item(i).field("name")
            raise invalid(
                where.name, claim["name"], f"a claim name not also in {at.sibling('resource_claims')}"
            )


def _one_of(names: Collection[str]) -> str:
    return f"the name of one of the pod's volumes ({', '.join(sorted(names))})"


@dataclass(frozen=True)
class PodBase:
    """The checked top-level pod options (every one present), and the volumes ray-static gives a pod."""

    values: Mapping[str, Any]
    owned_volumes: frozenset[str]
    naming: Naming

    def resolve(self, given: Mapping[str, Any] | None = None, at: At | None = None) -> PodOptions:
        """The pod options of one template: the pod options in ``given`` (`head` or a group entry, at
        ``at``), checked, over the top-level ones."""
        own = checked(given, at) if given is not None and at is not None else {}
        merged = merge(self.values, own)
        _check_references(merged, self.values, At("", self.naming), self.owned_volumes)
        if at is not None:
            _check_references(merged, own, at, self.owned_volumes)
            _check_claims(self.values, own, at)
        return PodOptions(**{name: merged[name] for name in FIELDS})


def owned_volumes(auth: bool, read_only_root_filesystem: bool) -> frozenset[str]:
    """The volumes ray-static gives a Ray pod, by name."""
    names = {c.SHM_VOLUME}
    if auth:
        names.add(c.AUTH_VOLUME)
    if read_only_root_filesystem:
        names.update(c.WRITABLE_DIRS)
    return frozenset(names)
