"""Draw docs/metrics.svg (and .png): what scrapes what, with the ports taken from ray_static.constants.

    venv/bin/python scripts/metrics_diagram.py     # Graphviz's `dot`, installed when missing (root)

The Graphviz source is written beside the pictures (docs/metrics.dot), so a change of port or object shows
up in review as text.
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ray_static import constants as c  # noqa: E402

GRAPHVIZ_DEB_PACKAGES = ("graphviz",)
"""Debian's Graphviz, for `dot`; installed through scripts/debs.sh, the scripts' one way."""


def dot_source() -> str:
    """The diagram: the cluster's namespace, Prometheus' and Grafana's, and the browser."""
    m, d, dm = c.METRICS_PORT, c.DASHBOARD_PORT, c.DASHBOARD_METRICS_PORT
    return f"""digraph metrics {{
  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.35, ranksep=0.9, bgcolor="white"];
  node  [shape=box, style="rounded,filled", fillcolor="#f5f7fa", fontname="Helvetica", fontsize=10];
  edge  [fontname="Helvetica", fontsize=9, color="#445566"];

  browser [label="browser", shape=ellipse, fillcolor="#fff7e0"];
  ingress [label="Ingress ray-dashboard\\n(ingress.host, tlsSecret)", fillcolor="#fff7e0"];

  subgraph cluster_monitoring {{
    label="namespace monitoring (metrics.prometheusNamespaces, grafanaNamespace)"; style="rounded,dashed";
    prometheus [label="Prometheus\\n(Prometheus Operator)"];
    grafana [label="Grafana\\n+ dashboard sidecar"];
    dashboards [shape=note,
      label="ConfigMaps ray-grafana-*\\ngrafana_dashboard: \\"1\\"\\n(Ray {c.RAY_VERSION}'s own dashboards)"];
  }}

  subgraph cluster_ray {{
    label="namespace ray (NetworkPolicy: metrics ports from prometheusNamespaces only)";
    style="rounded,dashed";
    podmonitor [label="PodMonitor ray\\nselector ray.io/cluster=ray", shape=note];
    head [label="head pod\\nmetrics :{m}\\ndash-metrics :{dm}\\ndashboard :{d}"];
    workers [label="worker pods\\nmetrics :{m}"];
    service [label="Service ray-head"];
  }}

  podmonitor -> prometheus [label="configures", style=dashed];
  prometheus -> head [label="scrapes :{m}, :{dm}"];
  prometheus -> workers [label="scrapes :{m}"];
  dashboards -> grafana [label="loaded by the sidecar", style=dashed];
  grafana -> prometheus [label="queries"];
  head -> prometheus [label="RAY_PROMETHEUS_HOST", style=dotted];
  browser -> ingress -> service;
  service -> head [label=":{d}"];
  browser -> grafana [label="embedded panels\\n(RAY_GRAFANA_IFRAME_HOST)", style=dotted];
}}
"""


def main() -> int:
    docs = REPO / "docs"
    source = docs / "metrics.dot"
    source.write_text(dot_source())
    subprocess.run([str(REPO / "scripts" / "debs.sh"), "install", *GRAPHVIZ_DEB_PACKAGES], check=True)
    for fmt in ("svg", "png"):
        subprocess.run(
            ["dot", f"-T{fmt}", "-Gdpi=110", str(source), "-o", str(docs / f"metrics.{fmt}")], check=True
        )
    print("wrote docs/metrics.dot, docs/metrics.svg, docs/metrics.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
