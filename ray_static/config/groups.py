"""Worker groups: the default group and the extra ones, each its own Deployment."""

from dataclasses import dataclass
from typing import Any

from ray_static import constants as c
from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.config.pod_options import PodBase, PodOptions
from ray_static.config.resources import Resources, parse_resources
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


def default_group(cluster: str, replicas: int, resources: Resources, pod: PodBase) -> WorkerGroup:
    """The group every cluster has: `workers` replicas of `worker_resources`, the top-level pod options."""
    return WorkerGroup(
        group=c.DEFAULT_WORKER_GROUP,
        deployment_name=f"{cluster}-worker",
        replicas=replicas,
        resources=resources,
        pod=pod.resolve(),
    )


def extra_group(cluster: str, value: Any, at: At, worker: Resources, pod: PodBase) -> WorkerGroup:
    """One `worker_groups` entry; its resources default to the default group's, field by field, and its
    pod options add to or replace the top-level ones."""
    given = checks.mapping(value, at, "a worker group with at least a name")
    if not given:
        raise invalid(at.name, value, "a worker group with at least a name")
    checks.unknown_keys(given, KNOWN_FIELDS, at)
    name = checks.group_name(given.get("name"), at.field("name"))
    resources = given.get("resources")
    defaults: dict[str, Any] = {
        "cpu": worker.cpu,
        "memory": worker.memory,
        "gpus": worker.gpus,
        "gpu_resource": worker.gpu_resource,
    }
    if worker.ephemeral_storage is not None:
        defaults["ephemeral_storage"] = worker.ephemeral_storage
    if resources is None:
        # No resources of its own: exactly the default group's, requests included.
        defaults |= {"cpu_request": worker.cpu_request, "memory_request": worker.memory_request}
    return WorkerGroup(
        group=name,
        deployment_name=f"{cluster}-worker-{name}",
        replicas=checks.count(given.get("replicas", DEFAULT_REPLICAS), at.field("replicas")),
        resources=parse_resources(resources, at.field("resources"), defaults),
        pod=pod.resolve(given, at),
    )


def extra_groups(cluster: str, value: Any, at: At, worker: Resources, pod: PodBase) -> list[WorkerGroup]:
    """Every `worker_groups` entry, with names unique and distinct from the default group."""
    groups: list[WorkerGroup] = []
    for i, item in enumerate(checks.sequence(value, at, "a list of worker groups")):
        group = extra_group(cluster, item, at.item(i), worker, pod)
        if group.group == c.DEFAULT_WORKER_GROUP or any(g.group == group.group for g in groups):
            raise invalid(
                at.item(i).field("name").name,
                group.group,
                f'a group name that is unique and not "{c.DEFAULT_WORKER_GROUP}"',
            )
        groups.append(group)
    return groups
