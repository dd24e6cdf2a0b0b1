"""Metrics, dashboards, the Ingress and the head Service options: refusals, builders, wiring, schema.

Table tests call the builders directly; the mocks tests check the objects once wired into resources.
The PodMonitor is validated against the Prometheus Operator's own CRD schema when scripts/monitoring-crds.sh
has generated it (the e2e tests build it), the other objects against Kubernetes' OpenAPI schema.
"""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pulumi
import pytest
import yaml

from program.config import program_config
from ray_static import RayStaticConfigError
from ray_static import constants as c
from ray_static.cluster import metrics as monitoring
from ray_static.cluster.ingress import dashboard_ingress_args
from ray_static.cluster.metrics import dashboard_config_map_args, pod_monitor, ray_dashboards
from ray_static.cluster.objects import head_service_args
from ray_static.cluster.pods import head_env
from ray_static.cluster.security import network_policy_args
from ray_static.cluster.wire import to_wire
from ray_static.config.settings import resolve
from scripts import grafana_dashboards
from tests.support.render import (
    REPO_ROOT,
    RenderError,
    find,
    find_all,
    kubernetes_objects,
    refusal,
    run_cluster,
)
from tests.unit.test_kubernetes_schema import kubernetes_version


@dataclass(frozen=True)
class Case:
    name: str
    given: Any
    want: Any


EVERYTHING: dict[str, Any] = {
    "metrics": {
        "prometheus_namespaces": ["monitoring"],
        "pod_monitor": True,
        "pod_monitor_labels": {"release": "kube-prometheus-stack"},
        "grafana_dashboards": True,
        "grafana_namespace": "monitoring",
        "grafana_url": "https://grafana.example.com/",
        "prometheus_url": "http://prometheus-operated.monitoring.svc:9090",
    },
    "ingress": {
        "host": "ray.example.com",
        "class_name": "nginx",
        "tls_secret": "ray-tls",
        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        "path": "/",
        "controller_namespaces": ["ingress-nginx"],
    },
    "service_type": "LoadBalancer",
    "allow_unauthenticated_exposure": True,  # the serve port, on the head Service, checks no token
    "service_annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
    "load_balancer_source_ranges": ["203.0.113.0/24", "2001:db8::/32"],
    "serve": True,
    "serve_port": 8001,
}


# --- refusals: one sentence naming the option, before anything is registered -------------------------

