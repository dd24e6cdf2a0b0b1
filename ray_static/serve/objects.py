"""A RayServe's Kubernetes objects, as typed Args: the deployer Job, the keeper (its ServiceAccount, Role,
RoleBinding and Deployment) and the serve Service.

Every function takes plain values (the component resolves Outputs first), so each is a table test away.
"""

from dataclasses import dataclass
from typing import Any

import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.batch.v1 as batch
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.meta.v1 as meta
import pulumi_kubernetes.rbac.v1 as rbac

from ray_static import constants as c
from ray_static.cluster.shared import container_security_context, pod_security_context
from ray_static.jobs.objects import (
    disruptions_are_no_failures,
    pull_secrets,
    submitter_env,
    submitter_mounts,
    submitter_volumes,
)
from ray_static.serve.script import deployer_command, keeper_command
from ray_static.serve.settings import ServeSettings, config_hash


@dataclass(frozen=True)
class Cluster:
    """The cluster's values a RayServe's objects need, known (resolved from the target's inputs)."""

    name: str
    namespace: str
    dashboard_url: str
    auth_secret: str | None
    image: str
    image_pull_secrets: list[str]
    serve_port: int


def serve_labels(serve: ServeSettings, component: str) -> dict[str, str]:
    """Labels of a RayServe's objects."""
    return {
        c.LABEL_NAME: "ray-serve",
        c.LABEL_INSTANCE: serve.name,
        c.LABEL_COMPONENT: component,
        c.LABEL_MANAGED_BY: "pulumi",
        c.LABEL_PART_OF: "ray-static",
    }


def deployer_job_name(serve: ServeSettings, cluster: Cluster) -> str:
    """`<name>-<hash of the config>`: a changed config is a new Job; the same config, the same Job."""
    return f"{serve.name}-{config_hash(serve.config(cluster.serve_port))}"


def deployer_wait_seconds(serve: ServeSettings) -> int:
    """The Job's deadline: the deployer's own limit for its pod and for the one retry, plus their starts."""
    return 2 * serve.timeout_seconds + c.JOB_WAIT_MARGIN_SECONDS


def script_container(
    name: str, command: list[str], cluster: Cluster, env: list[core.EnvVarArgs]
) -> core.ContainerArgs:
    """A container of the cluster's image running one of the scripts, restricted, with the token file."""
    return core.ContainerArgs(
        name=name,
        image=cluster.image,
        image_pull_policy="IfNotPresent",
        command=command,
        env=[*submitter_env(cluster.auth_secret, cluster.dashboard_url), *env],
        resources=core.ResourceRequirementsArgs(
            limits={"cpu": c.KEEPER_CPU, "memory": c.KEEPER_MEMORY},
            requests={"cpu": c.KEEPER_CPU, "memory": c.KEEPER_MEMORY},
        ),
        volume_mounts=submitter_mounts(cluster.auth_secret),
        security_context=container_security_context(),
        # A failed deployer's last lines (the application's error) are what `pulumi up` shows.
        termination_message_policy="FallbackToLogsOnError",
    )


def deployer_job_args(serve: ServeSettings, cluster: Cluster) -> batch.JobInitArgs:
    """The Job that PUTs the config and waits until every application is RUNNING; `pulumi up` awaits it and
    fails with its pod's termination message."""
    labels = {**serve_labels(serve, "deployer"), c.SUBMITTER_LABEL: "true"}
    command = deployer_command(serve.config(cluster.serve_port), serve.timeout_seconds)
    wait = deployer_wait_seconds(serve)
    return batch.JobInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=deployer_job_name(serve, cluster),
            namespace=cluster.namespace,
            labels=labels,
            annotations={c.TIMEOUT_ANNOTATION: str(wait + c.JOB_WAIT_MARGIN_SECONDS)},
        ),
        spec=batch.JobSpecArgs(
            backoff_limit=c.JOB_BACKOFF_LIMIT,
            ttl_seconds_after_finished=c.JOB_TTL_SECONDS,
            active_deadline_seconds=wait,
            pod_failure_policy=disruptions_are_no_failures(),
            template=core.PodTemplateSpecArgs(
                metadata=meta.ObjectMetaArgs(labels=labels),
                spec=core.PodSpecArgs(
                    restart_policy="Never",
                    containers=[script_container(c.DEPLOYER_CONTAINER, command, cluster, [])],
                    image_pull_secrets=pull_secrets(cluster.image_pull_secrets),
                    volumes=submitter_volumes(cluster.auth_secret),
                    security_context=pod_security_context(),
                    # The deployer talks to Ray only, never to the Kubernetes API.
                    automount_service_account_token=False,
                ),
            ),
        ),
    )


def keeper_name(serve: ServeSettings) -> str:
    """The keeper's Deployment, ServiceAccount, Role and RoleBinding."""
    return f"{serve.name}-keeper"


def keeper_metadata(serve: ServeSettings, cluster: Cluster) -> meta.ObjectMetaArgs:
    return meta.ObjectMetaArgs(
        name=keeper_name(serve), namespace=cluster.namespace, labels=serve_labels(serve, "keeper")
    )


