"""Secure defaults on the real control plane: restricted Pod Security, token Secret, NetworkPolicy."""

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import Cluster, Stack, make_project, open_stack

NAMESPACE = "ray-secure"
TOKEN = "e2e-given-token-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="module")
def stack(cluster: Cluster, backend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with a user-given token and one allowed client namespace."""
    project = make_project(tmp_path_factory.mktemp("secure") / "project")
    s = open_stack(project, "secure", cluster.env, backend)
    s.set_config({"namespace": NAMESPACE, "workers": "1", "allowedClientNamespaces": '["ml-clients"]'})
    s.set_config({"authToken": TOKEN}, secret=True)
    s.up()
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def test_namespace_enforces_restricted_and_ray_pods_are_admitted(stack: Stack, cluster: Cluster) -> None:
    labels = cluster.get("namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    cluster.wait_ready(NAMESPACE, "ray.io/cluster=ray", 2)


def test_non_compliant_pod_is_rejected(stack: Stack, cluster: Cluster) -> None:
    # A pod with no securityContext runs as root with default capabilities: `restricted` must refuse it,
    # which proves the label is enforced and not decorative.
    result = cluster.kubectl(
        "run",
        "intruder",
        "-n",
        NAMESPACE,
        "--image=busybox",
        "--restart=Never",
        "--",
        "sleep",
        "1",
        check=False,
    )
    assert result.returncode != 0
    assert "violates PodSecurity" in result.stderr and "restricted" in result.stderr, result.stderr


def test_token_is_in_the_secret_and_never_plaintext_in_state(stack: Stack, cluster: Cluster) -> None:
    secret = cluster.get("secret", "ray-auth", "-n", NAMESPACE)
    values = {base64.b64decode(v).decode() for v in secret["data"].values()}
    assert TOKEN in values
    assert stack.stack.outputs()["auth_token"].secret
    assert TOKEN not in stack.stored_state()
    # `pulumi config set --secret` keeps the given token encrypted in the stack's config file too.
    config_file = Path(stack.stack.workspace.work_dir) / f"Pulumi.{stack.stack.name}.yaml"
    assert "authToken" in config_file.read_text() and TOKEN not in config_file.read_text()
    # Every Ray container, init containers included, reads the token from that Secret, as a read-only
    # file: the value is in no container's environment.
    for name in ("ray-head", "ray-worker"):
        pod = cluster.get("deployment", name, "-n", NAMESPACE)["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["ray-auth"]["secret"]["secretName"] == "ray-auth"
        for container in pod["containers"] + pod.get("initContainers", []):
            env = {e["name"]: e for e in container.get("env", [])}
            assert env["RAY_AUTH_MODE"]["value"] == "token"
            assert env["RAY_AUTH_TOKEN_PATH"]["value"] == "/var/run/secrets/ray/token"
            assert "RAY_AUTH_TOKEN" not in env
            mounts = {m["name"]: m for m in container["volumeMounts"]}
            assert mounts["ray-auth"]["readOnly"] is True


def test_network_policy_admits_only_the_cluster_and_allowed_clients(stack: Stack, cluster: Cluster) -> None:
    policies = cluster.get("networkpolicies", "-n", NAMESPACE)["items"]
    assert len(policies) == 1
    spec = policies[0]["spec"]
    assert spec["podSelector"]["matchLabels"]["ray.io/cluster"] == "ray"
    assert "Ingress" in spec["policyTypes"]
    peers = [peer for rule in spec["ingress"] for peer in rule.get("from", [])]
    assert any(p.get("podSelector", {}).get("matchLabels", {}).get("ray.io/cluster") == "ray" for p in peers)
    assert any(
        p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        == "ml-clients"
        for p in peers
    )
    # Every rule lists exact ports: no rule opens the whole pod.
    assert all(rule.get("ports") for rule in spec["ingress"])
