"""Ray-level conformance (issue 4): the rendered pods, run as real Ray processes, form a working cluster.

One render of the Pulumi program (1 default worker + 1 GPU-group worker) is brought up once per module:
workers first, then the head. The tests run in file order; the last two are destructive (head restart,
then Ray stopped on every node).
"""

from __future__ import annotations

import json
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from tests.ray import kube
from tests.ray.cluster import LocalCluster, RenderedCluster, note, render, timed, wait_for
from tests.ray.harness import Harness, PodRuntime, log

pytestmark = pytest.mark.ray

CONFIG = {"workers": "1", "workerGroups": json.dumps([{"name": "gpu", "replicas": 1, "gpus": 1}])}
INIT_WAIT = 15.0
"""How long workers sit in their init step before the head starts. One `ray health-check` against an absent
GCS blocks ~40 s before failing, so the step is seen polling by its process, not by its loop output."""
START_TIMEOUT = 300.0
REJOIN_TIMEOUT = 300.0
"""Bound on a head restart: kill -> every worker in the new cluster."""


@dataclass
class Bringup:
    cluster: LocalCluster
    before_head: dict[str, dict[str, Any]]
    after_join: dict[str, dict[str, Any]]
    head_ready_after: float


def _snapshot(pod: PodRuntime) -> dict[str, Any]:
    inits = [c for c in pod.containers.values() if c.init]
    main = pod.container()
    return {
        "init_running": [c.running for c in inits],
        "init_attempts": [len(c.attempts) for c in inits],
        "init_exit_codes": [a.exit_code for c in inits for a in c.attempts],
        "init_polling": [
            c.running and any("health-check" in p for p in pod.processes(c.spec.name)) for c in inits
        ],
        "main_attempts": len(main.attempts),
        "main_running": main.running,
    }


@pytest.fixture(scope="module")
def rendered() -> RenderedCluster:
    return render(CONFIG)


@pytest.fixture(scope="module")
def bringup(ray_harness: Harness, rendered: RenderedCluster) -> Bringup:
    cluster = LocalCluster(ray_harness, rendered)
    t0 = time.monotonic()
    for worker in cluster.workers:
        worker.start()
    time.sleep(INIT_WAIT)
    before_head = {w.name: _snapshot(w) for w in cluster.workers}
    head_start = time.monotonic()
    cluster.head.start()
    head_ready = cluster.wait_ready(cluster.head, START_TIMEOUT)
    timed("head start -> head readiness probe passes", head_ready)
    cluster.wait_alive(START_TIMEOUT)
    timed("head start -> head + 2 workers ALIVE", time.monotonic() - head_start)
    timed("first worker start -> cluster complete", time.monotonic() - t0)
    return Bringup(cluster, before_head, {w.name: _snapshot(w) for w in cluster.workers}, head_ready)


def _flag(argv: tuple[str, ...], name: str) -> str | None:
    match = re.search(rf"--{name}=(\S+)", " ".join(argv))
    return match.group(1) if match else None


# ---------------------------------------------------------------------------------------------- checks


def test_1_workers_wait_in_init_until_the_head_is_up_then_join_without_restarts(bringup: Bringup) -> None:
    for name, snap in bringup.before_head.items():
        # Before the head exists: still in the init step, never restarted, main container not started.
        assert snap["init_running"] == [True], (name, snap)
        assert snap["init_attempts"] == [1], (name, snap)
        assert snap["init_polling"] == [True], (name, snap)  # `ray health-check` is polling the GCS
        assert snap["main_attempts"] == 0, (name, snap)
    for name, snap in bringup.after_join.items():
        # Joined: init exited 0 exactly once, the main container started exactly once and runs.
        assert snap["init_exit_codes"] == [0], (name, snap)
        assert snap["main_attempts"] == 1 and snap["main_running"], (name, snap)
    for pod in bringup.cluster.pods:
        # The harness ran them as the rendered non-root user, as the restricted namespace requires.
        spec = pod.container().spec
        assert pod.credentials() == (spec.run_as_user, spec.run_as_group) != (0, 0), pod.name


