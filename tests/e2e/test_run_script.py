"""The paths of a user who already has Pulumi and a cluster: `scripts/run` builds nothing, and plain
`pulumi stack init dev && pulumi up` works in a clone.

"Their" Pulumi is the toolchain's CLI and Python host copied into a directory of their own (as an install
would put them), with the kubernetes provider in a PULUMI_HOME of their own (where `pulumi plugin install`
puts it); PATH holds that directory and the system's, but no Go and nothing of the toolchain cache; the
cluster is the session's running control plane, reached through KUBECONFIG.
"""

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import REPO, Cluster, provider_binary
from tests.support.versions import pinned_versions

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
# A clone as `git clone` gives it: no venv, no state, no caches or build output.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", "venv", ".state", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules", "sdks",
    "*.egg-info", "build", "dist",
)  # fmt: skip
WORKERS = 2


def toolchain_dir(piece: str) -> Path:
    """Where scripts/toolchain.sh keeps a built piece."""
    out = subprocess.run(
        [str(REPO / "scripts" / "toolchain.sh"), "dir", piece], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip())


def run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Runs a command; a failure raises with its whole output."""
    proc = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} (in {cwd}) exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def clone(dest: Path, namespace: str) -> Path:
    """A copy of the repository as a clone holds it, its dev stack deploying into `namespace`."""
    shutil.copytree(REPO, dest, ignore=NOT_IN_A_CLONE)
    (dest / "Pulumi.dev.yaml").write_text(
        f'config:\n  ray-static:namespace: {namespace}\n  ray-static:workers: "{WORKERS}"\n'
    )
    return dest


@pytest.fixture(scope="module")
def user_env(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user's environment: their pulumi and kubectl on PATH, their PULUMI_HOME, KUBECONFIG; no Go."""
    home = tmp_path_factory.mktemp("user")
    bin_dir = home / "pulumi" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy2(toolchain_dir("pulumi") / "pulumi", bin_dir)
    host = toolchain_dir("language-python")
    for name in ("pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        shutil.copy2(host / name, bin_dir)
    shutil.copy2(toolchain_dir("kubernetes") / "kubectl", bin_dir)
    env = {
        "HOME": os.environ["HOME"],
        "PATH": ":".join((str(bin_dir), *SYSTEM_PATH)),
        "PULUMI_HOME": str(home / ".pulumi"),
        "KUBECONFIG": str(cluster.kubeconfig),
        "RAY_STATIC_CACHE": str(home / "empty-cache"),
        **{k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR")},
    }
    assert shutil.which("go", path=env["PATH"]) is None, "the user's PATH must not hold Go"
    assert shutil.which("pulumi", path=env["PATH"]) == str(bin_dir / "pulumi")
    (home / "empty-cache").mkdir()
    version = pinned_versions()["PULUMI_K8S_PROVIDER_VERSION"]
    plugin = ["plugin", "install", "resource", "kubernetes", f"v{version}", "--file", str(provider_binary())]
    run([str(bin_dir / "pulumi"), *plugin], env, home)
    return env


def stack_outputs(project: Path, env: dict[str, str]) -> dict[str, Any]:
    """`pulumi stack output --json` of the selected stack."""
    return json.loads(run(["pulumi", "stack", "output", "--json"], env, project).stdout)


def assert_deployed(cluster: Cluster, namespace: str) -> None:
    """The cluster's Deployments exist with every replica ready."""
    deployments = {d["metadata"]["name"]: d for d in cluster.get("deployments", "-n", namespace)["items"]}
    assert set(deployments) == {"ray-head", "ray-worker"}
    assert deployments["ray-worker"]["status"].get("readyReplicas") == WORKERS
    assert deployments["ray-head"]["status"].get("readyReplicas") == 1


@pytest.fixture(scope="module")
def run_script(
    cluster: Cluster, user_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, subprocess.CompletedProcess[str], float]]:
    """`scripts/run` in a clone sharing the repository's venv (bootstrap.sh made it); destroyed afterwards."""
    project = clone(tmp_path_factory.mktemp("run") / "ray-static", "ray-run-script")
    (project / "venv").symlink_to(REPO / "venv")
    t0 = time.monotonic()
    proc = subprocess.run(
        ["scripts/run"], env=user_env, cwd=project, capture_output=True, text=True, timeout=900, check=False
    )
    seconds = time.monotonic() - t0
    print(f"scripts/run with the user's pulumi and cluster: {seconds:.1f} s")
    try:
        yield project, proc, seconds
    finally:
        run(["scripts/run", "destroy"], user_env, project)
        assert not cluster.exists("namespace", "ray-run-script")


def test_run_uses_your_pulumi_and_cluster_and_builds_nothing(
    run_script: tuple[Path, subprocess.CompletedProcess[str], float],
    user_env: dict[str, str],
    cluster: Cluster,
) -> None:
    project, proc, seconds = run_script
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    pulumi = shutil.which("pulumi", path=user_env["PATH"])
    assert f"[run] pulumi: {pulumi} v" in output and "(yours, from PATH)" in output, output
    assert "[run] target: your cluster" in output, output
    # Nothing built or fetched: no step lines, and the (empty) toolchain cache stays empty.
    assert "step " not in output and "to build" not in output and "[toolchain]" not in output, output
    assert list(Path(user_env["RAY_STATIC_CACHE"]).iterdir()) == []
    assert seconds < 120, f"scripts/run took {seconds:.0f} s with nothing to build"

    state_env = {
        **user_env,
        "PULUMI_BACKEND_URL": f"file://{project / '.state' / 'pulumi'}",
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(project / ".state" / "passphrase"),
    }
    outputs = stack_outputs(project, state_env)
    assert outputs["namespace"] == "ray-run-script"
    assert outputs["workers"] == WORKERS
    assert outputs["client_address"] == "ray://ray-head.ray-run-script.svc.cluster.local:10001"
    assert_deployed(cluster, "ray-run-script")


def test_pulumi_stack_init_and_up_in_a_clone(
    cluster: Cluster, user_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The README's first path: with Pulumi installed, `pulumi stack init dev && pulumi up` in the clone.

    The Python runtime creates `venv` from requirements.txt (Pulumi.yaml: toolchain pip, virtualenv venv);
    the user's backend and passphrase are what `pulumi login --local` and the passphrase prompt would give.
    """
    project = clone(tmp_path_factory.mktemp("direct") / "ray-static", "ray-direct")
    assert not (project / "venv").exists()
    env = {
        **user_env,
        "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('direct-state')}",
        "PULUMI_CONFIG_PASSPHRASE": "ray-static-e2e",
    }
    run(["pulumi", "stack", "init", "dev"], env, project)
    try:
        run(["pulumi", "up", "--yes"], env, project, timeout=900)
        assert (project / "venv" / "bin" / "python").is_file()
        outputs = stack_outputs(project, env)
        assert outputs["namespace"] == "ray-direct"
        assert_deployed(cluster, "ray-direct")
    finally:
        run(["pulumi", "destroy", "--yes"], env, project)
        run(["pulumi", "stack", "rm", "dev", "--yes"], env, project)
    assert not cluster.exists("namespace", "ray-direct")
    assert list(Path(user_env["RAY_STATIC_CACHE"]).iterdir()) == []


def test_run_without_pulumi_and_go_says_what_is_needed_in_one_sentence(
    user_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No pulumi on PATH and no Go: one sentence naming the pieces, their typical time and the ways out."""
    project = clone(tmp_path_factory.mktemp("nogo") / "ray-static", "ray-nogo")
    (project / "venv").symlink_to(REPO / "venv")
    kubectl_only = tmp_path_factory.mktemp("kubectl-only")
    shutil.copy2(toolchain_dir("kubernetes") / "kubectl", kubectl_only)
    env = {**user_env, "PATH": ":".join((str(kubectl_only), *SYSTEM_PATH))}
    assert shutil.which("pulumi", path=env["PATH"]) is None
    proc = subprocess.run(
        ["scripts/run"], env=env, cwd=project, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "[run] Go is needed to build language-python pulumi (typical "
    ), proc.stdout + proc.stderr
    assert "install Go (https://go.dev/dl/), or install the Pulumi CLI 3.208.0 or newer" in lines[0]
    assert "step " not in proc.stdout
    assert list(Path(user_env["RAY_STATIC_CACHE"]).iterdir()) == []


def test_the_readme_starts_with_the_plain_pulumi_path_and_the_minimum_version() -> None:
    """The quick start comes first and names the same minimum Pulumi that scripts/run enforces."""
    readme = (REPO / "README.md").read_text()
    minimum = next(
        line.split("=", 1)[1]
        for line in (REPO / "scripts" / "run").read_text().splitlines()
        if line.startswith("MIN_PULUMI=")
    )
    sections = [line for line in readme.splitlines() if line.startswith("## ")]
    assert sections[0] == "## Quick start"
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "pulumi stack init dev && pulumi up" in quick_start
    assert f"({minimum} or newer" in quick_start
    assert "`scripts/run` is the zero-install path" in quick_start