REFUSALS = [
    Case(
        "unknown metrics field",
        {"metrics": {"podmonitor": True}},
        "metrics.podmonitor: got an unknown setting; expected one of metrics.grafana_dashboards, "
        "metrics.grafana_namespace, metrics.grafana_url, metrics.pod_monitor, metrics.pod_monitor_labels, "
        'metrics.prometheus_namespaces, metrics.prometheus_url (did you mean "metrics.pod_monitor"?).',
    ),
    Case("metrics not a mapping", {"metrics": True}, "metrics: got True; expected a mapping with "
         "grafana_dashboards, grafana_namespace, grafana_url, pod_monitor, pod_monitor_labels, "
         "prometheus_namespaces, prometheus_url."),
    Case(
        "bad Prometheus namespace",
        {"metrics": {"prometheus_namespaces": ["Monitoring"]}},
        "metrics.prometheus_namespaces[0]: got \"Monitoring\"; expected a Kubernetes name: lowercase letters, "
        "digits and '-', starting with a letter or digit, ending with a letter or digit, at most 63 characters.",
    ),
    Case("pod_monitor not a bool", {"metrics": {"pod_monitor": "yes"}},
         'metrics.pod_monitor: got "yes"; expected true or false.'),
    Case("bad Grafana URL", {"metrics": {"grafana_url": "grafana:3000"}},
         'metrics.grafana_url: got "grafana:3000"; expected an http(s) URL such as '
         '"http://grafana.monitoring.svc:80".'),
    Case("bad Prometheus URL", {"metrics": {"prometheus_url": "ftp://p"}},
         'metrics.prometheus_url: got "ftp://p"; expected an http(s) URL such as '
         '"http://grafana.monitoring.svc:80".'),
    Case("bad PodMonitor label", {"metrics": {"pod_monitor_labels": {"release": "a b"}}},
         "metrics.pod_monitor_labels.release: got \"a b\"; expected a Kubernetes label value "
         "(at most 63 letters, digits, '-', '_' or '.')."),
    Case("ingress without a host", {"ingress": {"class_name": "nginx"}},
         'ingress.host: got no value; expected a DNS name such as "ray.example.com".'),
    Case("bad host", {"ingress": {"host": "Ray.Example.com"}},
         'ingress.host: got "Ray.Example.com"; expected a lowercase DNS name such as "ray.example.com".'),
    Case("host with a port", {"ingress": {"host": "ray.example.com:443"}},
         'ingress.host: got "ray.example.com:443"; expected a lowercase DNS name such as "ray.example.com".'),
    Case("bad path", {"ingress": {"host": "ray.example.com", "path": "ray"}},
         'ingress.path: got "ray"; expected an absolute URL path such as "/" or "/ray".'),
    Case("bad TLS Secret", {"ingress": {"host": "ray.example.com", "tls_secret": "TLS"}},
         "ingress.tls_secret: got \"TLS\"; expected a Kubernetes object name (lowercase letters, digits, "
         "'-' and '.')."),
    Case("bad annotation key", {"ingress": {"host": "ray.example.com", "annotations": {"a b": "x"}}},
         'ingress.annotations.a b: got "a b"; expected an annotation key such as "example.com/owner" or '
         '"owner".'),
    Case("unknown ingress field", {"ingress": {"host": "ray.example.com", "tls_secrets": "x"}},
         "ingress.tls_secrets: got an unknown setting; expected one of ingress.annotations, ingress.class_name, "
         "ingress.controller_namespaces, ingress.host, ingress.path, ingress.tls_secret "
         '(did you mean "ingress.tls_secret"?).'),
    Case("Ingress while auth is off", {"auth": False, "ingress": {"host": "ray.example.com"}},
         'ingress: got an Ingress for "ray.example.com"; expected none while auth is false (anyone reaching '
         "the dashboard could run code), unless allow_unauthenticated_exposure is true."),
    Case("bad service annotation", {"service_annotations": {"-x": "1"}},
         'service_annotations.-x: got "-x"; expected an annotation key such as "example.com/owner" or '
         '"owner".'),
    Case("bad CIDR", {"service_type": "LoadBalancer", "load_balancer_source_ranges": ["10.0.0.1/8"]},
         'load_balancer_source_ranges[0]: got "10.0.0.1/8"; expected an IP range in CIDR notation such as '
         '"203.0.113.0/24".'),
    Case("an address is not a range", {"service_type": "LoadBalancer", "load_balancer_source_ranges": ["10.0.0.1"]},
         'load_balancer_source_ranges[0]: got "10.0.0.1"; expected an IP range in CIDR notation such as '
         '"203.0.113.0/24".'),
    Case("source ranges without a LoadBalancer", {"load_balancer_source_ranges": ["10.0.0.0/8"]},
         "load_balancer_source_ranges: got ['10.0.0.0/8']; expected no ranges while service_type is "
         '"ClusterIP" (they apply to a "LoadBalancer" only).'),
    Case("serve port taken by Ray", {"serve": True, "serve_port": 8265},
         "serve_port: got 8265; expected a port from 1024 to 65535 that Ray does not use already (6379, 8076, "
         "8077, 8078, 8079, 8080, 8265, 10001, 44227, 52365, 10002-10999)."),
    Case("privileged serve port", {"serve_port": 80},
         "serve_port: got 80; expected a port from 1024 to 65535 that Ray does not use already (6379, 8076, "
         "8077, 8078, 8079, 8080, 8265, 10001, 44227, 52365, 10002-10999)."),
    Case("serve not a bool", {"serve": 1}, "serve: got 1; expected true or false."),
    Case("dashboard metrics port managed", {"env": {"DASHBOARD_METRIC_PORT": "1"}},
         'env.DASHBOARD_METRIC_PORT: got "DASHBOARD_METRIC_PORT"; expected a variable ray-static does not '
         "manage (RAY_AUTH_MODE, RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, RAY_CLUSTER_NAME, RAY_ADDRESS, "
         "RAY_USAGE_STATS_ENABLED, RAY_STATIC_POD_IP, DASHBOARD_METRIC_PORT, RAY_REDIS_ADDRESS, REDIS_PASSWORD, "
         "RAY_external_storage_namespace, "
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S)."),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS, ids=lambda case: case.name)
def test_refusals_are_one_sentence_and_register_nothing(case: Case) -> None:
    assert refusal(case.given) == case.want


def test_an_exposing_ingress_is_allowed_with_the_waiver() -> None:
    settings = resolve(
        "ray", {"auth": False, "allow_unauthenticated_exposure": True, "ingress": {"host": "ray.example.com"}}
    )
    assert settings.ingress is not None and settings.ingress.url == "http://ray.example.com/"


CONFIG_REFUSALS = [
    Case("unknown camelCase field", {"ray-static:metrics": '{"podMonitr": true}'},
         "metrics.podMonitr: got an unknown field; expected one of prometheusNamespaces, podMonitor, "
         "podMonitorLabels, grafanaDashboards, grafanaNamespace, grafanaUrl, prometheusUrl "
         '(did you mean "podMonitor"?).'),
    Case("not JSON", {"ray-static:ingress": "{host: x}"},
         'ingress: got "{host: x}"; expected a JSON object with camelCase fields such as {"podMonitor": true}.'),
    Case("nested names in camelCase", {"ray-static:ingress": '{"host": "ray.example.com", "tlsSecret": "X"}'},
         "ingress.tlsSecret: got \"X\"; expected a Kubernetes object name (lowercase letters, digits, '-' "
         "and '.')."),
    Case("rule names in camelCase", {"ray-static:ingress": '{"host": "a.example.com"}', "ray-static:auth": "false"},
         'ingress: got an Ingress for "a.example.com"; expected none while auth is false (anyone reaching '
         "the dashboard could run code), unless allowUnauthenticatedExposure is true."),
    Case("source ranges", {"ray-static:loadBalancerSourceRanges": "10.0.0.0/33", "ray-static:serviceType": "LoadBalancer"},
         'loadBalancerSourceRanges[0]: got "10.0.0.0/33"; expected an IP range in CIDR notation such as '
         '"203.0.113.0/24".'),
]  # fmt: skip


@pytest.mark.parametrize("case", CONFIG_REFUSALS, ids=lambda case: case.name)
def test_stack_config_refusals_name_the_config_keys(case: Case) -> None:
    with pytest.raises(RayStaticConfigError) as failure:
        program_config(case.given)
    assert str(failure.value) == case.want


def test_stack_config_records_become_args() -> None:
    config = program_config(
        {
            "ray-static:metrics": '{"podMonitor": true, "prometheusNamespaces": ["monitoring"]}',
            "ray-static:ingress": '{"host": "ray.example.com", "annotations": {"a.io/b_c": "1"}}',
            "ray-static:serve": "true",
            "ray-static:servePort": "8001",
        }
    )
    assert config.args.get("metrics") == {"pod_monitor": True, "prometheus_namespaces": ["monitoring"]}
    assert config.args.get("ingress") == {"host": "ray.example.com", "annotations": {"a.io/b_c": "1"}}
    assert config.settings.serve_port == 8001
    assert program_config({"ray-static:ingress": ""}).settings.ingress is None


# --- builders -----------------------------------------------------------------------------------------

HEAD_ENV = [
    Case(
        "only the pinned metrics port by default", {}, [{"name": "DASHBOARD_METRIC_PORT", "value": "44227"}]
    ),
    Case(
        "Grafana and Prometheus for the embedded panels",
        {"metrics": {"grafana_url": "https://g.example.com/", "prometheus_url": "http://p:9090"}},
        [
            {"name": "DASHBOARD_METRIC_PORT", "value": "44227"},
            {"name": "RAY_GRAFANA_HOST", "value": "https://g.example.com"},
            {"name": "RAY_GRAFANA_IFRAME_HOST", "value": "https://g.example.com"},
            {"name": "RAY_PROMETHEUS_HOST", "value": "http://p:9090"},
        ],
    ),
    Case(
        "a browser-facing Grafana given in env wins",
        {
            "metrics": {"grafana_url": "http://grafana.monitoring.svc"},
            "env": {"RAY_GRAFANA_IFRAME_HOST": "x"},
        },
        [
            {"name": "DASHBOARD_METRIC_PORT", "value": "44227"},
            {"name": "RAY_GRAFANA_HOST", "value": "http://grafana.monitoring.svc"},
        ],
    ),
]


@pytest.mark.parametrize("case", HEAD_ENV, ids=lambda case: case.name)
def test_head_env(case: Case) -> None:
    assert to_wire(head_env(resolve("ray", case.given))) == case.want


def test_the_head_container_carries_the_head_env() -> None:
    given: dict[str, Any] = {
        "metrics": {"grafana_url": "https://g.example.com", "prometheus_url": "http://p:9090"}
    }
    rendered = run_cluster(given).resources  # type: ignore[arg-type]
    head = find(rendered, "apps/v1:Deployment", "ray-head").inputs
    env = head["spec"]["template"]["spec"]["containers"][0]["env"]
    want = to_wire(head_env(resolve("ray", given)))
    assert [e for e in env if e in want] == want


def test_pod_monitor_selects_every_ray_pod_on_both_metrics_ports() -> None:
    monitor = pod_monitor(resolve("analytics", {"namespace": "ml", **EVERYTHING}))
    assert (monitor["api_version"], monitor["kind"]) == ("monitoring.coreos.com/v1", "PodMonitor")
    assert monitor["metadata"]["namespace"] == "ml"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = monitor["spec"]
    assert spec["selector"] == {"matchLabels": {"ray.io/cluster": "analytics"}}
    assert spec["namespaceSelector"] == {"matchNames": ["ml"]}
    assert [e["port"] for e in spec["podMetricsEndpoints"]] == ["metrics", "dash-metrics"]
    relabel = spec["podMetricsEndpoints"][0]["relabelings"][0]
    assert relabel["sourceLabels"] == ["__meta_kubernetes_pod_label_ray_io_cluster"]
    assert relabel["targetLabel"] == "ray_io_cluster"  # the label Ray's dashboards filter clusters by


def test_metric_port_names_match_the_containers() -> None:
    settings = resolve("ray", {})
    objects = kubernetes_objects(run_cluster({}).resources)
    head = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "ray-head")
    ports = {
        p["name"]: p["containerPort"] for p in head["spec"]["template"]["spec"]["containers"][0]["ports"]
    }
    endpoints = [e["port"] for e in pod_monitor(settings)["spec"]["podMetricsEndpoints"]]
    assert {name: ports[name] for name in endpoints} == {"metrics": c.METRICS_PORT, "dash-metrics": 44227}


