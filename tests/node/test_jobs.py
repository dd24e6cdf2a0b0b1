"""RayJob on the real node: the program's `jobs` key submits real Ray jobs through real submitter pods.

One stack for the module, the node stack of Pulumi.node.yaml (head 1 CPU / 2Gi, two workers requesting
250m / 1Gi); its cluster comes up with the first job. The tests run in file order on that one cluster: a
job to SUCCEEDED and a second `pulumi up` that submits nothing; a failing job that fails `pulumi up` with
its last log lines; a running job removed from the program, which Ray then reports STOPPED. Ray's view is
read with Ray's job SDK on this machine, through a port-forward to the dashboard.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi import automation as auto

from ray_static.jobs.settings import resolve_job
from tests.node.support import (
    Deployment,
    NodeSession,
    RayView,
    deployed_stack,
    jobs_api,
    node_stack_config,
    timed,
)
from tests.support.waiting import wait_for

NAMESPACE = "ray"
SERVICE = "ray-head"
SQUARES = {
    "name": "squares",
    "entrypoint": 'python -c "import ray; ray.init(); '
    'print(sum(ray.get([ray.remote(lambda x: x*x).remote(i) for i in range(10)])))"',
}
"""The issue's job, waited for (the default)."""
BROKEN = {"name": "broken", "entrypoint": "python -c \"raise RuntimeError('boom-xyz')\""}
SLEEPER = {"name": "sleeper", "entrypoint": "sleep 600", "wait": False}


def submission(job: dict[str, Any]) -> tuple[str, str]:
    """The job's Ray submission id and Kubernetes Job name, as the component derives them."""
    settings = resolve_job(job["name"], {k: v for k, v in job.items() if k != "name"})
    return settings.submission_id, settings.job_name


class Deployed(Deployment):
    def run(self, *jobs: dict[str, Any]) -> auto.UpResult:
        """`pulumi up` with exactly these jobs in the `jobs` key."""
        self.stack.set_config({"jobs": json.dumps(list(jobs))})
        return self.stack.up()

    def ray_jobs(self) -> dict[str, Any]:
        """Every job the cluster's Jobs API knows, by submission id (JobDetails)."""
        with jobs_api(self.node, NAMESPACE, SERVICE, self.stack.outputs()["auth_token"]) as client:
            return {str(job.submission_id): job for job in client.list_jobs()}

    def ray_logs(self, submission_id: str) -> str:
        with jobs_api(self.node, NAMESPACE, SERVICE, self.stack.outputs()["auth_token"]) as client:
            return client.get_job_logs(submission_id)

    def pod_log(self, pod: dict[str, Any]) -> str:
        return self.node.kubectl("logs", "-n", NAMESPACE, pod["metadata"]["name"]).stdout


