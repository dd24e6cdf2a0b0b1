"""Metrics and Grafana settings on the real node: real Ray 2.60.0 in the program's pods.

What Prometheus scrapes (the metrics port of every Ray pod, the dashboard's pinned metrics port on the head)
answers Prometheus text with `ray_` series to a pod in namespace `monitoring`, by pod IP and through the
head Service; the head's dashboard reports the Grafana of `metrics.grafanaUrl` and reaches the Prometheus of
`metrics.prometheusUrl`. Stand-ins for both (their health endpoints only) run as a pod behind Services
named like kube-prometheus-stack's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ray_static import constants as c
from tests.node.support import (
    WORKERS,
    Deployment,
    NodeSession,
    RayView,
    RealNode,
    deployed_stack,
    log,
    parse_result,
    ray_image_pod,
)
from tests.support.waiting import wait_for

NAMESPACE = "ray-metrics"
MONITORING = "monitoring"
GRAFANA = f"http://grafana.{MONITORING}.svc.cluster.local:3000"
PROMETHEUS = f"http://prometheus-operated.{MONITORING}.svc.cluster.local:9090"
CONFIG = {
    "namespace": NAMESPACE,
    "headCpu": "1",
    "headMemory": "2Gi",
    # The node has 2 CPUs: one worker requesting 200m beside the 1-CPU head.
    "workers": "1",
    "workerCpu": "1",
    "workerCpuRequest": "200m",
    "workerMemory": "1Gi",
    "metrics": json.dumps(
        {"prometheusNamespaces": [MONITORING], "grafanaUrl": GRAFANA, "prometheusUrl": PROMETHEUS}
    ),
}
STAND_INS = """
import http.server, json, threading
ANSWERS = {3000: ("/api/health", {"database": "ok"}), 9090: ("/api/v1/query", {"status": "success"})}
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path, answer = ANSWERS[self.server.server_port]
        self.send_response(200 if self.path.split("?")[0] == path else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(answer).encode())
for port in ANSWERS:
    threading.Thread(target=http.server.HTTPServer(("0.0.0.0", port), Health).serve_forever).start()
"""
"""Grafana's and Prometheus' health endpoints, as much of them as Ray's dashboard asks for."""
SCRAPE = """
import json, sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
print("RESULT", json.dumps([line for line in body.splitlines() if line.startswith(("ray_", "# TYPE ray_"))]))
"""
DASHBOARD = """
import json, os, sys, urllib.request
token = open(os.environ["RAY_AUTH_TOKEN_PATH"]).read().strip()
url = "http://127.0.0.1:8265" + sys.argv[1]
req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
print("RESULT", urllib.request.urlopen(req, timeout=15).read().decode())
"""


def _stand_ins() -> list[dict[str, Any]]:
    pod = ray_image_pod(
        "stand-ins",
        MONITORING,
        {
            "name": "stand-ins",
            "command": ["python", "-c", STAND_INS],
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        },
    )
    services = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": MONITORING},
            "spec": {"selector": {"app": "stand-ins"}, "ports": [{"name": "http", "port": port}]},
        }
        for name, port in (("grafana", 3000), ("prometheus-operated", 9090))
    ]
    return [pod, *services]


@pytest.fixture(scope="module")
def deployed(real_node: NodeSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    node = real_node.node
    node.kubectl("create", "namespace", MONITORING)
    for obj in _stand_ins():
        node.apply(obj)
    node.wait_ready(MONITORING, "app=stand-ins", 1, timeout=120)
    view = RayView(node, NAMESPACE)
    with deployed_stack(
        real_node,
        tmp_path_factory,
        "metrics",
        CONFIG,
        view,
        stack_name="metrics",
        workers=1,
        leftovers=[("namespace", MONITORING)],
    ) as stack:
        yield Deployment(real_node, stack, view)


def _scrape(node: RealNode, url: str) -> list[str] | None:
    try:
        lines = parse_result(node.exec(MONITORING, "stand-ins", ["python", "-c", SCRAPE, url], timeout=30))
    except AssertionError:
        return None
    return lines if any(line.startswith("ray_") for line in lines) else None


def test_every_ray_pod_exports_ray_series_to_the_monitoring_namespace(deployed: Deployment) -> None:
    node = deployed.node
    pods = [deployed.ray.head(), *node.ready_pods(NAMESPACE, WORKERS)]
    assert len(pods) == 2
    for pod in pods:
        url = f"http://{pod['status']['podIP']}:{c.METRICS_PORT}/metrics"
        lines = wait_for(lambda url=url: _scrape(node, url), 120, f"ray_ series at {url}", interval=3)
        assert any(line.startswith("# TYPE ray_") for line in lines), lines[:20]


def test_the_head_dashboard_exports_on_the_pinned_port(deployed: Deployment) -> None:
    node = deployed.node
    ip = deployed.ray.head()["status"]["podIP"]
    for url in (
        f"http://{ip}:{c.DASHBOARD_METRICS_PORT}/metrics",
        f"http://ray-head.{NAMESPACE}.svc.cluster.local:{c.DASHBOARD_METRICS_PORT}/metrics",
    ):
        lines = wait_for(lambda url=url: _scrape(node, url), 120, f"ray_ series at {url}", interval=3)
        assert any(line.startswith("ray_dashboard") for line in lines), lines[:20]


def _dashboard(deployed: Deployment, path: str) -> dict[str, Any]:
    head = deployed.ray.head()["metadata"]["name"]
    result = deployed.node.exec(NAMESPACE, head, ["python", "-c", DASHBOARD, path], timeout=60)
    return parse_result(result)


def test_the_dashboard_reports_the_grafana_it_was_given(deployed: Deployment) -> None:
    data = _dashboard(deployed, "/api/grafana_health")["data"]
    log(f"grafana_health: {data}")
    assert data["grafanaHost"] == GRAFANA  # RAY_GRAFANA_IFRAME_HOST: where the browser loads panels from
    assert "default" in data["dashboardUids"]


def test_the_dashboard_reaches_the_prometheus_it_was_given(deployed: Deployment) -> None:
    assert _dashboard(deployed, "/api/prometheus_health")["msg"] == "prometheus running"
