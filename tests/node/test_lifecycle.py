"""A static cluster's life on the real node: workers that roll and scale down under load, with and without
the drain, a rollout that keeps every worker up, and suspend/resume.

One stack for the module: the node stack of Pulumi.node.yaml with three workers. A driver in the head pod
keeps the workers' CPUs busy with short tasks (Ray retries a task whose worker died up to 3 times) and an
actor on the head counts finished ones, while `pulumi up` rolls the workers (a memory change) or scales
them 3 -> 1. It reports tasks finished, failed and retried; the drain is meant to make the last two 0.
The tests run in file order.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ray_static import constants as c
from tests.e2e.support import is_ready
from tests.node.support import (
    WORKERS,
    Deployment,
    NodeSession,
    RayView,
    deployed_stack,
    jobs_api,
    log,
    node_stack_config,
    parse_result,
    timed,
)
from tests.support.waiting import wait_for

NAMESPACE = "ray"
N = 3
STOP_FILE = "/tmp/stop-load"
TASK_SECONDS = 2.0
LOAD_CODE = """
import json, os, sys, time
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

stop_file, task_seconds = sys.argv[1], float(sys.argv[2])
ray.init()

@ray.remote(num_cpus=0)
class Tally:
    def __init__(self):
        self.done = 0
    def add(self):
        self.done += 1
        return self.done

@ray.remote(num_cpus=1, max_retries=3)
def work(i):
    time.sleep(task_seconds)
    return i

head = ray.get_runtime_context().get_node_id()
tally = Tally.options(scheduling_strategy=NodeAffinitySchedulingStrategy(head, soft=False)).remote()
pending, submitted, finished, failed, errors, i = [], 0, 0, 0, [], 0
while not os.path.exists(stop_file) or pending:
    while not os.path.exists(stop_file) and len(pending) < 6:
        pending.append(work.remote(i)); i += 1
    done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
    for ref in done:
        try:
            ray.get(ref); finished += 1; ray.get(tally.add.remote())
        except Exception as exc:
            failed += 1; errors.append(type(exc).__name__)
