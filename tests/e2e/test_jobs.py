"""RayJob on the real engine and control plane: create, no-op, a changed entrypoint replaces the one Job,
a removed job goes, destroy; and a second stack submitting through the cluster stack's outputs.

The control plane's nodes are KWOK's: a pod owned by a Job is marked Running and then Succeeded without any
container running (KWOK's pod-complete stage). So these tests prove the Kubernetes and Pulumi side (the
API server admits the Job under the namespace's `restricted` Pod Security Standard, pulumi-kubernetes
awaits it to completion, names, replacement, deletion, outputs); tests/node/test_jobs.py proves the
submitter against real Ray on the real node.
"""

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from ray_static.jobs.settings import resolve_job
from tests.e2e.support import REPO, Cluster, Stack, make_project, open_stack
from tests.support.waiting import wait_for

NAMESPACE = "jobs"
PROGRAMS = Path(__file__).parent / "programs"
SQUARES = (
    'python -c "import ray; ray.init(); '
    'print(sum(ray.get([ray.remote(lambda x: x*x).remote(i) for i in range(10)])))"'
)
HELLO = {"name": "hello", "entrypoint": SQUARES}
LATER = {"name": "later", "entrypoint": "python -c 'import time; time.sleep(3600)'", "wait": False}


def job_name(job: dict[str, Any]) -> str:
    return resolve_job(job["name"], {k: v for k, v in job.items() if k != "name"}).job_name