def test_2_alive_nodes_and_resources_match_the_pod_resources(bringup: Bringup) -> None:
    cluster = bringup.cluster
    nodes = {n["node_ip"]: n for n in cluster.alive_nodes()}
    assert set(nodes) == {p.ip for p in cluster.pods}
    assert nodes[cluster.head.ip]["is_head_node"]
    assert len(cluster.workers) == 2

    expected_total = {"CPU": 0.0, "memory": 0.0, "GPU": 0.0}
    for pod in cluster.pods:
        main = pod.container().spec
        limits = main.resources["limits"]
        flags = {k: _flag(main.argv, k) for k in ("num-cpus", "memory", "num-gpus")}
        # What the component derived from the pod's resources ...
        gpus = int(limits.get("nvidia.com/gpu", 0))
        assert flags["memory"] is not None and int(flags["memory"]) == int(limits["memory"]), (
            pod.name,
            flags,
        )
        assert int(flags["num-gpus"] or 0) == gpus, (pod.name, flags)
        if pod is not cluster.head:  # the head offers headRayCpus (default 0), not its CPU limit
            assert flags["num-cpus"] is not None and int(flags["num-cpus"]) == math.ceil(limits["cpu"])
        # ... is what Ray reports for that node.
        want = {"CPU": float(flags["num-cpus"] or 0), "memory": float(limits["memory"]), "GPU": float(gpus)}
        total = nodes[pod.ip]["resources_total"]
        got = {k: float(total.get(k, 0.0)) for k in want}
        assert got == want, (pod.name, got, want)
        for k in expected_total:
            expected_total[k] += want[k]
    assert any(_flag(w.container().spec.argv, "num-gpus") == "1" for w in cluster.workers)

    out = _result(cluster.ray_client("print('RESULT', json.dumps(ray.cluster_resources()))"))
    got_total = {k: float(out.get(k, 0.0)) for k in expected_total}
    log(f"ray.cluster_resources(): {out}")
    assert got_total == expected_total


