"""Storage, sidecars, a GPU group with Ray resources and GCS fault tolerance on the real engine, provider
and control plane, set through the program's stack config (camelCase JSON keys).

The tests run in order on one stack in an existing namespace holding what a platform team would have
made beforehand (a bound PersistentVolumeClaim, the Redis password Secret): deploy, no-op, scale, change
sidecars at each level, a refused mount, destroy. Each change is previewed, then applied before anything
is asserted, so one failed assertion leaves the stack where the next test expects it.
"""

import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from tests.e2e.support import REPO, Cluster, Stack, make_project, open_stack
from tests.support.manifests import RESTRICTED_CONTAINER
from tests.support.waiting import wait_for

PROGRAMS = Path(__file__).parent / "programs"
NAMESPACE = "ray-features"
CLAIM = "ray-data"
VOLUME = "ray-static-e2e-features-data"
REDIS_SECRET = "redis"
REDIS_ADDRESS = f"redis.{NAMESPACE}.svc.cluster.local:6379"
DEPLOYMENTS = ("ray-head", "ray-worker", "ray-worker-gpu", "ray-worker-cpu")
SELECTORS = {
    "ray-head": "ray.io/cluster=ray,ray.io/node-type=head",
    "ray-worker": "ray.io/cluster=ray,ray.io/group=default",
    "ray-worker-gpu": "ray.io/cluster=ray,ray.io/group=gpu",
    "ray-worker-cpu": "ray.io/cluster=ray,ray.io/group=cpu",
}
"""Each Ray Deployment's pods."""
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
MOUNT_OVER_SHM = (
    'error: volumeMounts[1].mountPath: got "/dev/shm"; expected a path other than /dev/shm, '
    "/var/run/secrets/ray, /tmp, /home/ray/.cache (mounted by ray-static)."
)


def sidecar(name: str, script: str, mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A small container the namespace's restricted Pod Security admits (KWOK runs none of them)."""
    container: dict[str, Any] = {
        "name": name,
        "image": "busybox:1.36",
        "command": ["sh", "-c", script],
        "resources": {"limits": {"cpu": "50m", "memory": "32Mi"}},
        "securityContext": RESTRICTED_CONTAINER,
    }
    if mounts:
        container["volumeMounts"] = mounts
    return container


def log_shipper(script: str = "tail -F /data/ray.log") -> dict[str, Any]:
    """Every Ray pod's sidecar, reading the claim the Ray containers write."""
    return sidecar("log-shipper", script, [{"name": "data", "mountPath": "/data", "readOnly": True}])


def groups(gpu_replicas: int = 1, proxy_script: str = "sleep 3600") -> list[dict[str, Any]]:
    """A GPU group offering a custom Ray resource, and a CPU group with a sidecar of its own."""
    return [
        {
            "name": "gpu",
            "replicas": gpu_replicas,
            "cpu": "2",
            "memory": "4Gi",
            "gpus": 1,
            "rayResources": {"accel": 1},
            "rayLabels": {"accelerator": "fake"},
        },
        {"name": "cpu", "replicas": 1, "sidecars": [sidecar("group-proxy", proxy_script)]},
    ]


def head(script: str = "sleep 3600") -> dict[str, Any]:
    return {"sidecars": [sidecar("head-agent", script)]}


MOUNTS = [{"name": "data", "mountPath": "/data"}]
CONFIG = {
    "namespace": NAMESPACE,
    "createNamespace": "false",
    "workers": "2",
    "workerMemory": "1Gi",
    "volumes": json.dumps([{"name": "data", "persistentVolumeClaim": {"claimName": CLAIM}}]),
    "volumeMounts": json.dumps(MOUNTS),
    "sidecars": json.dumps([log_shipper()]),
    "head": json.dumps(head()),
    "workerGroups": json.dumps(groups()),
    "gcsFaultTolerance": json.dumps({"redisAddress": REDIS_ADDRESS, "redisPasswordSecret": REDIS_SECRET}),
    "podDisruptionBudget": "true",
}
LEFT_BY_OTHERS = {
    ("ConfigMap", "kube-root-ca.crt"),
    ("ServiceAccount", "default"),
    ("PersistentVolumeClaim", CLAIM),
    ("Secret", REDIS_SECRET),
}
"""What the namespace holds without the stack: Kubernetes' own objects and the ones made here beforehand."""
KINDS = (
    "pods,deployments,replicasets,services,configmaps,secrets,serviceaccounts,networkpolicies,"
    "poddisruptionbudgets,persistentvolumeclaims,roles,rolebindings"
)


def prepare_namespace(cluster: Cluster) -> None:
    """The namespace (restricted Pod Security, as ray-static labels its own), a claim bound to a
    pre-provisioned volume (no provisioner runs here) and the Secret holding Redis's password."""
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}},
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": VOLUME},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "manual",
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": "/srv/ray-data"},
                "claimRef": {"namespace": NAMESPACE, "name": CLAIM},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": CLAIM, "namespace": NAMESPACE},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "manual",
                "volumeName": VOLUME,
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": REDIS_SECRET, "namespace": NAMESPACE},
            "stringData": {"password": "not-a-real-redis-password"},
        },
    ]
    cluster.apply({"apiVersion": "v1", "kind": "List", "items": objects})
    wait_for(
        lambda: cluster.get("pvc", CLAIM, "-n", NAMESPACE)["status"].get("phase") == "Bound",
        60,
        f"claim {CLAIM} to be bound",
    )


