"""RayServe on the real engine and control plane: the program's `serveConfig` creates the deployer Job,
the keeper and `<cluster>-serve`; a no-op `up` changes nothing; a changed config replaces the Job alone;
removing the key removes the RayServe.

KWOK's nodes run no container (a Job's pod is marked Succeeded, a Deployment's pod Ready), so this proves
the Kubernetes and Pulumi side (admission under the `restricted` Pod Security Standard, RBAC, awaiting,
names, replacement, deletion); the deployer and keeper against real Serve are the real node's to prove.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from tests.e2e.support import Cluster, Stack, make_project, open_stack

NAMESPACE = "serve"
FRUIT = {"name": "fruit", "import_path": "fruit.app:app", "route_prefix": "/fruit"}


@pytest.fixture(scope="module")
def stack(cluster: Cluster, backend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    project = make_project(tmp_path_factory.mktemp("serve") / "project")
    s = open_stack(project, "serve", cluster.env, backend)
    s.set_config({"namespace": NAMESPACE, "clusterName": "lab", "workers": "1"})
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def changed_steps(stack: Stack) -> list[tuple[str, str, str]]:
    _, steps = stack.preview()
    return [(s.op, s.type, s.urn.rsplit("::", 1)[-1]) for s in steps if s.op != auto.OpType.SAME]


def test_serve_config_deploys_and_a_no_op_up_changes_nothing(stack: Stack, cluster: Cluster) -> None:
    stack.set_config({"serveConfig": json.dumps({"applications": [FRUIT]})})
    stack.up()
    assert stack.outputs()["serve_url"] == f"http://lab-serve.{NAMESPACE}.svc.cluster.local:8000"
    service = cluster.get("service", "lab-serve", "-n", NAMESPACE)
    assert service["spec"]["selector"] == {"ray.io/cluster": "lab", "ray-static/serve-proxy": "true"}
    keeper = cluster.get("deployment", "lab-serve-keeper", "-n", NAMESPACE)
    assert keeper["status"].get("readyReplicas") == 1
    jobs = cluster.get("jobs", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=deployer")
    assert len(jobs["items"]) == 1
    assert changed_steps(stack) == []


def test_a_changed_config_replaces_the_deployer_job_alone(stack: Stack) -> None:
    stack.set_config({"serveConfig": json.dumps({"applications": [{**FRUIT, "route_prefix": "/f"}]})})
    steps = changed_steps(stack)
    assert {urn for _, _, urn in steps} == {"lab-serve-deployer"}
    stack.up()


def test_removing_the_key_removes_the_rayserve(stack: Stack, cluster: Cluster) -> None:
    stack.set_config({"serveConfig": ""})
    stack.up()
    left = cluster.get("deployments,jobs,services", "-n", NAMESPACE)["items"]
    assert not [o["metadata"]["name"] for o in left if "serve" in o["metadata"]["name"]]
