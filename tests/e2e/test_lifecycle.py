"""The static-cluster guide's walkthrough, automated on the real engine, provider and control plane.

The tests in this module run in order on one stack in namespace `ray` (the guide's names): deploy,
no-op, scale up and down, self-healing, drift, bad config, destroy.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from tests.e2e.support import Cluster, Stack, make_project, open_stack
from tests.support.waiting import wait_for

NAMESPACE = "ray"
HEAD = "ray.io/cluster=ray,ray.io/node-type=head"
WORKERS = "ray.io/cluster=ray,ray.io/node-type=worker"
FQDN = f"ray-head.{NAMESPACE}.svc.cluster.local"


@pytest.fixture(scope="module")
def stack(cluster: Cluster, backend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The program's stack with the default config (3 workers), destroyed and removed afterwards."""
    project = make_project(tmp_path_factory.mktemp("lifecycle") / "project")
    s = open_stack(project, "lifecycle", cluster.env, backend)
    s.set_config({"workers": "3"})
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def test_fresh_up_creates_the_guides_objects_and_ready_pods(stack: Stack, cluster: Cluster) -> None:
    result = stack.up()
    assert result.summary.result == "succeeded"
    assert cluster.exists("namespace", NAMESPACE)
    assert cluster.exists("service", "ray-head", NAMESPACE)
    assert cluster.exists("deployment", "ray-head", NAMESPACE)
    assert cluster.exists("deployment", "ray-worker", NAMESPACE)
    # `pulumi up` returns only once the Deployments are available, so the pods are already Ready.
    assert len(cluster.ready_pods(NAMESPACE, HEAD)) == 1
    assert len(cluster.ready_pods(NAMESPACE, WORKERS)) == 3

    outputs = stack.outputs()
    assert outputs["namespace"] == NAMESPACE
    assert outputs["head_service_name"] == "ray-head"
    assert outputs["gcs_address"] == f"{FQDN}:6379"
    assert outputs["client_address"] == f"ray://{FQDN}:10001"
    assert outputs["dashboard_url"] == f"http://{FQDN}:8265"
    assert int(outputs["workers"]) == 3
    assert "port-forward" in outputs["port_forward"] and "svc/ray-head" in outputs["port_forward"]


def test_generated_token_is_a_secret_and_never_plaintext_in_state(stack: Stack, cluster: Cluster) -> None:
    token = stack.outputs()["auth_token"]
    assert isinstance(token, str) and len(token) >= 32
    assert stack.stack.outputs()["auth_token"].secret
    state = stack.stored_state()
    assert token not in state
    assert "ciphertext" in state  # the token is recorded, encrypted
    # The Secret in the cluster holds the same token the pods read through secretKeyRef.
    secret = cluster.get("secret", "ray-auth", "-n", NAMESPACE)
    assert secret["data"], "the auth Secret has no data"


def test_second_up_changes_nothing(stack: Stack, cluster: Cluster) -> None:
    token = stack.outputs()["auth_token"]
    secret = cluster.get("secret", "ray-auth", "-n", NAMESPACE)["data"]
    preview, steps = stack.preview()
    changes = {op: n for op, n in preview.change_summary.items() if op != auto.OpType.SAME}
    assert changes == {}, f"no-op preview proposed changes: {changes}"
    assert all(step.op == auto.OpType.SAME for step in steps)
    result = stack.up()
    assert set(result.summary.resource_changes or {}) == {"same"}
    # The Stash ignored this run's fresh proposal: same token in the state and in the Secret.
    assert stack.outputs()["auth_token"] == token
    assert cluster.get("secret", "ray-auth", "-n", NAMESPACE)["data"] == secret


def test_scaling_is_one_in_place_update(stack: Stack, cluster: Cluster) -> None:
    head_uid = cluster.pods(NAMESPACE, HEAD)[0]["metadata"]["uid"]
    stack.set_config({"workers": "4"})
    _, steps = stack.preview()
    changed = [(s.op, s.type, s.urn.rsplit("::", 1)[-1]) for s in steps if s.op != auto.OpType.SAME]
    assert changed == [(auto.OpType.UPDATE, "kubernetes:apps/v1:Deployment", "ray-worker")], changed
    worker_step = next(s for s in steps if s.op == auto.OpType.UPDATE)
    assert set(worker_step.diffs or []) <= {"spec"}, worker_step.diffs
    assert set((worker_step.detailed_diff or {}).keys()) == {"spec.replicas"}, worker_step.detailed_diff

    changes = stack.up().summary.resource_changes or {}
    # OpType is a str enum: the engine's "update"/"same" keys compare equal to its members.
    assert changes.get(auto.OpType.UPDATE) == 1, changes
    assert set(changes) <= {auto.OpType.UPDATE, auto.OpType.SAME}, changes
    cluster.wait_ready(NAMESPACE, WORKERS, 4)
    # Scaling the workers never touches the head.
    assert cluster.pods(NAMESPACE, HEAD)[0]["metadata"]["uid"] == head_uid

    stack.set_config({"workers": "2"})
    stack.up()
    cluster.wait_ready(NAMESPACE, WORKERS, 2)