@pytest.fixture(scope="module")
def stack(cluster: Cluster, backend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prepare_namespace(cluster)
    project = make_project(tmp_path_factory.mktemp("features") / "project")
    s = open_stack(project, "features", cluster.env, backend)
    s.set_config(CONFIG)
    yield s
    try:
        s.destroy()
    finally:
        s.remove()
        cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
        cluster.kubectl("delete", "persistentvolume", VOLUME, "--wait=false", check=False)


Change = tuple[str, str, str]
"""(operation, resource type, resource name) of one step that is not "same"."""


def change(stack: Stack, values: Mapping[str, str]) -> tuple[list[Change], list[auto.StepEventMetadata]]:
    """Set config, preview (the steps are returned), then apply it: the stack ends in the new state even
    when the caller's assertions on the preview fail."""
    stack.set_config(values)
    _, steps = stack.preview()
    result = stack.up()
    assert result.summary.result == "succeeded"
    changed = [s for s in steps if s.op != auto.OpType.SAME]
    return sorted((s.op, s.type, s.urn.rsplit("::", 1)[-1]) for s in changed), changed


def updates(*names: str) -> list[Change]:
    return sorted((auto.OpType.UPDATE, DEPLOYMENT, name) for name in names)


def pod_uids(cluster: Cluster) -> dict[str, set[str]]:
    """Each Ray Deployment's pods, by uid."""
    return {d: {p["metadata"]["uid"] for p in cluster.pods(NAMESPACE, sel)} for d, sel in SELECTORS.items()}


def generations(cluster: Cluster) -> dict[str, int]:
    items = cluster.get("deployments", "-n", NAMESPACE)["items"]
    return {d["metadata"]["name"]: d["metadata"]["generation"] for d in items}


def wait_rolled(cluster: Cluster, replicas: Mapping[str, int]) -> None:
    for name, count in replicas.items():
        cluster.wait_ready(NAMESPACE, SELECTORS[name], count)


def replicas(stack: Stack) -> dict[str, int]:
    """The pods each Ray Deployment should have, from the stack's config."""
    gpu = next(g for g in json.loads(stack.stack.get_config("workerGroups").value) if g["name"] == "gpu")
    workers = int(stack.stack.get_config("workers").value)
    return {"ray-head": 1, "ray-worker": workers, "ray-worker-gpu": gpu["replicas"], "ray-worker-cpu": 1}


def pod_spec(cluster: Cluster, deployment: str) -> dict[str, Any]:
    return cluster.get("deployment", deployment, "-n", NAMESPACE)["spec"]["template"]["spec"]


def test_up_deploys_storage_sidecars_and_a_gpu_group(stack: Stack, cluster: Cluster) -> None:
    assert stack.up().summary.result == "succeeded"
    # `pulumi up` returns once every Deployment is available: the pods are already Ready.
    for name, count in {"ray-head": 1, "ray-worker": 2, "ray-worker-gpu": 1, "ray-worker-cpu": 1}.items():
        assert len(cluster.ready_pods(NAMESPACE, SELECTORS[name])) == count, name

    for name in DEPLOYMENTS:
        spec = pod_spec(cluster, name)
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"] == {"claimName": CLAIM}, name
        containers = {c["name"]: c for c in spec["containers"]}
        ray = spec["containers"][0]
        assert {"name": "data", "mountPath": "/data"} in ray["volumeMounts"], name
        assert containers["log-shipper"]["volumeMounts"] == [
            {"name": "data", "mountPath": "/data", "readOnly": True}
        ], name
        assert ("group-proxy" in containers) == (name == "ray-worker-cpu"), name
        assert ("head-agent" in containers) == (name == "ray-head"), name

    gpu = pod_spec(cluster, "ray-worker-gpu")["containers"][0]
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == "1"
    start = gpu["command"][-1]
    assert (
        "--num-gpus=1" in start
        and """'--resources={"accel":1}'""" in start
        and "--labels=accelerator=fake" in start
    )
    assert "--resources" not in pod_spec(cluster, "ray-worker")["containers"][0]["command"][-1]
    # Every Ray pod was placed with the claim (no pod is bound to a node before its claim is bound).
    pods = cluster.pods(NAMESPACE, "ray.io/cluster=ray")
    assert len(pods) == 5
    for pod in pods:
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["spec"]["volumes"]
            if "persistentVolumeClaim" in v
        ]
        assert claims == [CLAIM] and pod["spec"].get("nodeName"), pod["metadata"]["name"]