@pytest.fixture(scope="module")
def deployed(real_node: NodeSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    view = RayView(real_node.node, NAMESPACE)
    # Deployed by the first test, with its job.
    with deployed_stack(real_node, tmp_path_factory, "jobs", node_stack_config(), view) as stack:
        yield Deployed(real_node, stack, view)


def status(job: Any) -> str | None:
    """A JobDetails' status as Ray spells it (None for no job)."""
    return None if job is None else job.status.value


def ended(job: Any) -> tuple[str, str | None, int | None, int | None]:
    """What would change if Ray ran a job again."""
    return (job.submission_id, status(job), job.start_time, job.end_time)


def test_a_job_runs_to_succeeded_and_a_second_up_submits_nothing(deployed: Deployed) -> None:
    node = deployed.node
    submission_id, job_name = submission(SQUARES)
    t0 = time.monotonic()
    deployed.run(SQUARES)
    timed("pulumi up (fresh stack): cluster + the squares job SUCCEEDED", time.monotonic() - t0)
    assert deployed.stack.outputs()["jobs"] == {
        "squares": {"submission_id": submission_id, "status": "SUCCEEDED"}
    }
    jobs = deployed.ray_jobs()
    assert set(jobs) == {submission_id}
    assert status(jobs[submission_id]) == "SUCCEEDED", jobs[submission_id]
    assert "285" in deployed.ray_logs(submission_id).splitlines()
    job = node.get("job", job_name, "-n", NAMESPACE)
    [pod] = node.get("pods", "-n", NAMESPACE, "-l", f"job-name={job_name}")["items"]
    submitter_log = deployed.pod_log(pod)
    # The submitter submitted it once and followed it to its end.
    assert submitter_log.count(f"submitting Ray job {submission_id}") == 1, submitter_log
    assert "285" in submitter_log.splitlines() and f"Ray job {submission_id} SUCCEEDED" in submitter_log

    t0 = time.monotonic()
    changes = deployed.run(SQUARES).summary.resource_changes or {}
    timed("second pulumi up (nothing to do)", time.monotonic() - t0)
    assert set(changes) == {"same"}, changes
    assert deployed.stack.outputs()["jobs"]["squares"]["submission_id"] == submission_id
    # The same Job (not recreated), its one pod, and Ray ran nothing more.
    assert node.get("job", job_name, "-n", NAMESPACE)["metadata"]["uid"] == job["metadata"]["uid"]
    pods = node.get("pods", "-n", NAMESPACE, "-l", f"job-name={job_name}")["items"]
    assert [p["metadata"]["uid"] for p in pods] == [pod["metadata"]["uid"]]
    assert {k: ended(v) for k, v in deployed.ray_jobs().items()} == {k: ended(v) for k, v in jobs.items()}


def test_a_failing_job_fails_up_with_its_last_log_lines(deployed: Deployed) -> None:
    node = deployed.node
    submission_id, job_name = submission(BROKEN)
    t0 = time.monotonic()
    with pytest.raises(auto.CommandError) as failure:
        deployed.run(SQUARES, BROKEN)
    timed("pulumi up with a failing job -> up failed", time.monotonic() - t0)
    shown = str(failure.value)
    # `pulumi up` shows what the job printed last, and how it ended.
    assert "RuntimeError: boom-xyz" in shown, shown[-4000:]
    assert f"ray-static: Ray job {submission_id} ended FAILED" in shown, shown[-4000:]
    failed = deployed.ray_jobs()[submission_id]
    assert status(failed) == "FAILED" and "boom-xyz" in deployed.ray_logs(submission_id)
    # The Job's retry found the job known to Ray and submitted nothing.
    pods = node.get("pods", "-n", NAMESPACE, "-l", f"job-name={job_name}")["items"]
    logs = [deployed.pod_log(p) for p in pods]
    assert len(pods) == 2, logs
    assert sum(f"submitting Ray job {submission_id}" in text for text in logs) == 1, logs
    assert sum("following it, submitting nothing" in text for text in logs) == 1, logs

    # Without the failing job, `pulumi up` succeeds again and its Job is gone.
    deployed.run(SQUARES)
    assert not node.exists("job", job_name, NAMESPACE)


def test_removing_a_running_job_stops_it_in_ray_and_deletes_its_job(deployed: Deployed) -> None:
    node = deployed.node
    submission_id, job_name = submission(SLEEPER)
    t0 = time.monotonic()
    deployed.run(SQUARES, SLEEPER)
    timed("pulumi up adding a job not waited for", time.monotonic() - t0)
    assert deployed.stack.outputs()["jobs"]["sleeper"] == {"submission_id": submission_id, "status": None}
    wait_for(
        lambda: status(deployed.ray_jobs().get(submission_id)) == "RUNNING",
        180,
        f"Ray job {submission_id} RUNNING",
        interval=3,
    )
    assert node.exists("job", job_name, NAMESPACE)

    t0 = time.monotonic()
    deployed.run(SQUARES)
    timed("pulumi up removing a running job -> Job gone, STOPPED", time.monotonic() - t0)
    # Checked at once, not waited for: `pulumi up` returned only after both happened.
    assert not node.exists("job", job_name, NAMESPACE)
    assert node.get("pods", "-n", NAMESPACE, "-l", f"job-name={job_name}")["items"] == []
    jobs = deployed.ray_jobs()
    assert status(jobs[submission_id]) == "STOPPED", jobs[submission_id]
    # The other job was left alone.
    assert status(jobs[submission(SQUARES)[0]]) == "SUCCEEDED"
