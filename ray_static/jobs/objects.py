"""The submitter's Kubernetes Job, as typed Args."""

from typing import cast

import pulumi
import pulumi_kubernetes.batch.v1 as batch
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.meta.v1 as meta

from ray_static import constants as c
from ray_static.cluster.shared import (
    auth_mount,
    auth_volume,
    container_security_context,
    pod_security_context,
    writable_dirs,
    writable_mounts,
)
from ray_static.jobs.settings import JobSettings, Target
from ray_static.jobs.submitter import submitter_command


def job_labels(job: JobSettings) -> dict[str, str]:
    """Labels of the Job and its pod; SUBMITTER_LABEL is what the cluster's NetworkPolicy admits."""
    return {
        c.LABEL_NAME: "ray-job",
        c.LABEL_INSTANCE: job.name,
        c.LABEL_COMPONENT: "submitter",
        c.LABEL_MANAGED_BY: "pulumi",
        c.LABEL_PART_OF: "ray-static",
        c.SUBMITTER_LABEL: "true",
    }


def await_annotations(job: JobSettings) -> dict[str, str]:
    """How `pulumi up` treats the Job: awaited until it completes (pulumi-kubernetes fails the update when
    the Job fails, with its pod's termination message: the job's last log lines), or done once created.

    Never skipAwait: for a Job it skips the delete's await too, so a removed or replaced RayJob would be
    reported gone while its submitter was still stopping the Ray job (and a replacement submitted beside
    it, or the cluster deleted under it). Its delete is always awaited until the pod, and so the stop, is
    over."""
    if not job.wait:
        return {c.WAIT_FOR_ANNOTATION: c.CREATED_CONDITION}
    if job.timeout_seconds is None:
        return {c.TIMEOUT_ANNOTATION: str(c.DEFAULT_JOB_WAIT_SECONDS)}
    return {c.TIMEOUT_ANNOTATION: str(job.timeout_seconds + c.JOB_WAIT_MARGIN_SECONDS)}


def submitter_env(auth_secret: str | None, dashboard_url: str) -> list[core.EnvVarArgs]:
    """The Jobs API address, and where the cluster's token is mounted (never its value, in the spec or
    in the environment)."""
    env = [
        core.EnvVarArgs(name="RAY_API_SERVER_ADDRESS", value=dashboard_url),
        core.EnvVarArgs(name="RAY_AUTH_MODE", value="token" if auth_secret else "disabled"),
        core.EnvVarArgs(name="RAY_USAGE_STATS_ENABLED", value="0"),
    ]
    if auth_secret:
        env.append(core.EnvVarArgs(name="RAY_AUTH_TOKEN_PATH", value=c.AUTH_TOKEN_PATH))
    return env


def submitter_volumes(auth_secret: str | None) -> list[core.VolumeArgs]:
    """The cluster's token Secret as a file (with auth), and the writable directories of a read-only root."""
    return [*([auth_volume(auth_secret)] if auth_secret else []), *writable_dirs()]


def submitter_mounts(auth_secret: str | None) -> list[core.VolumeMountArgs]:
    return [*([auth_mount()] if auth_secret else []), *writable_mounts()]


def pull_secrets(names: list[str] | None) -> list[core.LocalObjectReferenceArgs] | None:
    """The cluster's image pull Secrets; without any, no field at all (a Job's pod template is immutable:
    an empty list where there was none would replace the Job)."""
    return [core.LocalObjectReferenceArgs(name=name) for name in names] if names else None


def submitter_container(job: JobSettings, target: Target) -> core.ContainerArgs:
    """The cluster's image (so the `ray` CLI matches the cluster), restricted, logs as its last words."""
    env = pulumi.Output.all(target.auth_secret, target.dashboard_url).apply(
        lambda values: submitter_env(values[0], values[1])
    )
    return core.ContainerArgs(
        name=c.SUBMITTER_CONTAINER,
        image=target.image,
        image_pull_policy="IfNotPresent",
        command=submitter_command(job),
        env=env,
        resources=core.ResourceRequirementsArgs(
            limits={"cpu": c.SUBMITTER_CPU, "memory": c.SUBMITTER_MEMORY},
            requests={"cpu": c.SUBMITTER_CPU, "memory": c.SUBMITTER_MEMORY},
        ),
        volume_mounts=pulumi.Output.from_input(target.auth_secret).apply(submitter_mounts),
        security_context=container_security_context(),
        # A failed submitter's last log lines (the job's own, then its status) become the termination
        # message, which pulumi-kubernetes shows when the Job fails.
        termination_message_policy="FallbackToLogsOnError",
    )


def disruptions_are_no_failures() -> batch.PodFailurePolicyArgs:
    """A submitter pod lost with its node, or preempted, is replaced rather than counted as a failure (the
    Job has a single retry otherwise); the new pod finds the job by its id and follows it."""
    return batch.PodFailurePolicyArgs(
        rules=[
            batch.PodFailurePolicyRuleArgs(
                action="Ignore",
                on_pod_conditions=[
                    batch.PodFailurePolicyOnPodConditionsPatternArgs(type="DisruptionTarget", status="True")
                ],
            )
        ]
    )


def job_args(job: JobSettings, target: Target) -> batch.JobInitArgs:
    """The Job in the cluster's namespace. Its name follows the submission id, so a new submission is a
    new Job; timeout_seconds is its deadline, after which Kubernetes terminates the submitter, which
    stops the Ray job."""
    labels = job_labels(job)
    # An Output of None leaves the field out, which the SDK's type does not spell.
    pull = cast(
        pulumi.Output[list[core.LocalObjectReferenceArgs]],
        pulumi.Output.from_input(target.image_pull_secrets).apply(pull_secrets),
    )
    return batch.JobInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=job.job_name,
            namespace=target.namespace,
            labels=labels,
            annotations=await_annotations(job),
        ),
        spec=batch.JobSpecArgs(
            backoff_limit=c.JOB_BACKOFF_LIMIT,
            ttl_seconds_after_finished=c.JOB_TTL_SECONDS,
            active_deadline_seconds=job.timeout_seconds,
            pod_failure_policy=disruptions_are_no_failures(),
            template=core.PodTemplateSpecArgs(
                metadata=meta.ObjectMetaArgs(
                    labels=labels,
                    # Evicting the submitter would stop the job it follows (see the module docstring of
                    # submitter.py): ask the cluster autoscaler not to.
                    annotations={c.SAFE_TO_EVICT_ANNOTATION: "false"},
                ),
                spec=core.PodSpecArgs(
                    restart_policy="Never",
                    containers=[submitter_container(job, target)],
                    image_pull_secrets=pull,
                    volumes=pulumi.Output.from_input(target.auth_secret).apply(submitter_volumes),
                    security_context=pod_security_context(),
                    # The submitter talks to Ray only, never to the Kubernetes API.
                    automount_service_account_token=False,
                    termination_grace_period_seconds=c.SUBMITTER_GRACE_PERIOD_SECONDS,
                ),
            ),
        ),
    )