def test_the_head_is_given_the_redis_address(stack: Stack, cluster: Cluster) -> None:
    """gcs_fault_tolerance reached the head pod (however the head is told: variables or flags)."""
    head = cluster.pods(NAMESPACE, SELECTORS["ray-head"])[0]
    ray = head["spec"]["containers"][0]
    told = [e.get("value", "") for e in ray.get("env", [])] + ray["command"]
    assert any(REDIS_ADDRESS in value for value in told), ray


def test_second_up_changes_nothing(stack: Stack, cluster: Cluster) -> None:
    """The user's wire-format objects (volumes, sidecars) round-trip without a perpetual diff."""
    before = generations(cluster)
    changed, _ = change(stack, {})
    assert changed == []
    assert generations(cluster) == before


def test_scaling_workers_and_the_gpu_group_are_in_place_updates(stack: Stack, cluster: Cluster) -> None:
    before = pod_uids(cluster)
    changed, steps = change(stack, {"workers": "3"})
    assert changed == updates("ray-worker")
    assert set(steps[0].detailed_diff or {}) == {"spec.replicas"}, steps[0].detailed_diff
    wait_rolled(cluster, {"ray-worker": 3})

    changed, steps = change(stack, {"workerGroups": json.dumps(groups(gpu_replicas=2))})
    assert changed == updates("ray-worker-gpu")
    assert set(steps[0].detailed_diff or {}) == {"spec.replicas"}, steps[0].detailed_diff
    wait_rolled(cluster, {"ray-worker-gpu": 2})

    after = pod_uids(cluster)
    for name in ("ray-head", "ray-worker-cpu"):
        assert after[name] == before[name], f"scaling restarted {name}'s pods"
    for name in ("ray-worker", "ray-worker-gpu"):
        assert before[name] < after[name], f"scaling replaced {name}'s pods"


def test_a_groups_sidecar_change_rolls_only_that_group(stack: Stack, cluster: Cluster) -> None:
    before, versions = pod_uids(cluster), generations(cluster)
    changed, steps = change(
        stack, {"workerGroups": json.dumps(groups(gpu_replicas=2, proxy_script="sleep 7200"))}
    )
    assert changed == updates("ray-worker-cpu")
    # Ray's container, the top-level sidecar, then the group's own: only the script of the last one changed.
    assert set(steps[0].detailed_diff or {}) == {"spec.template.spec.containers[2].command[2]"}, steps[
        0
    ].detailed_diff
    wait_rolled(cluster, replicas(stack))

    after = pod_uids(cluster)
    assert after["ray-worker-cpu"].isdisjoint(before["ray-worker-cpu"])
    for name in ("ray-head", "ray-worker", "ray-worker-gpu"):
        assert after[name] == before[name], f"{name}'s pods restarted"
        assert generations(cluster)[name] == versions[name]
    proxy = next(c for c in pod_spec(cluster, "ray-worker-cpu")["containers"] if c["name"] == "group-proxy")
    assert proxy["command"] == ["sh", "-c", "sleep 7200"]


