"""The run's own control plane and the kubectl calls the measures and their baselines make."""

import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.procs import Finished, Processes

PLACEHOLDER_NS = "benchnsplaceholder"
"""Namespace the generated plain programs and manifests are rendered with, replaced per run."""
HEAD = "ray-head"
WORKERS = "ray-worker"
"""The Deployments of the one cluster (instance `ray`, see bench/worker.py) the create, scale and large
measures deploy."""
ROLLOUT_TIMEOUT = "--timeout=600s"
"""How long kubectl waits for a rollout or a namespace deletion."""
NODE_CPUS = 128
"""CPUs a fake node offers (scripts/cluster.sh); default pods ask for 2 (head) and 1 (worker)."""


def nodes_for(workers: int) -> int:
    """Fake nodes enough for the head (2 CPUs) and `workers` 1-CPU workers, plus one spare."""
    return max(3, math.ceil((workers + 2) / NODE_CPUS) + 1)


@contextmanager
def local_control_plane(
    env: dict[str, str], workdir: Path, nodes: int, log: Callable[[str], None]
) -> Iterator[Path]:
    """A control plane of this run's own (scripts/cluster.sh via the e2e helper), always deleted."""
    from tests.e2e.support import local_cluster  # noqa: PLC0415 (needs REPO on sys.path)

    name = f"ray-static-bench-{os.getpid()}"
    cenv = {**env, "RAY_STATIC_NODES": str(nodes)}
    log(f"starting control plane {name} with {nodes} fake nodes")
    with local_cluster(name, workdir, cenv) as cluster:
        yield cluster.kubeconfig
    log(f"deleted control plane {name}")


class Kubectl:
    """kubectl against the run's control plane, every call logged to `logs/kubectl.log`."""

    def __init__(self, procs: Processes, env: Mapping[str, str], workdir: Path, timeout: float) -> None:
        self.procs = procs
        self.env = dict(env)
        self.work = workdir
        self.timeout = timeout

    def __call__(self, *args: str, timeout: float | None = None, check: bool = True) -> Finished:
        """`kubectl ARGS`; its session is not reaped, as kubectl starts no plugins and is timed by callers."""
        return self.procs.run(
            ["kubectl", *args],
            env=self.env,
            timeout=timeout or self.timeout,
            check=check,
            log_path=self.work / "logs" / "kubectl.log",
            reap=False,
        )

    def json(self, *args: str) -> Any:
        """`kubectl ARGS -o json`, parsed (anything kubectl prints before the object is skipped)."""
        out = self(*args, "-o", "json").output
        return json.loads(out[out.index("{") :])

    def delete_namespace(self, namespace: str) -> None:
        """Deletes `namespace` and waits until it is gone, so the next run starts on a quiet cluster."""
        self("delete", "namespace", namespace, "--ignore-not-found", "--wait=true", ROLLOUT_TIMEOUT)

    def all_ready(self, namespace: str) -> bool:
        """Whether `namespace` has Deployments and every one has all its replicas updated and Ready."""
        items = self.json("get", "deployments", "-n", namespace)["items"]
        return bool(items) and all(
            d.get("status", {}).get("readyReplicas", 0) == d["spec"].get("replicas", 1)
            and d.get("status", {}).get("updatedReplicas", 0) == d["spec"].get("replicas", 1)
            for d in items
        )

    def write_manifests(self, manifests: str, namespace: str, name: str) -> Path:
        """`manifests` (rendered in PLACEHOLDER_NS) moved to `namespace`, as `manifests/<name>.json`."""
        path = self.work / "manifests" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(manifests.replace(PLACEHOLDER_NS, namespace))
        return path

    def apply_and_wait(self, manifests: Path, namespace: str, deployments: Sequence[str]) -> float:
        """`kubectl apply -f` plus `kubectl rollout status` on the Deployments: wall seconds of both."""
        start = time.perf_counter()
        self("apply", "-f", str(manifests))
        self.rollout(namespace, deployments)
        return time.perf_counter() - start

    def scale_and_wait(self, namespace: str, deployment: str, replicas: int) -> float:
        """`kubectl scale --replicas` plus `kubectl rollout status`: wall seconds of both."""
        start = time.perf_counter()
        self("scale", "-n", namespace, f"deployment/{deployment}", f"--replicas={replicas}")
        self.rollout(namespace, [deployment])
        return time.perf_counter() - start

    def rollout(self, namespace: str, deployments: Sequence[str]) -> None:
        """Waits until the Deployments' rollouts are complete."""
        self("rollout", "status", "-n", namespace, *(f"deployment/{d}" for d in deployments), ROLLOUT_TIMEOUT)
