"""Helpers for the end-to-end tests: the real Pulumi CLI, provider and a local control plane.

Nothing here is mocked: stacks run through the Automation API (which drives the `pulumi` CLI built by
`scripts/toolchain.sh`), and the cluster is the KWOK-backed control plane from `scripts/cluster.sh`.
"""

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from tests.support.waiting import wait_for  # noqa: F401 (test_consumers and test_typescript import it from here)

REPO = Path(__file__).resolve().parents[2]
PROJECT = "ray-static"
# Files that make up the Pulumi program; copied into a temporary project so tests never write stack
# config files into the clone.
PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "program", "ray_static")
PASSPHRASE = "ray-static-e2e"


def toolchain_env() -> dict[str, str]:
    """The environment `scripts/toolchain.sh env` asks for (built binaries first on PATH, offline flags)."""
    out = subprocess.run(
        [str(REPO / "scripts" / "toolchain.sh"), "env"], check=True, capture_output=True, text=True
    ).stdout
    env = dict(os.environ)
    for raw in out.splitlines():
        line = raw.strip()
        if line.startswith("unset "):
            for key in line.removeprefix("unset ").split():
                env.pop(key, None)
            continue
        if not line.startswith("export ") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip().strip('"').strip("'")
        env[key] = value.replace("$PATH", os.environ.get("PATH", "")).replace(
            "${PATH}", os.environ.get("PATH", "")
        )
    missing = [
        b
        for b in ("pulumi", "pulumi-language-python", "kubectl", "kwokctl")
        if not shutil.which(b, path=env["PATH"])
    ]
    if missing:
        raise RuntimeError(
            f"toolchain binaries {missing} are not built; run `scripts/toolchain.sh build` first"
        )
    return env


