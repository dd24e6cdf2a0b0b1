"""Every rendered Kubernetes object validates against the Kubernetes OpenAPI schema, in strict mode."""

from typing import Any

import kubernetes_validate
import pytest

from tests.support.manifests import RESTRICTED_CONTAINER
from tests.support.render import RenderError, kubernetes_objects, run_cluster, run_programs
from tests.support.versions import pinned_versions


def kubernetes_version() -> str:
    """The minor version the end-to-end control plane runs (scripts/versions.env)."""
    return ".".join(pinned_versions()["KUBERNETES_VERSION"].split(".")[:2])


POD_OPTIONS: dict[str, Any] = {
    "workers": 2,
    "head_resources": {"cpu": "2", "memory": "8Gi", "ephemeral_storage": "20Gi"},
    "worker_resources": {"cpu": "2", "memory": "4Gi", "ephemeral_storage": "10Gi"},
    "volumes": [
        {"name": "data", "persistentVolumeClaim": {"claimName": "ray-data", "readOnly": False}},
        {"name": "settings", "configMap": {"name": "ray-settings", "defaultMode": 0o440}},
        {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
    ],
    "volume_mounts": [
        {"name": "data", "mountPath": "/data"},
        {"name": "settings", "mountPath": "/etc/ray-settings", "readOnly": True},
    ],
    "sidecars": [
        {
            "name": "log-shipper",
            "image": "fluent/fluent-bit:3.2",
            "args": ["--config=/etc/ray-settings/fluent-bit.conf"],
            "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
            "volumeMounts": [
                {"name": "data", "mountPath": "/data", "readOnly": True},
                {"name": "settings", "mountPath": "/etc/ray-settings", "readOnly": True},
            ],
            "securityContext": RESTRICTED_CONTAINER,
        }
    ],
    "init_containers": [
        {
            "name": "fetch-model",
            "image": "busybox:1.36",
            "command": ["sh", "-c", "cp -r /etc/ray-settings/. /scratch/"],
            "volumeMounts": [
                {"name": "settings", "mountPath": "/etc/ray-settings", "readOnly": True},
                {"name": "scratch", "mountPath": "/scratch"},
            ],
            "securityContext": RESTRICTED_CONTAINER,
        }
    ],
    "env": {"RAY_LOG_TO_STDERR": "1"},
    "secret_env": {"HF_TOKEN": {"secret": "hugging-face", "key": "token"}},
    "env_from": [
        {"configMapRef": {"name": "ray-env"}},
        {"secretRef": {"name": "ray-env-secrets", "optional": True}, "prefix": "APP_"},
    ],
    "labels": {"team": "ml"},
    "annotations": {"example.com/owner": "ml-platform"},
    "ray_resources": {"pool-a": 1},
    "ray_labels": {"zone": "a"},
    "ray_start_args": ["--object-store-memory=1000000000"],
    "image_pull_secrets": ["regcred"],
    "node_selector": {"pool": "ray"},
    "topology_spread_constraints": [
        # Without a labelSelector: ray-static fills in the group's own selector.
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"},
        {
            "maxSkew": 2,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["ml"]}]},
            "minDomains": 2,
            "nodeAffinityPolicy": "Honor",
        },
    ],
    "priority_class_name": "ray-standard",
    "termination_grace_period_seconds": 120,
    "head": {
        "image": "rayproject/ray:2.60.0-py311",
        "volumes": [{"name": "head-state", "emptyDir": {}}],
        "volume_mounts": [{"name": "head-state", "mountPath": "/var/lib/ray-head"}],
        "sidecars": [
            {
                "name": "dashboard-proxy",
                "image": "nginxinc/nginx-unprivileged:1.27",
                "ports": [{"name": "proxy", "containerPort": 8443}],
                "volumeMounts": [{"name": "head-state", "mountPath": "/state"}],
                "securityContext": RESTRICTED_CONTAINER,
            }
        ],
        "ray_resources": {"head-only": 1},
        "ray_labels": {"role": "head"},
        "ray_start_args": ["--include-dashboard=true"],
        "env": {"RAY_DEDUP_LOGS": "0"},
        "labels": {"tier": "control"},
        "priority_class_name": "ray-critical",
        "termination_grace_period_seconds": 300,
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "ray-head", "effect": "NoSchedule"}
        ],
    },
    "worker_groups": [
        {
            "name": "amd",
            "replicas": 2,
            "resources": {
                "cpu": "8",
                "memory": "32Gi",
                "gpus": 1,
                "gpu_resource": "amd.com/gpu",
                "ephemeral_storage": "100Gi",
            },
            "volumes": [
                {"name": "models", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}}
            ],
            "volume_mounts": [{"name": "models", "mountPath": "/models", "readOnly": True}],
            "sidecars": [
                {
                    "name": "gpu-exporter",
                    "image": "rocm/device-metrics-exporter:v1.2.0",
                    "volumeMounts": [{"name": "models", "mountPath": "/models", "readOnly": True}],
                    "securityContext": RESTRICTED_CONTAINER,
                }
            ],
            "ray_resources": {"accelerator-mi300": 1, "pool-a": 0},
            "ray_labels": {"accelerator": "mi300"},
            "node_selector": {"amd.com/gpu.present": "true"},
            "tolerations": [{"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "topology_spread_constraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                }
            ],
            "priority_class_name": "ray-gpu",
        },
        {
            "name": "mig",
            "replicas": 1,
            "resources": {"cpu": "4", "memory": "16Gi", "gpus": 1, "gpu_resource": "nvidia.com/mig-1g.5gb"},
            "env_from": [{"configMapRef": {"name": "mig-env"}}],
            "secret_env": {"NGC_KEY": {"secret": "ngc", "key": "api-key"}},
            "ray_start_args": ["--object-store-memory=2000000000"],
        },
    ],
    "gcs_fault_tolerance": {
        "redis_address": "redis.ray.svc.cluster.local:6379",
        "redis_password_secret": "redis",
        "redis_password_key": "password",
        "external_storage_namespace": "ray-prod",
    },
    "pod_disruption_budget": True,
}
"""Every pod option at the top level, over-ridden or added to for the head and two GPU groups (AMD, MIG)."""

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
    "pod options at every level, GCS fault tolerance, disruption budget": POD_OPTIONS,
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


