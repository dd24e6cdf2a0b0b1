"""The repository's Pulumi program on a real node: real containers, real Ray, the real engine and provider.

One stack, deployed once per module; the tests run in file order and build on each other (deploy, use,
scale, break, destroy). The node has 2 CPUs: the head requests 1, and the workers run in groups that
request 200m each while their CPU limit (and so Ray's CPU count) stays 1 (see CONFIG).
"""

from __future__ import annotations

import base64
import difflib
import errno
import json
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import REPO, is_ready
from tests.node.support import (
    HEAD,
    WORKERS,
    Deployment,
    NodeSession,
    RayView,
    deployed_stack,
    log,
    node_dir,
    node_sh,
    parse_result,
    port_forward,
    ray_image_pod,
    snapshot,
    timed,
)
from tests.support.waiting import wait_for

NAMESPACE = "ray"
CLIENT_NAMESPACE = "ray-clients"
N = 3
"""Workers at the start: two in the default group and one in group `gpu`; test 3 sets `workers` to 3."""
GROUPS = [{"name": "gpu", "replicas": 1, "cpu": "1", "cpuRequest": "200m", "memory": "1Gi", "gpus": 1}]
CONFIG = {
    "headCpu": "1",
    "headMemory": "2Gi",
    # The node has 2 CPUs: the workers request 200m but keep a 1-CPU limit, so the head (1 CPU) and N+1
    # workers fit while Ray still counts 1 CPU per worker (the limit).
    "workers": "2",
    "workerCpu": "1",
    "workerCpuRequest": "200m",
    "workerMemory": "1Gi",
    "workerGroups": json.dumps(GROUPS),
    "allowedClientNamespaces": json.dumps([CLIENT_NAMESPACE]),
}
GPU = "nvidia.com/gpu"
START_TIMEOUT = 300.0
REJOIN_TIMEOUT = 420.0
GIB = 1024**3


