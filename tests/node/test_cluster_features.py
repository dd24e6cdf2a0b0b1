"""What static-cluster users need beyond the guide, on the real node: custom Ray resources, a volume from
a PersistentVolumeClaim, and GCS fault tolerance against a real Redis (Debian's redis-server, started
here), including how fast workers reconnect to a restarted head through each kind of head Service.

One stack, deployed once; the tests run in file order. The node has 2 CPUs: the head requests 1 CPU, the
three workers (two in the default group, one in group `special`) 250m each, as in Pulumi.node.yaml.

Without GCS fault tolerance a head restart starts a new Ray cluster and every worker restarts to join it:
test_real_node.py's fault walkthrough (test 4) shows that on the same node.
"""

from __future__ import annotations

import base64
import calendar
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.node.support import (
    HEAD,
    NODE_IP,
    WORKERS,
    Deployment,
    NodeSession,
    RayView,
    RealNode,
    Redis,
    deployed_stack,
    log,
    parse_result,
    timed,
)
from tests.support.waiting import wait_for

NAMESPACE = "ray"
SPECIAL = "ray.io/cluster=ray,ray.io/group=special"
N = 3
"""Workers: two in the default group, one in `special`."""
REDIS_SECRET = "redis"
DATA_FILE = "written-by-the-test.txt"
START_TIMEOUT = 300.0
BACK_WITHIN = 60.0
"""The issue's bar: the same Ray nodes ALIVE again within this many seconds of the new head being Ready."""
RESTART_TIMEOUT = 300.0
SAMPLES = int(os.environ.get("RAY_STATIC_SERVICE_SAMPLES", "1"))
"""Head restarts per kind of head Service in test 5 (more than 1 also repeats the deployed kind)."""


def _config(redis_port: int) -> dict[str, str]:
    groups = [
        {
            "name": "special",
            "replicas": 1,
            "cpuRequest": "250m",
            "memory": "1Gi",
            "rayResources": {"special": 2},
        }
    ]
    return {
        "createNamespace": "false",  # made by the test, with the Redis Secret and the claim in it
        "headCpu": "1",
        "headMemory": "2Gi",
        "workers": "2",
        "workerCpuRequest": "250m",
        "workerMemory": "1Gi",
        "workerGroups": json.dumps(groups),
        "volumes": json.dumps([{"name": "data", "persistentVolumeClaim": {"claimName": "ray-data"}}]),
        "volumeMounts": json.dumps([{"name": "data", "mountPath": "/data"}]),
        "podDisruptionBudget": "true",
        "gcsFaultTolerance": json.dumps(
            {"redisAddress": f"{NODE_IP}:{redis_port}", "redisPasswordSecret": REDIS_SECRET}
        ),
    }


@dataclass
class Deployed(Deployment):
    redis: Redis
    data_dir: Path
    measured: dict[str, dict[str, float]] = field(default_factory=dict)


def _prepare_namespace(node: RealNode, redis: Redis, data_dir: Path) -> None:
    """The namespace (restricted Pod Security, as the stack makes it), the Redis Secret, and a claim
    statically bound to a hostPath PersistentVolume (this node has no provisioner)."""
    enforce = {"pod-security.kubernetes.io/enforce": "restricted"}
    node.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": enforce}})
    node.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": REDIS_SECRET, "namespace": NAMESPACE},
            "data": {"password": base64.b64encode(redis.password.encode()).decode()},
        }
    )
    node.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": "ray-data"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "manual",
                "hostPath": {"path": str(data_dir), "type": "Directory"},
                "claimRef": {"namespace": NAMESPACE, "name": "ray-data"},
            },
        }
    )
    node.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "ray-data", "namespace": NAMESPACE},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "manual",
                "volumeName": "ray-data",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    wait_for(
        lambda: node.get("pvc", "ray-data", "-n", NAMESPACE)["status"].get("phase") == "Bound",
        60,
        "the claim Bound",
    )