def configured_workers(stack: Stack) -> int:
    """The worker count the stack is configured with (so a failure upstream does not cascade)."""
    return int(stack.stack.get_config("workers").value)


def test_deleted_pods_come_back(stack: Stack, cluster: Cluster) -> None:
    workers = configured_workers(stack)
    worker = cluster.pods(NAMESPACE, WORKERS)[0]["metadata"]["name"]
    cluster.kubectl("delete", "pod", worker, "-n", NAMESPACE, "--wait=false")
    pods = cluster.wait_ready(NAMESPACE, WORKERS, workers)
    assert worker not in {p["metadata"]["name"] for p in pods}

    head = cluster.pods(NAMESPACE, HEAD)[0]["metadata"]["name"]
    cluster.kubectl("delete", "pod", head, "-n", NAMESPACE, "--wait=false")
    heads = cluster.wait_ready(NAMESPACE, HEAD, 1)
    assert heads[0]["metadata"]["name"] != head

    cluster.kubectl("delete", "pods", "--all", "-n", NAMESPACE, "--wait=false")
    cluster.wait_ready(NAMESPACE, HEAD, 1)
    cluster.wait_ready(NAMESPACE, WORKERS, workers)


def test_drift_from_kubectl_scale_is_restored(stack: Stack, cluster: Cluster) -> None:
    workers = configured_workers(stack)
    cluster.kubectl("scale", "deployment", "ray-worker", "-n", NAMESPACE, "--replicas=5")
    cluster.wait_ready(NAMESPACE, WORKERS, 5)
    # Pulumi diffs against its state, so drift made outside it is seen with a refresh; the worker
    # Deployment forces its field ownership back (pulumi.com/patchForce) instead of failing on the
    # conflict with kubectl's field manager.
    result = stack.up(refresh=True)
    assert result.summary.result == "succeeded"
    deployment = cluster.get("deployment", "ray-worker", "-n", NAMESPACE)
    assert deployment["spec"]["replicas"] == workers
    cluster.wait_ready(NAMESPACE, WORKERS, workers)


def test_bad_config_fails_clearly_and_changes_nothing(stack: Stack, cluster: Cluster) -> None:
    before = snapshot(cluster)
    stack.set_config({"workers": "-1"})
    with pytest.raises(auto.CommandError) as failure:
        stack.up()
    message = str(failure.value)
    # One sentence naming the key, as the program's diagnostics; no Python traceback, no exit-code noise.
    assert "error: workers: got -1; expected a whole number from 0 to 1000." in message, message
    for noise in ("Traceback", "unhandled exception", "Program exited with non-zero exit code"):
        assert noise not in message, message
    assert snapshot(cluster) == before
    stack.set_config({"workers": "2"})


def test_rollout_settings_are_one_in_place_update(stack: Stack, cluster: Cluster) -> None:
    """Workers roll in place by default; changing how they roll updates the worker Deployment alone, and
    a worker budget is one new object."""
    deployment = cluster.get("deployment", "ray-worker", "-n", NAMESPACE)
    rolling = {"maxSurge": 0, "maxUnavailable": "25%"}
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": rolling}
    stack.set_config(
        {"maxSurge": "1", "maxUnavailable": "0", "workerPodDisruptionBudget": '{"maxUnavailable": "1"}'}
    )
    _, steps = stack.preview()
    changed = sorted((s.op, s.type, s.urn.rsplit("::", 1)[-1]) for s in steps if s.op != auto.OpType.SAME)
    assert changed == [
        (auto.OpType.CREATE, "kubernetes:policy/v1:PodDisruptionBudget", "ray-worker"),
        (auto.OpType.UPDATE, "kubernetes:apps/v1:Deployment", "ray-worker"),
    ], changed
    stack.up()
    deployment = cluster.get("deployment", "ray-worker", "-n", NAMESPACE)
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    budget = cluster.get("pdb", "ray-worker", "-n", NAMESPACE)
    assert budget["spec"]["maxUnavailable"] == 1
    wait_for(
        lambda: (
            cluster.get("pdb", "ray-worker", "-n", NAMESPACE).get("status", {}).get("expectedPods")
            == configured_workers(stack)
        ),
        60,
        "the worker budget to count the workers",
    )
    for key in ("maxSurge", "maxUnavailable", "workerPodDisruptionBudget"):
        stack.remove_config(key)
    stack.up()
    assert not cluster.exists("pdb", "ray-worker", NAMESPACE)