def keeper_service_account_args(serve: ServeSettings, cluster: Cluster) -> core.ServiceAccountInitArgs:
    """The keeper's identity: the one pod of ray-static with a Kubernetes API token."""
    return core.ServiceAccountInitArgs(metadata=keeper_metadata(serve, cluster))


def keeper_role_args(serve: ServeSettings, cluster: Cluster) -> rbac.RoleInitArgs:
    """In the cluster's namespace only: list and label pods; read its own Deployment (to tell a removal
    from a rollout)."""
    return rbac.RoleInitArgs(
        metadata=keeper_metadata(serve, cluster),
        rules=[
            rbac.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["list", "patch"]),
            rbac.PolicyRuleArgs(
                api_groups=["apps"],
                resources=["deployments"],
                verbs=["get"],
                resource_names=[keeper_name(serve)],
            ),
        ],
    )


def keeper_role_binding_args(serve: ServeSettings, cluster: Cluster) -> rbac.RoleBindingInitArgs:
    name = keeper_name(serve)
    return rbac.RoleBindingInitArgs(
        metadata=keeper_metadata(serve, cluster),
        role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=name),
        subjects=[rbac.SubjectArgs(kind="ServiceAccount", name=name, namespace=cluster.namespace)],
    )


def keeper_env(serve: ServeSettings, cluster: Cluster) -> list[core.EnvVarArgs]:
    """What the keeper probes and patches (see keeper.py), from ray-static's constants."""
    health = f"http://{{ip}}:{cluster.serve_port}{c.SERVE_HEALTH_PATH}"
    return [
        core.EnvVarArgs(name="NAMESPACE", value=cluster.namespace),
        core.EnvVarArgs(name="POD_SELECTOR", value=f"{c.LABEL_CLUSTER}={cluster.name}"),
        core.EnvVarArgs(name="PROXY_LABEL", value=c.SERVE_PROXY_LABEL),
        core.EnvVarArgs(name="HEALTH_URL", value=health),
        core.EnvVarArgs(name="KEEPER_DEPLOYMENT", value=keeper_name(serve)),
        core.EnvVarArgs(name="PYTHONDONTWRITEBYTECODE", value="1"),
    ]


def keeper_deployment_args(serve: ServeSettings, cluster: Cluster) -> apps.DeploymentInitArgs:
    """One keeper pod. Its grace period bounds the deletion of the applications when the RayServe goes."""
    labels = {**serve_labels(serve, "keeper"), c.SERVE_KEEPER_LABEL: "true"}
    selector = {c.LABEL_INSTANCE: serve.name, c.LABEL_COMPONENT: "keeper"}
    container = script_container(c.KEEPER_CONTAINER, keeper_command(), cluster, keeper_env(serve, cluster))
    return apps.DeploymentInitArgs(
        metadata=keeper_metadata(serve, cluster),
        spec=apps.DeploymentSpecArgs(
            replicas=1,
            selector=meta.LabelSelectorArgs(match_labels=selector),
            template=core.PodTemplateSpecArgs(
                metadata=meta.ObjectMetaArgs(labels=labels),
                spec=core.PodSpecArgs(
                    service_account_name=keeper_name(serve),
                    containers=[container],
                    image_pull_secrets=pull_secrets(cluster.image_pull_secrets),
                    volumes=submitter_volumes(cluster.auth_secret),
                    security_context=pod_security_context(),
                    termination_grace_period_seconds=c.KEEPER_GRACE_PERIOD_SECONDS,
                ),
            ),
        ),
    )


def serve_service_name(cluster_name: str) -> str:
    """`<cluster>-serve`: one per cluster, as Serve's config is."""
    return f"{cluster_name}{c.SERVE_SERVICE_SUFFIX}"


def serve_service_args(serve: ServeSettings, cluster: Cluster) -> core.ServiceInitArgs:
    """The cluster's pods whose Serve proxy is ready (the label the keeper keeps), on the serve port.

    Not awaited: before the first deploy no proxy is ready, so it has no endpoints, and Pulumi would wait
    for some; the deployer Job is what `pulumi up` waits for."""
    selector: dict[str, Any] = {c.LABEL_CLUSTER: cluster.name, c.SERVE_PROXY_LABEL: "true"}
    exposure = serve.exposure
    return core.ServiceInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=serve_service_name(cluster.name),
            namespace=cluster.namespace,
            labels=serve_labels(serve, "serve"),
            annotations={**dict(exposure.annotations), c.SKIP_AWAIT_ANNOTATION: "true"},
        ),
        spec=core.ServiceSpecArgs(
            type=exposure.service_type,
            load_balancer_source_ranges=list(exposure.source_ranges) or None,
            selector=selector,
            ports=[
                core.ServicePortArgs(
                    name="serve", port=cluster.serve_port, target_port=cluster.serve_port, protocol="TCP"
                )
            ],
        ),
    )
