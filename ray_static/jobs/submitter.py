"""The submitter: the command a RayJob's Kubernetes Job runs to submit its Ray job exactly once.

Like KubeRay's submitter it is idempotent, so a retried or re-created pod never submits twice: it asks
`ray job status <id>` first and runs `ray job submit --submission-id <id> --no-wait` only for an id the
cluster does not know; then it follows the logs and polls the status until the job ended. Its exit code
is the outcome: 0 SUCCEEDED, 3 FAILED or STOPPED, 1 an error (a Jobs API that never answered, a refused
submission). It waits for a Jobs API that does not answer yet itself.

Terminating the pod (the RayJob deleted or replaced, timeout_seconds reached) stops the Ray job: the
script traps SIGTERM and runs `ray job stop`, which returns once Ray reports the job ended, within the pod's
grace period. The pod is gone only then, and the Job, deleted with foreground propagation, after it.

The Jobs API address (RAY_API_SERVER_ADDRESS) and the token (RAY_AUTH_MODE, RAY_AUTH_TOKEN_PATH) come from the
environment, which the `ray` CLI and SDK read.
"""

import json

from ray_static import constants as c
from ray_static.jobs.settings import RESOURCE_FLAGS, JobSettings

PROGRAM_NAME = "ray-job-submitter"
"""$0 of the script: how it shows in `ps` and in bash's own error messages."""

STATUS_PY = (
    "import sys; from ray.job_submission import JobSubmissionClient; "
    "print(JobSubmissionClient().get_job_status(sys.argv[1]).value)"
)
"""Prints the job's status as Ray's enum spells it; `ray job status` only describes it in a sentence."""

API_TRIES = 24
API_INTERVAL_SECONDS = 5
"""The submitter waits up to 2 minutes for the Jobs API (a head still starting), and bears as many failed
status polls in a row: retrying the whole pod is the Job's last resort (constants.JOB_BACKOFF_LIMIT)."""


def submitter_script(tries: int = API_TRIES, interval: int = API_INTERVAL_SECONDS) -> str:
    """The bash script; `tries` and `interval` bound how long it waits for a Jobs API that does not answer."""
    return f"""\
# {PROGRAM_NAME} SUBMISSION_ID [ray job submit options] -- ENTRYPOINT...
set -u
id=$1
shift
say() {{ echo "ray-static: $*"; }}
# `ray job SUBCOMMAND ...`, logging plain lines (no colours in the pod's log).
job() {{ sub=$1; shift; ray job "$sub" --log-style=record "$@"; }}
# In the background, so that SIGTERM interrupts `wait` at once.
pause() {{ sleep {interval} & wait $!; }}
stop() {{
  say "the submitter is terminating: stopping Ray job $id"
  job stop "$id"
  exit 143
}}
trap stop TERM
failures=0
until job list >/dev/null 2>&1; do
  failures=$((failures + 1))
  if [ "$failures" -ge {tries} ]; then
    job list >/dev/null
    say "the Jobs API at $RAY_API_SERVER_ADDRESS did not answer"
    exit 1
  fi
  pause
done
if job status "$id" >/dev/null 2>&1; then
  say "Ray job $id is known to the cluster: following it, submitting nothing"
else
  say "submitting Ray job $id"
  # A refused submit of an id the cluster knows after all (an answer lost on the way) is no failure.
  job submit --submission-id "$id" --no-wait "$@" || job status "$id" >/dev/null 2>&1 || exit 1
fi
job logs --follow "$id" &
wait $!
failures=0
while :; do
  if status=$(python -c '{STATUS_PY}' "$id"); then
    failures=0
    case $status in
      SUCCEEDED) say "Ray job $id SUCCEEDED"; exit 0 ;;
      FAILED|STOPPED)
        job status "$id"
        say "Ray job $id ended $status"
        exit {c.JOB_UNSUCCESSFUL_EXIT_CODE} ;;
    esac
  else
    failures=$((failures + 1))
    [ "$failures" -lt {tries} ] || exit 1
  fi
  pause
done
"""


SCRIPT = submitter_script()


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


def submitter_command(job: JobSettings, script: str = SCRIPT) -> list[str]:
    """The submitter container's command: bash running the script with the submission id and the options."""
    return ["bash", "-c", script, PROGRAM_NAME, job.submission_id, *submit_options(job)]
