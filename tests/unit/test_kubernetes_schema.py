"""Every rendered Kubernetes object validates against the Kubernetes OpenAPI schema, in strict mode."""

from typing import Any

import kubernetes_validate
import pytest

from tests.support.render import kubernetes_objects, run_cluster
from tests.support.versions import pinned_versions


def kubernetes_version() -> str:
    """The minor version the end-to-end control plane runs (scripts/versions.env)."""
    return ".".join(pinned_versions()["KUBERNETES_VERSION"].split(".")[:2])


CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "everything": {
        "workers": 2,
        "worker_groups": [
            {
                "name": "gpu",
                "replicas": 1,
                "resources": {"cpu": "4", "memory": "16Gi", "gpus": 2, "cpu_request": "3500m"},
                "node_selector": {"accelerator": "a100"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            }
        ],
        "node_selector": {"pool": "ray"},
        "tolerations": [
            {"key": "x", "operator": "Equal", "value": "y", "effect": "NoExecute", "toleration_seconds": 60}
        ],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": {"ray.io/cluster": "ray"}},
                        },
                    }
                ]
            }
        },
        "image_pull_secrets": ["regcred"],
        "env": {"RAY_LOG_TO_STDERR": "1"},
        "pod_annotations": {"example.com/team": "ml"},
        "service_type": "LoadBalancer",
        "allowed_client_namespaces": ["ml-clients"],
        "allowed_client_pod_labels": {"ray-client": "true"},
    },
    "metrics, dashboards, Ingress, Service options (the PodMonitor: test_observability.py)": {
        "metrics": {
            "prometheus_namespaces": ["monitoring"],
            "grafana_dashboards": True,
            "grafana_url": "http://grafana.monitoring.svc",
            "prometheus_url": "http://prometheus-operated.monitoring.svc:9090",
        },
        "ingress": {
            "host": "ray.example.com",
            "class_name": "nginx",
            "tls_secret": "ray-tls",
            "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
            "path": "/ray",
            "controller_namespaces": ["ingress-nginx"],
        },
        "service_type": "LoadBalancer",
        "service_annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
        "load_balancer_source_ranges": ["203.0.113.0/24"],
        "serve": True,
    },
    "older ray, auth off, existing namespace": {
        "image": "rayproject/ray:2.47.1",
        "auth": False,
        "create_namespace": False,
        "namespace": "team",
        "service_account": "runner",
    },
}


@pytest.mark.parametrize("args", CONFIGURATIONS.values(), ids=list(CONFIGURATIONS))
def test_objects_validate_strictly(args: dict[str, Any]) -> None:
    objects = kubernetes_objects(run_cluster(args).resources)  # type: ignore[arg-type]
    assert objects
    version = kubernetes_version()
    for manifest in objects:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_validator_rejects_a_broken_object() -> None:
    manifest = kubernetes_objects(run_cluster().resources)[0]
    broken = {**manifest, "metadata": {**manifest["metadata"], "labelz": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_version(), strict=True)
