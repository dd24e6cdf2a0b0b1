"""Upgrading a running cluster from the release whose generated token was a Python dynamic provider.

The token moves to an engine Stash, so it is generated anew once: the upgrade must say so in its preview,
and must restart every Ray pod together with the new token (never a cluster mixing two tokens).
"""

import base64
import io
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from ray_static import constants as c
from tests.e2e.support import REPO, Cluster, Stack, make_project, open_stack

PREVIOUS_RELEASE = "826c5e9"
"""The last commit whose generated token was a `pulumi-python:dynamic:Resource`."""
NAMESPACE = "ray-upgrade"
PODS = "ray.io/cluster=ray"


def previous_program(dest: Path) -> Path:
    """The previous release's Pulumi program, from this clone's history."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE, "Pulumi.yaml", "__main__.py", "ray_static"],
            check=True,
            capture_output=True,
        ).stdout
    except subprocess.CalledProcessError as error:
        reason = error.stderr.decode().strip()
        raise AssertionError(
            f"the upgrade test needs commit {PREVIOUS_RELEASE} in this clone: {reason}"
        ) from error
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    (dest / "venv").symlink_to(REPO / "venv")
    return dest


@pytest.fixture(scope="module")
def stack(cluster: Cluster, backend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack deployed by the previous release, 2 workers in its own namespace."""
    project = previous_program(tmp_path_factory.mktemp("upgrade") / "project")
    s = open_stack(project, "upgrade", cluster.env, backend)
    s.set_config({"workers": "2", "namespace": NAMESPACE})
    s.up()
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def fingerprints(cluster: Cluster) -> set[str | None]:
    pods = cluster.pods(NAMESPACE, PODS)
    return {p["metadata"].get("annotations", {}).get(c.AUTH_TOKEN_FINGERPRINT_ANNOTATION) for p in pods}


def test_upgrade_replaces_the_token_once_and_restarts_every_pod_with_it(
    stack: Stack, cluster: Cluster
) -> None:
    old_token = stack.outputs()["auth_token"]
    old_pods = {p["metadata"]["uid"] for p in cluster.pods(NAMESPACE, PODS)}
    assert len(old_pods) == 3

    project = Path(stack.stack.workspace.work_dir)
    (project / "__main__.py").unlink()
    shutil.rmtree(project / "ray_static")
    make_project(project)

    # The preview says what is coming: the old token resource goes, a Stash comes, the pods roll.
    _, steps = stack.preview()
    ops = {(s.op, s.type) for s in steps if s.op != auto.OpType.SAME}
    assert (auto.OpType.DELETE, "pulumi-python:dynamic:Resource") in ops, ops
    assert (auto.OpType.CREATE, "pulumi:index:Stash") in ops, ops
    assert (auto.OpType.UPDATE, "kubernetes:apps/v1:Deployment") in ops, ops

    stack.up()
    new_token = stack.outputs()["auth_token"]
    assert new_token != old_token and len(new_token) == 43
    secret = cluster.get("secret", "ray-auth", "-n", NAMESPACE)
    assert base64.b64decode(secret["data"]["token"]).decode() == new_token
    pods = cluster.wait_ready(NAMESPACE, PODS, 3)
    assert not old_pods & {p["metadata"]["uid"] for p in pods}, "a pod kept running with the old token"
    marks = fingerprints(cluster)
    assert len(marks) == 1 and None not in marks, marks
    state = stack.stored_state()
    assert "pulumi-python:dynamic:Resource" not in state and new_token not in state

    preview, _ = stack.preview()
    changes = {op: n for op, n in preview.change_summary.items() if op != auto.OpType.SAME}
    assert changes == {}, f"the upgraded stack is not at rest: {changes}"
