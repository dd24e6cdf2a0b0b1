"""The real node (`scripts/node.sh`) as the tests see it: its lifecycle, kubectl, Ray inside the pods.

Nothing is simulated: the pods are containers that a kubelet started with containerd from the Ray image,
Services are kube-proxy's iptables rules and names come from CoreDNS.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from pulumi import automation as auto

from ray_static import constants as c
from tests.e2e.support import REPO, Cluster, Stack, is_ready, make_project, open_stack
from tests.support.waiting import wait_for

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

HEAD = "ray.io/cluster=ray,ray.io/node-type=head"
WORKERS = "ray.io/cluster=ray,ray.io/node-type=worker"
"""The pods of the cluster named `ray` (the program's default)."""
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

    def __init__(
        self, node: RealNode, namespace: str, head_selector: str = HEAD, worker_selector: str = WORKERS
    ) -> None:
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
                lambda: self.complete(workers, exclude),
                timeout,
                f"head + {workers} workers ALIVE in Ray",
                interval=2.0,  # each look runs Python in the head pod
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


@dataclass
class NodeSession:
    """The running node and the machine state from before it came up (the last test compares)."""

    node: RealNode
    before: str
    env: dict[str, str]


@dataclass
class Deployment:
    """A test module's stack on the node and Ray's view of its cluster."""

    session: NodeSession
    stack: Stack
    ray: RayView

    @property
    def node(self) -> RealNode:
        return self.session.node


START_TIMEOUT = 300.0
"""Seconds from `pulumi up` to every pod ALIVE in Ray, on the node's 2 CPUs."""


@contextmanager
def deployed_stack(
    session: NodeSession,
    tmp_path_factory: pytest.TempPathFactory,
    label: str,
    config: Mapping[str, str],
    ray: RayView,
    *,
    stack_name: str = "node",
    workers: int | None = None,
    leftovers: Sequence[tuple[str, str]] = (),
) -> Iterator[Stack]:
    """The repository's program as one test module's stack on the node, with `config`.

    With `workers`, `pulumi up` runs before the module's tests and waits for the head and that many
    workers ALIVE in Ray; without, the module's first test deploys (what it measures). After the tests,
    whatever happened: `pulumi destroy`, the stack removed, then `leftovers` deleted (kind and name of
    what the module made beside the stack). A failed deploy fails the module with what Kubernetes, Ray
    and the node's daemons showed.
    """
    work = tmp_path_factory.mktemp(f"{label}-stack")
    stack = open_stack(make_project(work / "project"), stack_name, session.node.env, work / "backend")
    stack.set_config(config)
    t0 = time.monotonic()
    try:
        if workers is not None:
            _deploy(stack, ray, workers)
            timed(f"{label}: pulumi up -> head + {workers} workers ALIVE", time.monotonic() - t0)
        yield stack
    finally:
        _take_down(stack, session.node, leftovers)
        timed(f"{label}: the module's stack (deploy, tests, destroy)", time.monotonic() - t0)


def _deploy(stack: Stack, ray: RayView, workers: int) -> None:
    try:
        stack.up()
        alive = ray.wait_complete(workers, START_TIMEOUT)
    except (auto.CommandError, AssertionError) as exc:
        pytest.fail(f"deploying the module's stack failed: {exc}\n{deploy_diagnostics(ray)}")
    log(f"ray nodes: {sorted(n['node_ip'] for n in alive)}")


def deploy_diagnostics(ray: RayView) -> str:
    """What explains a cluster that did not come up: its pods and Ray's node table, the namespace's
    warning events, the tail of each node daemon's log."""
    parts = [ray.describe()]
    events = ray.node.kubectl(
        "get", "events", "-n", ray.namespace, "--field-selector=type=Warning", "--sort-by=.lastTimestamp",
        check=False,
    )  # fmt: skip
    parts.append(f"--- warning events in {ray.namespace}\n{events.stdout[-4000:]}{events.stderr[-1000:]}")
    parts.append(node_logs_tail())
    return "\n".join(parts)


def _take_down(stack: Stack, node: RealNode, leftovers: Sequence[tuple[str, str]]) -> None:
    """Teardown never raises: the node goes down next anyway, and the test's own failure matters more."""
    try:
        stack.destroy()
    except Exception as exc:
        log(f"destroy at teardown: {exc}")
    try:
        stack.remove()
    except Exception as exc:
        log(f"removing the stack at teardown: {exc}")
    for kind, name in leftovers:
        try:
            node.kubectl("delete", kind, name, "--ignore-not-found", "--wait=true", check=False, timeout=180)
        except subprocess.TimeoutExpired:
            log(f"deleting {kind} {name} at teardown: timed out")


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


NODE_IP = "10.244.0.1"
"""The node's address on the pod bridge (scripts/node.sh NODE_IP): pods reach it, nothing outside does."""
REDIS_DEB_PACKAGES = ("redis-server", "redis-tools")
"""GCS fault tolerance's backing store for the tests: Debian's Redis (started by the test on the bridge)
and its client."""


@dataclass
class Redis:
    """Debian's redis-server on the node's bridge address only, with a password."""

    process: subprocess.Popen[bytes]
    port: int
    password: str

    def cli(self, *args: str) -> str:
        env = {**os.environ, "REDISCLI_AUTH": self.password}
        argv = ["redis-cli", "-h", NODE_IP, "-p", str(self.port), *args]
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=30).stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((NODE_IP, 0))
        return int(s.getsockname()[1])


@contextmanager
def running_redis(work: Path) -> Iterator[Redis]:
    """A redis-server with a generated password, its files in ``work``, stopped afterwards."""
    install_debs(*REDIS_DEB_PACKAGES)
    password = secrets.token_urlsafe(24)
    port = _free_port()
    config = work / "redis.conf"
    # Only the bridge address: reachable from the pods, from nothing else. Password in a 0600 file, not
    # on a command line.
    config.write_text(
        f'bind {NODE_IP}\nport {port}\nrequirepass "{password}"\nsave ""\nappendonly no\ndir {work}\n'
    )
    config.chmod(0o600)
    process = subprocess.Popen(
        ["redis-server", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server = Redis(process, port, password)
    try:
        wait_for(lambda: _pong(server), 30, "redis-server answering", interval=0.5)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def _pong(server: Redis) -> bool:
    try:
        return server.cli("ping").strip() == "PONG"
    except subprocess.CalledProcessError:
        return False
