"""The `metrics` input: who may scrape, a PodMonitor, Ray's Grafana dashboards and where Grafana is."""

from dataclasses import dataclass, field
from typing import Any

from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.inputs.cluster import MetricsArgs

FIELDS = frozenset(MetricsArgs.__annotations__)


@dataclass(frozen=True)
class Metrics:
    """The validated `metrics` input; the defaults change nothing."""

    prometheus_namespaces: tuple[str, ...] = ()
    pod_monitor: bool = False
    pod_monitor_labels: dict[str, str] = field(default_factory=dict[str, str])
    grafana_dashboards: bool = False
    grafana_namespace: str | None = None
    """None: the cluster's namespace."""
    grafana_url: str | None = None
    prometheus_url: str | None = None


def metrics(value: Any, at: At) -> Metrics:
    """Validate a MetricsArgs mapping field by field (unknown fields refused with a suggestion)."""
    given = checks.mapping(value, at, "a mapping with " + ", ".join(sorted(FIELDS)))
    checks.unknown_keys(given, FIELDS, at)
    grafana_namespace = given.get("grafana_namespace")
    return Metrics(
        prometheus_namespaces=tuple(
            checks.namespace_list(given.get("prometheus_namespaces"), at.field("prometheus_namespaces"))
        ),
        pod_monitor=checks.boolean(given.get("pod_monitor", False), at.field("pod_monitor")),
        pod_monitor_labels=checks.label_map(given.get("pod_monitor_labels"), at.field("pod_monitor_labels")),
        grafana_dashboards=checks.boolean(
            given.get("grafana_dashboards", False), at.field("grafana_dashboards")
        ),
        grafana_namespace=None
        if grafana_namespace in (None, "")
        else checks.dns_label(grafana_namespace, at.field("grafana_namespace")),
        grafana_url=checks.http_url(given.get("grafana_url"), at.field("grafana_url")),
        prometheus_url=checks.http_url(given.get("prometheus_url"), at.field("prometheus_url")),
    )