def test_suspend_and_resume_keep_the_cluster_and_its_token(stack: Stack, cluster: Cluster) -> None:
    workers = configured_workers(stack)
    token, secret = stack.outputs()["auth_token"], cluster.get("secret", "ray-auth", "-n", NAMESPACE)["data"]
    stack.set_config({"suspend": "true"})
    _, steps = stack.preview()
    changed = sorted((s.op, s.urn.rsplit("::", 1)[-1]) for s in steps if s.op != auto.OpType.SAME)
    assert changed == [(auto.OpType.UPDATE, "ray-head"), (auto.OpType.UPDATE, "ray-worker")], changed
    stack.up()
    wait_for(lambda: cluster.pods(NAMESPACE, "ray.io/cluster=ray") == [], 120, "every Ray pod to stop")
    for kind, name in (("service", "ray-head"), ("secret", "ray-auth"), ("networkpolicy", "ray")):
        assert cluster.exists(kind, name, NAMESPACE), (kind, name)

    stack.set_config({"suspend": "false"})
    stack.up()
    cluster.wait_ready(NAMESPACE, HEAD, 1)
    cluster.wait_ready(NAMESPACE, WORKERS, workers)
    assert stack.outputs()["auth_token"] == token
    assert cluster.get("secret", "ray-auth", "-n", NAMESPACE)["data"] == secret


def snapshot(cluster: Cluster) -> dict[str, object]:
    """What a change to the cluster would alter: object versions/generations and the pods' identities."""
    objects = cluster.get("deployments,services,secrets,networkpolicies", "-n", NAMESPACE)["items"]
    return {
        "objects": {(o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in objects},
        "pods": sorted(p["metadata"]["uid"] for p in cluster.pods(NAMESPACE, "ray.io/cluster=ray")),
    }


def test_a_ray_version_change_restarts_the_cluster_as_one_step(stack: Stack, cluster: Cluster) -> None:
    """The preview shows the workers' GCS Service replaced (named after the Ray version) beside the head
    and the workers; afterwards only the new version's exists and every worker joins through it."""
    stack.set_config({"image": "rayproject/ray:2.61.0-py311"})
    _, steps = stack.preview()
    moved = {(s.op, s.urn.rsplit("::", 1)[-1]) for s in steps if s.type.endswith("Service")}
    assert (auto.OpType.REPLACE, "ray-gcs") in moved, moved
    replaced = [s.urn.rsplit("::", 1)[-1] for s in steps if s.op == auto.OpType.REPLACE]
    assert replaced == ["ray-gcs"], replaced
    updated = {
        s.urn.rsplit("::", 1)[-1] for s in steps if s.op == auto.OpType.UPDATE and "Deployment" in s.type
    }
    assert updated == {"ray-head", "ray-worker"}, updated

    stack.up()
    assert cluster.exists("service", "ray-gcs-2-61-0", NAMESPACE)
    assert not cluster.exists("service", "ray-gcs-2-60-0", NAMESPACE)
    gate = cluster.get("service", "ray-gcs-2-61-0", "-n", NAMESPACE)
    assert gate["spec"]["selector"]["app.kubernetes.io/version"] == "2.61.0"
    for pod in cluster.wait_ready(NAMESPACE, WORKERS, configured_workers(stack)):
        [worker] = pod["spec"]["containers"][:1]
        assert f"--address=ray-gcs-2-61-0.{NAMESPACE}.svc.cluster.local:6379" in worker["command"][2]
    stack.remove_config("image")
    stack.up()
    assert cluster.exists("service", "ray-gcs-2-60-0", NAMESPACE)


def test_destroy_removes_everything(stack: Stack, cluster: Cluster) -> None:
    stack.destroy()
    for kind, name in (("deployment", "ray-head"), ("deployment", "ray-worker"), ("service", "ray-head")):
        assert not cluster.exists(kind, name, NAMESPACE)
    wait_for(lambda: not cluster.exists("namespace", NAMESPACE), 120, f"namespace {NAMESPACE} to be deleted")
