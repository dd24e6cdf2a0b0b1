"""The comparison with KubeRay on the node, one scenario a run, each arm side by side in every round:

    create        command -> every worker alive in Ray -> the first job's result; then destroy until the
                  namespace is gone (floor, ray-static, KubeRay by kubectl, KubeRay by Pulumi)
    scale         2 -> 3 workers until the new one is alive in Ray (the same four)
    head-restart  the head pod deleted -> every worker runs a task again, no fault tolerance (ray-static,
                  KubeRay by kubectl: KubeRay by Pulumi recovers through the same operator)
    idle          the operator's CPU and memory over a window of an idle cluster (ray-static runs no
                  process of its own beside Ray's pods: its figure is none)

The operator and its CRDs are up for the whole run, whichever arm is measured, so every arm shares the
same background. Pure parts (picking the current head, the result math) are below the runners.
"""

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench import REPO
from bench.node import arms, job, operator, usage
from bench.node.arms import Arm
from bench.node.cluster import Node, toolchain_env, workdir
from bench.node.timeline import after, summary, timelines, workers_alive_after

POLL_SECONDS = 1.0
CREATE_ARMS = ("floor", "ray-static", "kuberay-kubectl", "kuberay-pulumi")
RESTART_ARMS = ("ray-static", "kuberay-kubectl")


# Pure parts


def current_head(pods: Sequence[Mapping[str, Any]], exclude: str | None = None) -> str | None:
    """The head pod to ask: Running, not being deleted, not ``exclude`` (the one just deleted); the
    newest if there are several."""
    live = [
        p
        for p in pods
        if p.get("status", {}).get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
        and p["metadata"]["name"] != exclude
    ]
    live.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""))
    return live[-1]["metadata"]["name"] if live else None


