"""The ways a cluster is made on the node, side by side: Ray's floor (`kubectl apply` of bare pods),
ray-static (`pulumi up`), and KubeRay's RayCluster through `kubectl apply` or a Pulumi program while the
operator runs. Each arm starts its create or scale command (`start`), names its namespace, head pods and
roles, and destroys until nothing is left (`destroy`)."""

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from bench import REPO
from bench.node import floor, kuberay
from bench.node.cluster import OURS_NAMESPACE, Node, Stack

KUBERAY_PROGRAM = REPO / "bench" / "programs" / "kuberay"
KUBERAY_PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "raycluster.py")


class Arm(Protocol):
    kind: str
    namespace: str
    head_selector: str
    role_label: str

    def prepare(self, workers: int) -> None:
        """What a user does once before a create, untimed (a Pulumi stack's `config set`); nothing for
        the manifests applied with kubectl."""
        ...

    def start(self, workers: int) -> subprocess.Popen[str]:
        """Starts the command that creates the cluster with ``workers`` workers, or scales it to them (a
        scale's `config set` is part of the command, as a user runs it)."""
        ...

    def destroy(self) -> None:
        """Deletes the cluster; returns when its namespace is gone."""
        ...


def _apply(node: Node, path: Path, objects: list[dict[str, Any]]) -> subprocess.Popen[str]:
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    return subprocess.Popen(
        ["kubectl", "apply", "-f", str(path)],
        env=node.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_namespace_gone(node: Node, namespace: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = node.kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "name", check=False)
        if not out.strip():
            return
        time.sleep(0.5)
    raise RuntimeError(f"namespace {namespace} was still there {timeout:.0f} s after the destroy")


class FloorArm:
    kind = "floor"
    namespace = floor.NAMESPACE
    head_selector = "role=head"
    role_label = "role"

    def __init__(self, node: Node, work: Path) -> None:
        self.node = node
        self.manifest = work / "floor.json"

    def prepare(self, workers: int) -> None:
        pass

    def start(self, workers: int) -> subprocess.Popen[str]:
        return _apply(self.node, self.manifest, floor.manifests(workers))

    def destroy(self) -> None:
        self.node.kubectl("delete", "namespace", self.namespace, "--wait=true", "--timeout=300s")
        wait_namespace_gone(self.node, self.namespace)


class _PulumiArm:
    """An arm whose cluster is a Pulumi stack: its worker count is a config key, set untimed before a
    create (`prepare`) and as part of a scale's command, as a user runs `config set && up`."""

    node: Node
    namespace: str
    stack: Stack
    workers_key: str
    configured: int | None = None

    def prepare(self, workers: int) -> None:
        self.stack.config_set(self.workers_key, str(workers))
        self.configured = workers

    def start(self, workers: int) -> subprocess.Popen[str]:
        if workers != self.configured:
            self.prepare(workers)
        return self.stack.pulumi("up", "--yes", "--skip-preview")

    def destroy(self) -> None:
        _wait(self.stack.pulumi("destroy", "--yes", "--skip-preview"), "pulumi destroy")
        wait_namespace_gone(self.node, self.namespace)


class RayStaticArm(_PulumiArm):
    kind = "ray-static"
    namespace = OURS_NAMESPACE
    head_selector = "ray.io/cluster=ray,ray.io/node-type=head"
    role_label = "ray.io/node-type"
    workers_key = "ray-static:workers"

    def __init__(self, node: Node, work: Path, source: Path = REPO) -> None:
        self.stack = Stack(node, work / "ray-static", source)
        self.node = node


class KubeRayKubectlArm:
    """The RayCluster applied with kubectl (the operator and its CRDs are already there)."""

    kind = "kuberay-kubectl"
    namespace = kuberay.NAMESPACE
    head_selector = kuberay.HEAD_SELECTOR
    role_label = kuberay.ROLE_LABEL

    def __init__(self, node: Node, work: Path) -> None:
        self.node = node
        self.manifest = work / "kuberay.json"

    def prepare(self, workers: int) -> None:
        pass

    def start(self, workers: int) -> subprocess.Popen[str]:
        return _apply(self.node, self.manifest, kuberay.manifests(workers))

    def destroy(self) -> None:
        self.node.kubectl("delete", "-f", str(self.manifest), "--wait=true", "--timeout=300s")
        wait_namespace_gone(self.node, self.namespace)


class KubeRayPulumiArm(_PulumiArm):
    """The same RayCluster through bench/programs/kuberay (pulumi_kubernetes' CustomResource)."""

    kind = "kuberay-pulumi"
    namespace = kuberay.PULUMI_NAMESPACE
    head_selector = kuberay.HEAD_SELECTOR
    role_label = kuberay.ROLE_LABEL
    workers_key = "workers"

    def __init__(self, node: Node, work: Path) -> None:
        self.node = node
        # Stack links the repo's venv, which has pulumi_kubernetes at the provider's version.
        self.stack = Stack(node, work / "kuberay-pulumi", KUBERAY_PROGRAM, KUBERAY_PROGRAM_FILES, "bench")
        self.stack.config_set("namespace", self.namespace)


def _wait(proc: subprocess.Popen[str], what: str, timeout: float = 1200) -> None:
    proc.wait(timeout=timeout)
    if proc.returncode != 0:
        err = (proc.stderr.read() if proc.stderr else "").strip()[-500:]
        raise RuntimeError(
            f"{what} exited {proc.returncode}: {err or 'see pulumi.log in the work directory'}"
        )


class Started:
    """An arm's create or scale command running in the background. A thread notes the moment it exits, so
    the time it returned is the command's own, not when the bench got round to asking (it polls Ray
    meanwhile, and `kubectl apply` returns long before the workers are alive)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.returned: float | None = None
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        self.proc.wait()
        self.returned = time.time()

    def finish(self, what: str) -> float:
        """Waits for the command; raises if it failed; returns when it returned."""
        _wait(self.proc, what)
        self._waiter.join()
        assert self.returned is not None
        return self.returned


def start(arm: Arm, workers: int) -> Started:
    """Starts the arm's create or scale command for ``workers`` workers."""
    return Started(arm.start(workers))


def finish(started: Started, arm: Arm) -> float:
    """Waits for an arm's create or scale command; raises if it failed; returns when it returned."""
    return started.finish(f"{arm.kind}'s command")


def make(kind: str, node: Node, work: Path, source: Path = REPO) -> Arm:
    """The arm of this kind, with its project or manifest under ``work``."""
    if kind == "floor":
        return FloorArm(node, work)
    if kind == "ray-static":
        return RayStaticArm(node, work, source)
    if kind == "kuberay-kubectl":
        return KubeRayKubectlArm(node, work)
    if kind == "kuberay-pulumi":
        return KubeRayPulumiArm(node, work)
    raise ValueError(f"unknown arm {kind!r}: floor, ray-static, kuberay-kubectl or kuberay-pulumi")
