"""Prometheus and Grafana: the PodMonitor, Ray's dashboards as ConfigMaps, and the PodMonitor CRD check."""

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.meta.v1 as meta

from ray_static import constants as c
from ray_static.cluster.labels import cluster_selector, labels
from ray_static.config.settings import Settings
from ray_static.errors import RayStaticConfigError

POD_MONITOR_API_VERSION = "monitoring.coreos.com/v1"
POD_MONITOR_KIND = "PodMonitor"
CAPABILITIES_CHART = "charts/capabilities"
RELABEL_POD_LABELS = {c.LABEL_CLUSTER: "ray_io_cluster", c.LABEL_NODE_TYPE: "ray_io_node_type"}
"""Pod labels copied onto every series: Ray's dashboards filter by `ray_io_cluster`."""


def _meta_label(label: str) -> str:
    """Prometheus' discovery label for a pod label (`ray.io/cluster` ->
    `__meta_kubernetes_pod_label_ray_io_cluster`)."""
    return "__meta_kubernetes_pod_label_" + "".join(ch if ch.isalnum() else "_" for ch in label)


def _scrape_endpoint(port_name: str) -> dict[str, Any]:
    return {
        "port": port_name,
        "path": "/metrics",
        "relabelings": [
            {"action": "replace", "sourceLabels": [_meta_label(label)], "targetLabel": target}
            for label, target in RELABEL_POD_LABELS.items()
        ],
    }


def pod_monitor(settings: Settings) -> dict[str, Any]:
    """A PodMonitor for every Ray pod of this cluster: the metrics port on each, the dashboard's on the
    head (pods without a port of that name yield no target). Wire format, for a CustomResource."""
    return {
        "api_version": POD_MONITOR_API_VERSION,
        "kind": POD_MONITOR_KIND,
        "metadata": {
            "name": settings.name,
            "namespace": settings.namespace,
            "labels": {**labels(settings), **settings.metrics.pod_monitor_labels},
        },
        "spec": {
            "selector": {"matchLabels": cluster_selector(settings)},
            "namespaceSelector": {"matchNames": [settings.namespace]},
            "podMetricsEndpoints": [_scrape_endpoint("metrics"), _scrape_endpoint("dash-metrics")],
        },
    }


@dataclass(frozen=True)
class Dashboard:
    """One of Ray's Grafana dashboards, as Ray's head writes it (scripts/grafana_dashboards.py)."""

    file_name: str
    """Ray's own file name, e.g. `default_grafana_dashboard.json`."""
    content: str

    @property
    def slug(self) -> str:
        """`default`, `serve-deployment`: the dashboard's part of its ConfigMap name."""
        return self.file_name.removesuffix("_grafana_dashboard.json").replace("_", "-")

    @property
    def title(self) -> str:
        return str(json.loads(self.content).get("title", self.slug))


def ray_dashboards() -> list[Dashboard]:
    """Ray's dashboards for the pinned Ray version, shipped in the package."""
    folder = resources.files("ray_static") / "dashboards"
    return sorted(
        (Dashboard(p.name, p.read_text()) for p in folder.iterdir() if p.name.endswith(".json")),
        key=lambda d: d.file_name,
    )


def grafana_namespace(settings: Settings) -> str:
    return settings.metrics.grafana_namespace or settings.namespace


def dashboard_config_map_args(settings: Settings, dashboard: Dashboard) -> core.ConfigMapInitArgs:
    """One dashboard per ConfigMap (all of them together approach the 1 MiB object limit), labelled for
    Grafana's dashboard sidecar and filed under a "Ray" folder where the sidecar reads folder annotations."""
    return core.ConfigMapInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=f"{settings.name}-grafana-{dashboard.slug}",
            namespace=grafana_namespace(settings),
            labels={**labels(settings), c.GRAFANA_DASHBOARD_LABEL: "1"},
            annotations={c.GRAFANA_FOLDER_ANNOTATION: c.GRAFANA_FOLDER},
        ),
        data={dashboard.file_name: dashboard.content},
    )


def missing_pod_monitor_crd() -> RayStaticConfigError:
    return RayStaticConfigError(
        "metrics.pod_monitor",
        "true",
        f"false while the cluster has no PodMonitor CRD ({POD_MONITOR_API_VERSION}, installed with the "
        "Prometheus Operator or kube-prometheus-stack)",
    )


def served_apis(parent: pulumi.Resource) -> dict[str, str] | None:
    """Ask the kubernetes provider which optional APIs the cluster serves, through the provider the
    component's children use; None when its answer holds no verdict."""
    from pulumi_kubernetes import _utilities  # noqa: PLC0415  # the version the SDK pins its provider to

    charts, chart = CAPABILITIES_CHART.split("/")
    # `path` makes the provider load the chart `chart` from that local directory instead of a repository.
    options = {
        "path": str(resources.files("ray_static") / charts),
        "chart": chart,
        "namespace": "default",
        "release_name": "ray-static-capabilities",
    }
    result = pulumi.runtime.invoke(
        "kubernetes:helm:template",
        {"jsonOpts": json.dumps(options)},
        pulumi.InvokeOptions(parent=parent, version=_utilities.get_version()),
    )
    for item in (result.value or {}).get("result") or []:
        if isinstance(item, dict) and item.get("kind") == "ConfigMap":
            data = item.get("data")
            return dict(data) if isinstance(data, dict) else None
    return None


def _under_test_mocks() -> bool:
    """Pulumi's unit-test mocks (pulumi.runtime.set_mocks) have no provider and no cluster to ask."""
    from pulumi.runtime import settings  # noqa: PLC0415
    from pulumi.runtime.mocks import MockMonitor  # noqa: PLC0415

    return isinstance(settings.get_monitor(), MockMonitor)


def require_pod_monitor_crd(parent: pulumi.Resource, wanted: bool) -> None:
    """Refuse, in one sentence, a PodMonitor the cluster cannot hold. Only when deploying: a preview must
    not fail (the CRD may be installed before the `up`), and the provider then says nothing yet."""
    if not wanted or pulumi.runtime.is_dry_run() or _under_test_mocks():
        return
    apis = served_apis(parent)
    if apis is not None and apis.get("podMonitor") != "true":
        raise missing_pod_monitor_crd()