SERVICE = [
    Case("defaults: no annotations of the user's, no ranges", {}, (None, None, None)),
    Case(
        "annotations merged under the await setting; ranges on a LoadBalancer; Serve's port",
        EVERYTHING,
        (
            {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
            ["203.0.113.0/24", "2001:db8::/32"],
            8001,
        ),
    ),
]


@pytest.mark.parametrize("case", SERVICE, ids=lambda case: case.name)
def test_head_service_options(case: Case) -> None:
    wire = to_wire(head_service_args(resolve("ray", case.given)))
    annotations = wire["metadata"].get("annotations")
    if annotations is not None:
        annotations = {k: v for k, v in annotations.items() if k != c.SKIP_AWAIT_ANNOTATION} or None
    serve = next((p["port"] for p in wire["spec"]["ports"] if p["name"] == "serve"), None)
    assert (annotations, wire["spec"].get("loadBalancerSourceRanges"), serve) == case.want


SERVE = [
    Case("off by default", {}, None),
    Case("serve on: the default port", {"serve": True}, 8000),
    Case("a port alone turns it on", {"serve_port": 8001}, 8001),
    Case("serve false wins over a port", {"serve": False, "serve_port": 8001}, None),
]


@pytest.mark.parametrize("case", SERVE, ids=lambda case: case.name)
def test_serve_port(case: Case) -> None:
    assert resolve("ray", case.given).serve_port == case.want


def test_user_annotations_never_override_the_await_setting() -> None:
    wire = to_wire(
        head_service_args(resolve("ray", {"service_annotations": {c.SKIP_AWAIT_ANNOTATION: "false"}}))
    )
    assert wire["metadata"]["annotations"][c.SKIP_AWAIT_ANNOTATION] == "true"


def _rule_ports(rule: dict[str, Any]) -> list[int]:
    return sorted(p["port"] for p in rule["ports"])


def test_network_policy_admits_prometheus_serve_and_the_ingress_controller() -> None:
    rules = to_wire(network_policy_args(resolve("ray", {**EVERYTHING, "allowed_client_namespaces": ["nb"]})))[
        "spec"
    ]["ingress"]
    by_namespace = {
        tuple(p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in r["from"]): r
        for r in rules
        if all("namespaceSelector" in p for p in r["from"])
    }
    assert _rule_ports(by_namespace[("monitoring",)]) == [c.METRICS_PORT, c.DASHBOARD_METRICS_PORT]
    assert _rule_ports(by_namespace[("ingress-nginx",)]) == [c.DASHBOARD_PORT]
    assert 8001 in _rule_ports(by_namespace[("nb",)])  # allowed clients reach Serve
    assert 8001 in _rule_ports(rules[0])  # and the cluster's own pods do


def test_network_policy_is_unchanged_without_the_new_options() -> None:
    rules = to_wire(network_policy_args(resolve("ray", {})))["spec"]["ingress"]
    # The cluster's own pods, and RayJob submitters on the dashboard port: no metrics port from outside.
    assert len(rules) == 2 and all(c.DASHBOARD_METRICS_PORT not in _rule_ports(r) for r in rules[1:])


INGRESS = [
    Case(
        "plain http, default class", {"host": "ray.example.com"}, (None, None, "/", "http://ray.example.com/")
    ),
    Case(
        "TLS, class and a path",
        {"host": "ray.example.com", "class_name": "nginx", "tls_secret": "t", "path": "/ray"},
        ("nginx", [{"hosts": ["ray.example.com"], "secretName": "t"}], "/ray", "https://ray.example.com/ray"),
    ),
]


@pytest.mark.parametrize("case", INGRESS, ids=lambda case: case.name)
def test_dashboard_ingress(case: Case) -> None:
    settings = resolve("ray", {"ingress": case.given})
    assert settings.ingress is not None
    spec = to_wire(dashboard_ingress_args(settings, settings.ingress))["spec"]
    (rule,) = spec["rules"]
    (path,) = rule["http"]["paths"]
    assert path["backend"] == {"service": {"name": "ray-head", "port": {"number": c.DASHBOARD_PORT}}}
    assert path["pathType"] == "Prefix"
    assert to_wire(dashboard_ingress_args(settings, settings.ingress))["metadata"]["annotations"] == {
        c.SKIP_AWAIT_ANNOTATION: "true"
    }
    assert (spec.get("ingressClassName"), spec.get("tls"), path["path"], settings.ingress.url) == case.want


# --- Ray's dashboards ---------------------------------------------------------------------------------


def test_dashboards_are_what_the_pinned_ray_generates() -> None:
    """ray_static/dashboards is the output of Ray's own generator: regenerate with
    `venv/bin/python scripts/grafana_dashboards.py`."""
    shipped = {d.file_name: d.content for d in ray_dashboards()}
    assert shipped == grafana_dashboards.render()
    assert "default_grafana_dashboard.json" in shipped and len(shipped) >= 8


def test_each_dashboard_config_map_is_labelled_and_under_the_object_limit() -> None:
    settings = resolve("ray", EVERYTHING)
    for dashboard in ray_dashboards():
        wire = to_wire(dashboard_config_map_args(settings, dashboard))
        assert wire["metadata"]["labels"][c.GRAFANA_DASHBOARD_LABEL] == "1"
        assert wire["metadata"]["namespace"] == "monitoring"
        assert len(json.dumps(wire).encode()) < c.MAX_CONFIGMAP_BYTES // 2
        content = json.loads(wire["data"][dashboard.file_name])
        assert f"rayVersion:{c.RAY_VERSION}" in content["tags"]


# --- wiring under mocks -------------------------------------------------------------------------------


def test_component_wires_every_object_and_the_ingress_url() -> None:
    run = run_cluster(EVERYTHING)  # type: ignore[arg-type]
    resources = run.resources
    monitor = find(resources, "monitoring.coreos.com/v1:PodMonitor", "ray-pod-monitor")
    namespace = find(resources, "core/v1:Namespace", "ray")
    assert namespace.urn in monitor.dependencies
    maps = find_all(resources, "core/v1:ConfigMap")
    assert len(maps) == len(ray_dashboards())
    # In Grafana's namespace: not deleted with the cluster's namespace.
    assert all(m.deleted_with is None for m in maps)
    find(resources, "networking.k8s.io/v1:Ingress", "ray-dashboard")
    assert run.component_outputs()["dashboard_ingress_url"] == "https://ray.example.com/"


def test_nothing_new_by_default() -> None:
    run = run_cluster({})
    types = {r.type for r in run.resources}
    assert not {t for t in types if "PodMonitor" in t or "ConfigMap" in t or "Ingress" in t}
    assert run.component_outputs().get("dashboard_ingress_url") is None


def test_program_exports_the_ingress_url_only_when_set() -> None:
    from tests.support.render import run_program  # noqa: PLC0415

    assert "dashboard_ingress_url" not in run_program({}).stack_outputs
    outputs = run_program({"ray-static:ingress": '{"host": "ray.example.com"}'}).stack_outputs
    assert outputs["dashboard_ingress_url"] == "http://ray.example.com/"


# --- the PodMonitor CRD check -------------------------------------------------------------------------


CRD_CHECK = [
    Case("CRD served: created", {"podMonitor": "true"}, None),
    Case("CRD missing: one sentence", {"podMonitor": "false"}, str(monitoring.missing_pod_monitor_crd())),
    Case("provider could not tell: left to the provider", None, None),
]


@pytest.mark.parametrize("case", CRD_CHECK, ids=lambda case: case.name)
def test_crd_check(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitoring, "_under_test_mocks", lambda: False)
    monkeypatch.setattr(monitoring, "served_apis", lambda parent: case.given)
    if case.want is None:
        run_cluster({"metrics": {"pod_monitor": True}})
        return
    with pytest.raises(RenderError) as failure:
        run_cluster({"metrics": {"pod_monitor": True}})
    assert str(failure.value.error) == case.want
    assert [r.type for r in failure.value.run.resources] == ["ray-static:index:RayCluster"]


def test_crd_check_never_runs_in_a_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitoring, "_under_test_mocks", lambda: False)
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: True)

    def refuse(parent: object) -> None:
        raise AssertionError("asked the provider during a preview")

    monkeypatch.setattr(monitoring, "served_apis", refuse)
    run_cluster({"metrics": {"pod_monitor": True}})


