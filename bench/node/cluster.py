"""The real node and the two ways a cluster is created on it: ray-static's `pulumi up` of the `node` stack,
and the floor's `kubectl apply`. Each create returns when every worker is alive in Ray (and, for ray-static,
`pulumi up` has returned), with the pods and Ray nodes as they were then."""

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bench import REPO
from bench.node import floor

NODE_SH = REPO / "scripts" / "node.sh"
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.node.yaml", "__main__.py", "program", "ray_static")
OURS_NAMESPACE = "ray"
POLL_SECONDS = 2.0
NODES_CODE = """
import json, os, urllib.request
path = os.environ.get("RAY_AUTH_TOKEN_PATH")
headers = {"Authorization": "Bearer " + open(path).read().strip()} if path else {}
url = "http://127.0.0.1:8265/api/v0/nodes?limit=1000&detail=true"
body = json.load(urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5))
print("RESULT " + json.dumps(body["data"]["result"]["result"]))
"""
"""Ray's node table from the head's dashboard, read inside the head pod (a plain Python, not the Ray CLI:
the same small cost in both arms)."""


def toolchain_env() -> dict[str, str]:
    """This environment with the built toolchain first on PATH (`scripts/toolchain.sh env`)."""
    script = f'eval "$({REPO}/scripts/toolchain.sh env)" && env -0'
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


@dataclass
class Node:
    """The real node: its kubeconfig, kubectl, and `scripts/node.sh`."""

    env: dict[str, str]
    started_here: bool = False

    @classmethod
    def up(cls, env: dict[str, str]) -> "Node":
        status = subprocess.run([str(NODE_SH), "status"], env=env, capture_output=True, check=False)
        started = status.returncode != 0
        action = "up" if started else "kubeconfig-path"
        out = subprocess.run([str(NODE_SH), action], env=env, stdout=subprocess.PIPE, text=True, check=True)
        kubeconfig = out.stdout.strip().splitlines()[-1]
        return cls({**env, "KUBECONFIG": kubeconfig}, started_here=started)

    def down(self) -> None:
        if self.started_here:
            subprocess.run([str(NODE_SH), "down"], env=self.env, check=False)

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            ["kubectl", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()[-500:]}")
        return result.stdout

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        return json.loads(self.kubectl("get", "pods", "-n", namespace, "-o", "json"))["items"]

    def ray_nodes(self, namespace: str, head_pod: str) -> list[dict[str, Any]] | None:
        result = self.head_python(namespace, head_pod, NODES_CODE, timeout=60)
        return None if result is None else list(result)

    def head_python(self, namespace: str, head_pod: str, code: str, timeout: float) -> Any:
        """Runs ``code`` with the head pod's Python; what it printed after `RESULT `, as JSON (None when
        it printed none: the pod or Ray is not up yet)."""
        try:
            result = subprocess.run(
                [
                    "kubectl",
                    "exec",
                    "-n",
                    namespace,
                    head_pod,
                    "-c",
                    _ray_container(self, namespace, head_pod),
                    "--",
                    "python",
                    "-c",
                    code,
                ],
                env=self.env,
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None
        for line in result.stdout.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line.removeprefix("RESULT "))
        return None


def _ray_container(node: Node, namespace: str, pod: str) -> str:
    spec = json.loads(node.kubectl("get", "pod", "-n", namespace, pod, "-o", "json"))["spec"]
    return spec["containers"][0]["name"]


@dataclass
class Created:
    """What one create left: when it started and returned, and the pods and Ray nodes at the end."""

    t0: float
    returned: float
    alive: float
    pods: list[dict[str, Any]]
    ray_nodes: list[dict[str, Any]]
    namespace: str
    roles: dict[str, str]


