"""Which Kubernetes objects a RayCluster has: decided by plain values, known before the deployment.

Most inputs only flow into the objects' fields and may be Outputs (deferred.py). A few decide which
objects exist, and Pulumi must know the set of resources when the program runs (a preview lists them):
those must be plain values. Their checks are the option table's own, so a bad one reads the same whether
the rest of the args are plain or not; an Output there is refused in one sentence naming the setting.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from ray_static.config import checks
from ray_static.config.checks import At, Naming, identity
from ray_static.config.deferred import has_outputs
from ray_static.config.options import BY_PATH
from ray_static.config.settings import Settings
from ray_static.errors import RayStaticConfigError

PLAIN = "a plain value: it decides which resources exist"
"""What a structural setting given as an Output is told it must be."""
FLAGS = ("create_namespace", "auth", "network_policy", "pod_disruption_budget")
"""Booleans that add or remove objects."""
RECORDS = {
    "worker_groups": ("name", "pod_disruption_budget"),
    "worker_pod_disruption_budget": (),
    "metrics": ("pod_monitor", "grafana_dashboards"),
    "head": (),
    "ingress": (),
    "gcs_fault_tolerance": (),
}
"""Nested args whose presence (and the fields named) decide objects; their other fields may be Outputs."""


@dataclass(frozen=True)
class Shape:
    """The objects of one cluster: what exists, and the names Pulumi knows them by."""

    create_namespace: bool
    auth: bool
    generate_token: bool
    create_service_account: bool
    network_policy: bool
    worker_deployments: tuple[str, ...]
    """The worker Deployments' names, the default group's first."""
    pod_disruption_budget: bool
    worker_disruption_budgets: tuple[bool, ...]
    """Whether each worker Deployment (in the order above) has a PodDisruptionBudget."""
    pod_monitor: bool
    grafana_dashboards: bool
    grafana_in_cluster_namespace: bool
    """Whether Ray's Grafana dashboards go to the cluster's own namespace (gone with it on destroy)."""
    ingress: bool
    generate_storage_namespace: bool
    """GCS fault tolerance on, with no storage namespace given: one is made once and kept in the state."""

    @classmethod
    def of(cls, settings: Settings) -> "Shape":
        """The shape of validated, plain settings."""
        ft = settings.gcs_fault_tolerance
        grafana = settings.metrics.grafana_namespace
        return cls(
            create_namespace=settings.create_namespace,
            auth=settings.auth,
            generate_token=settings.auth and settings.auth_token is None,
            create_service_account=settings.create_service_account,
            network_policy=settings.network_policy,
            worker_deployments=tuple(g.deployment_name for g in settings.groups),
            pod_disruption_budget=settings.pod_disruption_budget,
            worker_disruption_budgets=tuple(g.disruption_budget is not None for g in settings.groups),
            pod_monitor=settings.metrics.pod_monitor,
            grafana_dashboards=settings.metrics.grafana_dashboards,
            grafana_in_cluster_namespace=grafana in (None, settings.namespace),
            ingress=settings.ingress is not None,
            generate_storage_namespace=ft is not None and ft.external_storage_namespace is None,
        )


def shape_of(name: str, args: Mapping[str, Any], naming: Naming = identity) -> Shape:
    """The shape of args that hold Outputs: the structural settings checked, and required to be plain."""
    for key in FLAGS:
        plain(args.get(key), At(key, naming))
    for key, inside in RECORDS.items():
        plain(args.get(key), At(key, naming), inside)
    flag = {k: _option(k, args, naming) for k in FLAGS}
    metrics = checks.mapping(args.get("metrics"), At("metrics", naming), "a mapping")
    ft = args.get("gcs_fault_tolerance")
    grafana = metrics.get("grafana_namespace")
    namespace = args.get("namespace", BY_PATH["namespace"].default)
    return Shape(
        create_namespace=flag["create_namespace"],
        auth=flag["auth"],
        generate_token=flag["auth"] and args.get("auth_token") in (None, ""),
        create_service_account=args.get("service_account") in (None, ""),
        network_policy=flag["network_policy"],
        worker_deployments=(f"{name}-worker", *_group_deployments(name, args, naming)),
        pod_disruption_budget=flag["pod_disruption_budget"],
        worker_disruption_budgets=_group_budgets(args),
        pod_monitor=_record_flag(metrics, "pod_monitor", naming),
        grafana_dashboards=_record_flag(metrics, "grafana_dashboards", naming),
        grafana_in_cluster_namespace=grafana in (None, "") or grafana == namespace,
        ingress=args.get("ingress") is not None,
        generate_storage_namespace=isinstance(ft, Mapping)
        and ft.get("external_storage_namespace") in (None, ""),
    )


def plain(value: Any, at: At, inside: tuple[str, ...] = ()) -> None:
    """Refuse an Output where a plain value is needed: the value itself, or for a record (or a list of
    them) the record and its fields named in ``inside``."""
    if isinstance(value, list | tuple) and inside:
        for i, item in enumerate(value):
            plain(item, at.item(i), inside)
        return
    if isinstance(value, Mapping) and (inside or not has_outputs(value)):
        for key in inside:
            plain(value.get(key), at.field(key))
        return
    if isinstance(value, pulumi.Output) or (not isinstance(value, Mapping) and has_outputs(value)):
        raise RayStaticConfigError(at.name, "an Output (a value known only during the deployment)", PLAIN)


def _option(path: str, args: Mapping[str, Any], naming: Naming) -> Any:
    option = BY_PATH[path]
    value = args.get(path, option.default)
    return value if option.check is None else option.check(value, At(path, naming))


def _record_flag(record: Mapping[str, Any], key: str, naming: Naming) -> bool:
    return checks.boolean(record.get(key, False), At("metrics", naming).field(key))


def _group_deployments(name: str, args: Mapping[str, Any], naming: Naming) -> list[str]:
    at = At("worker_groups", naming)
    groups = checks.sequence(args.get("worker_groups"), at, "a list of worker groups")
    names = []
    for i, group in enumerate(groups):
        given = checks.mapping(group, at.item(i), "a worker group with at least a name")
        names.append(f"{name}-worker-{checks.group_name(given.get('name'), at.item(i).field('name'))}")
    return names


def _group_budgets(args: Mapping[str, Any]) -> tuple[bool, ...]:
    """Which worker Deployments have a budget: a group's own (None: explicitly none), else the default
    group's. The values themselves are checked with the rest of the settings."""
    default = args.get("worker_pod_disruption_budget") is not None
    groups = [g for g in args.get("worker_groups") or [] if isinstance(g, Mapping)]
    own = [
        g["pod_disruption_budget"] is not None if "pod_disruption_budget" in g else default for g in groups
    ]
    return (default, *own)
