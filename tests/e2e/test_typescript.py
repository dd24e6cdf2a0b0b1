"""examples/typescript on the real engine: a TypeScript platform stack using the component through its plugin.

Our Node.js language host (scripts/language-nodejs-host) runs the program with @pulumi/pulumi from npm;
`pulumi package add ../../provider` has it generate the TypeScript SDK (pkg/v3's codegen/nodejs) and link
it into package.json; `tsc` type-checks the program against that SDK; then the stack deploys two
RayClusters through one explicit kubernetes provider, and destroys them.
"""

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from ray_static.version import __version__
from tests.e2e.support import REPO, Cluster, Stack, open_stack, wait_for
from tests.e2e.test_consumers import make_checkout, make_pulumi_home, pulumi_cli

HOST_BUILD = REPO / "scripts" / "language-nodejs-host" / "build.sh"
NAMESPACES = {"cpu": "ray-ts-cpu", "gpu": "ray-ts-gpu"}


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    """Runs a command; a failure raises with its whole output. Returns stdout."""
    proc = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} (in {cwd}) exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout


@pytest.fixture(scope="module")
def node_env(e2e_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The toolchain env plus our Node.js host (built if missing), with a PULUMI_HOME and no KUBECONFIG."""
    missing = [tool for tool in ("node", "npm") if not shutil.which(tool, path=e2e_env["PATH"])]
    assert not missing, f"{missing} not on PATH: the TypeScript path needs Node.js and npm"
    run([str(HOST_BUILD), "build"], e2e_env, REPO)
    host_dir = run([str(HOST_BUILD), "dir"], e2e_env, REPO).strip()
    env = make_pulumi_home(tmp_path_factory.mktemp("pulumi-home"), e2e_env)
    # Appended, as `build.sh env` does: the symlink beside the toolchain's pulumi is what the engine finds.
    env["PATH"] = f"{env['PATH']}:{host_dir}"
    assert shutil.which("pulumi-language-nodejs", path=env["PATH"])
    return env


@pytest.fixture(scope="module")
def ts_project(node_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/typescript in a fresh checkout, after `pulumi package add ../../provider`."""
    project = make_checkout(tmp_path_factory.mktemp("checkout") / "ray-static") / "examples" / "typescript"
    assert not (project / "sdks").exists() and not (project / "node_modules").exists()
    t0 = time.monotonic()
    proc = pulumi_cli(["package", "add", "../../provider"], node_env, project, timeout=900)
    print(f"pulumi package add: {time.monotonic() - t0:.0f}s")
    assert 'import * as rayStatic from "@pulumi/ray-static";' in proc.stdout, proc.stdout
    assert "using pulumi-language-nodejs from $PATH" not in proc.stdout + proc.stderr
    return project


def test_package_add_generates_links_and_installs_the_sdk(ts_project: Path) -> None:
    package = json.loads((ts_project / "package.json").read_text())
    assert package["dependencies"]["@pulumi/ray-static"] == "file:sdks/ray-static"
    assert package["dependencies"]["@pulumi/pulumi"] == "3.270.0"
    assert package["dependencies"]["@pulumi/kubernetes"] == "4.25.0"
    # The local SDK compiles itself with tsc on install (its postinstall script), so npm must be let run it.
    assert package["allowScripts"]["file:sdks/ray-static"] is True
    assert "ray-static: ../../provider" in (ts_project / "Pulumi.yaml").read_text()

    sdk = ts_project / "node_modules" / "@pulumi" / "ray-static"
    assert sdk.resolve() == (ts_project / "sdks" / "ray-static").resolve()
    meta = json.loads((sdk / "package.json").read_text())
    assert meta["pulumi"] == {"resource": True, "name": "ray-static", "version": __version__}
    assert (sdk / "bin" / "index.js").is_file()
    typings = (sdk / "bin" / "rayCluster.d.ts").read_text()
    for prop in ("namespace", "workers", "headResources", "workerGroups", "clientAddress", "authToken"):
        assert prop in typings, prop


def test_tsc_type_checks_the_program_against_the_generated_sdk(
    ts_project: Path, node_env: dict[str, str]
) -> None:
    tsc = str(ts_project / "node_modules" / ".bin" / "tsc")
    t0 = time.monotonic()
    run([tsc, "--noEmit"], node_env, ts_project)
    print(f"tsc --noEmit: {time.monotonic() - t0:.1f}s")

    # The TypeScript example of docs/composing.md type-checks too.
    page = (REPO / "docs/composing.md").read_text()
    snippet = page.split("```typescript\n", 1)[1].split("```", 1)[0]
    (ts_project / "readme.ts").write_text(snippet)
    options = ["--strict", "--skipLibCheck", "--module", "commonjs", "--moduleResolution", "node"]
    try:
        run([tsc, "--noEmit", *options, "--target", "es2020", "readme.ts"], node_env, ts_project)
    finally:
        (ts_project / "readme.ts").unlink()

    # The check has teeth: a wrong input type and an unknown input fail against the SDK's declarations.
    bad = ts_project / "bad.ts"
    bad.write_text(
        'import * as rayStatic from "@pulumi/ray-static";\n'
        'new rayStatic.RayCluster("x", { namespace: "x", workers: "two" });\n'
        'new rayStatic.RayCluster("y", { namespace: "y", replicas: 2 });\n'
    )
    try:
        proc = subprocess.run(
            [tsc, "--noEmit", *options, "--target", "es2020", "bad.ts"],
            env=node_env,
            cwd=ts_project,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        bad.unlink()
    assert proc.returncode != 0
    assert "bad.ts(2," in proc.stdout and "'string' is not assignable" in proc.stdout, proc.stdout
    assert "bad.ts(3," in proc.stdout and "'replicas'" in proc.stdout, proc.stdout


@pytest.fixture
def ts_stack(ts_project: Path, node_env: dict[str, str], backend: Path) -> Iterator[Stack]:
    s = open_stack(ts_project, "typescript", node_env, backend)
    yield s
    try:
        s.destroy()
    finally:
        s.remove()


def test_typescript_stack_deploys_and_destroys_two_clusters(
    ts_stack: Stack, cluster: Cluster, node_env: dict[str, str]
) -> None:
    assert "KUBECONFIG" not in node_env  # only the program's explicit provider knows the cluster
    ts_stack.set_config({"kubeconfig": str(cluster.kubeconfig), "cpuWorkers": "-1", "gpuWorkers": "1"})
    with pytest.raises(auto.CommandError) as failure:
        ts_stack.up()
    # Bad input from TypeScript: the plugin's one sentence, through our host, no traceback.
    message = str(failure.value)
    assert "workers: got -1; expected a whole number from 0 to 1000." in message, message
    assert "Traceback" not in message and 'File "' not in message, message
    assert not cluster.exists("namespace", NAMESPACES["cpu"])

    ts_stack.set_config({"cpuWorkers": "2"})
    _, steps = ts_stack.preview()  # a dry run of the program (--dry-run)
    planned = {s.urn.rsplit("::", 1)[-1] for s in steps if s.type == "ray-static:index:RayCluster"}
    assert planned == {"cpu", "gpu"}
    t0 = time.monotonic()
    ts_stack.up()
    print(f"pulumi up: {time.monotonic() - t0:.0f}s")
    assert not any("using pulumi-language-nodejs from $PATH" in line for line in ts_stack.log)

    outputs = ts_stack.outputs()
    fqdn = {name: f"{name}-head.{ns}.svc.cluster.local" for name, ns in NAMESPACES.items()}
    assert outputs == {
        "clientAddress": f"ray://{fqdn['cpu']}:10001",
        "gpuClientAddress": f"ray://{fqdn['gpu']}:10001",
        "namespaces": [NAMESPACES["cpu"], NAMESPACES["gpu"]],
        "dashboardUrls": {name: f"http://{host}:8265" for name, host in fqdn.items()},
    }
    for name, ns in NAMESPACES.items():
        cluster.wait_ready(ns, f"ray.io/cluster={name},ray.io/node-type=head", 1)
    cluster.wait_ready(NAMESPACES["cpu"], "ray.io/cluster=cpu,ray.io/node-type=worker", 2)
    gpu_workers = cluster.wait_ready(NAMESPACES["gpu"], "ray.io/cluster=gpu,ray.io/group=gpu", 1)
    assert gpu_workers[0]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"

    # Both components ran remotely in the plugin, and every Kubernetes child went through `platform-k8s`.
    deployment = ts_stack.stack.export_stack().deployment
    assert deployment is not None
    resources: list[dict[str, Any]] = deployment["resources"]
    components = [
        r["urn"].rsplit("::", 1)[-1] for r in resources if r["type"] == "ray-static:index:RayCluster"
    ]
    assert sorted(components) == ["cpu", "gpu"]
    children = [r for r in resources if r["type"].startswith("kubernetes:")]
    assert children and {r["provider"].split("::")[-2] for r in children} == {"platform-k8s"}

    t0 = time.monotonic()
    ts_stack.destroy()
    print(f"pulumi destroy: {time.monotonic() - t0:.0f}s")
    for ns in NAMESPACES.values():
        wait_for(lambda ns=ns: not cluster.exists("namespace", ns), 120, f"namespace {ns} to be deleted")