def _pod_specs(args: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in kubernetes_objects(run_cluster(args).resources)  # type: ignore[arg-type]
        if o["kind"] == "Deployment"
    }


def _names(items: list[dict[str, Any]] | None) -> list[str]:
    return [item["name"] for item in items or []]


def test_the_pod_options_configuration_renders_every_option_it_validates() -> None:
    """The schema check above proves something only if each option reached the manifests: the user's
    objects at each level, and the values derived from the rest."""
    specs = _pod_specs(POD_OPTIONS)
    assert sorted(specs) == ["ray-head", "ray-worker", "ray-worker-amd", "ray-worker-mig"]
    head, default, amd, mig = (
        specs[n] for n in ("ray-head", "ray-worker", "ray-worker-amd", "ray-worker-mig")
    )

    assert _names(head["containers"]) == ["ray-head", "log-shipper", "dashboard-proxy"]
    assert _names(amd["containers"]) == ["ray-worker", "log-shipper", "gpu-exporter"]
    assert _names(mig["containers"]) == _names(default["containers"]) == ["ray-worker", "log-shipper"]
    assert _names(head["initContainers"]) == ["fetch-model"]
    assert _names(amd["initContainers"]) == ["fetch-model", "wait-gcs-ready"]
    assert {"data", "settings", "scratch", "head-state"} <= set(_names(head["volumes"]))
    assert "models" in _names(amd["volumes"]) and "models" not in _names(default["volumes"])
    assert {"/data", "/etc/ray-settings", "/var/lib/ray-head"} <= {
        m["mountPath"] for m in head["containers"][0]["volumeMounts"]
    }
    assert "/models" in {m["mountPath"] for m in amd["containers"][0]["volumeMounts"]}

    limits = {name: spec["containers"][0]["resources"]["limits"] for name, spec in specs.items()}
    assert limits["ray-head"]["ephemeral-storage"] == "20Gi"
    assert limits["ray-worker"]["ephemeral-storage"] == "10Gi"
    assert limits["ray-worker-amd"]["amd.com/gpu"] == "1" and "nvidia.com/gpu" not in limits["ray-worker-amd"]
    assert limits["ray-worker-mig"]["nvidia.com/mig-1g.5gb"] == "1"

    ray = head["containers"][0]
    assert [sorted(e) for e in ray["envFrom"]] == [["configMapRef"], ["prefix", "secretRef"]]
    assert {e["name"] for e in ray["env"]} >= {"RAY_LOG_TO_STDERR", "RAY_DEDUP_LOGS", "HF_TOKEN"}
    assert len(mig["containers"][0]["envFrom"]) == 3
    assert "NGC_KEY" in {e["name"] for e in mig["containers"][0]["env"]}
    assert '--resources={"head-only":1,"pool-a":1}' in ray["command"][-1]
    assert '--resources={"accelerator-mi300":1,"pool-a":0}' in amd["containers"][0]["command"][-1]

    spread = {name: spec["topologySpreadConstraints"] for name, spec in specs.items()}
    assert [len(spread[n]) for n in sorted(spread)] == [2, 2, 3, 2]
    # A constraint given without a labelSelector counts the pods of its own group.
    assert spread["ray-worker-amd"][0]["labelSelector"]["matchLabels"]["ray.io/group"] == "amd"
    assert spread["ray-worker-amd"][1]["labelSelector"] == {
        "matchExpressions": [{"key": "team", "operator": "In", "values": ["ml"]}]
    }
    assert {n: s["priorityClassName"] for n, s in specs.items()} == {
        "ray-head": "ray-critical",
        "ray-worker": "ray-standard",
        "ray-worker-amd": "ray-gpu",
        "ray-worker-mig": "ray-standard",
    }
    assert (head["terminationGracePeriodSeconds"], default["terminationGracePeriodSeconds"]) == (300, 120)


def _cluster_on_a_claim_made_beside_it() -> None:
    import pulumi_kubernetes.core.v1 as core  # noqa: PLC0415 (inside the mocked run, like the component)

    from ray_static import RayCluster  # noqa: PLC0415

    claim = core.PersistentVolumeClaim(
        "data",
        metadata={"name": "ray-data", "namespace": "ray"},
        spec={"access_modes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    )
    volume = {"name": "data", "persistentVolumeClaim": {"claimName": claim.metadata.name}}
    RayCluster("ray", {"volumes": [volume], "volume_mounts": [{"name": "data", "mountPath": "/data"}]})


def test_a_volume_may_name_a_claim_made_in_the_same_program() -> None:
    try:
        run = run_programs(_cluster_on_a_claim_made_beside_it)
    except RenderError as error:
        raise error.error from None
    deployments = [o for o in kubernetes_objects(run.resources) if o["kind"] == "Deployment"]
    assert len(deployments) == 2
    for manifest in deployments:
        kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)
        volumes = {v["name"]: v for v in manifest["spec"]["template"]["spec"]["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "ray-data"}
