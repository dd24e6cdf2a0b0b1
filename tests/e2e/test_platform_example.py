"""examples/platform on the real engine: a second project that pip-installs ray_static and composes it.

`pulumi install` builds the example's venv from its requirements.txt (ray_static from the checkout, as a
wheel), then the stack deploys a CPU and a GPU cluster side by side plus a ConfigMap, through one explicit
kubernetes provider configured from the example's own config.
"""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ray_static import DEFAULT_IMAGE
from ray_static.version import __version__
from tests.e2e.support import Cluster, Stack, open_stack
from tests.e2e.test_consumers import make_checkout, make_pulumi_home, pulumi_cli
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def platform_project(e2e_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example in a fresh checkout, its venv installed by `pulumi install`."""
    checkout = make_checkout(tmp_path_factory.mktemp("checkout") / "ray-static")
    env = make_pulumi_home(tmp_path_factory.mktemp("pulumi-home"), e2e_env)
    project = checkout / "examples" / "platform"
    pulumi_cli(["install"], env, project)
    return project


@pytest.fixture
def platform(
    platform_project: Path, cluster: Cluster, e2e_env: dict[str, str], backend: Path
) -> Iterator[Stack]:
    # No KUBECONFIG: only the example's explicit provider (kubeconfig from its config) reaches the cluster.
    env = {k: v for k, v in e2e_env.items() if k != "KUBECONFIG"}
    s = open_stack(platform_project, "platform", env, backend)
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def test_ray_static_is_installed_from_the_repository_with_pip(platform_project: Path) -> None:
    python = platform_project / "venv" / "bin" / "python"
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import ray_static, importlib.metadata as m; print(ray_static.__file__);"
            " print(m.version('ray-static'))",
        ],
        cwd="/",
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out[0].startswith(str(platform_project / "venv")), out
    assert out[1] == __version__


def test_platform_example_deploys_two_clusters_and_a_config_map(platform: Stack, cluster: Cluster) -> None:
    platform.set_config({"kubeconfig": str(cluster.kubeconfig), "cpuWorkers": "2", "gpuWorkers": "1"})
    assert all(k.startswith("ray-platform:") for k in platform.stack.get_all_config())
    platform.up()

    outputs = platform.outputs()
    for name, ns in (("cpu", "ray-cpu"), ("gpu", "ray-gpu")):
        fqdn = f"{name}-head.{ns}.svc.cluster.local"
        assert outputs[f"{name}_namespace"] == ns
        assert outputs[f"{name}_gcs_address"] == f"{fqdn}:6379"
        assert outputs[f"{name}_client_address"] == f"ray://{fqdn}:10001"
        assert outputs[f"{name}_dashboard_url"] == f"http://{fqdn}:8265"
        assert len(outputs[f"{name}_auth_token"]) >= 16
        # What a RayJob in another stack takes besides namespace and dashboard_url.
        assert outputs[f"{name}_auth_secret_name"] == f"{name}-auth"
        assert outputs[f"{name}_image"] == DEFAULT_IMAGE
        assert outputs[f"{name}_image_pull_secrets"] == []
        cluster.wait_ready(ns, f"ray.io/cluster={name},ray.io/node-type=head", 1)
    assert outputs["cpu_auth_token"] != outputs["gpu_auth_token"]
    assert outputs["endpoints_config_map"] == "default/ray-endpoints"

    cluster.wait_ready("ray-cpu", "ray.io/cluster=cpu,ray.io/node-type=worker", 2)
    gpu_workers = cluster.wait_ready("ray-gpu", "ray.io/cluster=gpu,ray.io/group=gpu", 1)
    limits = gpu_workers[0]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"
    assert cluster.pods("ray-gpu", "ray.io/cluster=gpu,ray.io/group=default") == []

    data = cluster.get("configmap", "ray-endpoints", "-n", "default")["data"]
    assert data == {
        "cpu-client-address": outputs["cpu_client_address"],
        "cpu-dashboard-url": outputs["cpu_dashboard_url"],
        "gpu-client-address": outputs["gpu_client_address"],
        "gpu-dashboard-url": outputs["gpu_dashboard_url"],
    }

    platform.destroy()
    for ns in ("ray-cpu", "ray-gpu"):
        wait_for(lambda ns=ns: not cluster.exists("namespace", ns), 120, f"namespace {ns} to be deleted")
    assert not cluster.exists("configmap", "ray-endpoints", "default")
