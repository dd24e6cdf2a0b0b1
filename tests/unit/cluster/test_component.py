"""RayCluster under Pulumi mocks: every object, name, parent, option and output."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from ray_static import RayCluster, RayClusterArgs
from ray_static import constants as c
from ray_static.cluster.commands import STOP_ON_SIGTERM, wait_for_gcs_script
from tests.support.manifests import (
    RESTRICTED_CONTAINER,
    RESTRICTED_POD,
    all_containers,
    container,
    deployment,
    env_of,
    pod_spec,
    ray_start,
)
from tests.support.render import Rendered, Run, find, find_all, run_cluster, run_programs

PINNED_FLAGS = [
    "--node-manager-port=8077",
    "--object-manager-port=8076",
    "--dashboard-agent-grpc-port=8078",
    "--dashboard-agent-listen-port=52365",
    "--runtime-env-agent-port=8079",
    "--min-worker-port=10002",
    "--max-worker-port=10999",
]
FQDN = "ray-head.ray.svc.cluster.local"
WORKER_GCS = "ray-gcs-2-60-0.ray.svc.cluster.local:6379"


def names(rendered: list[Rendered]) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in rendered}


# --- what gets deployed -------------------------------------------------------------------------


def test_default_cluster_has_the_guide_objects_plus_security(rendered: list[Rendered]) -> None:
    assert names(rendered) == {
        ("ray-static:index:RayCluster", "ray"),
        ("kubernetes:core/v1:Namespace", "ray"),
        ("kubernetes:core/v1:Service", "ray-head"),
        # The head as workers reach it, for their Ray version only.
        ("kubernetes:core/v1:Service", "ray-gcs"),
        ("kubernetes:apps/v1:Deployment", "ray-head"),
        ("kubernetes:apps/v1:Deployment", "ray-worker"),
        ("kubernetes:core/v1:Secret", "ray-auth"),
        ("kubernetes:core/v1:ServiceAccount", "ray"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "ray"),
        # The generated token, kept by the engine's built-in Stash (no provider plugin).
        ("pulumi:index:Stash", "ray-auth-token"),
    }
    kube_names = {
        (r.inputs["kind"], r.inputs["metadata"]["name"], r.inputs["metadata"].get("namespace"))
        for r in rendered
        if r.type.startswith("kubernetes:")
    }
    assert kube_names == {
        ("Namespace", "ray", None),
        ("Service", "ray-head", "ray"),
        ("Service", "ray-gcs-2-60-0", "ray"),
        ("Deployment", "ray-head", "ray"),
        ("Deployment", "ray-worker", "ray"),
        ("Secret", "ray-auth", "ray"),
        ("ServiceAccount", "ray", "ray"),
        ("NetworkPolicy", "ray", "ray"),
    }


def test_every_child_is_parented_to_the_component(rendered: list[Rendered]) -> None:
    component = find(rendered, "ray-static:index:RayCluster", "ray")
    assert component.parent is not None and component.parent.endswith("pulumi:pulumi:Stack::ray-static-dev")
    for r in rendered:
        if r is component:
            continue
        if r.type == "pulumi:providers:pulumi-python":
            # The program-wide token provider sits at the top level (see ray_static/token.py).
            assert r.parent == component.parent, r.name
        else:
            assert r.parent == component.urn, r.name


def test_children_of_a_created_namespace_depend_on_it_and_go_with_it(rendered: list[Rendered]) -> None:
    """Deleting the namespace deletes them, except the Deployments: deleted first, so no pod is left
    for the namespace controller to wait a grace period for."""
    namespace = find(rendered, "core/v1:Namespace")
    for r in rendered:
        if r.type.startswith("kubernetes:") and r is not namespace:
            deployment = r.type == "kubernetes:apps/v1:Deployment"
            assert r.deleted_with == (None if deployment else namespace.urn), r.name
            assert namespace.urn in r.dependencies, r.name


def test_namespace_enforces_restricted_pod_security(rendered: list[Rendered]) -> None:
    labels = find(rendered, "core/v1:Namespace").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"


def test_existing_namespace_is_neither_created_nor_a_dependency() -> None:
    rendered = run_cluster({"namespace": "team-a", "create_namespace": False}).resources
    assert not find_all(rendered, "core/v1:Namespace")
    for r in rendered:
        if r.type.startswith("kubernetes:"):
            assert r.inputs["metadata"]["namespace"] == "team-a"
            assert r.deleted_with is None


# --- head ----------------------------------------------------------------------------------------


def test_head_deployment_is_one_replica_recreated(rendered: list[Rendered]) -> None:
    spec = deployment(rendered, "ray-head")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_head_command_is_ray_start_head_with_pinned_ports(rendered: list[Rendered]) -> None:
    assert ray_start(container(rendered, "ray-head")["command"]) == [
        "ray",
        "start",
        "--head",
        "--node-ip-address=$(RAY_STATIC_POD_IP)",  # Kubernetes expands it from the downward API
        "--port=6379",
        "--dashboard-host=0.0.0.0",
        "--dashboard-port=8265",
        "--ray-client-server-port=10001",
        "--metrics-export-port=8080",
        "--num-cpus=0",
        f"--memory={4 * 2**30}",
        "--num-gpus=0",
        *PINNED_FLAGS,
        "--block",
    ]


def test_head_ray_cpus_is_configurable() -> None:
    rendered = run_cluster({"head_ray_cpus": 2}).resources
    assert "--num-cpus=2" in ray_start(container(rendered, "ray-head")["command"])


def test_head_service_ports_selector_and_type(rendered: list[Rendered]) -> None:
    spec = find(rendered, "core/v1:Service", "ray-head").inputs["spec"]
    assert spec["type"] == "ClusterIP"
    assert {p["name"]: p["port"] for p in spec["ports"]} == {
        "gcs": 6379,
        "client": 10001,
        "dashboard": 8265,
        "metrics": 8080,
        "dash-metrics": 44227,
    }
    assert all(p["targetPort"] == p["port"] for p in spec["ports"])
    assert spec["selector"] == {
        "ray.io/cluster": "ray",
        "ray.io/node-type": "head",
        "ray.io/group": "headgroup",
    }


def test_head_container_ports(rendered: list[Rendered]) -> None:
    ports = {p["name"]: p["containerPort"] for p in container(rendered, "ray-head")["ports"]}
    assert ports == {
        "gcs": 6379,
        "client": 10001,
        "dashboard": 8265,
        "metrics": 8080,
        "object-manager": 8076,
        "node-manager": 8077,
        "agent-grpc": 8078,
        "agent-http": 52365,
        "runtime-env": 8079,
        "dash-metrics": 44227,
    }


# --- workers -------------------------------------------------------------------------------------


def test_workers_join_by_fqdn_after_waiting_for_the_gcs(rendered: list[Rendered]) -> None:
    spec = deployment(rendered, "ray-worker")["spec"]
    assert spec["replicas"] == 3
    worker = container(rendered, "ray-worker")
    assert worker["command"][:2] == ["/bin/bash", "-c"]
    script = worker["command"][2]
    wait, _, start = script.partition("; exec ")
    assert wait.startswith(f"{STOP_ON_SIGTERM}; {wait_for_gcs_script(WORKER_GCS)}; ulimit ")
    assert start.split() == [
        "ray",
        "start",
        f"--address={WORKER_GCS}",
        "'--node-ip-address=$(RAY_STATIC_POD_IP)'",  # expanded by Kubernetes before bash sees it
        "--metrics-export-port=8080",
        "--num-cpus=1",
        f"--memory={2 * 2**30}",
        "--num-gpus=0",
        *PINNED_FLAGS,
        "--block",
    ]


def test_worker_init_container_waits_for_the_gcs_with_the_same_image_and_env(
    rendered: list[Rendered],
) -> None:
    spec = pod_spec(rendered, "ray-worker")
    [init] = spec["initContainers"]
    assert init["name"] == "wait-gcs-ready"
    assert init["image"] == c.DEFAULT_IMAGE
    assert init["command"][:2] == ["/bin/bash", "-c"]
    assert init["command"][2] == f"{STOP_ON_SIGTERM}; {wait_for_gcs_script(WORKER_GCS)}"
    assert "exec ray start" not in init["command"][2]
    worker = spec["containers"][0]
    drain = {"name": c.DRAIN_TIMEOUT_ENV, "value": "45"}
    assert init["env"] == [e for e in worker["env"] if e != drain]
    assert drain in worker["env"]
    assert init["securityContext"] == worker["securityContext"]
    # Small, with requests equal to limits: a Guaranteed pod stays Guaranteed.
    assert init["resources"]["limits"] == init["resources"]["requests"] == {"cpu": "200m", "memory": "512Mi"}


@pytest.mark.parametrize("workers", [0, 1, 1000])
def test_worker_replicas_follow_workers(workers: int) -> None:
    rendered = run_cluster({"workers": workers}).resources
    assert deployment(rendered, "ray-worker")["spec"]["replicas"] == workers


def test_worker_deployment_forces_its_fields_and_does_not_wait_for_the_head(rendered: list[Rendered]) -> None:
    worker = find(rendered, "apps/v1:Deployment", "ray-worker")
    head = find(rendered, "apps/v1:Deployment", "ray-head")
    assert worker.inputs["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
    assert head.urn not in worker.dependencies
    secret = find(rendered, "core/v1:Secret", "ray-auth")
    assert secret.urn in worker.dependencies and secret.urn in head.dependencies


def test_worker_container_exposes_the_node_ports(rendered: list[Rendered]) -> None:
    ports = {p["name"]: p["containerPort"] for p in container(rendered, "ray-worker")["ports"]}
    assert ports == {
        "metrics": 8080,
        "object-manager": 8076,
        "node-manager": 8077,
        "agent-grpc": 8078,
        "agent-http": 52365,
        "runtime-env": 8079,
    }


def test_extra_worker_groups_are_their_own_deployments() -> None:
    rendered = run_cluster(
        {
            "worker_groups": [
                {
                    "name": "gpu",
                    "replicas": 2,
                    "resources": {"cpu": "4", "memory": "16Gi", "gpus": 1},
                    "node_selector": {"accelerator": "a100"},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                },
                {"name": "cpu-big", "replicas": 0},
            ],
            "node_selector": {"pool": "ray"},
        }
    ).resources
    gpu = find(rendered, "apps/v1:Deployment", "ray-worker-gpu").inputs
    assert gpu["metadata"]["name"] == "ray-worker-gpu"
    assert gpu["spec"]["replicas"] == 2
    assert gpu["spec"]["selector"]["matchLabels"] == {
        "ray.io/cluster": "ray",
        "ray.io/node-type": "worker",
        "ray.io/group": "gpu",
    }
    spec = gpu["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"pool": "ray", "accelerator": "a100"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    main = spec["containers"][0]
    assert main["resources"]["limits"] == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    assert "--num-gpus=1" in main["command"][2] and "--num-cpus=4" in main["command"][2]
    small = find(rendered, "apps/v1:Deployment", "ray-worker-cpu-big").inputs
    assert small["spec"]["replicas"] == 0
    assert small["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "cpu": "1",
        "memory": "2Gi",
    }
    assert deployment(rendered, "ray-worker")["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "ray"}


# --- resources, shm, probes ----------------------------------------------------------------------


def test_requests_equal_limits_and_shm_is_sized_to_memory(rendered: list[Rendered]) -> None:
    for name, cpu, memory in (("ray-head", "2", "4Gi"), ("ray-worker", "1", "2Gi")):
        spec = pod_spec(rendered, name)
        resources = spec["containers"][0]["resources"]
        assert resources["limits"] == resources["requests"] == {"cpu": cpu, "memory": memory}
        assert spec["volumes"][0] == {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": memory}}
        assert spec["containers"][0]["volumeMounts"][0] == {"name": "dshm", "mountPath": "/dev/shm"}


def test_resources_drive_ray_flags_and_requests_may_be_lower() -> None:
    rendered = run_cluster(
        {
            "worker_resources": {
                "cpu": "3000m",
                "memory": "6Gi",
                "gpus": 2,
                "cpu_request": "2500m",
                "memory_request": "5Gi",
            }
        }
    ).resources
    worker = container(rendered, "ray-worker")
    assert worker["resources"] == {
        "limits": {"cpu": "3000m", "memory": "6Gi", "nvidia.com/gpu": "2"},
        "requests": {"cpu": "2500m", "memory": "5Gi", "nvidia.com/gpu": "2"},
    }
    for flag in ("--num-cpus=3", f"--memory={6 * 2**30}", "--num-gpus=2"):
        assert flag in worker["command"][2]


def test_probes_use_healthz_for_current_ray(rendered: list[Rendered]) -> None:
    # Timeouts as KubeRay's: 5 s on the head (its check covers the GCS too), 2 s on workers.
    for name, timeout in (("ray-head", 5), ("ray-worker", 2)):
        main = container(rendered, name)
        assert main["readinessProbe"] == {
            "httpGet": {"path": "/api/healthz", "port": 52365},
            "initialDelaySeconds": 0,
            "periodSeconds": 5,
            "failureThreshold": 10,
            "timeoutSeconds": timeout,
            "successThreshold": 1,
        }
        live = main["livenessProbe"]
        assert live["httpGet"] == {"path": "/api/healthz", "port": 52365}
        assert (live["initialDelaySeconds"], live["failureThreshold"], live["timeoutSeconds"]) == (
            0,
            120,
            timeout,
        )
        start = main["startupProbe"]
        assert start["httpGet"] == {"path": "/api/healthz", "port": 52365}
        assert (start["periodSeconds"], start["failureThreshold"], start["timeoutSeconds"]) == (
            1,
            630,
            timeout,
        )


def test_probes_for_older_ray_use_the_raylet_and_gcs_endpoints() -> None:
    rendered = run_cluster({"image": "rayproject/ray:2.47.1-py311", "auth": False}).resources
    head = container(rendered, "ray-head")["readinessProbe"]["exec"]["command"]
    worker = container(rendered, "ray-worker")["livenessProbe"]["exec"]["command"]
    assert "api/local_raylet_healthz" in head[-1] and "api/gcs_healthz" in head[-1]
    assert "api/local_raylet_healthz" in worker[-1] and "gcs_healthz" not in worker[-1]
    assert container(rendered, "ray-head")["readinessProbe"].get("httpGet") is None


def test_unparseable_tag_uses_ray_version_or_the_current_one() -> None:
    latest = run_cluster({"image": "rayproject/ray:latest"}).resources
    assert "httpGet" in container(latest, "ray-head")["readinessProbe"]
    old = run_cluster(
        {"image": "registry.local/ray:nightly", "ray_version": "2.40.0", "auth": False}
    ).resources
    assert "exec" in container(old, "ray-head")["readinessProbe"]
    assert deployment(old, "ray-head")["metadata"]["labels"]["app.kubernetes.io/version"] == "2.40.0"


# --- labels and selectors ------------------------------------------------------------------------


def test_labels_and_stable_selectors(rendered: list[Rendered]) -> None:
    for name, node_type, group in (("ray-head", "head", "headgroup"), ("ray-worker", "worker", "default")):
        spec = deployment(rendered, name)["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert labels == {
            "app.kubernetes.io/name": "ray",
            "app.kubernetes.io/instance": "ray",
            "app.kubernetes.io/component": node_type,
            "app.kubernetes.io/managed-by": "pulumi",
            "app.kubernetes.io/part-of": "ray-static",
            "app.kubernetes.io/version": c.RAY_VERSION,
            "ray.io/cluster": "ray",
            "ray.io/node-type": node_type,
            "ray.io/group": group,
        }
        assert spec["selector"]["matchLabels"] == {
            "ray.io/cluster": "ray",
            "ray.io/node-type": node_type,
            "ray.io/group": group,
        }


# --- security ------------------------------------------------------------------------------------


def test_every_container_is_restricted(rendered: list[Rendered]) -> None:
    containers = all_containers(rendered)
    assert len(containers) == 3
    for each in containers:
        assert each["securityContext"] == RESTRICTED_CONTAINER
    for name in ("ray-head", "ray-worker"):
        spec = pod_spec(rendered, name)
        assert spec["securityContext"] == RESTRICTED_POD
        assert spec["serviceAccountName"] == "ray"
        assert spec["automountServiceAccountToken"] is False


def test_a_read_only_root_filesystem_gets_writable_tmp_and_cache(rendered: list[Rendered]) -> None:
    for name in ("ray-head", "ray-worker"):
        spec = pod_spec(rendered, name)
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
        assert volumes["home-cache"] == {"name": "home-cache", "emptyDir": {}}
        for each in spec["containers"] + spec.get("initContainers", []):
            mounts = {m["mountPath"]: m["name"] for m in each["volumeMounts"]}
            assert mounts["/tmp"] == "tmp" and mounts["/home/ray/.cache"] == "home-cache"


def test_the_root_filesystem_can_stay_writable() -> None:
    rendered = run_cluster({"read_only_root_filesystem": False}).resources
    for each in all_containers(rendered):
        assert each["securityContext"]["readOnlyRootFilesystem"] is False
        assert "/tmp" not in {m["mountPath"] for m in each.get("volumeMounts", [])}
    assert "tmp" not in {v["name"] for v in pod_spec(rendered, "ray-worker")["volumes"]}


def test_service_account_has_no_api_token(rendered: list[Rendered]) -> None:
    sa = find(rendered, "core/v1:ServiceAccount", "ray").inputs
    assert sa["automountServiceAccountToken"] is False


def test_existing_service_account_is_used_not_created() -> None:
    rendered = run_cluster({"service_account": "ray-runner"}).resources
    assert not find_all(rendered, "core/v1:ServiceAccount")
    assert pod_spec(rendered, "ray-worker")["serviceAccountName"] == "ray-runner"


def test_token_reaches_every_container_through_the_secret(default_run: Run) -> None:
    rendered = default_run.resources
    token = default_run.component_outputs()["auth_token"]
    assert len(token) >= 40
    secret = find(rendered, "core/v1:Secret", "ray-auth")
    assert secret.inputs["stringData"] == {"token": token}
    assert "stringData" in secret.secret_paths or "stringData.token" in secret.secret_paths
    for each in all_containers(rendered):
        env = env_of(each)
        assert env["RAY_AUTH_MODE"] == {"name": "RAY_AUTH_MODE", "value": "token"}
        assert env["RAY_AUTH_TOKEN_PATH"] == {
            "name": "RAY_AUTH_TOKEN_PATH",
            "value": "/var/run/secrets/ray/token",
        }
        assert "RAY_AUTH_TOKEN" not in env
        mounts = {m["name"]: m for m in each["volumeMounts"]}
        assert mounts["ray-auth"] == {
            "name": "ray-auth",
            "mountPath": "/var/run/secrets/ray",
            "readOnly": True,
        }
        assert token not in str(each)
    for name in ("ray-head", "ray-worker"):
        volumes = {v["name"]: v for v in pod_spec(rendered, name)["volumes"]}
        assert volumes["ray-auth"]["secret"] == {
            "secretName": "ray-auth",
            "items": [{"key": "token", "path": "token"}],
            "defaultMode": 0o440,
        }
        assert pod_spec(rendered, name)["securityContext"]["fsGroup"] == c.RAY_GID  # the file's group
    assert default_run.component_secret_outputs() == {"auth_token"}


def test_generated_token_is_kept_by_a_stash(rendered: list[Rendered]) -> None:
    """A fresh random proposal each run; the Stash keeps the first (ignore_changes), a secret either way."""
    stash = find(rendered, "pulumi:index:Stash", "ray-auth-token")
    assert stash.ignore_changes == ("input",)
    assert set(stash.additional_secret_outputs) == {"input", "output"}
    assert stash.secret_paths == ("input",)
    assert len(stash.inputs["input"]) == 43  # 32 random bytes, URL-safe base64
    assert not find_all(rendered, "dynamic:Resource")
    assert not find_all(rendered, "providers:pulumi-python")


def test_each_run_proposes_a_new_token_for_the_stash_to_ignore() -> None:
    first = find(run_cluster({}).resources, "pulumi:index:Stash").inputs["input"]
    second = find(run_cluster({}).resources, "pulumi:index:Stash").inputs["input"]
    assert first != second


def test_given_token_is_used_and_kept_secret() -> None:
    run = run_cluster(lambda: {"auth_token": pulumi.Output.secret("a-given-token-0123456789")})
    assert not find_all(run.resources, "pulumi:index:Stash")
    assert find(run.resources, "core/v1:Secret").inputs["stringData"] == {"token": "a-given-token-0123456789"}
    assert run.component_outputs()["auth_token"] == "a-given-token-0123456789"
    assert run.component_secret_outputs() == {"auth_token"}


def test_auth_off_sets_mode_disabled_and_creates_no_secret() -> None:
    run = run_cluster({"auth": False})
    assert not find_all(run.resources, "core/v1:Secret")
    assert not find_all(run.resources, "pulumi:index:Stash")
    for each in all_containers(run.resources):
        env = env_of(each)
        assert env["RAY_AUTH_MODE"]["value"] == "disabled"
        assert "RAY_AUTH_TOKEN" not in env and "RAY_AUTH_TOKEN_PATH" not in env
        assert "ray-auth" not in {m["name"] for m in each.get("volumeMounts", [])}
    for name in ("ray-head", "ray-worker"):
        assert "ray-auth" not in [v["name"] for v in pod_spec(run.resources, name)["volumes"]]
        assert c.AUTH_TOKEN_FINGERPRINT_ANNOTATION not in str(deployment(run.resources, name))
    assert run.component_outputs().get("auth_token") is None


def test_every_pod_carries_the_token_fingerprint_so_a_new_token_restarts_them_together() -> None:
    def marks(token: str) -> set[str]:
        rendered = run_cluster(lambda: {"auth_token": pulumi.Output.secret(token)}).resources
        found = {
            deployment(rendered, name)["spec"]["template"]["metadata"]["annotations"][
                c.AUTH_TOKEN_FINGERPRINT_ANNOTATION
            ]
            for name in ("ray-head", "ray-worker")
        }
        assert all(token not in str(d.inputs) for d in find_all(rendered, "apps/v1:Deployment"))
        return found

    first, again, other = (
        marks("a-given-token-0123456789"),
        marks("a-given-token-0123456789"),
        marks("x" * 24),
    )
    assert len(first) == 1 and len(next(iter(first))) == 16
    assert first == again and first != other


def test_network_policy_admits_the_cluster_on_pinned_ports_only(rendered: list[Rendered]) -> None:
    spec = find(rendered, "networking.k8s.io/v1:NetworkPolicy", "ray").inputs["spec"]
    assert spec["podSelector"] == {"matchLabels": {"ray.io/cluster": "ray"}}
    assert spec["policyTypes"] == ["Ingress"]
    # The second rule admits RayJob submitters (tests/unit/jobs/test_component.py).
    rule, _submitters = spec["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"ray.io/cluster": "ray"}}}]
    ports = [(p["port"], p.get("endPort")) for p in rule["ports"]]
    assert ports == [
        (6379, None),
        (10001, None),
        (8265, None),
        (8080, None),
        (8076, None),
        (8077, None),
        (8078, None),
        (8079, None),
        (52365, None),
        (10002, 10999),
    ]
    assert all(p["protocol"] == "TCP" for p in rule["ports"])


def test_network_policy_admits_allowed_clients_on_client_ports() -> None:
    rendered = run_cluster(
        {
            "allowed_client_namespaces": ["ml-clients", "notebooks"],
            "allowed_client_pod_labels": {"ray-client": "true"},
        }
    ).resources
    spec = find(rendered, "NetworkPolicy").inputs["spec"]
    clients = spec["ingress"][1]
    assert clients["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ml-clients"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "notebooks"}}},
        {"podSelector": {"matchLabels": {"ray-client": "true"}}},
    ]
    assert sorted(p["port"] for p in clients["ports"]) == [6379, 8265, 10001]


def test_network_policy_can_be_turned_off() -> None:
    assert not find_all(run_cluster({"network_policy": False}).resources, "NetworkPolicy")


@pytest.mark.parametrize(
    "args",
    [
        {"service_type": "NodePort"},
        {"service_type": "LoadBalancer"},
        {"service_type": "NodePort", "auth": False, "allow_unauthenticated_exposure": True},
    ],
)
def test_exposed_service_types_when_allowed(args: dict[str, Any]) -> None:
    rendered = run_cluster(args).resources  # type: ignore[arg-type]
    assert find(rendered, "core/v1:Service", "ray-head").inputs["spec"]["type"] == args["service_type"]


# --- pod options ---------------------------------------------------------------------------------


def test_pod_options_reach_every_pod() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    }
    rendered = run_cluster(
        {
            "node_selector": {"pool": "ray"},
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "ray", "effect": "NoSchedule"}
            ],
            "affinity": affinity,
            "image_pull_secrets": ["regcred"],
            "env": {"RAY_LOG_TO_STDERR": "1"},
            "pod_annotations": {"example.com/team": "ml"},
            "image_pull_policy": "Always",
        }
    ).resources
    for name in ("ray-head", "ray-worker"):
        template = deployment(rendered, name)["spec"]["template"]
        spec = template["spec"]
        assert spec["nodeSelector"] == {"pool": "ray"}
        assert spec["tolerations"] == [
            {"key": "dedicated", "operator": "Equal", "value": "ray", "effect": "NoSchedule"}
        ]
        assert spec["affinity"] == affinity
        assert spec["imagePullSecrets"] == [{"name": "regcred"}]
        assert template["metadata"]["annotations"]["example.com/team"] == "ml"
        for each in spec["containers"] + spec.get("initContainers", []):
            assert env_of(each)["RAY_LOG_TO_STDERR"]["value"] == "1"
            assert each["imagePullPolicy"] == "Always"


@pytest.mark.parametrize(("given", "seconds"), [({}, 60), ({"termination_grace_period_seconds": 120}, 120)])
def test_termination_grace_period_reaches_every_pod(given: dict[str, Any], seconds: int) -> None:
    args: RayClusterArgs = {**given, "worker_groups": [{"name": "gpu"}]}  # type: ignore[typeddict-item]
    rendered = run_cluster(args).resources
    for name in ("ray-head", "ray-worker", "ray-worker-gpu"):
        assert pod_spec(rendered, name)["terminationGracePeriodSeconds"] == seconds


def test_ray_learns_its_address_from_the_pod_not_from_a_public_dns_server(rendered: list[Rendered]) -> None:
    for each in all_containers(rendered):
        assert env_of(each)["RAY_STATIC_POD_IP"] == {
            "name": "RAY_STATIC_POD_IP",
            "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
        }
    for name in ("ray-head", "ray-worker"):
        assert pod_spec(rendered, name)["enableServiceLinks"] is False  # no RAY_HEAD_* variables


@pytest.mark.parametrize(("given", "value"), [({}, "0"), ({"usage_stats": True}, "1")])
def test_usage_stats_are_off_in_every_container_unless_asked_for(given: dict[str, Any], value: str) -> None:
    rendered = run_cluster(given).resources  # type: ignore[arg-type]
    for each in all_containers(rendered):
        assert env_of(each)["RAY_USAGE_STATS_ENABLED"]["value"] == value, each["name"]


# --- outputs, composition, providers ---------------------------------------------------------------


def test_outputs(default_run: Run) -> None:
    outputs = default_run.component_outputs()
    assert {k: v for k, v in outputs.items() if k != "auth_token"} == {
        "namespace": "ray",
        "head_service_name": "ray-head",
        "gcs_address": f"{FQDN}:6379",
        "client_address": f"ray://{FQDN}:10001",
        "dashboard_url": f"http://{FQDN}:8265",
        "auth_secret_name": "ray-auth",
        "image": "rayproject/ray:2.60.0",
        "image_pull_secrets": [],
    }


def test_two_clusters_in_one_namespace_do_not_collide() -> None:
    def program() -> None:
        RayCluster("alpha", {"namespace": "pair", "workers": 2})
        RayCluster("beta", {"namespace": "pair", "create_namespace": False, "workers": 1})

    run = run_programs(program)
    kube = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert len({r.urn for r in kube}) == len(kube)
    objects = [(r.inputs["kind"], r.inputs["metadata"]["name"]) for r in kube]
    assert len(set(objects)) == len(objects)
    assert len(find_all(run.resources, "core/v1:Namespace")) == 1
    assert deployment(run.resources, "beta-worker")["spec"]["replicas"] == 1
    beta = deployment(run.resources, "beta-worker")["spec"]["template"]["spec"]["containers"][0]
    assert "--address=beta-gcs-2-60-0.pair.svc.cluster.local:6379" in beta["command"][2]
    assert run.component_outputs("beta")["gcs_address"] == "beta-head.pair.svc.cluster.local:6379"
    assert find(run.resources, "NetworkPolicy", "beta").inputs["spec"]["podSelector"] == {
        "matchLabels": {"ray.io/cluster": "beta"}
    }


@pytest.mark.parametrize("option", ["providers", "provider"])
def test_an_explicit_provider_reaches_every_child(option: str) -> None:
    def program() -> None:
        provider = k8s.Provider("other-cluster", namespace="ignored")
        opts = (
            pulumi.ResourceOptions(providers={"kubernetes": provider})
            if option == "providers"
            else pulumi.ResourceOptions(provider=provider)
        )
        RayCluster("ray", {}, opts)

    run = run_programs(program)
    provider = find(run.resources, "pulumi:providers:kubernetes", "other-cluster")
    kube = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert len(kube) == 8
    for r in kube:
        assert r.provider is not None and r.provider.startswith(provider.urn + "::"), r.name
    # The component never builds a kubernetes provider of its own (only the token's config-free
    # pulumi-python one, see ray_static/token.py).
    assert [r.name for r in run.resources if r.type == "pulumi:providers:kubernetes"] == ["other-cluster"]


# --- updates -------------------------------------------------------------------------------------


def _by_key(rendered: list[Rendered]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r.type, r.name): r.inputs for r in rendered}


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out.extend(_diff(a.get(key), b.get(key), f"{path}.{key}"))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def test_scaling_workers_changes_only_the_worker_replicas() -> None:
    token = "a-fixed-token-for-comparison"  # the generated one differs per run, as it would per stack
    three = _by_key(run_cluster({"workers": 3, "auth_token": token}).resources)
    four = _by_key(run_cluster({"workers": 4, "auth_token": token}).resources)
    assert three.keys() == four.keys()
    changes = {key: _diff(three[key], four[key]) for key in three if _diff(three[key], four[key])}
    assert changes == {("kubernetes:apps/v1:Deployment", "ray-worker"): [".spec.replicas"]}


def test_workers_join_only_a_head_of_their_ray_version() -> None:
    old = run_cluster({"image": "rayproject/ray:2.60.0"}).resources
    new = run_cluster({"image": "rayproject/ray:2.61.0-py311"}).resources
    for rendered, version in ((old, "2.60.0"), (new, "2.61.0")):
        gate = find(rendered, "core/v1:Service", "ray-gcs").inputs
        assert gate["metadata"]["name"] == f"ray-gcs-{version.replace('.', '-')}"
        assert gate["spec"]["ports"] == [{"name": "gcs", "port": 6379, "targetPort": 6379, "protocol": "TCP"}]
        head_labels = deployment(rendered, "ray-head")["spec"]["template"]["metadata"]["labels"]
        assert gate["spec"]["selector"] == {
            **find(rendered, "core/v1:Service", "ray-head").inputs["spec"]["selector"],
            c.LABEL_VERSION: version,
        }
        assert head_labels.items() >= gate["spec"]["selector"].items()
        address = f"{gate['metadata']['name']}.ray.svc.cluster.local:6379"
        assert f"--address={address}" in container(rendered, "ray-worker")["command"][2]
    # Another Kubernetes name under the same Pulumi name: the preview shows it replaced.
    assert find(old, "Service", "ray-gcs").urn == find(new, "Service", "ray-gcs").urn


def test_image_change_rolls_workers_but_changes_no_selector() -> None:
    old = run_cluster({"image": "rayproject/ray:2.60.0"}).resources
    new = run_cluster({"image": "rayproject/ray:2.61.0-py311"}).resources
    for name in ("ray-head", "ray-worker"):
        assert deployment(old, name)["spec"]["selector"] == deployment(new, name)["spec"]["selector"]

    def head_selector(rendered: list[Rendered]) -> dict[str, str]:
        return find(rendered, "Service", "ray-head").inputs["spec"]["selector"]

    assert head_selector(old) == head_selector(new)
    assert (
        find(old, "NetworkPolicy").inputs["spec"]["podSelector"]
        == find(new, "NetworkPolicy").inputs["spec"]["podSelector"]
    )

    def head_hash(rendered: list[Rendered]) -> str:
        return deployment(rendered, "ray-worker")["spec"]["template"]["metadata"]["annotations"][
            c.HEAD_TEMPLATE_HASH_ANNOTATION
        ]

    assert len(head_hash(old)) == 64
    assert head_hash(old) != head_hash(new)


def test_a_head_only_change_rolls_the_workers_through_the_hash() -> None:
    a = run_cluster({"head_ray_cpus": 0}).resources
    b = run_cluster({"head_ray_cpus": 1}).resources
    annotation = c.HEAD_TEMPLATE_HASH_ANNOTATION
    ha = deployment(a, "ray-worker")["spec"]["template"]["metadata"]["annotations"][annotation]
    hb = deployment(b, "ray-worker")["spec"]["template"]["metadata"]["annotations"][annotation]
    assert ha != hb
