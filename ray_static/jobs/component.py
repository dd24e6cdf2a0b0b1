"""RayJob: a Ray job as infrastructure as code, submitted once to a ray-static cluster by a Kubernetes Job."""

import inspect
from typing import Any

import pulumi
import pulumi_kubernetes.batch.v1 as batch

from ray_static import constants as c
from ray_static.inputs.job import RayJobArgs, RayJobInputs
from ray_static.jobs.objects import job_args
from ray_static.jobs.settings import resolve_job, resolve_target


def outcome(status: Any) -> str | None:
    """The job's end as far as Kubernetes knows it (the Job's conditions at the last update or refresh)."""
    conditions = getattr(status, "conditions", None) or []
    ended = {cond.type for cond in conditions if cond.status == "True"}
    if "Complete" in ended:
        return "SUCCEEDED"
    if "Failed" in ended:
        return "FAILED"
    return None


class RayJob(pulumi.ComponentResource):
    """A Ray job submitted once to a ray-static cluster by a Kubernetes Job; deleting it stops the job."""

    submission_id: pulumi.Output[str]
    """The Ray submission id (`ray job status <id>`)."""
    job_name: pulumi.Output[str]
    """Name of the Kubernetes Job that submits and follows it (`kubectl logs job/<name>`)."""
    status: pulumi.Output[str | None]
    """"SUCCEEDED" once waited for; "FAILED" if a refresh found it failed; unset while unknown."""

    def __init__(self, name: str, args: RayJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """A Ray job submitted once (a Kubernetes Job running `ray job submit`), resubmitted exactly when
        the job changes; `pulumi up` waits for its end unless `wait` is false.

        Args:
            name: The job's name; the submitter Job and the default submission id derive from it.
            args: RayJobArgs: `entrypoint` (required), and the cluster: either `cluster`, a RayCluster of
                this program (the job then comes after it and goes first), or the cluster's outputs
                (`namespace`, `dashboard_url`, `auth_secret`, `image`, `image_pull_secrets`), plain or
                Outputs of another stack. `auth_secret` is required unless `auth` is false.
            opts: Pulumi resource options; the submitter Job inherits them.

        Example::

            RayJob("squares", {"cluster": cluster, "entrypoint": "python -c 'import ray; ray.init()'"})

        A bad value raises RayStaticConfigError (one sentence) before anything is registered; an
        `auth_secret` Output that resolves to nothing fails the deployment before the submitter exists.
        """
        # Validate first: a bad value raises before anything is registered.
        job = resolve_job(name, args)
        target = resolve_target(args)
        super().__init__(c.JOB_COMPONENT_TYPE, name, None, opts)

        submitter = batch.Job(
            f"{name}-submitter",
            job_args(job, target),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Created once the cluster is up; on destroy, deleted (stopping the job) before it.
                depends_on=[target.cluster] if target.cluster is not None else None,
                # A new submission replaces the Job: the old one goes first, stopping its job if it still
                # runs, so two versions of a job never run side by side.
                delete_before_replace=True,
            ),
        )

        self.submission_id = pulumi.Output.from_input(job.submission_id)
        self.job_name = submitter.metadata.apply(lambda m: m.name or job.job_name)
        self.status = submitter.status.apply(outcome)
        # Registering outputs marks the component complete (and records them in the state).
        self.register_outputs(
            {"submission_id": self.submission_id, "job_name": self.job_name, "status": self.status}
        )


# The inferred schema (other languages, other stacks) offers the plain inputs: a RayCluster object exists
# in Python only. Pulumi's inference reads the annotations; help() and IDEs read the signature, which keeps
# RayJobArgs (with `cluster`) for Python callers.
RayJob.__init__.__signature__ = inspect.signature(RayJob.__init__)  # type: ignore[attr-defined]
RayJob.__init__.__annotations__["args"] = RayJobInputs