def alive_workers(nodes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [n for n in nodes if n.get("state") == "ALIVE" and not n.get("is_head_node")]


def last_worker_started(nodes: Sequence[Mapping[str, Any]], t0: float) -> float | None:
    """Seconds from ``t0`` to the newest alive worker's Ray start time (None without one)."""
    starts = [n["start_time_ms"] / 1000 for n in alive_workers(nodes) if n.get("start_time_ms")]
    return round(max(starts) - t0, 2) if starts else None


def rotation(kinds: Sequence[str], round_index: int) -> list[str]:
    """The arms' order in a round: rotated by one each round, so none always goes first (or last)."""
    k = round_index % len(kinds)
    return [*kinds[k:], *kinds[:k]]


# On the node


def find_head(node: Node, arm: Arm, exclude: str | None = None) -> str | None:
    out = node.kubectl("get", "pods", "-n", arm.namespace, "-l", arm.head_selector, "-o", "json", check=False)
    try:
        return current_head(json.loads(out)["items"], exclude)
    except (ValueError, KeyError):
        return None


def wait_workers(
    node: Node, arm: Arm, workers: int, exclude: str | None = None, timeout: float = 600
) -> list[dict[str, Any]]:
    """Polls the head's Ray node table until ``workers`` workers are alive; returns the table."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = find_head(node, arm, exclude)
        try:
            nodes = node.ray_nodes(arm.namespace, head) if head else None
        except RuntimeError:  # the pod went away between the lookup and the exec
            nodes = None
        if nodes and len(alive_workers(nodes)) >= workers:
            return nodes
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{arm.kind}: {workers} Ray workers were not alive within {timeout:.0f} s")


def run_first_job(node: Node, arm: Arm, workers: int, timeout: float = 600) -> float:
    """Submits the job until its tasks ran on ``workers`` workers; returns when its result was read."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = find_head(node, arm)
        try:
            result = node.head_python(arm.namespace, head, job.submit_code(), timeout=180) if head else None
        except RuntimeError:
            result = None
        ran = job.workers_that_ran(result)
        if ran is not None and ran >= workers:
            return time.time()
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{arm.kind}: no job ran on {workers} workers within {timeout:.0f} s")


def _pods_record(
    node: Node, arm: Arm, nodes: list[dict[str, Any]], t0: float, since: str | None = None
) -> dict[str, Any]:
    """The pods' timelines from ``t0``; ``since="command"`` keeps only what happened after it (the pods
    a head restart restarted), ``since="new pods"`` only the pods created after it (a scale's new worker)."""
    pods = node.pods(arm.namespace)
    roles = {p["metadata"]["name"]: p["metadata"]["labels"].get(arm.role_label, "") for p in pods}
    lines = timelines(pods, nodes, roles, t0)
    if since is not None:
        lines = after(lines, new_pods=since == "new pods")
    return {
        "alive_s": workers_alive_after(lines),
        "phases": summary(lines),
        "pods": [{"name": t.name, "role": t.role, "phases": t.phases} for t in lines],
    }


def _timed_destroy(arm: Arm) -> float:
    t0 = time.time()
    arm.destroy()
    return round(time.time() - t0, 2)


def _create(node: Node, arm: Arm, workers: int) -> tuple[float, float, list[dict[str, Any]]]:
    """Runs the create; returns when it started, when its command returned, and the node table."""
    arm.prepare(workers)
    t0 = time.time()
    started = arms.start(arm, workers)
    nodes = wait_workers(node, arm, workers)
    return t0, arms.finish(started, arm), nodes


def create(node: Node, arm: Arm, workers: int) -> dict[str, Any]:
    t0, returned, nodes = _create(node, arm, workers)
    done = run_first_job(node, arm, workers)
    record = _pods_record(node, arm, nodes, t0)
    return {
        "kind": arm.kind,
        "returned_s": round(returned - t0, 2),
        **record,
        "job_s": round(done - t0, 2),
        "destroy_s": _timed_destroy(arm),
    }


def scale(node: Node, arm: Arm, workers: int) -> dict[str, Any]:
    _create(node, arm, workers)
    t0 = time.time()
    started = arms.start(arm, workers + 1)
    nodes = wait_workers(node, arm, workers + 1)
    returned = arms.finish(started, arm)
    phases = _pods_record(node, arm, nodes, t0, since="new pods")
    return {
        "kind": arm.kind,
        "returned_s": round(returned - t0, 2),
        "alive_s": last_worker_started(nodes, t0),
        "phases": phases["phases"],
        "pods": phases["pods"],
        "destroy_s": _timed_destroy(arm),
    }


def head_restart(node: Node, arm: Arm, workers: int) -> dict[str, Any]:
    _create(node, arm, workers)
    run_first_job(node, arm, workers)
    head = find_head(node, arm)
    if head is None:
        raise RuntimeError(f"{arm.kind}: no head pod to delete")
    t0 = time.time()
    node.kubectl("delete", "pod", "-n", arm.namespace, head, "--wait=false")
    nodes = wait_workers(node, arm, workers, exclude=head)
    alive = time.time()
    done = run_first_job(node, arm, workers)
    phases = _pods_record(node, arm, nodes, t0, since="command")
    return {
        "kind": arm.kind,
        "alive_s": round(alive - t0, 2),
        "ray_alive_s": last_worker_started(nodes, t0),
        "tasks_s": round(done - t0, 2),
        "phases": phases["phases"],
        "pods": phases["pods"],
        "destroy_s": _timed_destroy(arm),
    }


def idle(node: Node, arm: Arm, workers: int, op: operator.Operator, seconds: float) -> dict[str, Any]:
    """The operator sampled every second over ``seconds`` of an idle KubeRay cluster."""
    _create(node, arm, workers)
    samples = [op.sample()]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(1.0)
        samples.append(op.sample())
    return {"kind": "kuberay-operator", **usage.summary(samples), "destroy_s": _timed_destroy(arm)}


Runner = Callable[[Node, Arm, int, operator.Operator, float], dict[str, Any]]
SCENARIOS: dict[str, tuple[tuple[str, ...], Runner]] = {
    "create": (CREATE_ARMS, lambda n, a, w, _op, _s: create(n, a, w)),
    "scale": (CREATE_ARMS, lambda n, a, w, _op, _s: scale(n, a, w)),
    "head-restart": (RESTART_ARMS, lambda n, a, w, _op, _s: head_restart(n, a, w)),
    "idle": (("kuberay-kubectl",), idle),
}
"""Each scenario's arms and what one round of one arm does."""


def run(
    scenario: str, rounds: int, workers: int, source: Path = REPO, idle_seconds: float = 180
) -> dict[str, Any]:
    """Brings the node up (unless it runs), runs the operator, and ``rounds`` rounds of the scenario."""
    kinds, runner = SCENARIOS[scenario]
    node = Node.up(toolchain_env())
    runs: list[dict[str, Any]] = []
    try:
        work = workdir() / scenario
        work.mkdir()
        with operator.running(node, work) as op:
            made = {kind: arms.make(kind, node, work, source) for kind in kinds}
            for i in range(rounds):
                for kind in rotation(kinds, i):
                    load = round(os.getloadavg()[0], 2)
                    try:
                        record = runner(node, made[kind], workers, op, idle_seconds)
                    except BaseException:
                        # A node the bench did not start stays up: leave no cluster behind on it.
                        with contextlib.suppress(Exception):
                            made[kind].destroy()
                        raise
                    runs.append({"round": i + 1, "load_1m": load, **record})
                    print(f"{scenario} round {i + 1} {kind}: {record}", file=sys.stderr, flush=True)
    finally:
        node.down()
    return {
        "scenario": scenario,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rounds": rounds,
        "workers": workers,
        "runs": runs,
    }
