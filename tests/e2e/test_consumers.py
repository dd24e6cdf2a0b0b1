"""The component from another Pulumi language: the plugin in provider/ and the YAML program in examples/yaml.

Real engine, real plugin: the CLI installs the plugin's venv and asks it for its schema, then the YAML
program's `pulumi up` has the engine run RayCluster remotely (Construct) against the local control plane.
"""

import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.provider.experimental.component import ComponentProvider

from ray_static import RayCluster, RayJob, RayServe
from ray_static.schema_docs import with_inherited_descriptions, with_secrets
from ray_static.version import __version__
from tests.e2e.support import REPO, Cluster, Stack, open_stack, provider_binary, wait_for
from tests.support.versions import pinned_versions

# What a checkout of ray-static holds for its consumers (the examples point at ../../provider, ../..).
CHECKOUT_FILES = ("pyproject.toml", "README.md", "docs/PYPI.md", "ray_static", "provider", "examples")
IGNORED = shutil.ignore_patterns("__pycache__", "venv", "Pulumi.*.yaml", "*.egg-info", "build")


def make_checkout(dest: Path) -> Path:
    """Copies the repository's package, plugin and examples to `dest` (no venvs, no stack files)."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in CHECKOUT_FILES:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=IGNORED)
        else:
            (dest / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / item)
    return dest


def pulumi_cli(
    args: list[str], env: Mapping[str, str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Runs the `pulumi` CLI; a failure raises with its whole output."""
    proc = subprocess.run(
        ["pulumi", *args],
        check=False,
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"pulumi {' '.join(args)} (in {cwd}) exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def make_pulumi_home(dest: Path, env: Mapping[str, str]) -> dict[str, str]:
    """A PULUMI_HOME whose plugin cache holds the toolchain's kubernetes provider; returns the env to use.

    Installing a package or a project's dependencies (`pulumi package ...`, `pulumi install`) checks the
    plugin cache only, not $PATH, and would try to download pulumi-resource-kubernetes otherwise.
    """
    home_env = {k: v for k, v in env.items() if k != "KUBECONFIG"}
    home_env.update(PULUMI_HOME=str(dest), PULUMI_CONFIG_PASSPHRASE="ray-static-e2e")
    binary = str(provider_binary())
    k8s_version = pinned_versions()["PULUMI_K8S_PROVIDER_VERSION"]
    pulumi_cli(["plugin", "install", "resource", "kubernetes", k8s_version, "--file", binary], home_env, dest)
    return home_env


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository as a consumer would clone it."""
    return make_checkout(tmp_path_factory.mktemp("checkout") / "ray-static")


@pytest.fixture(scope="module")
def home_env(e2e_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Toolchain env with a PULUMI_HOME of the module's own and no KUBECONFIG (explicit providers only)."""
    return make_pulumi_home(tmp_path_factory.mktemp("pulumi-home"), e2e_env)


@pytest.fixture(scope="module")
def plugin_schema(checkout: Path, home_env: dict[str, str]) -> dict[str, Any]:
    """The schema the plugin serves; getting it installs the plugin's venv from its requirements.txt."""
    proc = pulumi_cli(["package", "get-schema", str(checkout / "provider")], home_env, checkout)
    return json.loads(proc.stdout)


def summary(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Each resource's and type's properties as (type or $ref, description, plain, secret), plus required
    lists.

    (The CLI re-serializes what the plugin sends: it drops item-level descriptions and empty lists.)
    """

    def props(p: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
        return {
            k: (v.get("type") or v.get("$ref"), v.get("description"), v.get("plain"), v.get("secret"))
            for k, v in p.items()
        }

    out: dict[str, Any] = {}
    for token, r in schema["resources"].items():
        out[token] = (props(r["inputProperties"]), props(r["properties"]), sorted(r.get("required", [])))
    for token, t in schema["types"].items():
        out[token] = props(t["properties"])
    return out


def test_plugin_serves_the_inferred_schema(plugin_schema: dict[str, Any], checkout: Path) -> None:
    assert plugin_schema["name"] == "ray-static"
    assert plugin_schema["version"] == __version__  # ray_static/version.py
    assert plugin_schema["resources"]["ray-static:index:RayCluster"]["isComponent"] is True
    assert plugin_schema["resources"]["ray-static:index:RayJob"]["isComponent"] is True
    assert plugin_schema["resources"]["ray-static:index:RayServe"]["isComponent"] is True
    inferred = ComponentProvider([RayCluster, RayJob, RayServe], "ray-static").schema
    assert isinstance(inferred, str)
    # What the plugin adds to inference: the fields inherited from PodArgs are described too, and the
    # secret options are marked secret.
    expected = json.loads(with_secrets(with_inherited_descriptions(inferred, "ray-static")))
    assert summary(plugin_schema) == summary(expected)
    assert (checkout / "provider" / "venv" / "bin" / "python").exists()


@pytest.fixture
def yaml_stack(
    plugin_schema: dict[str, Any], checkout: Path, home_env: dict[str, str], backend: Path
) -> Iterator[Stack]:
    """examples/yaml as a stack (the plugin is installed first, by `plugin_schema`)."""
    s = open_stack(checkout / "examples" / "yaml", "yaml", home_env, backend)
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def test_yaml_program_deploys_a_cluster_through_the_plugin(
    yaml_stack: Stack, cluster: Cluster, home_env: dict[str, str]
) -> None:
    assert "KUBECONFIG" not in home_env  # only the program's explicit provider knows the cluster
    yaml_stack.set_config({"kubeconfig": str(cluster.kubeconfig), "workers": "-1"})
    with pytest.raises(auto.CommandError) as failure:
        yaml_stack.up()
    # Bad input through the plugin: one sentence naming the property as YAML spells it, no traceback.
    message = str(failure.value)
    assert "workers: got -1; expected a whole number from 0 to 1000." in message, message
    assert "Traceback" not in message and 'File "' not in message, message
    assert not cluster.exists("namespace", "ray-yaml")

    yaml_stack.set_config({"workers": "2"})
    yaml_stack.up()
    outputs = yaml_stack.outputs()
    token = outputs.pop("authToken")
    assert outputs == {
        "namespace": "ray-yaml",
        "gcsAddress": "ray-head.ray-yaml.svc.cluster.local:6379",
        "clientAddress": "ray://ray-head.ray-yaml.svc.cluster.local:10001",
        "dashboardUrl": "http://ray-head.ray-yaml.svc.cluster.local:8265",
        "helloSubmissionId": outputs["helloSubmissionId"],
        "helloStatus": "SUCCEEDED",  # the Job awaited to completion (KWOK completes its pod)
        "serveUrl": "http://ray-serve.ray-yaml.svc.cluster.local:8000",
    }
    assert outputs["helloSubmissionId"].startswith("hello-")
    # No token given: the component generated one (an engine Stash), a secret, stable across updates.
    assert isinstance(token, str) and len(token) == 43
    assert yaml_stack.stack.outputs()["authToken"].secret
    assert token not in yaml_stack.stored_state()
    yaml_stack.up()
    assert yaml_stack.outputs()["authToken"] == token
    cluster.wait_ready("ray-yaml", "ray.io/cluster=ray,ray.io/node-type=head", 1)
    # `workers: 2` crossed the wire as a float; the plugin hands RayCluster an int.
    cluster.wait_ready("ray-yaml", "ray.io/cluster=ray,ray.io/node-type=worker", 2)
    secret = cluster.get("secret", "ray-auth", "-n", "ray-yaml")
    assert secret["metadata"]["name"] == "ray-auth"

    # The component ran remotely, and every Kubernetes child went through the program's provider `k8s`.
    deployment = yaml_stack.stack.export_stack().deployment
    assert deployment is not None
    resources = deployment["resources"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["type"], []).append(r)
    assert [r["urn"].rsplit("::", 1)[-1] for r in by_type["ray-static:index:RayCluster"]] == ["ray"]
    assert [r["urn"].rsplit("::", 1)[-1] for r in by_type["ray-static:index:RayJob"]] == ["hello"]
    assert [r["urn"].rsplit("::", 1)[-1] for r in by_type["ray-static:index:RayServe"]] == ["models"]
    jobs = {r["urn"].rsplit("::", 1)[-1]: r for r in by_type["kubernetes:batch/v1:Job"]}
    # `timeoutSeconds: 600` crossed the wire as a float too: the Job's deadline is the int.
    assert jobs["hello-submitter"]["inputs"]["spec"]["activeDeadlineSeconds"] == 600
    # So did `num_replicas: 2` inside Serve's free-form config: Serve gets the int.
    deployer = jobs["models-deployer"]["inputs"]["spec"]["template"]["spec"]["containers"][0]
    config = next(json.loads(a) for a in deployer["command"] if a.startswith("{"))
    [fruit] = config["applications"]
    assert fruit["deployments"] == [{"name": "MangoStand", "num_replicas": 2, "user_config": {"price": 3}}]
    assert '"num_replicas": 2,' in json.dumps(fruit["deployments"][0])
    children = [r for r in resources if r["type"].startswith("kubernetes:")]
    # The cluster: Namespace, two Services (the head's, the workers' GCS), two Deployments, Secret,
    # ServiceAccount, NetworkPolicy. The RayJob's Job. The RayServe: its deployer Job, its keeper's
    # Deployment, ServiceAccount, Role and RoleBinding, the serve Service.
    assert len(children) == 15
    assert {r["provider"].split("::")[-2] for r in children} == {"k8s"}

    yaml_stack.destroy()
    wait_for(lambda: not cluster.exists("namespace", "ray-yaml"), 120, "namespace ray-yaml to be deleted")
