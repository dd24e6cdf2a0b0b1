"""The RayJob submitter, exactly as the Job's container runs it, against a real Ray head with token auth.

The command comes from the builder (`submitter_command`), the environment is the one the container gets
(the Jobs API address and the token), and this machine's venv stands in for the image's `ray` and `python`.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ray_static import constants as c
from ray_static.jobs.settings import JobSettings, resolve_job
from ray_static.jobs.submitter import SCRIPT, submitter_command, submitter_script
from tests.ray.local_head import LocalHead, local_head

pytestmark = pytest.mark.ray

SQUARES = (
    'python -c "import ray; ray.init(); '
    'print(sum(ray.get([ray.remote(lambda x: x*x).remote(i) for i in range(10)])))"'
)
RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def head() -> Iterator[LocalHead]:
    with local_head() as h:
        yield h


def job(name: str, entrypoint: str, **args: Any) -> JobSettings:
    return resolve_job(name, {"entrypoint": entrypoint, **args})


def submit(
    head: LocalHead, settings: JobSettings, script: str = SCRIPT, **env: str
) -> subprocess.CompletedProcess[str]:
    """Runs the submitter to its end, as the Job's container would."""
    return subprocess.run(
        submitter_command(settings, script),
        env=head.client_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, as in the pod's log
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def test_a_job_runs_to_succeeded_and_its_logs_reach_the_submitter(head: LocalHead) -> None:
    settings = job("squares", SQUARES)
    run = submit(head, settings)
    assert run.returncode == 0, run.stdout
    assert "285" in run.stdout
    assert f"submitting Ray job {settings.submission_id}" in run.stdout
    info = head.job(settings.submission_id)
    assert info is not None and info["status"] == "SUCCEEDED"
    # The driver ran the entrypoint as written (through `sh -c`).
    assert info["entrypoint"] == f"sh -c '{SQUARES}'"


def test_a_second_run_submits_nothing_and_reports_the_same_end(head: LocalHead) -> None:
    settings = job("squares", SQUARES)  # the same job as above: the same submission id
    run = submit(head, settings)
    assert run.returncode == 0, run.stdout
    assert "known to the cluster: following it, submitting nothing" in run.stdout
    assert "submitting Ray job" not in run.stdout
    assert "285" in run.stdout  # the logs are followed again
    assert head.submissions(settings.submission_id) == 1


def test_a_failing_job_ends_the_submitter_with_its_error(head: LocalHead) -> None:
    settings = job("fails", "python -c \"import sys; print('about to fail'); sys.exit('boom: no data')\"")
    run = submit(head, settings)
    assert run.returncode == c.JOB_UNSUCCESSFUL_EXIT_CODE, run.stdout
    assert "boom: no data" in run.stdout
    assert run.stdout.rstrip().endswith(f"ray-static: Ray job {settings.submission_id} ended FAILED")
    # A new submitter (a recreated Job) reports the same end without resubmitting.
    again = submit(head, settings)
    assert again.returncode == c.JOB_UNSUCCESSFUL_EXIT_CODE
    assert head.submissions(settings.submission_id) == 1


def test_shell_syntax_runtime_env_metadata_and_resources_reach_ray(head: LocalHead) -> None:
    settings = job(
        "shell",
        'echo "$GREETING" && echo quiet | tr a-z A-Z',
        runtime_env={"env_vars": {"GREETING": "hello from runtime_env"}},
        metadata={"team": "ml"},
        entrypoint_resources={"CPU": 1},
    )
    run = submit(head, settings)
    assert run.returncode == 0, run.stdout
    assert "hello from runtime_env" in run.stdout and "QUIET" in run.stdout
    info = head.job(settings.submission_id)
    assert info is not None and info["metadata"]["team"] == "ml"
    assert info["runtime_env"]["env_vars"] == {"GREETING": "hello from runtime_env"}
    # (The Jobs API does not report entrypoint resources; the CLI accepted --entrypoint-num-cpus 1.)


def test_terminating_the_submitter_stops_the_running_job(head: LocalHead) -> None:
    """What deleting the RayJob does: the Job's pod gets SIGTERM (to its PID 1, the script)."""
    settings = job("sleeper", 'python -c "import time; time.sleep(600)"')
    process = subprocess.Popen(
        submitter_command(settings),
        env=head.client_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_status(head, settings.submission_id, "RUNNING")
        os.kill(process.pid, signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 143, out
        assert f"stopping Ray job {settings.submission_id}" in out
        wait_status(head, settings.submission_id, "STOPPED")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the `ray job logs --follow` it left behind


# The same script, waiting 2 x 1 s instead of 24 x 5 s for a Jobs API that does not answer.
IMPATIENT = submitter_script(tries=2, interval=1)


def test_a_wrong_token_is_the_submitters_error_not_a_job_outcome(head: LocalHead) -> None:
    settings = job("unauthorised", "echo never")
    run = submit(head, settings, IMPATIENT, token="not-the-cluster-token-at-all")
    assert run.returncode == 1, run.stdout
    assert "authentication" in run.stdout and "did not answer" in run.stdout  # Ray's 401, then ours
    assert head.submissions(settings.submission_id) == 0


def test_an_unreachable_jobs_api_is_waited_for_then_an_error(head: LocalHead) -> None:
    run = submit(
        head, job("unreachable", "echo never"), IMPATIENT, RAY_API_SERVER_ADDRESS="http://127.0.0.1:9"
    )
    assert run.returncode == 1, run.stdout
    assert run.stdout.rstrip().endswith("ray-static: the Jobs API at http://127.0.0.1:9 did not answer")


def wait_status(head: LocalHead, submission_id: str, wanted: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    info = None
    while time.monotonic() < deadline:
        info = head.job(submission_id)
        if info is not None and info["status"] == wanted:
            return
        time.sleep(1)
    raise AssertionError(
        f"job {submission_id} is {info and info['status']}, not {wanted}, after {timeout:.0f}s"
    )
