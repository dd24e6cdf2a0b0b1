"""The `jobs` stack-config key -> RayJob names and args, checked before anything is registered.

Each job is a JSON object whose fields are RayJobArgs names (`runtime_env`, `timeout_seconds`, ...) plus
its `name`; the cluster is the program's own, so the cluster's fields are not among them. Errors name the
job by its place in the list (``jobs[1].entrypoint``).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from ray_static import RayJobArgs
from ray_static.errors import RayStaticConfigError, invalid
from ray_static.inputs.job import RayJobInputs
from ray_static.jobs.settings import CLUSTER_KEYS, JobSettings, resolve_job
from ray_static.names import did_you_mean

JOB_FIELDS = ("name", *(k for k in RayJobInputs.__annotations__ if k not in CLUSTER_KEYS))
EXAMPLE = 'a JSON list of jobs such as [{"name": "hello", "entrypoint": "python hello.py"}]'


@dataclass(frozen=True)
class JobConfig:
    """One job of the `jobs` key: the RayJob's name and args (the program adds its cluster)."""

    name: str
    args: RayJobArgs
    settings: JobSettings


def _items(value: Any) -> list[Any]:
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise invalid("jobs", value, EXAMPLE) from None
    if not isinstance(parsed, list):
        raise invalid("jobs", value, EXAMPLE)
    return cast(list[Any], parsed)


def _fields(item: Any, where: str) -> Mapping[str, Any]:
    """A job's JSON object, refusing unknown fields with a suggestion."""
    if not isinstance(item, dict):
        raise invalid(where, item, 'a JSON object such as {"name": "hello", "entrypoint": "python hello.py"}')
    fields = cast(dict[str, Any], item)
    for key in fields:
        if key not in JOB_FIELDS:
            hint = did_you_mean(key, JOB_FIELDS)
            if key in (*CLUSTER_KEYS, "cluster"):
                hint = " (jobs run on this stack's cluster)"
            raise RayStaticConfigError(
                f"{where}.{key}", "an unknown field", f"one of {', '.join(JOB_FIELDS)}{hint}"
            )
    return fields


def parse_jobs(value: Any) -> tuple[JobConfig, ...]:
    """The `jobs` value (JSON text or an already parsed list), every job validated."""
    jobs: list[JobConfig] = []
    for index, item in enumerate(_items(value)):
        where = f"jobs[{index}]"
        fields = _fields(item, where)
        if "name" not in fields:
            raise RayStaticConfigError(f"{where}.name", "no value", 'a name for the job, such as "hello"')
        name = fields["name"]
        args = {k: v for k, v in fields.items() if k != "name"}
        settings = resolve_job(name, args, lambda path, where=where: f"{where}.{path}")
        if any(job.name == settings.name for job in jobs):
            raise invalid(f"{where}.name", name, "a name no other job in jobs has")
        jobs.append(JobConfig(name=settings.name, args=cast(RayJobArgs, args), settings=settings))
    return tuple(jobs)