@pytest.fixture(scope="module")
def stack(cluster: Cluster, backend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The repository's program with a small cluster in its own namespace, and jobs in its config."""
    project = make_project(tmp_path_factory.mktemp("jobs") / "project")
    s = open_stack(project, "jobs", cluster.env, backend)
    s.set_config(
        {"namespace": NAMESPACE, "clusterName": "lab", "workers": "1", "imagePullSecrets": "regcred"}
    )
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def set_jobs(stack: Stack, *jobs: dict[str, Any]) -> None:
    stack.set_config({"jobs": json.dumps(list(jobs))})


def changed_steps(stack: Stack) -> list[tuple[str, str, str]]:
    _, steps = stack.preview()
    return [(s.op, s.type, s.urn.rsplit("::", 1)[-1]) for s in steps if s.op != auto.OpType.SAME]


def test_up_creates_the_jobs_and_waits_for_the_awaited_one(stack: Stack, cluster: Cluster) -> None:
    set_jobs(stack, HELLO, LATER)
    result = stack.up()
    assert result.summary.result == "succeeded"
    hello = cluster.get("job", job_name(HELLO), "-n", NAMESPACE)
    # `pulumi up` returned once the awaited Job completed.
    assert {c["type"] for c in hello["status"]["conditions"] if c["status"] == "True"} >= {"Complete"}
    outputs = stack.outputs()["jobs"]
    assert outputs["hello"] == {"submission_id": job_name(HELLO), "status": "SUCCEEDED"}
    assert outputs["later"]["submission_id"] == job_name(LATER)
    # The API server admitted the submitter under `restricted`, with the token only as a file from the
    # cluster's Secret (no value in the spec or the environment) and a read-only root filesystem.
    [pod] = cluster.get("pods", "-n", NAMESPACE, "-l", f"job-name={job_name(HELLO)}")["items"]
    [container] = pod["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["RAY_AUTH_TOKEN_PATH"] == {
        "name": "RAY_AUTH_TOKEN_PATH",
        "value": "/var/run/secrets/ray/token",
    }
    assert "RAY_AUTH_TOKEN" not in env
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["ray-auth"]["secret"]["secretName"] == "lab-auth"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert stack.outputs()["auth_token"] not in json.dumps(hello)
    assert pod["metadata"]["labels"]["ray-static/job-submitter"] == "true"
    # It pulls the cluster's image with the cluster's pull secrets.
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def test_second_up_changes_nothing(stack: Stack) -> None:
    assert changed_steps(stack) == []
    result = stack.up()
    assert set(result.summary.resource_changes or {}) == {"same"}


def test_a_changed_entrypoint_replaces_the_one_job(stack: Stack, cluster: Cluster) -> None:
    changed = {**HELLO, "entrypoint": SQUARES.replace("range(10)", "range(11)")}
    set_jobs(stack, changed, LATER)
    steps = changed_steps(stack)
    assert {urn for _, _, urn in steps} == {"hello-submitter"}, steps
    assert auto.OpType.REPLACE in {op for op, _, _ in steps}, steps
    changes = stack.up().summary.resource_changes or {}
    assert changes.get(auto.OpType.REPLACE) == 1, changes
    assert set(changes) <= {auto.OpType.REPLACE, auto.OpType.SAME}, changes
    assert cluster.exists("job", job_name(changed), NAMESPACE)
    wait_for(lambda: not cluster.exists("job", job_name(HELLO), NAMESPACE), 60, "the old Job to be deleted")
    assert stack.outputs()["jobs"]["hello"]["submission_id"] == job_name(changed)
    set_jobs(stack, HELLO, LATER)  # back, for the tests that follow
    stack.up()


def test_a_second_stack_submits_through_the_clusters_outputs(
    stack: Stack, cluster: Cluster, backend: Path, tmp_path: Path
) -> None:
    outputs = stack.outputs()
    assert outputs["image"] == "rayproject/ray:2.60.0" and outputs["auth_secret_name"] == "lab-auth"
    project = make_project(tmp_path / "project", program=PROGRAMS / "job_from_outputs")
    shutil.copytree(REPO / "ray_static", project / "ray_static", ignore=shutil.ignore_patterns("__pycache__"))
    other = open_stack(project, "consumer", cluster.env, backend)
    try:
        other.set_config({"clusterStack": f"organization/ray-static/{stack.stack.name}"})
        other.up()
        remote = other.outputs()
        assert remote["status"] == "SUCCEEDED"
        job = cluster.get("job", remote["job_name"], "-n", NAMESPACE)
        [container] = job["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["RAY_API_SERVER_ADDRESS"]["value"] == outputs["dashboard_url"]
        volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
        assert env["RAY_AUTH_TOKEN_PATH"]["value"] == "/var/run/secrets/ray/token"
        assert volumes["ray-auth"]["secret"]["secretName"] == "lab-auth"
        assert container["image"] == outputs["image"]
        # A no-op, but for the StackReference, which every run reads afresh.
        assert [s for s in changed_steps(other) if s[1] != "pulumi:pulumi:StackReference"] == []
        other.destroy()
        wait_for(lambda: not cluster.exists("job", remote["job_name"], NAMESPACE), 60, "the remote Job to go")
    finally:
        other.destroy()
        other.remove()


def test_a_removed_job_is_deleted(stack: Stack, cluster: Cluster) -> None:
    set_jobs(stack, HELLO)
    steps = {(op, urn) for op, _, urn in changed_steps(stack)}
    assert steps == {(auto.OpType.DELETE, "later-submitter"), (auto.OpType.DELETE, "later")}, steps
    stack.up()
    wait_for(
        lambda: not cluster.exists("job", job_name(LATER), NAMESPACE), 60, "the removed Job to be deleted"
    )


FAILED_LOG = (
    "Traceback (most recent call last):\nSystemExit: boom: no data\nray-static: Ray job broken-x ended FAILED"
)


def kubelet_reports_failure(cluster: Cluster, pod: str) -> None:
    """What a kubelet writes when the submitter exits 3 with FallbackToLogsOnError (KWOK would not)."""
    now = "2026-01-01T00:00:00Z"
    conditions = {
        "PodReadyToStartContainers": ("False", None),
        "Initialized": ("True", None),
        "Ready": ("False", "PodFailed"),
        "ContainersReady": ("False", "PodFailed"),
        "PodScheduled": ("True", None),
    }
    status = {
        "phase": "Failed",
        "conditions": [
            {"type": kind, "status": value, "lastTransitionTime": now, **({"reason": why} if why else {})}
            for kind, (value, why) in conditions.items()
        ],
        "containerStatuses": [
            {
                "name": "submitter",
                "image": "rayproject/ray:2.60.0",
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {
                    "terminated": {
                        "exitCode": 3,
                        "reason": "Error",
                        "message": FAILED_LOG,
                        "startedAt": now,
                        "finishedAt": now,
                    }
                },
            }
        ],
    }
    cluster.kubectl(
        "patch", "pod", pod, "-n", NAMESPACE, "--subresource=status", "--type=merge", "-p",
        json.dumps({"status": status}),
    )  # fmt: skip


@pytest.fixture
def cordoned(cluster: Cluster) -> Iterator[None]:
    """No node takes new pods, so KWOK never completes the next submitter pod: the test decides its end."""
    nodes = [n["metadata"]["name"] for n in cluster.get("nodes")["items"]]
    for node in nodes:
        cluster.kubectl("cordon", node)
    try:
        yield
    finally:
        for node in nodes:
            cluster.kubectl("uncordon", node)


def test_a_failed_job_fails_up_with_its_last_log_lines(
    stack: Stack, cluster: Cluster, cordoned: None
) -> None:
    broken = {"name": "broken", "entrypoint": "python -c 'raise SystemExit(\"boom: no data\")'"}
    set_jobs(stack, HELLO, broken)
    outcome: dict[str, BaseException | None] = {}

    def up() -> None:
        try:
            stack.up()
            outcome["error"] = None
        except BaseException as error:  # handed over to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=up, daemon=True)
    thread.start()
    # Each submitter pod fails as the job did: the first, and the one retry, which would find it ended.
    failed: set[str] = set()
    selector = f"job-name={job_name(broken)}"

    def fail_new_pods() -> bool:
        for pod in cluster.pods(NAMESPACE, selector):
            name = pod["metadata"]["name"]
            if name not in failed and pod["status"].get("phase") == "Pending":
                kubelet_reports_failure(cluster, name)
                failed.add(name)
        return not thread.is_alive()

    wait_for(fail_new_pods, 300, "pulumi up to return after the Job failed")
    error = outcome["error"]
    assert isinstance(error, auto.CommandError), error
    # The Job failed after its one retry, and `pulumi up` shows the pods' termination messages: the
    # job's last log lines.
    job = cluster.get("job", job_name(broken), "-n", NAMESPACE)
    condition = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert condition["status"] == "True" and condition["reason"] == "BackoffLimitExceeded", condition
    assert job["status"].get("failed") == 2 and len(failed) == 2
    assert "[Error] Traceback (most recent call last):" in str(error), str(error)[-3000:]
    assert "SystemExit: boom: no data" in str(error) and "ended FAILED" in str(error)
    # Removing the broken job deletes it; the stack is healthy again.
    set_jobs(stack, HELLO)
    stack.up()
    assert not cluster.exists("job", job_name(broken), NAMESPACE)


def test_destroy_removes_the_jobs_with_everything(stack: Stack, cluster: Cluster) -> None:
    stack.destroy()
    wait_for(lambda: not cluster.exists("namespace", NAMESPACE), 120, f"namespace {NAMESPACE} to be deleted")
    assert not cluster.exists("job", job_name(HELLO), NAMESPACE)
