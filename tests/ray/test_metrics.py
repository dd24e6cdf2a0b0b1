"""Metrics and Grafana settings on real Ray 2.60.0: the rendered head and worker pods, run as Ray processes.

What Prometheus scrapes (the metrics port on every pod, the dashboard's pinned metrics port on the head)
answers with Prometheus text holding `ray_` series, and the head's dashboard reports the Grafana it was
pointed at through `metrics.grafanaUrl` and reaches the Prometheus of `metrics.prometheusUrl`. Stand-ins for
both (their health endpoints only) run in a pod of their own in namespace `monitoring`, reached by Service
names like the real ones.

The checks only need the rendered pods, their IPs and an HTTP client: they carry over to a harness with a
real kubelet as they are.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ray_static import constants as c
from tests.ray.cluster import LocalCluster, render, wait_for
from tests.ray.harness import VENV_BIN, Client, Harness

pytestmark = pytest.mark.ray

GRAFANA = "http://grafana.monitoring.svc.cluster.local:3000"
PROMETHEUS = "http://prometheus-operated.monitoring.svc.cluster.local:9090"
CONFIG = {
    "workers": "1",
    "metrics": json.dumps(
        {"grafanaUrl": GRAFANA, "prometheusUrl": PROMETHEUS, "prometheusNamespaces": ["monitoring"]}
    ),
}
START_TIMEOUT = 300.0
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


@dataclass
class Observed:
    cluster: LocalCluster
    grafana: Client


@pytest.fixture(scope="module")
def observed(ray_harness: Harness) -> Iterator[Observed]:
    grafana = ray_harness.add_client("grafana", "monitoring")
    # Cluster DNS for the stand-in, written into the pods' hosts files when they are created below.
    ray_harness.dns["grafana.monitoring.svc.cluster.local"] = grafana.ip
    ray_harness.dns["prometheus-operated.monitoring.svc.cluster.local"] = grafana.ip
    server = subprocess.Popen(["ip", "netns", "exec", grafana.ns, str(VENV_BIN / "python"), "-c", STAND_INS])
    try:
        cluster = LocalCluster(ray_harness, render(CONFIG))
        for pod in cluster.pods:
            pod.start()
        cluster.wait_alive(START_TIMEOUT)
        yield Observed(cluster, grafana)
    finally:
        server.kill()
        server.wait(10)


def _scrape(client: Client, url: str) -> str | None:
    code, body = client.http(url, timeout=10)
    series = [line for line in body.splitlines() if line.startswith("ray_")]
    return body if code == 200 and series else None


def test_every_pod_exports_ray_series_on_the_metrics_port(observed: Observed) -> None:
    cluster = observed.cluster
    for pod in cluster.pods:
        url = f"http://{pod.ip}:{c.METRICS_PORT}/metrics"
        body = wait_for(f"ray_ series at {url}", lambda url=url: _scrape(cluster.client, url), 120, 3)
        assert "# TYPE ray_" in body, body[:2000]


def test_the_head_dashboard_exports_on_the_pinned_port(observed: Observed) -> None:
    cluster = observed.cluster
    url = f"http://{cluster.head.ip}:{c.DASHBOARD_METRICS_PORT}/metrics"
    body = wait_for(f"ray_ series at {url}", lambda: _scrape(cluster.client, url), 120, 3)
    assert "ray_dashboard" in body, body[:2000]
    # Through the head Service's name too (the Service lists the port).
    by_name = f"http://{cluster.rendered.fqdn}:{c.DASHBOARD_METRICS_PORT}/metrics"
    assert _scrape(cluster.client, by_name) is not None
    listeners = {port for addr, port, _users in cluster.head.listening() if not addr.startswith("127.")}
    assert c.DASHBOARD_METRICS_PORT in listeners


def test_the_dashboard_reports_the_grafana_it_was_given(observed: Observed) -> None:
    cluster = observed.cluster
    url = f"{cluster.rendered.outputs['dashboard_url']}/api/grafana_health"
    code, body = cluster.client.http(url, cluster.auth_headers())
    assert code == 200, body[:2000]
    data = json.loads(body)["data"]
    assert data["grafanaHost"] == GRAFANA  # RAY_GRAFANA_IFRAME_HOST, what the browser loads panels from
    assert "default" in data["dashboardUids"]
    print(f"grafana_health: {data}", file=sys.stderr)


def test_the_dashboard_reaches_the_prometheus_it_was_given(observed: Observed) -> None:
    cluster = observed.cluster
    url = f"{cluster.rendered.outputs['dashboard_url']}/api/prometheus_health"
    code, body = cluster.client.http(url, cluster.auth_headers())
    assert code == 200 and json.loads(body)["msg"] == "prometheus running", body[:2000]