def test_a_top_level_sidecar_change_updates_every_ray_deployment(stack: Stack, cluster: Cluster) -> None:
    before = pod_uids(cluster)
    changed, _ = change(
        stack, {"sidecars": json.dumps([log_shipper("tail -F /data/ray.log /data/more.log")])}
    )
    # Nothing but the Ray Deployments: not the Service, the NetworkPolicy, the Secret or the budget.
    assert changed == updates(*DEPLOYMENTS)
    wait_rolled(cluster, replicas(stack))
    after = pod_uids(cluster)
    for name in DEPLOYMENTS:
        assert after[name].isdisjoint(before[name]), f"{name}'s pods were not replaced"
        shipper = next(c for c in pod_spec(cluster, name)["containers"] if c["name"] == "log-shipper")
        assert shipper["command"][-1] == "tail -F /data/ray.log /data/more.log"


def test_with_fault_tolerance_a_head_change_rolls_only_the_head(stack: Stack, cluster: Cluster) -> None:
    """The GCS state is in Redis, so a restarted head keeps its workers: changing the head alone must not
    roll them (without gcs_fault_tolerance the workers follow the head, which starts a new cluster)."""
    before = pod_uids(cluster)
    changed, _ = change(stack, {"head": json.dumps(head("sleep 7200"))})
    assert changed == updates("ray-head")
    wait_rolled(cluster, replicas(stack))
    after = pod_uids(cluster)
    for name in ("ray-worker", "ray-worker-gpu", "ray-worker-cpu"):
        assert after[name] == before[name], f"a head-only change restarted {name}'s pods"


def snapshot(cluster: Cluster) -> dict[tuple[str, str], str]:
    """What any change would alter: every object's resourceVersion (pods included)."""
    objects = cluster.get(KINDS, "-n", NAMESPACE)["items"]
    return {(o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in objects}


def test_a_mount_over_dev_shm_is_refused_and_changes_nothing(stack: Stack, cluster: Cluster) -> None:
    before = snapshot(cluster)
    stack.set_config({"volumeMounts": json.dumps([*MOUNTS, {"name": "data", "mountPath": "/dev/shm"}])})
    try:
        with pytest.raises(auto.CommandError) as failure:
            stack.up()
    finally:
        stack.set_config({"volumeMounts": json.dumps(MOUNTS)})
    message = str(failure.value)
    assert MOUNT_OVER_SHM in message, message
    for noise in ("Traceback", "unhandled exception", "Program exited with non-zero exit code"):
        assert noise not in message, message
    assert snapshot(cluster) == before


def leftovers(cluster: Cluster) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in cluster.get(KINDS, "-n", NAMESPACE)["items"]}


def test_destroy_leaves_nothing_in_the_namespace(stack: Stack, cluster: Cluster) -> None:
    stack.destroy()
    wait_for(lambda: leftovers(cluster) <= LEFT_BY_OTHERS, 60, f"the stack's objects to leave {NAMESPACE}")
    assert leftovers(cluster) == LEFT_BY_OTHERS
    # The claim the pods used is the platform team's: still there, still bound.
    assert cluster.get("pvc", CLAIM, "-n", NAMESPACE)["status"]["phase"] == "Bound"


def test_python_args_mount_a_claim_made_in_the_same_program(
    cluster: Cluster, backend: Path, tmp_path: Path
) -> None:
    """The component's own args (snake_case, from Python), with the claim's name an Output."""
    project = make_project(tmp_path / "project", program=PROGRAMS / "claim_in_program")
    shutil.copytree(REPO / "ray_static", project / "ray_static", ignore=shutil.ignore_patterns("__pycache__"))
    other = open_stack(project, "claim", cluster.env, backend)
    try:
        other.up()
        assert other.outputs()["claim"] == "ray-data"
        pods = cluster.wait_ready("ray-claim", "ray.io/cluster=ray", 3)
        for pod in pods:
            volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
            assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "ray-data"}
        gpu = cluster.pods("ray-claim", "ray.io/cluster=ray,ray.io/group=gpu")[0]["spec"]["containers"][0]
        assert """'--resources={"accel":1}'""" in gpu["command"][-1]
        other.destroy()
        wait_for(
            lambda: not cluster.exists("namespace", "ray-claim"), 120, "namespace ray-claim to be deleted"
        )
        assert not cluster.exists("persistentvolume", "ray-static-e2e-claim-in-program")
    finally:
        try:
            other.destroy()
        finally:
            other.remove()
