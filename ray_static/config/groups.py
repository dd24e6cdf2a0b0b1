"""Worker groups: the default group and the extra ones, each its own Deployment."""

from dataclasses import dataclass
from typing import Any

from ray_static import constants as c
from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.config.pod_options import PodBase, PodOptions
from ray_static.config.resources import Resources, parse_resources
from ray_static.config.rollout import (
    DisruptionBudget,
    GroupDefaults,
    Rollout,
    drain_timeout,
    group_budget,
    group_rollout,
)
from ray_static.errors import invalid
from ray_static.inputs.cluster import WorkerGroupArgs

KNOWN_FIELDS = frozenset(WorkerGroupArgs.__annotations__)
DEFAULT_REPLICAS = 1
"""Replicas of an extra group that does not say."""


@dataclass(frozen=True)
class WorkerGroup:
    """One worker Deployment."""

    group: str
    """The ``ray.io/group`` label value."""
    deployment_name: str
    replicas: int
    resources: Resources
    pod: PodOptions
    """The top-level pod options with the group's own over them."""
    rollout: Rollout
    disruption_budget: DisruptionBudget | None
    drain_timeout_seconds: int
    """How long a stopping worker's Ray drains its node, below the pod's grace period."""


def default_group(
    cluster: str, replicas: int, resources: Resources, pod: PodBase, defaults: GroupDefaults
) -> WorkerGroup:
    """The group every cluster has: `workers` replicas of `worker_resources`, the top-level pod options."""
    options = pod.resolve()
    grace_at = At("termination_grace_period_seconds", pod.naming)
    return WorkerGroup(
        group=c.DEFAULT_WORKER_GROUP,
        deployment_name=f"{cluster}-worker",
        replicas=replicas,
        resources=resources,
        pod=options,
        rollout=defaults.rollout,
        disruption_budget=defaults.disruption_budget,
        drain_timeout_seconds=_drain(defaults, options, grace_at),
    )


def _drain(defaults: GroupDefaults, pod: PodOptions, grace_at: At) -> int:
    at = At("drain_timeout_seconds", grace_at.naming)
    return drain_timeout(defaults.drain_timeout_seconds, pod.termination_grace_period_seconds, at, grace_at)


def extra_group(
    cluster: str, value: Any, at: At, worker: Resources, pod: PodBase, *, group_defaults: GroupDefaults
) -> WorkerGroup:
    """One `worker_groups` entry; its resources default to the default group's, field by field, and its
    pod options add to or replace the top-level ones."""
    given = checks.mapping(value, at, "a worker group with at least a name")
    if not given:
        raise invalid(at.name, value, "a worker group with at least a name")
    checks.unknown_keys(given, KNOWN_FIELDS, at)
    name = checks.group_name(given.get("name"), at.field("name"))
    resources = given.get("resources")
    options = pod.resolve(given, at)
    grace = "termination_grace_period_seconds"
    grace_at = at.field(grace) if grace in given else At(grace, pod.naming)
    return WorkerGroup(
        group=name,
        deployment_name=f"{cluster}-worker-{name}",
        replicas=checks.count(given.get("replicas", DEFAULT_REPLICAS), at.field("replicas")),
        resources=parse_resources(resources, at.field("resources"), _sizes(worker, resources is None)),
        pod=options,
        rollout=group_rollout(given, at, group_defaults),
        disruption_budget=group_budget(given, at, group_defaults),
        drain_timeout_seconds=_drain(group_defaults, options, grace_at),
    )


def _sizes(worker: Resources, exact: bool) -> dict[str, Any]:
    """A group's resources start from the default group's; ``exact`` (no resources of its own): requests
    included."""
    sizes: dict[str, Any] = {
        "cpu": worker.cpu,
        "memory": worker.memory,
        "gpus": worker.gpus,
        "gpu_resource": worker.gpu_resource,
    }
    if worker.ephemeral_storage is not None:
        sizes["ephemeral_storage"] = worker.ephemeral_storage
    if exact:
        sizes |= {"cpu_request": worker.cpu_request, "memory_request": worker.memory_request}
    return sizes


def extra_groups(
    cluster: str, value: Any, at: At, worker: Resources, pod: PodBase, *, defaults: GroupDefaults
) -> list[WorkerGroup]:
    """Every `worker_groups` entry, with names unique and distinct from the default group."""
    groups: list[WorkerGroup] = []
    for i, item in enumerate(checks.sequence(value, at, "a list of worker groups")):
        group = extra_group(cluster, item, at.item(i), worker, pod, group_defaults=defaults)
        if group.group == c.DEFAULT_WORKER_GROUP or any(g.group == group.group for g in groups):
            raise invalid(
                at.item(i).field("name").name,
                group.group,
                f'a group name that is unique and not "{c.DEFAULT_WORKER_GROUP}"',
            )
        groups.append(group)
    return groups