@dataclass
class Deployed(Deployment):
    outputs: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def deployed(real_node: NodeSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    # The node has no GPU; one `nvidia.com/gpu` advertised by hand (an extended resource, as Kubernetes
    # documents it) lets the gpu group's pod be scheduled, so its --num-gpus can be checked in Ray.
    real_node.node.kubectl(
        "patch",
        "node",
        "ray-static-node",
        "--subresource=status",
        "--type=json",
        "-p",
        json.dumps([{"op": "add", "path": "/status/capacity/nvidia.com~1gpu", "value": "1"}]),
    )
    view = RayView(real_node.node, NAMESPACE)
    # Deployed by test 1, which measures it.
    with deployed_stack(real_node, tmp_path_factory, "node", CONFIG, view) as stack:
        yield Deployed(real_node, stack, view)


def _ray_cpus(container: dict[str, Any]) -> int:
    match = re.search(r"--num-cpus=(\d+)", " ".join(container.get("command", []) + container.get("args", [])))
    assert match, container.get("command")
    return int(match.group(1))


def _memory_bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": GIB}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(quantity.removesuffix(suffix)) * factor
    return int(quantity)


def test_1_up_every_pod_ready_and_ray_counts_each_pod_with_its_limits(deployed: Deployed) -> None:
    node, ray = deployed.node, deployed.ray
    t0 = time.monotonic()
    deployed.stack.up()
    timed("pulumi up (fresh stack)", time.monotonic() - t0)
    deployed.outputs.update(deployed.stack.outputs())
    node.wait_ready(NAMESPACE, HEAD, 1, timeout=START_TIMEOUT)
    pods = node.wait_ready(NAMESPACE, WORKERS, N, timeout=START_TIMEOUT)
    alive = ray.wait_complete(N, START_TIMEOUT)
    timed(f"pulumi up start -> head + {N} workers ALIVE in Ray", time.monotonic() - t0)

    # Real containers: every pod ran its init step to exit 0 once and was never restarted.
    for pod in [ray.head(), *pods]:
        restarts = node.restarts(pod)
        assert set(restarts.values()) == {0}, (pod["metadata"]["name"], restarts)
        for init in pod["status"].get("initContainerStatuses", []):
            assert init["state"]["terminated"]["exitCode"] == 0, init

    # `ray status` in the head pod (its token comes from the Secret through the env) lists 1 + N nodes:
    # its autoscaler view trails the node table by a report or two (seen: 1 active while all were ALIVE).
    head = ray.head()["metadata"]["name"]

    def active_nodes() -> int:
        status = node.exec(NAMESPACE, head, ["ray", "status"], timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr
        active = status.stdout.split("Active:", 1)[1].split("Pending:", 1)[0]
        return len(re.findall(r"\bnode_[0-9a-f]+", active))

    wait_for(lambda: active_nodes() == 1 + N, 60, f"`ray status` listing {1 + N} active nodes")

    # Each Ray node offers exactly the CPU (--num-cpus), GPUs and memory (the limits) of its pod.
    by_ip = {n["node_ip"]: n for n in alive}
    total = {"CPU": 0.0, "GPU": 0.0, "memory": 0.0}
    for pod in [ray.head(), *node.ready_pods(NAMESPACE, WORKERS)]:
        main = pod["spec"]["containers"][0]
        limits = main["resources"]["limits"]
        want = {
            "CPU": float(_ray_cpus(main)),
            "GPU": float(limits.get(GPU, 0)),
            "memory": float(_memory_bytes(limits["memory"])),
        }
        got = {k: float(by_ip[pod["status"]["podIP"]]["resources_total"].get(k, 0.0)) for k in want}
        assert got == want, (pod["metadata"]["name"], got, want)
        if pod["metadata"]["labels"]["ray.io/node-type"] == "worker":
            assert want["CPU"] == float(limits["cpu"]) == 1.0
        total = {k: total[k] + want[k] for k in total}
    assert total == {"CPU": float(N), "GPU": 1.0, "memory": float(2 * GIB + N * GIB)}

    # `ray start` ran with the open-files limit raised: the raylet's soft limit is 65536, or the hard
    # limit of the container when that is lower.
    for pod in [ray.head(), node.ready_pods(NAMESPACE, WORKERS)[0]]:
        limits = node.exec(
            NAMESPACE,
            pod["metadata"]["name"],
            ["bash", "-c", 'grep "Max open files" /proc/$(pgrep -o raylet)/limits'],
            timeout=30,
        )
        soft, hard = limits.stdout.split()[3:5]
        assert int(soft) == min(65536, int(hard)), limits.stdout + limits.stderr

    # The pod-subnet guard is still the first rule of FORWARD, ahead of kube-proxy's jumps.
    forward = subprocess.run(["iptables", "-w", "-S", "FORWARD"], capture_output=True, text=True, check=True)
    assert forward.stdout.splitlines()[1] == "-A FORWARD -j RAY-STATIC-NODE-GUARD", forward.stdout

    # The token in the Secret is the one the stack exports.
    secret = node.get("secret", "-n", NAMESPACE, "ray-auth")
    assert [base64.b64decode(v).decode() for v in secret["data"].values()] == [deployed.outputs["auth_token"]]


CLIENT_POD = ray_image_pod(
    "ray-client",
    CLIENT_NAMESPACE,
    {
        "name": "client",
        "command": ["sleep", "infinity"],
        "env": [{"name": "RAY_AUTH_MODE", "value": "token"}],
        "resources": {"requests": {"cpu": "50m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    },
)
CLIENT_TASKS = """
import json, socket, sys, ray
ray.init(sys.argv[1], logging_level="ERROR")
@ray.remote(num_cpus=1)
def where():
    return socket.gethostname()
print("RESULT", json.dumps(ray.get([where.remote() for _ in range(4)])))
"""
SAFETY_CODE = """
import json, socket
s = socket.socket()
s.settimeout(3)
out = {"metadata": s.connect_ex(("169.254.169.254", 80))}
try:
    socket.gethostbyname("example.com")
    out["dns"] = "resolved"
except OSError:
    out["dns"] = "failed"
print("RESULT", json.dumps(out))
"""
JOB = "import ray; ray.init(); print('JOB-OK', ray.cluster_resources()['CPU'])"
SQUARES = """import ray
ray.init()
print("SQUARES", sum(ray.get([ray.remote(lambda x: x * x).remote(i) for i in range(10)])))
"""
"""A job's file, shipped as its runtime_env working_dir."""


def _ray_cli(*args: str, token: str | None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The `ray` CLI on this machine, given the token as a file (RAY_AUTH_TOKEN_PATH), as the pods are."""
    env = {"PATH": str(REPO / "venv" / "bin") + ":/usr/bin:/bin", "RAY_AUTH_MODE": "token"}
    with tempfile.TemporaryDirectory() as home:
        env["HOME"] = home
        if token:
            path = Path(home) / "ray-token"
            path.write_text(token)
            path.chmod(0o600)
            env["RAY_AUTH_TOKEN_PATH"] = str(path)
        return subprocess.run(
            [str(REPO / "venv" / "bin" / "ray"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


PROXIER_START_FAILURE = "Starting Ray client server failed"


def _client_tasks(deployed: Deployed, client: str, token: str) -> subprocess.CompletedProcess[str]:
    """CLIENT_TASKS in the client pod through the cluster's `client_address`.

    The head's Ray Client proxier starts one server per client; on this loaded 2-core machine that start
    has been seen to fail once in a while on a cluster's first connection (also with the earlier process
    harness, about one run in four, before read-only roots existed). Such a failure is retried once, and
    the head's log of the failed server is shown so the cause stays visible.
    """
    argv = [
        "env",
        f"RAY_AUTH_TOKEN={token}",
        "python",
        "-c",
        CLIENT_TASKS,
        deployed.outputs["client_address"],
    ]
    result = deployed.node.exec(CLIENT_NAMESPACE, client, argv, timeout=300)
    if PROXIER_START_FAILURE in result.stdout + result.stderr:
        head = deployed.ray.head()["metadata"]["name"]
        logs = deployed.node.exec(
            NAMESPACE, head, ["sh", "-c", "tail -n 40 /tmp/ray/session_latest/logs/ray_client_server_*"]
        )
        log(f"ray client: the head's per-client server did not start; retrying once. Its log:\n{logs.stdout}")
        result = deployed.node.exec(CLIENT_NAMESPACE, client, argv, timeout=300)
    return result


def test_2_job_through_port_forward_and_client_task_from_an_allowed_namespace(deployed: Deployed) -> None:
    node, outputs = deployed.node, deployed.outputs
    token = outputs["auth_token"]
    assert outputs["dashboard_url"] == f"http://ray-head.{NAMESPACE}.svc.cluster.local:8265"

    with port_forward(node, NAMESPACE, "svc/ray-head", 8265) as port:
        address = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        job = _ray_cli("job", "submit", "--address", address, "--", "python", "-c", JOB, token=token)
        timed("ray job submit via port-forward: submit -> succeeded", time.monotonic() - t0)
        assert job.returncode == 0 and "JOB-OK" in job.stdout + job.stderr, (job.stdout + job.stderr)[-4000:]
        # A runtime_env working_dir is uploaded and unpacked under /tmp/ray: it works with the read-only root.
        with tempfile.TemporaryDirectory() as src:
            (Path(src) / "squares.py").write_text(SQUARES)
            job = _ray_cli(
                "job", "submit", "--address", address, "--working-dir", src, "--", "python", "squares.py",
                token=token,
            )  # fmt: skip
        assert job.returncode == 0 and "SQUARES 285" in job.stdout + job.stderr, (job.stdout + job.stderr)[
            -4000:
        ]
        refused = _ray_cli("job", "submit", "--address", address, "--", "echo", "should-not-run", token=None)
        assert refused.returncode != 0, refused.stdout[-2000:]
        assert "should-not-run" not in refused.stdout

    node.kubectl("create", "namespace", CLIENT_NAMESPACE)
    node.apply(CLIENT_POD)
    node.wait_ready(CLIENT_NAMESPACE, "app=ray-client", 1, timeout=120)
    client = CLIENT_POD["metadata"]["name"]
    t0 = time.monotonic()
    result = _client_tasks(deployed, client, token)
    hosts = parse_result(result)
    timed("ray client from another namespace: connect + 4 tasks", time.monotonic() - t0)
    # The head offers no CPUs: the tasks ran in worker pods (hostname = pod name).
    workers = {p["metadata"]["name"] for p in node.ready_pods(NAMESPACE, WORKERS)}
    assert set(hosts) <= workers, (hosts, workers)

    no_token = node.exec(
        CLIENT_NAMESPACE, client, ["python", "-c", CLIENT_TASKS, outputs["client_address"]], timeout=300
    )
    assert no_token.returncode != 0 and "RESULT" not in no_token.stdout, no_token.stdout[-2000:]
    # Every port of the head Service reaches a Ray listener through its name (CoreDNS) and ClusterIP
    # (kube-proxy); the GCS check needs the token as well.
    service = node.get("service", "-n", NAMESPACE, "ray-head")
    fqdn = f"ray-head.{NAMESPACE}.svc.cluster.local"
    for port in service["spec"]["ports"]:
        dial = node.exec(
            CLIENT_NAMESPACE,
            client,
            ["timeout", "5", "bash", "-c", f"exec 3<>/dev/tcp/{fqdn}/{port['port']}"],
        )
        assert dial.returncode == 0, (port, dial.stderr)
    gcs = ["ray", "health-check", f"--address={outputs['gcs_address']}"]
    assert node.exec(CLIENT_NAMESPACE, client, ["env", f"RAY_AUTH_TOKEN={token}", *gcs]).returncode == 0
    assert node.exec(CLIENT_NAMESPACE, client, gcs, timeout=180).returncode != 0

    # Nothing leaves the node: no route to the cloud metadata address, no names outside cluster.local.
    safety = node.python(CLIENT_NAMESPACE, client, SAFETY_CODE)
    assert safety == {"metadata": errno.ENETUNREACH, "dns": "failed"}, safety

    # And the dashboard answers 401 without the token, also from inside the cluster.
    code = (
        "import urllib.request, urllib.error, sys\n"
        "try:\n    urllib.request.urlopen(sys.argv[1] + '/api/jobs/', timeout=10); print('RESULT 200')\n"
        "except urllib.error.HTTPError as e:\n    print('RESULT', e.code)\n"
    )
    got = node.exec(CLIENT_NAMESPACE, client, ["python", "-c", code, outputs["dashboard_url"]])
    assert "RESULT 401" in got.stdout, got.stdout + got.stderr


def test_3_one_more_worker_is_one_more_ray_node(deployed: Deployed) -> None:
    before = {n["node_ip"]: n["node_id"] for n in deployed.ray.wait_complete(N, 120)}
    deployed.stack.set_config({"workers": str(int(CONFIG["workers"]) + 1)})
    t0 = time.monotonic()
    changes: dict[str, int] = {
        str(k): v for k, v in (deployed.stack.up().summary.resource_changes or {}).items()
    }
    assert changes.get("update") == 1 and set(changes) <= {"same", "update"}, changes
    alive = deployed.ray.wait_complete(N + 1, START_TIMEOUT)
    timed(f"scale {N} -> {N + 1}: pulumi up -> new worker ALIVE", time.monotonic() - t0)
    # The existing nodes stayed (same node IDs): only one was added.
    assert {n["node_ip"]: n["node_id"] for n in alive if n["node_ip"] in before} == before


def test_4_fault_walkthrough_head_worker_and_every_pod(deployed: Deployed) -> None:
    node, ray = deployed.node, deployed.ray
    workers = N + 1
    old = {n["node_ip"]: n["node_id"] for n in ray.wait_complete(workers, 120)}

    # Head pod deleted: the Deployment makes a new head (a new Ray cluster); every worker joins it.
    t0 = time.monotonic()
    node.kubectl("delete", "pod", "-n", NAMESPACE, "-l", HEAD, "--wait=false")
    ray.wait_complete(workers, REJOIN_TIMEOUT, exclude=old)
    timed("delete head pod -> new head + every worker ALIVE in the new cluster", time.monotonic() - t0)
    for pod in node.pods(NAMESPACE, WORKERS):
        # Each worker left the old cluster by restarting its Ray container at most once: no crash loop.
        assert node.restarts(pod)["ray-worker"] <= 1, ray.describe()

    # A worker pod deleted: a new pod joins the same cluster.
    victim = node.pods(NAMESPACE, WORKERS)[0]["metadata"]["name"]
    current = {n["node_ip"]: n["node_id"] for n in ray.alive()}
    t0 = time.monotonic()
    node.kubectl("delete", "pod", "-n", NAMESPACE, victim, "--wait=false")
    wait_for(
        lambda: victim not in {p["metadata"]["name"] for p in node.pods(NAMESPACE, WORKERS)},
        120,
        f"{victim} gone",
    )
    alive = ray.wait_complete(workers, REJOIN_TIMEOUT)
    timed("delete a worker pod -> its replacement ALIVE", time.monotonic() - t0)
    head_ip = ray.head()["status"]["podIP"]
    assert {n["node_id"] for n in alive if n["node_ip"] == head_ip} == {current[head_ip]}  # same cluster

    # Every pod deleted: the right number comes back and Ray agrees.
    t0 = time.monotonic()
    node.kubectl("delete", "pods", "--all", "-n", NAMESPACE, "--wait=false")
    ray.wait_complete(workers, REJOIN_TIMEOUT, exclude={head_ip: current[head_ip]})
    timed("kubectl delete pods --all -> 1 + N ALIVE again", time.monotonic() - t0)

    # `ray status` reads the autoscaler's report, which trails the node table by a few seconds.
    def active_in_ray_status() -> int:
        status = node.exec(NAMESPACE, ray.head()["metadata"]["name"], ["ray", "status"], timeout=60)
        active = (
            status.stdout.split("Active:", 1)[1].split("Pending:", 1)[0] if "Active:" in status.stdout else ""
        )
        return len(re.findall(r"\bnode_[0-9a-f]+", active))

    wait_for(
        lambda: active_in_ray_status() == 1 + workers, 60, f"ray status lists {1 + workers} active nodes"
    )


def test_5_probes_pass_when_healthy_kubelet_restarts_a_killed_worker_readiness_drops_a_stopped_one(
    deployed: Deployed,
) -> None:
    node, ray = deployed.node, deployed.ray
    workers = N + 1
    ray.wait_complete(workers, REJOIN_TIMEOUT)
    pods = [ray.head(), *node.ready_pods(NAMESPACE, WORKERS)]
    for pod in pods:
        main = pod["spec"]["containers"][0]
        assert main.get("readinessProbe") and main.get("livenessProbe"), main["name"]
        # Ready is the readiness probe passing, as the kubelet ran it against the container.
        assert all(c["ready"] for c in pod["status"]["containerStatuses"]), pod["metadata"]["name"]
    # No container was ever killed for failing its liveness probe (a probe may fail for a while when the
    # head is away, as in test 4; the kubelet restarts only after the failure threshold).
    events = node.get("events", "-n", NAMESPACE)["items"]
    kills = [
        e["message"] for e in events if e.get("reason") == "Killing" and "liveness" in e.get("message", "")
    ]
    assert not kills, kills

    # Ray killed inside a worker (its raylet, SIGKILL): `ray start --block`, the container's PID 1, sees
    # it die and exits; the kubelet restarts the container and the worker rejoins.
    workers_now = node.ready_pods(NAMESPACE, WORKERS)
    name = workers_now[0]["metadata"]["name"]
    before = node.restarts(workers_now[0])["ray-worker"]
    t0 = time.monotonic()
    node.exec(NAMESPACE, name, ["pkill", "-KILL", "raylet"], container="ray-worker")
    wait_for(
        lambda: node.restarts(node.pod_named(NAMESPACE, name))["ray-worker"] > before,
        120,
        f"{name} restarted",
    )
    ray.wait_complete(workers, REJOIN_TIMEOUT)
    timed("raylet killed in a worker -> container restarted and ALIVE again", time.monotonic() - t0)

    # `ray stop` (graceful) inside another worker: Ray 2.60's `ray start --block` keeps running without
    # Ray, so nothing exits; the readiness probe takes the pod out of service within its failure budget
    # (the liveness probe would restart it after initialDelay + period x failureThreshold, ~10 min).
    victim = node.ready_pods(NAMESPACE, WORKERS)[1]
    name = victim["metadata"]["name"]
    readiness = victim["spec"]["containers"][0]["readinessProbe"]
    budget = readiness["periodSeconds"] * readiness["failureThreshold"] + 30
    t0 = time.monotonic()
    stop = node.exec(NAMESPACE, name, ["ray", "stop"], container="ray-worker", timeout=120)
    assert stop.returncode == 0, stop.stdout[-2000:] + stop.stderr[-2000:]
    wait_for(lambda: not is_ready(node.pod_named(NAMESPACE, name)), budget, f"{name} not Ready")
    timed("ray stop in a worker -> pod not Ready (readiness probe)", time.monotonic() - t0)
    assert node.restarts(node.pod_named(NAMESPACE, name))["ray-worker"] == node.restarts(victim)["ray-worker"]
    node.kubectl("delete", "pod", "-n", NAMESPACE, name, "--wait=false")
    ray.wait_complete(workers, REJOIN_TIMEOUT)


def test_6_destroy_leaves_nothing_and_node_down_restores_the_machine(deployed: Deployed) -> None:
    node, session = deployed.node, deployed.session
    node.kubectl("delete", "namespace", CLIENT_NAMESPACE, "--wait=true", timeout=180)
    t0 = time.monotonic()
    deployed.stack.destroy()
    timed("pulumi destroy", time.monotonic() - t0)
    assert not node.exists("namespace", NAMESPACE)
    leftovers = [
        f"{p['metadata']['namespace']}/{p['metadata']['name']}"
        for p in node.get("pods", "--all-namespaces")["items"]
    ]
    assert not leftovers, leftovers
    # The kubelet stopped every container it ran (containerd has no task left).
    ctr = [
        "ctr",
        "--address",
        str(node_dir() / "run" / "containerd.sock"),
        "-n",
        "k8s.io",
        "tasks",
        "ls",
        "-q",
    ]
    wait_for(
        lambda: subprocess.run(ctr, capture_output=True, text=True, check=False).stdout.strip() == "",
        60,
        "no container left running",
    )

    t0 = time.monotonic()
    down = node_sh("down", session.env)
    timed("scripts/node.sh down", time.monotonic() - t0)
    assert down.returncode == 0
    after = snapshot(session.env)
    assert after == session.before, "\n".join(_diff(session.before, after))
    assert not node_dir().exists()
    ours = subprocess.run(
        ["pgrep", "-af", str(node_dir())], capture_output=True, text=True, check=False
    ).stdout
    assert not ours, ours


def _diff(before: str, after: str) -> list[str]:
    return list(
        difflib.unified_diff(before.splitlines(), after.splitlines(), "before up", "after down", lineterm="")
    )
