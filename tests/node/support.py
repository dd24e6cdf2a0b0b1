"""The real node (`scripts/node.sh`) as the tests see it: its lifecycle, kubectl, Ray inside the pods.

Nothing is simulated: the pods are containers that a kubelet started with containerd from the Ray image,
Services are kube-proxy's iptables rules and names come from CoreDNS.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from ray_static import constants as c
from tests.e2e.support import REPO, Cluster, is_ready

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

T = TypeVar("T")
NODE_SH = REPO / "scripts" / "node.sh"
DEBS_SH = REPO / "scripts" / "debs.sh"
TIMINGS: dict[str, float] = {}
"""Measured durations (seconds) by name; printed at the end of the session."""


def log(msg: str) -> None:
    """One progress line on stderr (shown with -s, and in failure reports)."""
    print(f"[node-test {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def timed(name: str, seconds: float) -> None:
    """Record a measured duration for the session summary."""
    TIMINGS[name] = seconds
    log(f"{name}: {seconds:.1f}s")


def wait_for(what: str, check: Callable[[], T | None], timeout: float, interval: float = 2.0) -> T:
    """Polls `check` until it returns something truthy; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def install_debs(*packages: str) -> None:
    """Installs Debian packages a test needs and a new machine lacks, through scripts/debs.sh."""
    result = subprocess.run([str(DEBS_SH), "install", *packages], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["scripts/debs.sh failed"]
        raise RuntimeError(lines[-1])


def node_sh(action: str, env: Mapping[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Runs `scripts/node.sh ACTION`; its log lines go to stderr as they come."""
    return subprocess.run(
        [str(NODE_SH), action], env=dict(env), stdout=subprocess.PIPE, text=True, timeout=timeout, check=False
    )


def snapshot(env: Mapping[str, str]) -> str:
    """The machine state `node.sh down` must restore (links, addresses, routes, iptables, sysctls, ...)."""
    result = node_sh("snapshot", env, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/node.sh snapshot exited {result.returncode}")
    return result.stdout


def cache_root() -> Path:
    """${RAY_STATIC_CACHE:-~/.cache/ray-static}, as the scripts use it."""
    return Path(os.environ.get("RAY_STATIC_CACHE", Path.home() / ".cache" / "ray-static"))


def node_dir() -> Path:
    """The node's state directory (`down` removes it)."""
    return cache_root() / "node"


def node_logs_tail(lines: int = 25) -> str:
    """The end of each node daemon's log, for failure messages."""
    logs = cache_root() / "node-logs"
    parts = []
    for name in ("containerd", "kube-proxy", "coredns", "kubelet"):
        path = logs / f"{name}.log"
        if path.exists():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path}\n" + "\n".join(tail))
    return "\n".join(parts)


class RealNode(Cluster):
    """The real node's cluster: kubectl plus helpers that reach into running pods."""

    def exec(
        self, namespace: str, pod: str, argv: list[str], container: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`kubectl exec` (not checked: callers assert on the result)."""
        target = ["-c", container] if container else []
        return self.kubectl("exec", "-n", namespace, pod, *target, "--", *argv, check=False, timeout=timeout)

    def python(self, namespace: str, pod: str, code: str, timeout: float = 120) -> Any:
        """Runs `code` with the pod's Python; it prints `RESULT <json>`; returns the parsed JSON."""
        result = self.exec(namespace, pod, ["python", "-c", code], timeout=timeout)
        return parse_result(result)

    def pod_named(self, namespace: str, name: str) -> dict[str, Any]:
        """One pod as JSON."""
        return self.get("pod", name, "-n", namespace)

    def restarts(self, pod: Mapping[str, Any]) -> dict[str, int]:
        """Restart count per container (init containers prefixed with `init:`)."""
        status = pod.get("status", {})
        counts = {c["name"]: c.get("restartCount", 0) for c in status.get("containerStatuses", [])}
        counts |= {
            f"init:{c['name']}": c.get("restartCount", 0) for c in status.get("initContainerStatuses", [])
        }
        return counts


def parse_result(result: subprocess.CompletedProcess[str]) -> Any:
    """The JSON after `RESULT ` in a command's output, or an AssertionError with the output."""
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    raise AssertionError(f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


NODES_CODE = """
import json, os, urllib.request
path = os.environ.get("RAY_AUTH_TOKEN_PATH")
token = open(path).read().strip() if path else ""
req = urllib.request.Request(
    "http://127.0.0.1:8265/api/v0/nodes?limit=1000&detail=true",
    headers={"Authorization": "Bearer " + token},
)
print("RESULT", urllib.request.urlopen(req, timeout=15).read().decode())
"""


class RayView:
    """Ray's own view of the cluster, read inside the head pod (which has the token as a file from the
    Secret, at RAY_AUTH_TOKEN_PATH)."""

    def __init__(self, node: RealNode, namespace: str, head_selector: str, worker_selector: str) -> None:
        self.node = node
        self.namespace = namespace
        self.head_selector = head_selector
        self.worker_selector = worker_selector

    def head(self) -> dict[str, Any]:
        """The one Ready head pod."""
        pods = self.node.ready_pods(self.namespace, self.head_selector)
        if len(pods) != 1:
            raise AssertionError(f"wanted one ready head pod, have {[p['metadata']['name'] for p in pods]}")
        return pods[0]

    def nodes(self) -> list[dict[str, Any]]:
        """The dashboard's node table (state API), every node with its state, IP, ID and resources."""
        head = self.head()["metadata"]["name"]
        result = self.node.python(self.namespace, head, NODES_CODE, timeout=60)
        return result["data"]["result"]["result"]

    def alive(self) -> list[dict[str, Any]]:
        """ALIVE nodes only."""
        return [n for n in self.nodes() if n.get("state") == "ALIVE"]

    def complete(self, workers: int, exclude: Mapping[str, str] | None = None) -> list[dict[str, Any]] | None:
        """The ALIVE nodes if they are exactly the Ready head and `workers` Ready worker pods (by IP), none
        with a node ID from `exclude` (IP -> node ID of an earlier Ray cluster); else None."""
        try:
            heads = self.node.ready_pods(self.namespace, self.head_selector)
            pods = heads + self.node.ready_pods(self.namespace, self.worker_selector)
            if len(heads) != 1 or len(pods) != 1 + workers:
                return None
            alive = self.alive()
        except (AssertionError, subprocess.TimeoutExpired, KeyError, ValueError):
            return None
        if sorted(n["node_ip"] for n in alive) != sorted(p["status"]["podIP"] for p in pods):
            return None
        if exclude and any(exclude.get(n["node_ip"]) == n["node_id"] for n in alive):
            return None
        return alive

    def wait_complete(
        self, workers: int, timeout: float, exclude: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Waits until `complete` holds; the failure names what Kubernetes and Ray showed last."""
        try:
            return wait_for(
                f"head + {workers} workers ALIVE in Ray", lambda: self.complete(workers, exclude), timeout
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.describe()}") from None

    def describe(self) -> str:
        """Pods with phase, readiness and restarts, and Ray's node table if the head answers."""
        lines = []
        for p in self.node.get("pods", "-n", self.namespace)["items"]:
            lines.append(
                f"{p['metadata']['name']}: {p['status'].get('phase')} ready={is_ready(p)} "
                f"ip={p['status'].get('podIP')} restarts={self.node.restarts(p)}"
            )
        try:
            lines += [f"ray node {n['node_ip']} {n['state']} {n['node_id'][:8]}" for n in self.nodes()]
        except (AssertionError, subprocess.TimeoutExpired, KeyError, ValueError) as exc:
            lines.append(f"ray node table unavailable: {str(exc)[:300]}")
        return "\n".join(lines)


@contextmanager
def port_forward(node: RealNode, namespace: str, target: str, port: int) -> Iterator[int]:
    """`kubectl port-forward TARGET :PORT` on 127.0.0.1; yields the local port."""
    proc = subprocess.Popen(
        [
            "kubectl",
            "--kubeconfig",
            str(node.kubeconfig),
            "-n",
            namespace,
            "port-forward",
            "--address",
            "127.0.0.1",
            target,
            f":{port}",
        ],
        env=node.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+) ->", line)
        if not match:
            proc.kill()
            raise AssertionError(
                f"port-forward {target}: {line!r} {proc.stderr.read() if proc.stderr else ''}"
            )
        yield int(match.group(1))
    finally:
        proc.kill()
        proc.wait(timeout=10)


def node_stack_config() -> dict[str, str]:
    """The config of Pulumi.node.yaml, the stack `RAY_STATIC_NODE=real scripts/run` deploys to the node:
    sized for its 2 CPUs."""
    config = yaml.safe_load((REPO / "Pulumi.node.yaml").read_text())["config"]
    return {key.removeprefix("ray-static:"): str(value) for key, value in config.items()}


@contextmanager
def jobs_api(
    node: RealNode, namespace: str, service: str, token: str | None
) -> Iterator[JobSubmissionClient]:
    """Ray's job SDK on this machine, talking to the cluster's dashboard through a port-forward to its head
    Service, with the token as a bearer header."""
    from ray.job_submission import JobSubmissionClient  # noqa: PLC0415  (ray is heavy: only when asked)

    with port_forward(node, namespace, f"svc/{service}", 8265) as port:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        yield JobSubmissionClient(f"http://127.0.0.1:{port}", headers=headers)


def ray_image_pod(
    name: str, namespace: str, container: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A helper pod of the test (a client, stand-in servers) on the Ray image, as its user, admitted by
    the restricted Pod Security standard; ``container`` gives its name, command, env and resources."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {"app": name})},
        "spec": {
            "securityContext": {
                "runAsUser": 1000,
                "runAsGroup": 100,
                "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "image": c.DEFAULT_IMAGE,
                    "imagePullPolicy": "Never",
                    **container,
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }
