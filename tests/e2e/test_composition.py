"""Composition on the real engine: two clusters in one namespace, and deploying into an existing namespace."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import REPO, Cluster, Stack, make_project, open_stack
from tests.support.waiting import wait_for

PROGRAMS = Path(__file__).parent / "programs"


@pytest.fixture
def two_clusters(cluster: Cluster, backend: Path, tmp_path: Path) -> Iterator[Stack]:
    """The two-cluster test program, with the ray_static package beside it as an importer would have it."""
    project = make_project(tmp_path / "project", program=PROGRAMS / "two_clusters")
    shutil.copytree(REPO / "ray_static", project / "ray_static", ignore=shutil.ignore_patterns("__pycache__"))
    s = open_stack(project, "pair", cluster.env, backend)
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def test_two_clusters_in_one_namespace_deploy_side_by_side(two_clusters: Stack, cluster: Cluster) -> None:
    two_clusters.up()
    for name, workers in (("alpha", 2), ("beta", 1)):
        assert cluster.exists("service", f"{name}-head", "pair")
        cluster.wait_ready("pair", f"ray.io/cluster={name},ray.io/node-type=head", 1)
        cluster.wait_ready("pair", f"ray.io/cluster={name},ray.io/node-type=worker", workers)
    # Each head Service selects only its own cluster's head.
    for name in ("alpha", "beta"):
        endpoints = cluster.get("endpoints", f"{name}-head", "-n", "pair")
        ips = {a["ip"] for subset in endpoints["subsets"] for a in subset["addresses"]}
        head_ips = {
            p["status"]["podIP"] for p in cluster.pods("pair", f"ray.io/cluster={name},ray.io/node-type=head")
        }
        assert ips == head_ips
    outputs = two_clusters.outputs()
    assert outputs["alpha_gcs_address"] == "alpha-head.pair.svc.cluster.local:6379"
    assert outputs["beta_gcs_address"] == "beta-head.pair.svc.cluster.local:6379"

    two_clusters.destroy()
    wait_for(lambda: not cluster.exists("namespace", "pair"), 120, "namespace pair to be deleted")


@pytest.fixture
def existing_namespace(cluster: Cluster) -> Iterator[str]:
    """A namespace someone else owns; deleted by the test fixture, never by the stack."""
    name = "team-existing"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_existing_namespace_is_used_and_survives_destroy(
    existing_namespace: str, cluster: Cluster, backend: Path, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project")
    stack = open_stack(project, "existing", cluster.env, backend)
    try:
        stack.set_config({"namespace": existing_namespace, "createNamespace": "false", "workers": "1"})
        stack.up()
        cluster.wait_ready(existing_namespace, "ray.io/cluster=ray", 2)
        stack.destroy()
        assert cluster.exists("namespace", existing_namespace)
        assert cluster.get("deployments,services", "-n", existing_namespace)["items"] == []
    finally:
        stack.destroy()
        stack.remove()