def provider_binary() -> Path:
    """The built pulumi-resource-kubernetes (kept off PATH; `toolchain.sh build` installs it as a plugin)."""
    piece = subprocess.run(
        [str(REPO / "scripts" / "toolchain.sh"), "dir", "kubernetes-provider"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    binary = Path(piece) / "pulumi-resource-kubernetes"
    if not binary.is_file():
        raise RuntimeError(f"{binary} is not built; run `scripts/toolchain.sh build` first")
    return binary


@dataclass
class Cluster:
    """A local control plane started by `scripts/cluster.sh`, and a thin kubectl wrapper around it."""

    name: str
    kubeconfig: Path
    env: dict[str, str]

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Runs kubectl against this cluster and returns the completed process."""
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def apply(self, obj: Mapping[str, Any]) -> None:
        """`kubectl apply` of one object (a `v1` `List` applies several)."""
        subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), "apply", "-f", "-"],
            input=json.dumps(obj),
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def get(self, kind: str, *args: str) -> dict[str, Any]:
        """`kubectl get KIND ARGS -o json`, parsed."""
        return json.loads(self.kubectl("get", kind, *args, "-o", "json").stdout)

    def exists(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """Whether the named object exists."""
        ns = ["-n", namespace] if namespace else []
        return self.kubectl("get", kind, name, *ns, check=False).returncode == 0

    def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Pods matching a label selector, excluding ones being deleted."""
        items = self.get("pods", "-n", namespace, "-l", selector)["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def ready_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Pods that are Running and Ready."""
        return [p for p in self.pods(namespace, selector) if is_ready(p)]

    def wait_ready(
        self, namespace: str, selector: str, count: int, timeout: float = 120
    ) -> list[dict[str, Any]]:
        """Waits until exactly `count` pods match and all are Running/Ready; returns them."""
        deadline = time.monotonic() + timeout
        pods: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            pods = self.pods(namespace, selector)
            if len(pods) == count and all(is_ready(p) for p in pods):
                return pods
            time.sleep(1)
        states = [(p["metadata"]["name"], p["status"].get("phase"), is_ready(p)) for p in pods]
        raise AssertionError(f"wanted {count} ready pods for {selector!r} in {namespace}; have {states}")


def is_ready(pod: Mapping[str, Any]) -> bool:
    """Running with the Ready condition True."""
    status = pod.get("status", {})
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    return status.get("phase") == "Running" and conditions.get("Ready") == "True"


@contextmanager
def local_cluster(name: str, workdir: Path, env: dict[str, str]) -> Iterator[Cluster]:
    """Starts a fresh control plane named `name`, yields it, and always deletes it."""
    kubeconfig = workdir / "kubeconfig"
    cenv = {**env, "RAY_STATIC_CLUSTER": name, "RAY_STATIC_KUBECONFIG": str(kubeconfig)}
    script = str(REPO / "scripts" / "cluster.sh")
    subprocess.run([script, "up"], env=cenv, check=True)
    try:
        yield Cluster(name=name, kubeconfig=kubeconfig, env={**env, "KUBECONFIG": str(kubeconfig)})
    finally:
        subprocess.run([script, "down"], env=cenv, check=False)


def make_project(dest: Path, program: Path | None = None) -> Path:
    """Copies the Pulumi program (or another program dir) into `dest`, sharing the repo's venv."""
    dest.mkdir(parents=True, exist_ok=True)
    if program is None:
        for item in PROGRAM_FILES:
            src = REPO / item
            if src.is_dir():
                shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, dest / item)
    else:
        shutil.copytree(
            program, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "venv")
        )
    venv = dest / "venv"
    if not venv.exists():
        venv.symlink_to(REPO / "venv")
    return dest


@dataclass
class Stack:
    """A Pulumi stack on a `file://` backend, driven through the Automation API."""

    stack: auto.Stack
    backend: Path
    log: list[str] = field(default_factory=list)

    def set_config(self, values: Mapping[str, str], secret: bool = False) -> None:
        """Sets project config keys (bare names go to the project namespace)."""
        for key, value in values.items():
            self.stack.set_config(key, auto.ConfigValue(value, secret=secret))

    def remove_config(self, key: str) -> None:
        """Removes one config key."""
        self.stack.remove_config(key)

    def up(self, **kwargs: Any) -> auto.UpResult:
        """`pulumi up --yes`, output kept in `log`."""
        return self.stack.up(on_output=self.log.append, color="never", **kwargs)

    def preview(self) -> tuple[auto.PreviewResult, list[auto.StepEventMetadata]]:
        """`pulumi preview`; returns the result and the step metadata of every resource."""
        steps: list[auto.StepEventMetadata] = []

        def on_event(event: auto.EngineEvent) -> None:
            if event.resource_pre_event is not None:
                steps.append(event.resource_pre_event.metadata)

        result = self.stack.preview(on_output=self.log.append, on_event=on_event, color="never", diff=True)
        return result, steps

    def outputs(self) -> dict[str, Any]:
        """Stack outputs as plain values (secrets revealed)."""
        return {k: v.value for k, v in self.stack.outputs().items()}

    def stored_state(self) -> str:
        """Every stack state file in the backend, as the bytes on disk hold it.

        (The Automation API's `export_stack` passes `--show-secrets`, so it would reveal secrets.)
        """
        files = sorted((self.backend / ".pulumi" / "stacks").rglob(f"{self.stack.name}.json*"))
        if not files:
            raise AssertionError(f"no state file for stack {self.stack.name} under {self.backend}")
        return "".join(f.read_bytes().decode(errors="replace") for f in files)

    def destroy(self) -> None:
        """`pulumi destroy --yes`."""
        self.stack.destroy(on_output=self.log.append, color="never")

    def remove(self) -> None:
        """Removes the stack (and its config file) from the backend."""
        self.stack.workspace.remove_stack(self.stack.name, force=True)


def open_stack(project_dir: Path, name: str, env: Mapping[str, str], backend: Path) -> Stack:
    """Creates (or selects) stack `name` for the program in `project_dir` on a local file backend."""
    backend.mkdir(parents=True, exist_ok=True)
    env_vars = {
        **{k: v for k, v in env.items() if k in ("PATH", "HOME", "KUBECONFIG") or k.startswith("PULUMI_")},
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(project_dir),
        env_vars=env_vars,
    )
    return Stack(auto.create_or_select_stack(stack_name=name, work_dir=str(project_dir), opts=opts), backend)