def wait_alive(
    node: Node,
    namespace: str,
    head: Callable[[], str | None],
    workers: int,
    *,
    failed: Callable[[], str | None] = lambda: None,
    timeout: float = 600,
) -> list[dict[str, Any]]:
    """Polls Ray's node table until ``workers`` worker nodes are alive; returns the table. ``failed`` says
    why to stop waiting early (the command creating the cluster failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reason := failed():
            raise RuntimeError(reason)
        pod = head()
        nodes = node.ray_nodes(namespace, pod) if pod else None
        if nodes and sum(1 for n in nodes if n["state"] == "ALIVE" and not n["is_head_node"]) >= workers:
            return nodes
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{workers} Ray workers were not alive in {namespace} within {timeout:.0f} s")


def _head_by_label(node: Node, namespace: str, selector: str) -> Callable[[], str | None]:
    def find() -> str | None:
        out = node.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "name", check=False)
        names = [line.split("/", 1)[1] for line in out.split()]
        return names[0] if names else None

    return find


def create_floor(node: Node, workers: int) -> Created:
    manifests = "\n---\n".join(json.dumps(m) for m in floor.manifests(workers))
    t0 = time.time()
    node.kubectl("apply", "-f", "-", stdin=manifests)
    returned = time.time()
    nodes = wait_alive(node, floor.NAMESPACE, _head_by_label(node, floor.NAMESPACE, "role=head"), workers)
    alive = time.time()
    pods = node.pods(floor.NAMESPACE)
    roles = {p["metadata"]["name"]: p["metadata"]["labels"]["role"] for p in pods}
    return Created(t0, returned, alive, pods, nodes, floor.NAMESPACE, roles)


def destroy_floor(node: Node) -> float:
    t0 = time.time()
    node.kubectl("delete", "namespace", floor.NAMESPACE, "--wait=true", "--timeout=300s")
    return time.time() - t0


class Stack:
    """ray-static's `node` stack in a project of its own, with a local file:// backend."""

    def __init__(
        self,
        node: Node,
        work: Path,
        source: Path = REPO,
        files: tuple[str, ...] = PROJECT_FILES,
        stack: str = "node",
    ) -> None:
        self.node = node
        self.project = work / "project"
        self.project.mkdir(parents=True)
        for item in files:
            src = source / item
            if src.is_dir():
                shutil.copytree(src, self.project / item, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, self.project / item)
        (self.project / "venv").symlink_to(REPO / "venv")  # Pulumi.yaml's `virtualenv: venv`
        compile_bytecode(self.project, REPO / "venv")
        state = work / "state"
        state.mkdir()
        self.env = {
            **node.env,
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": "",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_PYTHON_CMD": str(REPO / "venv" / "bin" / "python"),
        }
        self.pulumi("stack", "init", stack)

    def config_set(self, key: str, value: str) -> None:
        """`pulumi config set KEY VALUE` on the stack (before a timed command, not inside it)."""
        _finish(self.pulumi("config", "set", key, value), ("config", "set", key))

    def pulumi(self, *args: str) -> subprocess.Popen[str]:
        """Starts `pulumi ARGS`, its output into a log file (never a pipe nobody reads while it runs)."""
        log = (self.project.parent / "pulumi.log").open("a")
        t0 = time.time()
        log.write(f"\n$ pulumi {' '.join(args)}  (started {t0:.3f})\n")
        log.flush()
        proc = subprocess.Popen(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=_stamped, args=(proc, log, t0), daemon=True).start()
        if args[0] == "stack":
            _finish(proc, args)
        return proc

    def create(self, workers: int) -> Created:
        selector = "ray.io/cluster=ray,ray.io/node-type=head"
        t0 = time.time()
        up = self.pulumi("up", "--yes", "--skip-preview")

        def failed() -> str | None:
            code = up.poll()
            return f"pulumi up exited {code} (see the bench's pulumi.log)" if code else None

        head = _head_by_label(self.node, OURS_NAMESPACE, selector)
        nodes = wait_alive(self.node, OURS_NAMESPACE, head, workers, failed=failed)
        alive = time.time()
        _finish(up, ("up",))
        returned = time.time()
        pods = self.node.pods(OURS_NAMESPACE)
        roles = {p["metadata"]["name"]: p["metadata"]["labels"]["ray.io/node-type"] for p in pods}
        return Created(t0, returned, alive, pods, nodes, OURS_NAMESPACE, roles)

    def destroy(self) -> float:
        t0 = time.time()
        _finish(self.pulumi("destroy", "--yes", "--skip-preview"), ("destroy",))
        return time.time() - t0


def compile_bytecode(project: Path, venv: Path) -> None:
    """Writes the bytecode a user's checkout and venv have after their first run (pip compiles what it
    installs; Python caches the program's own modules), untimed, before any timed command. Without it, a
    copied project (copied without __pycache__) or a venv whose .pyc files are stale is compiled again in
    every timed `pulumi up` when PYTHONDONTWRITEBYTECODE is set, as it is in some shells: measured on the
    node, an up of a program importing pulumi and pulumi_kubernetes took 4.5-6.8 s instead of 1.6-2.3 s."""
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    targets = [str(project), *map(str, sorted(venv.glob("lib/python*/site-packages")))]
    subprocess.run(
        [str(python), "-m", "compileall", "-q", "-j", "0", *targets],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
    )


def _stamped(proc: subprocess.Popen[str], log: TextIO, t0: float) -> None:
    """Copies the command's output into the log, each line with the seconds since it started: where an
    engine's time goes (program start, each object) is read from the log without a debug flag."""
    assert proc.stdout is not None
    with log:
        for line in proc.stdout:
            log.write(f"{time.time() - t0:7.2f} {line}")
            log.flush()


def _finish(proc: subprocess.Popen[str], args: tuple[str, ...]) -> None:
    proc.wait(timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"pulumi {' '.join(args)} exited {proc.returncode} (see the bench's pulumi.log)")


def workdir() -> Path:
    base = Path(os.environ.get("RAY_STATIC_CACHE", Path.home() / ".cache" / "ray-static")) / "bench-node"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    return base
