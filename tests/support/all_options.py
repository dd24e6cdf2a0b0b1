"""A RayClusterArgs that sets every option, for the tests that render or check them all at once."""

from ray_static import RayClusterArgs
from tests.support.manifests import RESTRICTED_CONTAINER

ALL_OPTIONS: RayClusterArgs = {
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
    "scheduler_name": "volcano",
    "runtime_class_name": "nvidia",
    "dns_config": {
        "nameservers": ["10.0.0.10"],
        "searches": ["ml.svc.cluster.local"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
    },
    "resource_claims": [{"name": "shared-nic", "resourceClaimName": "rdma-nic"}],
    "host_network": False,
    "host_ipc": False,
    "capabilities": ["NET_BIND_SERVICE"],
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
            "max_surge": "1",
            "max_unavailable": "0",
            "pod_disruption_budget": {"min_available": "50%"},
            "resource_claims": [{"name": "gpu", "resourceClaimTemplateName": "single-mi300"}],
            "host_network": True,
            "host_ipc": True,
            "capabilities": ["IPC_LOCK"],
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
    # How workers roll, stop and pause.
    "max_surge": "0",
    "max_unavailable": "50%",
    "worker_pod_disruption_budget": {"max_unavailable": "1"},
    "drain_timeout_seconds": 90,
    "suspend": False,
    "pod_annotations": {"example.com/team": "ml"},
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
    "tolerations": [
        {"key": "x", "operator": "Equal", "value": "y", "effect": "NoExecute", "toleration_seconds": 60}
    ],
    # The cluster as a whole.
    "image": "rayproject/ray:2.60.0",
    "ray_version": "2.60.0",
    "image_pull_policy": "Always",
    "namespace": "ml",
    "create_namespace": True,
    "head_ray_cpus": 1,
    "service_account": "runner",
    "auth": True,
    "auth_token": "a-token-of-at-least-16-characters",
    "network_policy": True,
    "allow_unauthenticated_exposure": True,
    "read_only_root_filesystem": True,
    "pod_security": "privileged",
    "usage_stats": True,
    "allowed_client_namespaces": ["ml-clients"],
    "allowed_client_pod_labels": {"ray-client": "true"},
    "allowed_client_cidrs": ["10.8.0.0/16", "2001:db8::/64"],
    "egress": {
        "allowed_namespaces": ["data"],
        "allowed_cidrs": ["10.0.5.0/24"],
        "dns_cidrs": ["169.254.20.10/32"],
    },
    # Metrics, dashboards and the ways in.
    "metrics": {
        "prometheus_namespaces": ["monitoring"],
        "grafana_dashboards": True,
        "grafana_namespace": "monitoring",
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
    "serve_port": 8001,
}

"""Every option of RayClusterArgs: each pod option at the top level, over-ridden or added to for the head and
two GPU groups (AMD on the node's network with RDMA's capability and a DRA claim, MIG) under the
"privileged" Pod Security level; GCS fault tolerance and a disruption budget; metrics (all but the PodMonitor,
whose kind is no part of the Kubernetes schema), an Ingress and a LoadBalancer head Service. Values that
exclude each other (auth off, an existing namespace) are left to the tests that need them."""