from ray.util.state import list_tasks
job = ray.get_runtime_context().get_job_id()
mine = [("job_id", "=", job), ("name", "=", "work")]  # the state API lists every driver's tasks
rows = list_tasks(filters=mine, limit=10000, raise_on_missing_output=False)
attempts = [t.attempt_number for t in rows]
print("RESULT", json.dumps({
    "submitted": i, "finished": finished, "failed": failed, "errors": sorted(set(errors)),
    "retries": sum(1 for a in attempts if a > 0), "tally": ray.get(tally.add.remote()) - 1,
}))
"""
"""A driver in the head: tasks on every worker CPU until the stop file exists, then the counts."""


@dataclass
class Rollout:
    """What a background sampler saw of the worker pods while a change ran: per sample, the live (not
    terminating) worker pods and how many of them were Ready."""

    samples: list[tuple[int, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


class Deployed(Deployment):
    def workers(self) -> list[dict[str, Any]]:
        return [p for p in self.node.pods(NAMESPACE, WORKERS) if "deletionTimestamp" not in p["metadata"]]

    def under_load(self, change: dict[str, str], workers_after: int) -> tuple[dict[str, Any], Rollout]:
        """Applies ``change`` with `pulumi up` while the driver runs; returns the driver's counts and
        what the sampler saw."""
        head = self.ray.head()["metadata"]["name"]
        self.node.exec(NAMESPACE, head, ["rm", "-f", STOP_FILE], container="ray-head")
        argv = ["kubectl", "--kubeconfig", str(self.node.kubeconfig), "exec", "-n", NAMESPACE, head]
        argv += ["-c", "ray-head", "--", "python", "-c", LOAD_CODE, STOP_FILE, str(TASK_SECONDS)]
        driver = subprocess.Popen(
            argv, env=self.node.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            time.sleep(15)  # the driver connects and every worker CPU is busy
            rollout = Rollout()
            sampler = threading.Thread(target=self._sample, args=(rollout,), daemon=True)
            sampler.start()
            t0 = time.monotonic()
            self.stack.set_config(change)
            self.stack.up()
            self.ray.wait_complete(workers_after, 300)
            rollout.stop.set()
            sampler.join(timeout=30)
            timed(f"change {change} under load -> {workers_after} workers ALIVE", time.monotonic() - t0)
            time.sleep(5)
            self.node.exec(NAMESPACE, head, ["touch", STOP_FILE], container="ray-head")
            stdout, stderr = driver.communicate(timeout=180)
        finally:
            if driver.poll() is None:
                driver.kill()
        result = parse_result(subprocess.CompletedProcess(argv, driver.returncode, stdout, stderr))
        log(f"{change}: {result}")
        return result, rollout

    def _sample(self, rollout: Rollout) -> None:
        while not rollout.stop.is_set():
            try:
                pods = self.workers()
                rollout.samples.append((len(pods), sum(1 for p in pods if is_ready(p))))
            except (AssertionError, subprocess.SubprocessError):
                pass
            time.sleep(0.5)


@pytest.fixture(scope="module")
def deployed(real_node: NodeSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    view = RayView(real_node.node, NAMESPACE)
    config = {**node_stack_config(), "workers": str(N)}
    with deployed_stack(real_node, tmp_path_factory, "lifecycle", config, view, workers=N) as stack:
        yield Deployed(real_node, stack, view)


MEASURED: dict[str, dict[str, Any]] = {}


def _report(name: str, result: dict[str, Any]) -> None:
    """Kept for the comparison, and logged (counts, not durations: they stay out of the timings)."""
    MEASURED[name] = result
    log(
        f"{name}: {result['finished']} tasks finished, {result['failed']} failed, {result['retries']} retried"
    )


def test_1_a_roll_under_load_drains_each_worker_first_and_goes_one_pod_at_a_time(deployed: Deployed) -> None:
    drain = deployed.workers()[0]["spec"]["containers"][0]["env"]
    assert {"name": c.DRAIN_TIMEOUT_ENV, "value": "45"} in drain
    result, rollout = deployed.under_load({"workerMemory": "1100Mi"}, N)
    _report("roll, drain on", result)
    assert result["failed"] == 0, result
    assert result["tally"] == result["finished"], result  # the actor on the head kept its state
    # maxSurge 0, maxUnavailable 25% of 3 -> 1: in place, never an extra pod, at most one down.
    assert max(live for live, _ in rollout.samples) <= N, rollout.samples
    assert min(ready for _, ready in rollout.samples) >= N - 1, rollout.samples


def test_2_max_unavailable_0_rolls_one_extra_pod_at_a_time_and_keeps_every_worker(deployed: Deployed) -> None:
    """Also switches the drain off for the measurement that follows (a template change: a roll)."""
    change = {"maxSurge": "1", "maxUnavailable": "0", "drainTimeoutSeconds": "0"}
    rollout = Rollout()
    sampler = threading.Thread(target=deployed._sample, args=(rollout,), daemon=True)
    sampler.start()
    deployed.stack.set_config(change)
    deployed.stack.up()
    deployed.ray.wait_complete(N, 300)
    rollout.stop.set()
    sampler.join(timeout=30)
    assert max(live for live, _ in rollout.samples) == N + 1, rollout.samples  # one surge pod at a time
    assert min(ready for _, ready in rollout.samples) >= N, rollout.samples  # never one worker fewer
    deployed.stack.set_config({"maxSurge": "0", "maxUnavailable": "25%"})
    deployed.stack.up()


def test_3_without_the_drain_a_roll_under_load_kills_running_tasks(deployed: Deployed) -> None:
    result, _ = deployed.under_load({"workerMemory": "1Gi"}, N)
    _report("roll, drain off", result)
    drained = MEASURED["roll, drain on"]
    # The comparison only means something if stopping a busy worker does cost tasks here.
    assert result["retries"] + result["failed"] > 0, result
    assert drained["retries"] + drained["failed"] < result["retries"] + result["failed"], MEASURED


def test_4_scale_down_under_load_without_then_with_the_drain(deployed: Deployed) -> None:
    without, _ = deployed.under_load({"workers": "1"}, 1)
    _report("scale 3 -> 1, drain off", without)
    deployed.stack.remove_config("drainTimeoutSeconds")
    deployed.stack.set_config({"workers": str(N)})
    deployed.stack.up()
    deployed.ray.wait_complete(N, 300)
    drained, _ = deployed.under_load({"workers": "1"}, 1)
    _report("scale 3 -> 1, drain on", drained)
    assert drained["failed"] == 0, drained
    assert drained["retries"] + drained["failed"] < without["retries"] + without["failed"], MEASURED


def test_5_suspend_then_resume_keeps_the_token_and_runs_a_job(deployed: Deployed) -> None:
    node, stack = deployed.node, deployed.stack
    token = stack.outputs()["auth_token"]
    stack.set_config({"suspend": "true"})
    stack.up()
    wait_for(lambda: node.pods(NAMESPACE, "ray.io/cluster=ray") == [], 180, "every Ray pod to stop")
    stack.set_config({"suspend": "false"})
    t0 = time.monotonic()
    stack.up()
    deployed.ray.wait_complete(1, 300)
    timed("resume: pulumi up -> head + 1 worker ALIVE", time.monotonic() - t0)
    assert stack.outputs()["auth_token"] == token
    with jobs_api(node, NAMESPACE, "ray-head", token) as client:
        answer = "print(ray.get(ray.remote(lambda: 6 * 7).remote()))"
        job = client.submit_job(entrypoint=f'python -c "import ray; ray.init(); {answer}"')
        wait_for(lambda: client.get_job_status(job).is_terminal(), 180, f"job {job} to end")
        assert client.get_job_status(job).value == "SUCCEEDED", client.get_job_logs(job)
        assert "42" in client.get_job_logs(job).split()