@pytest.fixture(scope="module")
def deployed(
    real_node: NodeSession, redis: Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    node = real_node.node
    data_dir = tmp_path_factory.mktemp("pv-data")
    data_dir.chmod(0o1777)  # the pods run as uid 1000; a hostPath volume keeps the host's modes
    (data_dir / DATA_FILE).write_text("hello from the test\n")
    _prepare_namespace(node, redis, data_dir)
    view = RayView(node, NAMESPACE)
    with deployed_stack(
        real_node,
        tmp_path_factory,
        "features",
        _config(redis.port),
        view,
        workers=N,
        leftovers=[("namespace", NAMESPACE), ("pv", "ray-data")],
    ) as stack:
        yield Deployed(real_node, stack, view, redis, data_dir)


# --- Ray inside the head pod ---------------------------------------------------------------------------

RESOURCES_CODE = """
import json, socket, ray
ray.init(logging_level="ERROR")
@ray.remote(num_cpus=0, resources={"special": 1})
def where():
    return {"ip": ray.util.get_node_ip_address(), "host": socket.gethostname()}
per_node = {n["NodeManagerAddress"]: n["Resources"].get("special", 0) for n in ray.nodes() if n["Alive"]}
print("RESULT", json.dumps({
    "cluster": ray.cluster_resources().get("special", 0),
    "per_node": per_node,
    "ran_on": ray.get([where.remote() for _ in range(4)]),
}))
"""
ACTOR_CODE = """
import json, sys, ray
ray.init(namespace="features", logging_level="ERROR")
@ray.remote(num_cpus=1, max_restarts=0)
class Counter:
    def __init__(self):
        self.n = 0
    def inc(self):
        self.n += 1
        return self.n
    def where(self):
        return ray.util.get_node_ip_address()
if sys.argv[1] == "create":
    c = Counter.options(name="counter", lifetime="detached").remote()
else:
    c = ray.get_actor("counter")
print("RESULT", json.dumps({"n": ray.get(c.inc.remote(), timeout=60), "ip": ray.get(c.where.remote())}))
"""
RECONNECT_CODE = """
import json, sys, time, ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy as On
wanted = set(sys.argv[1].split(","))
while True:
    try:
        ray.init(logging_level="ERROR")
        break
    except Exception:
        ray.shutdown()
        time.sleep(0.2)
@ray.remote(num_cpus=0, max_retries=0)
def here():
    return ray.get_runtime_context().get_node_id()
refs, done = {}, set()
while done != wanted:
    for node in wanted - done - set(refs):
        refs[node] = here.options(scheduling_strategy=On(node, soft=False)).remote()
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=0.2)
    for node, ref in list(refs.items()):
        if ref in ready:
            del refs[node]
            try:
                done.add(ray.get(ref))
            except Exception:
                pass
print("RESULT", json.dumps({"at": time.time()}))
"""
"""Runs in the new head as soon as its container runs: returns the wall-clock time at which each worker
(by Ray node ID) ran a task again, i.e. its raylet is back with the restarted GCS."""
HEALTHZ_CODE = """
import json, sys, time, urllib.error, urllib.request
end, out = time.time() + float(sys.argv[1]), []
while time.time() < end:
    t = time.time()
    try:
        status = urllib.request.urlopen("http://127.0.0.1:52365/api/healthz", timeout=20).status
    except urllib.error.HTTPError as e:
        status = e.code
    except Exception:
        status = 0
    out.append([round(t, 2), status, round(time.time() - t, 3)])
    time.sleep(0.5)
print("RESULT", json.dumps(out))
"""
"""Runs in a worker while the head restarts: the worker's own /api/healthz (what its probes ask), every
half second, with each answer's status and latency."""


def _in_head(deployed: Deployed, code: str, *args: str, timeout: float = 120) -> Any:
    head = deployed.ray.head()["metadata"]["name"]
    result = deployed.node.exec(
        NAMESPACE, head, ["python", "-c", code, *args], container="ray-head", timeout=timeout
    )
    return parse_result(result)


# --- custom resources, volumes -------------------------------------------------------------------------


def test_1_custom_resources_are_offered_per_replica_and_tasks_needing_them_run_in_that_group(
    deployed: Deployed,
) -> None:
    got = _in_head(deployed, RESOURCES_CODE)
    special = deployed.node.ready_pods(NAMESPACE, SPECIAL)
    assert len(special) == 1
    pod_ip, pod_name = special[0]["status"]["podIP"], special[0]["metadata"]["name"]
    assert got["cluster"] == 2.0, got
    assert {ip: n for ip, n in got["per_node"].items() if n} == {pod_ip: 2.0}, got
    assert got["ran_on"] == [{"ip": pod_ip, "host": pod_name}] * 4, got


def test_2_a_claims_volume_is_mounted_in_the_head_and_every_worker(deployed: Deployed) -> None:
    node = deployed.node
    pods = [deployed.ray.head(), *node.ready_pods(NAMESPACE, WORKERS)]
    assert len(pods) == 1 + N
    head = pods[0]["metadata"]["name"]
    wrote = node.exec(
        NAMESPACE, head, ["sh", "-c", "echo from-the-head > /data/from-head.txt"], container="ray-head"
    )
    assert wrote.returncode == 0, wrote.stderr
    for pod in pods:
        main = pod["spec"]["containers"][0]["name"]
        read = node.exec(
            NAMESPACE,
            pod["metadata"]["name"],
            ["cat", f"/data/{DATA_FILE}", "/data/from-head.txt"],
            container=main,
        )
        assert read.stdout == "hello from the test\nfrom-the-head\n", (pod["metadata"]["name"], read.stderr)
    assert (deployed.data_dir / "from-head.txt").read_text() == "from-the-head\n"


# --- GCS fault tolerance --------------------------------------------------------------------------------


def _worker_state(node: RealNode) -> dict[str, tuple[str, dict[str, int], str]]:
    """Worker pods by name: UID, restart counts, and when they last became Ready (a worker that went
    NotReady in between shows a later time)."""
    return {
        p["metadata"]["name"]: (
            p["metadata"]["uid"],
            node.restarts(p),
            next(c["lastTransitionTime"] for c in p["status"]["conditions"] if c["type"] == "Ready"),
        )
        for p in node.pods(NAMESPACE, WORKERS)
    }


def _restart_head(deployed: Deployed, variant: str) -> dict[str, float]:
    """Deletes the head pod; returns seconds from the deletion until the new head runs, until the workers
    run tasks with it again (measured inside the new head), and until it is Ready."""
    node, ray = deployed.node, deployed.ray
    old = ray.head()
    head_ip = old["status"]["podIP"]
    workers = {n["node_id"] for n in ray.alive() if n["node_ip"] != head_ip}
    assert len(workers) == N, ray.describe()
    sampler = _sample_healthz(node, node.ready_pods(NAMESPACE, WORKERS)[0]["metadata"]["name"])
    t0 = time.time()
    node.kubectl("delete", "pod", "-n", NAMESPACE, old["metadata"]["name"], "--wait=false")

    def running() -> dict[str, Any] | None:
        for pod in node.pods(NAMESPACE, HEAD):
            state = (pod["status"].get("containerStatuses") or [{}])[0].get("state", {})
            if pod["metadata"]["uid"] != old["metadata"]["uid"] and "running" in state:
                return pod
        return None

    new = wait_for(running, RESTART_TIMEOUT, "the new head's container running", interval=0.5)
    t_running = time.time()
    probe = node.exec(
        NAMESPACE,
        new["metadata"]["name"],
        ["python", "-c", RECONNECT_CODE, ",".join(sorted(workers))],
        container="ray-head",
        timeout=RESTART_TIMEOUT,
    )
    back = parse_result(probe)["at"]
    node.wait_ready(NAMESPACE, HEAD, 1, timeout=RESTART_TIMEOUT)
    ready = _ready_at(node.pods(NAMESPACE, HEAD)[0])
    wait_for(lambda: _active_nodes(deployed) == 1 + N, 120, f"`ray status` listing 1 + {N} active nodes")
    measured = {
        "head running": t_running - t0,
        "workers back": back - t0,
        "head Ready": ready - t0,
        "workers back after Ready": back - ready,
        "ray status complete after Ready": time.time() - ready,
        "deleted at": t0,
        **_healthz_summary(sampler),
    }
    deployed.measured[variant] = measured
    for what, seconds in measured.items():
        if what != "deleted at":
            timed(f"head restart, {variant}: {what}", seconds)
    return measured


HEALTHZ_SECONDS = 30


def _sample_healthz(node: RealNode, worker: str) -> subprocess.Popen[str]:
    argv = [
        "kubectl",
        "--kubeconfig",
        str(node.kubeconfig),
        "exec",
        "-n",
        NAMESPACE,
        worker,
        "-c",
        "ray-worker",
    ]
    return subprocess.Popen(
        [*argv, "--", "python", "-c", HEALTHZ_CODE, str(HEALTHZ_SECONDS)],
        env=node.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _healthz_summary(sampler: subprocess.Popen[str]) -> dict[str, float]:
    """The slowest answer of a worker's /api/healthz during the head restart, and how many answers took
    longer than each probe timeout or were not 200."""
    stdout, stderr = sampler.communicate(timeout=HEALTHZ_SECONDS + 60)
    samples = parse_result(subprocess.CompletedProcess([], sampler.returncode, stdout, stderr))
    latencies = [latency for _, _, latency in samples]
    return {
        "worker healthz slowest": max(latencies),
        "worker healthz answers": float(len(samples)),
        "worker healthz over 2 s": float(sum(lat > 2 for lat in latencies)),
        "worker healthz over 5 s": float(sum(lat > 5 for lat in latencies)),
        "worker healthz not 200": float(sum(status != 200 for _, status, _ in samples)),
    }


def _stamp(text: str) -> float:
    """A Kubernetes timestamp (UTC, whole seconds) as wall-clock seconds."""
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def _ready_at(pod: dict[str, Any]) -> float:
    return _stamp(next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")["lastTransitionTime"])


def _active_nodes(deployed: Deployed) -> int:
    head = deployed.ray.head()["metadata"]["name"]
    status = deployed.node.exec(NAMESPACE, head, ["ray", "status"], container="ray-head", timeout=60)
    active = status.stdout.split("Active:", 1)[-1].split("Pending:", 1)[0]
    return len(re.findall(r"\bnode_[0-9a-f]+", active))


def _worker_probe_failures(node: RealNode, since: float) -> list[str]:
    """Probe failures and kills of worker containers the kubelet reported since `since`."""
    out = []
    for e in node.get("events", "-n", NAMESPACE)["items"]:
        last = e.get("lastTimestamp") or (e.get("eventTime") or "")[:19] + "Z"
        if (
            e.get("reason") in ("Unhealthy", "Killing")
            and "worker" in e["involvedObject"].get("name", "")
            and _stamp(last) >= since - 1
        ):
            out.append(f"{e['involvedObject']['name']}: {e['reason']} x{e.get('count', 1)}: {e['message']}")
    return out


def test_3_the_budget_refuses_to_evict_the_head(deployed: Deployed) -> None:
    node = deployed.node
    budget = node.get("pdb", "ray-head", "-n", NAMESPACE)
    assert budget["status"]["disruptionsAllowed"] == 0 and budget["status"]["currentHealthy"] == 1, budget
    head = deployed.ray.head()["metadata"]["name"]
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": head, "namespace": NAMESPACE},
    }
    refused = subprocess.run(
        ["kubectl", "--kubeconfig", str(node.kubeconfig), "create", "--raw",
         f"/api/v1/namespaces/{NAMESPACE}/pods/{head}/eviction", "-f", "-"],
        input=json.dumps(eviction), env=node.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "disruption budget" in refused.stderr, refused.stderr
    assert deployed.ray.head()["metadata"]["name"] == head


def test_4_a_head_restart_keeps_the_workers_and_a_detached_actor(deployed: Deployed) -> None:
    node, ray = deployed.node, deployed.ray
    created = _in_head(deployed, ACTOR_CODE, "create")
    head_ip = ray.head()["status"]["podIP"]
    assert created["n"] == 1 and created["ip"] != head_ip, created  # on a worker: the head offers no CPU
    before = _worker_state(node)
    alive_before = {n["node_id"] for n in ray.alive() if n["node_ip"] != head_ip}
    # The cluster's state is in Redis, under the storage namespace the stack generated once.
    head_env = {e["name"]: e.get("value") for e in ray.head()["spec"]["containers"][0]["env"]}
    storage = head_env["RAY_external_storage_namespace"]
    assert re.fullmatch(r"ray-ray-[0-9a-f]{8}", storage), storage
    assert f"RAY{storage}@NODE" in deployed.redis.cli("--scan", "--pattern", f"RAY{storage}@*").split()

    measured = _restart_head(deployed, f"{_service_kind(node)} (deployed)")
    assert measured["ray status complete after Ready"] <= BACK_WITHIN, measured

    # The same workers, never restarted and never NotReady, the same Ray nodes; the actor kept its state
    # (it lives on a worker).
    assert _worker_state(node) == before, (before, _worker_state(node))
    assert all(set(counts.values()) == {0} for _, counts, _ in before.values()), before
    new_head_ip = ray.head()["status"]["podIP"]
    assert {n["node_id"] for n in ray.alive() if n["node_ip"] != new_head_ip} == alive_before, ray.describe()
    again = _in_head(deployed, ACTOR_CODE, "get")
    assert again == {"n": 2, "ip": created["ip"]}, again
    # The probes had no reason to fail them: a worker's /api/healthz answers 200 within about 1 s
    # while the GCS is away (the dashboard agent counts an unreachable GCS as healthy); a probe timing out
    # under load now and then stays far below the failure thresholds (readiness 10, liveness 120, i.e.
    # 10 minutes, which is also the raylet's own GCS reconnect timeout).
    assert measured["worker healthz not 200"] == 0 and measured["worker healthz slowest"] < 2, measured
    failures = _worker_probe_failures(node, measured["deleted at"])
    assert not [f for f in failures if ": Killing x" in f], failures
    log(f"worker probe failures while the head restarted: {len(failures)}: {failures}")


def _service(node: RealNode) -> dict[str, Any]:
    return node.get("service", "ray-head", "-n", NAMESPACE)


def _service_kind(node: RealNode, svc: dict[str, Any] | None = None) -> str:
    spec = (svc or _service(node))["spec"]
    kind = "headless" if spec.get("clusterIP") == "None" else spec.get("type", "ClusterIP")
    ready = ", publishNotReadyAddresses" if spec.get("publishNotReadyAddresses") else ", ready addresses only"
    return f"{kind} Service{ready}"


def _recreate_service(node: RealNode, svc: dict[str, Any], headless: bool, publish_not_ready: bool) -> None:
    """The head Service as the stack made it (same name, selector, ports), headless or not; a Service's
    clusterIP cannot change, so it is deleted and created again."""
    spec = {k: v for k, v in svc["spec"].items() if k not in ("clusterIP", "clusterIPs")}
    spec["publishNotReadyAddresses"] = publish_not_ready
    if headless:
        spec["clusterIP"] = "None"
    metadata = {
        k: svc["metadata"][k] for k in ("name", "namespace", "labels", "annotations") if k in svc["metadata"]
    }
    node.kubectl("delete", "service", "ray-head", "-n", NAMESPACE)
    node.apply({"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec})


def test_5_workers_reconnect_through_every_kind_of_head_service(deployed: Deployed) -> None:
    """Each other kind of head Service in turn (the deployed one was measured by test 4; with SAMPLES > 1
    it is measured again), then the deployed one again."""
    node, ray = deployed.node, deployed.ray
    deployed_svc = _service(node)
    spec = deployed_svc["spec"]
    as_deployed = (spec.get("clusterIP") == "None", bool(spec.get("publishNotReadyAddresses")))
    kinds = [(h, p) for h in (False, True) for p in (False, True) if SAMPLES > 1 or (h, p) != as_deployed]
    back: dict[str, list[float]] = {}
    for sample in range(SAMPLES):
        for headless, publish in kinds:
            ray.wait_complete(N, START_TIMEOUT)
            before = _worker_state(node)
            _recreate_service(node, deployed_svc, headless, publish)
            kind = _service_kind(node)
            measured = _restart_head(deployed, f"{kind} #{sample + 1}")
            assert measured["ray status complete after Ready"] <= BACK_WITHIN, (kind, measured)
            assert _worker_state(node) == before, kind
            back.setdefault(kind, []).append(measured["workers back"])
    for kind, seconds in back.items():
        log(f"{kind}: workers back after the head's deletion in {sorted(round(s, 1) for s in seconds)} s")
    _recreate_service(node, deployed_svc, *as_deployed)
    assert _service_kind(node) == _service_kind(node, deployed_svc)
    ray.wait_complete(N, START_TIMEOUT)


LONG_OUTAGE = 75.0
"""Longer than Ray's default GCS reconnect timeout (60 s), well within the workers' 600 s."""


def test_6_workers_outlast_a_head_away_longer_than_rays_default_reconnect_timeout(deployed: Deployed) -> None:
    node, ray = deployed.node, deployed.ray
    alive = ray.wait_complete(N, START_TIMEOUT)
    head_ip = ray.head()["status"]["podIP"]
    workers = {n["node_id"] for n in alive if n["node_ip"] != head_ip}
    before = _worker_state(node)
    node.kubectl("scale", "deployment", "ray-head", "-n", NAMESPACE, "--replicas=0")
    wait_for(lambda: not node.get("pods", "-n", NAMESPACE, "-l", HEAD)["items"], 120, "no head pod")
    gone = time.monotonic()
    time.sleep(LONG_OUTAGE)
    node.kubectl("scale", "deployment", "ray-head", "-n", NAMESPACE, "--replicas=1")
    alive = ray.wait_complete(N, START_TIMEOUT)
    timed(f"head away {LONG_OUTAGE:.0f} s -> the same workers ALIVE again", time.monotonic() - gone)
    new_head_ip = ray.head()["status"]["podIP"]
    assert {n["node_id"] for n in alive if n["node_ip"] != new_head_ip} == workers, ray.describe()
    assert _worker_state(node) == before