def test_the_capabilities_chart_asks_for_the_pod_monitor_kind() -> None:
    template = REPO_ROOT / "ray_static" / monitoring.CAPABILITIES_CHART / "templates" / "capabilities.yaml"
    assert 'Has "monitoring.coreos.com/v1/PodMonitor"' in template.read_text()
    assert yaml.safe_load((template.parent.parent / "Chart.yaml").read_text())["apiVersion"] == "v2"


# --- schema ------------------------------------------------------------------------------------------


def _generated_crd() -> Path | None:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "monitoring-crds.sh"), "path"],
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def test_objects_validate_against_their_schemas() -> None:
    objects = kubernetes_objects(run_cluster(EVERYTHING).resources)  # type: ignore[arg-type]
    kinds = {o["kind"] for o in objects}
    assert {"PodMonitor", "ConfigMap", "Ingress", "Service", "NetworkPolicy"} <= kinds
    for manifest in objects:
        if manifest["kind"] != "PodMonitor":
            kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)
    crd = _generated_crd()
    if crd is None:
        pytest.skip("the PodMonitor CRD is not generated yet (scripts/monitoring-crds.sh)")
    schema = yaml.safe_load(crd.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    (monitor,) = [o for o in objects if o["kind"] == "PodMonitor"]
    jsonschema.validate(monitor, schema)
