"""The submitter: the command a RayJob's Kubernetes Job runs to submit its Ray job exactly once.

Like KubeRay's submitter it is idempotent, so a retried or re-created pod never submits twice: it asks
`ray job status <id>` first and runs `ray job submit --submission-id <id> --no-wait` only for an id the
cluster does not know; then it follows the logs and polls the status until the job ended. Its exit code
is the outcome: 0 SUCCEEDED, 3 FAILED or STOPPED (final: the Job's podFailurePolicy fails it at once),
anything else an error worth a retry (the dashboard not answering yet).

Terminating the pod (the RayJob deleted or replaced, timeout_seconds reached) stops the Ray job: the
script traps SIGTERM and runs `ray job stop` within the pod's grace period.

The Jobs API address (RAY_API_SERVER_ADDRESS) and the token (RAY_AUTH_MODE, RAY_AUTH_TOKEN) come from the
environment, which the `ray` CLI and SDK read.
"""

import json

from ray_static import constants as c
from ray_static.job_settings import RESOURCE_FLAGS, JobSettings

PROGRAM_NAME = "ray-job-submitter"
"""$0 of the script: how it shows in `ps` and in bash's own error messages."""

STATUS_PY = (
    "import sys; from ray.job_submission import JobSubmissionClient; "
    "print(JobSubmissionClient().get_job_status(sys.argv[1]).value)"
)
"""Prints the job's status as Ray's enum spells it; `ray job status` only describes it in a sentence."""

SCRIPT = f"""\
# {PROGRAM_NAME} SUBMISSION_ID [ray job submit options] -- ENTRYPOINT...
set -u
id=$1
shift
say() {{ echo "ray-static: $*"; }}
# `ray job SUBCOMMAND ...`, logging plain lines (no colours in the pod's log).
job() {{ sub=$1; shift; ray job "$sub" --log-style=record "$@"; }}
stop() {{
  say "the submitter is terminating: stopping Ray job $id"
  job stop --no-wait "$id"
  exit 143
}}
trap stop TERM
if job status "$id" >/dev/null 2>&1; then
  say "Ray job $id is known to the cluster: following it, submitting nothing"
else
  say "submitting Ray job $id"
  job submit --submission-id "$id" --no-wait "$@" || exit 1
fi
# In the background, so that SIGTERM interrupts `wait` at once.
job logs --follow "$id" &
wait $!
while :; do
  status=$(python -c '{STATUS_PY}' "$id") || exit 1
  case $status in
    SUCCEEDED) say "Ray job $id SUCCEEDED"; exit 0 ;;
    FAILED|STOPPED)
      job status "$id"
      say "Ray job $id ended $status"
      exit {c.JOB_UNSUCCESSFUL_EXIT_CODE} ;;
  esac
  sleep 5 &
  wait $!
done
"""


def _number(amount: float) -> str:
    return str(int(amount)) if amount.is_integer() else repr(amount)


def resource_options(job: JobSettings) -> list[str]:
    """--entrypoint-num-cpus/-num-gpus/-memory for Ray's resources, --entrypoint-resources for others."""
    options: list[str] = []
    custom: dict[str, float] = {}
    for key, amount in sorted(job.entrypoint_resources.items()):
        flag = RESOURCE_FLAGS.get(key)
        if flag is None:
            custom[key] = amount
        else:
            options += [flag, _number(amount)]
    if custom:
        options += ["--entrypoint-resources", json.dumps(custom, sort_keys=True)]
    return options


def submit_options(job: JobSettings) -> list[str]:
    """What `ray job submit` gets besides the id, ending with the entrypoint.

    The entrypoint goes through `sh -c`: the CLI re-quotes the words after `--` (shlex.join), which would
    turn the shell syntax of an entrypoint such as `cd src && python train.py` into literal words.
    """
    options: list[str] = []
    if job.runtime_env:
        options += ["--runtime-env-json", json.dumps(job.runtime_env, sort_keys=True)]
    if job.metadata:
        options += ["--metadata-json", json.dumps(job.metadata, sort_keys=True)]
    return [*options, *resource_options(job), "--", "sh", "-c", job.entrypoint]


def submitter_command(job: JobSettings) -> list[str]:
    """The submitter container's command: bash running SCRIPT with the submission id and the options."""
    return ["bash", "-c", SCRIPT, PROGRAM_NAME, job.submission_id, *submit_options(job)]