def _result(result: Any) -> Any:
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise AssertionError(f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def test_3_task_through_client_address_and_job_through_dashboard_url(bringup: Bringup) -> None:
    cluster = bringup.cluster
    outputs = cluster.rendered.outputs
    assert outputs["client_address"] == f"ray://{cluster.rendered.fqdn}:10001"
    t0 = time.monotonic()
    result = cluster.ray_client(
        """
        @ray.remote(num_cpus=1)
        def where():
            return socket.gethostname()
        print("RESULT", json.dumps(ray.get([where.remote() for _ in range(4)])))
        """
    )
    hosts = _result(result)
    timed("ray client: connect + 4 tasks", time.monotonic() - t0)
    # The head offers no CPUs, so the tasks ran on the worker pods (hostname = pod name).
    assert set(hosts) <= {w.name for w in cluster.workers}, hosts

    t0 = time.monotonic()
    job = "import ray; ray.init(); print('JOB-OK', ray.cluster_resources()['CPU'])"
    result = cluster.client.run(
        ["ray", "job", "submit", "--address", outputs["dashboard_url"], "--", "python", "-c", job],
        env=cluster.client_env(),
        timeout=240,
    )
    timed("ray job submit: submit -> succeeded", time.monotonic() - t0)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "JOB-OK" in output and "succeeded" in output, output[-4000:]


def test_5_service_ports_are_ray_listeners_and_cover_what_workers_need(bringup: Bringup) -> None:
    cluster = bringup.cluster
    rendered = cluster.rendered
    head_spec = cluster.head.pod.containers
    listeners = cluster.head.listening()
    service_ports: set[int] = set()
    for name, port in rendered.service_ports.items():
        target = kube.service_target_port(port, head_spec)
        # The harness stands in for the ClusterIP by resolving the FQDN to the head pod: no port mapping.
        assert target == port["port"], f"Service port {name}: {port['port']} -> {target}"
        assert target in {p for c in head_spec for p in c.ports.values()}, f"{name} is no container port"
        owners = [users for addr, p, users in listeners if p == target and not addr.startswith("127.")]
        assert owners and all(owners), f"Service port {name} ({target}): no Ray process listens on it"
        assert (
            cluster.client.run(
                ["timeout", "5", "bash", "-c", f"exec 3<>/dev/tcp/{rendered.fqdn}/{target}"]
            ).returncode
            == 0
        ), f"{rendered.fqdn}:{target} unreachable from the client pod"
        service_ports.add(target)

    # Everything a worker addresses through the Service (init step, ray start, env) is on it, and so is
    # everything the stack outputs send users to.
    fqdn = re.escape(rendered.fqdn)
    needed: set[int] = set()
    for worker in cluster.workers:
        for c in worker.pod.init_containers + worker.pod.containers:
            text = " ".join([*c.argv, *c.env.values()])
            needed |= {int(p) for p in re.findall(rf"{fqdn}:(\d+)", text)}
    assert needed, "the workers never address the head through the Service"
    outputs = " ".join(str(v) for v in rendered.outputs.values())
    needed_by_users = {int(p) for p in re.findall(rf"{fqdn}:(\d+)", outputs)}
    assert needed <= service_ports, f"workers need {sorted(needed - service_ports)} which the Service lacks"
    assert needed_by_users <= service_ports, sorted(needed_by_users - service_ports)

    # For the record (the NetworkPolicy lists container ports): which non-loopback listeners are not declared.
    declared = {p for c in head_spec for p in c.ports.values()}
    external = {
        (p, ",".join(re.findall(r'\("([^"]+)"', users))) for addr, p, users in listeners if addr[:4] != "127."
    }
    undeclared = sorted(f"{p} ({proc})" for p, proc in external if p not in declared)
    note(f"head: listeners not declared as container ports: {undeclared or 'none'}")


def test_7_token_auth_refuses_clients_without_the_token(bringup: Bringup) -> None:
    cluster = bringup.cluster
    rendered = cluster.rendered
    if not rendered.token:
        pytest.skip("auth is off in this render")
    dashboard = rendered.outputs["dashboard_url"]
    for path in ("/api/jobs/", "/api/v0/nodes"):
        assert cluster.client.http(dashboard + path)[0] == 401, path
        # Ray answers a missing token with 401 and a wrong one with 403.
        assert cluster.client.http(dashboard + path, cluster.auth_headers("wrong-token-0123456789"))[0] == 403
        assert cluster.client.http(dashboard + path, cluster.auth_headers())[0] == 200, path

    body = "print('RESULT', json.dumps(ray.get(ray.put(1))))"
    # A refused client gives up after ~30 s of retries: try both refusals at once.
    refusals = {"no token": None, "a wrong token": "wrong-token-0123456789"}
    with ThreadPoolExecutor(len(refusals)) as pool:
        results = dict(
            zip(
                refusals,
                pool.map(lambda t: cluster.ray_client(body, token=t), refusals.values()),
                strict=True,
            )
        )
    for label, result in results.items():
        log(f"ray client with {label}: exit {result.returncode}: {result.stderr.strip().splitlines()[-1:]}")
        assert "RESULT" not in result.stdout, f"ray client with {label} got in"
        assert result.returncode != 0
    # The refusal is the token check, not some other failure to connect.
    server_log = cluster.head.host_path("/tmp/ray/session_latest/logs/ray_client_server.err").read_text()
    assert "Authentication required" in server_log, server_log[-2000:]
    assert _result(cluster.ray_client(body)) == 1

    result = cluster.client.run(
        ["ray", "job", "submit", "--address", dashboard, "--", "echo", "should-not-run"], timeout=120
    )
    assert result.returncode != 0 and "should-not-run" not in result.stdout
    gcs = rendered.outputs["gcs_address"]
    assert cluster.client.run(["ray", "health-check", f"--address={gcs}"], timeout=120).returncode != 0
    assert (
        cluster.client.run(["ray", "health-check", f"--address={gcs}"], cluster.client_env()).returncode == 0
    )


def test_6_head_restart_workers_end_up_in_the_new_cluster(bringup: Bringup) -> None:
    cluster = bringup.cluster
    old = {n["node_ip"]: n["node_id"] for n in cluster.wait_alive(120)}
    restarts_before = {w.name: w.container().restarts for w in cluster.workers}
    head_restarts = cluster.head.container().restarts
    t0 = time.monotonic()
    # SIGKILL to the head container's main process: the container dies and the kubelet restarts it.
    cluster.head.kill()
    wait_for("head container restarted", lambda: cluster.head.container().restarts > head_restarts, 60, 0.2)
    cluster.wait_ready(cluster.head, REJOIN_TIMEOUT)
    timed("head restart: kill -> new head ready", time.monotonic() - t0)
    alive = cluster.wait_alive(
        REJOIN_TIMEOUT - (time.monotonic() - t0), old, "every node ALIVE in the new cluster"
    )
    elapsed = time.monotonic() - t0
    timed("head restart: kill -> all workers in the new cluster", elapsed)
    assert len(alive) == 3
    behaviour = []
    for w in cluster.workers:
        main = w.container()
        codes = [a.exit_code for a in main.attempts if a.finished is not None]
        behaviour.append(
            f"{w.name}: main container restarts {restarts_before[w.name]}->{main.restarts}, exits {codes}"
        )
        # Kubernetes restarts each worker at most once here (first restart is immediate): no crash loop.
        assert main.restarts - restarts_before[w.name] <= 1, cluster.describe()
    note(f"head restart: all workers back in the new cluster after {elapsed:.1f}s; " + "; ".join(behaviour))
    assert elapsed < REJOIN_TIMEOUT


def _failure(pod: PodRuntime, kind: str, container: str) -> str | None:
    """The probe's failure detail, or None while it still passes."""
    ok, detail = pod.probe(kind, container)
    return None if ok else detail


def test_4_probes_pass_on_healthy_nodes_and_fail_once_ray_is_stopped(bringup: Bringup) -> None:
    cluster = bringup.cluster
    cluster.wait_alive(REJOIN_TIMEOUT)
    probed = []
    for pod in cluster.pods:
        for c in pod.containers.values():
            for kind, probe in c.spec.probes.items():
                ok, detail = pod.probe(kind, c.spec.name)
                assert ok, f"{pod.name}/{c.spec.name} {kind}: {detail}"
                probed.append((pod, c.spec.name, kind))
                if kind == "liveness":
                    # A healthy node starting as slowly as measured here is not killed by its liveness probe.
                    budget = probe.initial_delay + probe.period * probe.failure_threshold
                    assert bringup.head_ready_after < budget, (kind, budget)
    assert {(p.name, k) for p, _, k in probed} >= {
        (p.name, k) for p in cluster.pods for k in ("readiness", "liveness")
    }

    for pod in cluster.pods:
        pod.hold_restarts.set()  # keep the stopped node down while its probes are checked
        result = pod.exec(["ray", "stop"], timeout=120)
        # Once Ray's processes are gone `ray start --block` (the container's PID 1) exits, and the container
        # with everything in it, this `ray stop` included, is killed: as with `kubectl exec`.
        assert result.returncode in (0, -9), result.stdout[-2000:] + result.stderr[-2000:]
    for pod, container, kind in probed:
        detail = wait_for(f"{pod.name} {kind} probe failing", partial(_failure, pod, kind, container), 60)
        log(f"{pod.name}/{container} {kind} after `ray stop`: {detail}")
