"""A platform stack on the real engine: Outputs as RayCluster inputs, a transform reaching the cluster's
Deployments, and the two mistakes that used to pass silently (a short secret token, a RayJob whose
auth_secret resolves to nothing), each refused in one sentence before anything of it exists."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from tests.e2e.support import REPO, Cluster, Stack, make_project, open_stack

PROGRAM = Path(__file__).parent / "programs" / "outputs_as_inputs"
NAMESPACE = "platform"
NOISE = ("Traceback", "unhandled exception", "While processing input")


def project(tmp_path: Path) -> Path:
    """The program with the ray_static package beside it, as an importer would have it."""
    dest = make_project(tmp_path / "project", program=PROGRAM)
    shutil.copytree(REPO / "ray_static", dest / "ray_static", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="module")
def platform(cluster: Cluster, backend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = open_stack(project(tmp_path_factory.mktemp("outputs")), "platform", cluster.env, backend)
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def test_the_preview_shows_the_plan_though_the_values_are_unknown(platform: Stack) -> None:
    _, steps = platform.preview()
    planned = {(s.type, s.urn.rsplit("::", 1)[-1]): s.op for s in steps}
    for name in ("ray-head", "ray-worker"):
        assert planned[("kubernetes:apps/v1:Deployment", name)] == "create"
    assert planned[("kubernetes:core/v1:Secret", "ray-auth")] == "create"


def test_up_deploys_with_the_outputs_and_the_transform(platform: Stack, cluster: Cluster) -> None:
    platform.up()
    cluster.wait_ready(NAMESPACE, "ray.io/cluster=ray,ray.io/node-type=worker", 2)
    for name in ("ray-head", "ray-worker"):
        deployment = cluster.get("deployment", name, "-n", NAMESPACE)
        pod = deployment["spec"]["template"]["spec"]
        assert pod["containers"][0]["image"] == "rayproject/ray:2.60.0"
        assert pod["runtimeClassName"] == "sandboxed", name
    outputs = platform.outputs()
    assert outputs["namespace"] == NAMESPACE
    assert outputs["client_address"] == "ray://ray-head.platform.svc.cluster.local:10001"


def test_a_second_up_changes_nothing(platform: Stack) -> None:
    result = platform.up()
    changes = result.summary.resource_changes or {}
    assert set(changes) == {"same"}, changes


@pytest.fixture
def mistakes(cluster: Cluster, backend: Path, platform: Stack, tmp_path: Path) -> Iterator[Stack]:
    s = open_stack(project(tmp_path), "mistakes", cluster.env, backend)
    s.set_config({"clusterStack": f"organization/ray-static-outputs-as-inputs/{platform.stack.name}"})
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def failed_up(stack: Stack) -> str:
    with pytest.raises(auto.CommandError) as failure:
        stack.up()
    message = str(failure.value)
    for noise in NOISE:
        assert noise not in message, message
    return message


def test_a_short_secret_token_fails_up_with_nothing_created(mistakes: Stack, cluster: Cluster) -> None:
    mistakes.set_config({"mode": "short-token"})
    mistakes.set_config({"token": "short"}, secret=True)
    message = failed_up(mistakes)
    assert "auth_token: got a 5-character value; expected at least 16 characters." in message, message
    assert "short" not in message.replace("short-token", ""), "the token must not be shown"
    assert not cluster.exists("namespace", "short-token")


def test_a_job_whose_auth_secret_resolves_to_nothing_fails_up(mistakes: Stack, cluster: Cluster) -> None:
    mistakes.set_config({"mode": "job-without-secret"})
    message = failed_up(mistakes)
    assert "auth_secret: got no value; expected the cluster's token Secret" in message, message
    assert cluster.get("jobs", "-n", "default")["items"] == []
