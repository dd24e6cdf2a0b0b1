"""The Namespace, the head Service, the Deployments and the PodDisruptionBudgets, as typed Args."""

import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.meta.v1 as meta
import pulumi_kubernetes.policy.v1 as policy

from ray_static import constants as c
from ray_static.cluster.labels import labels, selector_labels
from ray_static.cluster.pods import Annotations, head_pod_template, worker_pod_template
from ray_static.cluster.security import pod_security_labels
from ray_static.config.rollout import DisruptionBudget
from ray_static.config.settings import Settings, WorkerGroup


def namespace_args(settings: Settings) -> core.NamespaceInitArgs:
    return core.NamespaceInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=settings.namespace, labels={**labels(settings), **pod_security_labels(settings.pod_security)}
        )
    )


def _service_port(name: str, port: int) -> core.ServicePortArgs:
    return core.ServicePortArgs(name=name, port=port, target_port=port, protocol="TCP")


def head_service_args(settings: Settings) -> core.ServiceInitArgs:
    """The head's Service: GCS, Ray Client, dashboard, metrics (Ray's and the dashboard's) and, when on,
    Ray Serve. ClusterIP unless asked otherwise.

    Not headless, unlike KubeRay's (kuberay#2117): a ClusterIP stays the same when the head pod is
    replaced, so a worker's raylet reconnects to a restarted head without resolving its name again, while
    through a headless Service it must (and gRPC's resolver re-resolves at most every 30 s by default,
    which fits the numbers). On the real node (tests/node/test_cluster_features.py, GCS fault tolerance,
    3 workers, head pod deleted) the workers ran
    tasks again 17-25 s after the deletion through this Service (median 18 s, 9 restarts), 24-30 s through
    a headless one (median 27 s, 7) and 13-34 s headless with publishNotReadyAddresses, KubeRay's (median
    27 s, 7). publishNotReadyAddresses on this Service gave 11-28 s (median 15 s, mean 18 s, 7): no better
    on average, less predictable, and it would send traffic to a head that is not Ready. Clients (drivers, job
    submitters) keep the same address across a head restart too. (Workers now join through their own
    Service of the same kind, worker_gcs_service_args.)

    Not awaited unless it is a LoadBalancer: pulumi-kubernetes would wait for endpoints and then a fixed
    10 s for them to "settle", while the head Deployment's own await already returns only once the pod the
    Service selects is Ready. A LoadBalancer is still awaited, for its external address.
    """
    skip_await = {c.SKIP_AWAIT_ANNOTATION: "true"} if settings.service_type != "LoadBalancer" else {}
    serve = [_service_port("serve", settings.serve_port)] if settings.serve_port is not None else []
    return core.ServiceInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=settings.head_name,
            namespace=settings.namespace,
            labels=labels(settings, c.HEAD, c.HEAD_GROUP),
            annotations={**settings.service_annotations, **skip_await} or None,
        ),
        spec=core.ServiceSpecArgs(
            type=settings.service_type,
            selector=selector_labels(settings, c.HEAD, c.HEAD_GROUP),
            ports=[
                _service_port("gcs", c.GCS_PORT),
                _service_port("client", c.CLIENT_PORT),
                _service_port("dashboard", c.DASHBOARD_PORT),
                _service_port("metrics", c.METRICS_PORT),
                _service_port("dash-metrics", c.DASHBOARD_METRICS_PORT),
                *serve,
            ],
            load_balancer_source_ranges=list(settings.load_balancer_source_ranges) or None,
        ),
    )


def worker_gcs_service_args(settings: Settings) -> core.ServiceInitArgs:
    """The GCS as the workers reach it: the head, only while it runs their Ray version.

    Named after the version, so a version change creates the next one and deletes this one (the preview
    shows both): a new worker waits until a head of its version is Ready, and an old worker that restarts
    before its pod is replaced finds no head to join and waits too, where through the head Service it
    would meet the new head, which Ray refuses, and crash-loop. Selecting on the version label the pods
    already carry keeps the head pod as it is. A ClusterIP, as the head Service is, for the same reason
    (a raylet reconnects to a restarted head of the same version without resolving the name again).
    """
    version = {c.LABEL_VERSION: settings.ray_version_text}
    return core.ServiceInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=settings.worker_gcs_service_name,
            namespace=settings.namespace,
            labels=labels(settings, c.HEAD, c.HEAD_GROUP),
            annotations={c.SKIP_AWAIT_ANNOTATION: "true"},
        ),
        spec=core.ServiceSpecArgs(
            type="ClusterIP",
            selector={**selector_labels(settings, c.HEAD, c.HEAD_GROUP), **version},
            ports=[_service_port("gcs", c.GCS_PORT)],
        ),
    )


def head_deployment_args(settings: Settings, rollout: Annotations | None = None) -> apps.DeploymentInitArgs:
    """One head, replaced with Recreate so two heads (two Ray clusters) never run side by side."""
    return apps.DeploymentInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=settings.head_name,
            namespace=settings.namespace,
            labels=labels(settings, c.HEAD, c.HEAD_GROUP),
        ),
        spec=apps.DeploymentSpecArgs(
            replicas=0 if settings.suspend else 1,
            strategy=apps.DeploymentStrategyArgs(type="Recreate"),
            selector=meta.LabelSelectorArgs(match_labels=selector_labels(settings, c.HEAD, c.HEAD_GROUP)),
            template=head_pod_template(settings, rollout),
        ),
    )


def worker_deployment_args(
    settings: Settings, group: WorkerGroup, rollout: Annotations | None = None
) -> apps.DeploymentInitArgs:
    """A worker group. patchForce: a `kubectl scale` done by hand is overwritten on the next `pulumi up`.

    ``rollout`` annotations restart the workers with the head when they change (e.g. the token's mark).
    The rolling update's bounds are the group's (config/rollout.py says why they default to in place).
    """
    return apps.DeploymentInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=group.deployment_name,
            namespace=settings.namespace,
            labels=labels(settings, c.WORKER, group.group),
            annotations={c.PATCH_FORCE_ANNOTATION: "true"},
        ),
        spec=apps.DeploymentSpecArgs(
            replicas=0 if settings.suspend else group.replicas,
            strategy=apps.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=apps.RollingUpdateDeploymentArgs(
                    max_surge=group.rollout.max_surge, max_unavailable=group.rollout.max_unavailable
                ),
            ),
            selector=meta.LabelSelectorArgs(match_labels=selector_labels(settings, c.WORKER, group.group)),
            template=worker_pod_template(settings, group, rollout),
        ),
    )


def head_disruption_budget_args(settings: Settings) -> policy.PodDisruptionBudgetInitArgs:
    """No voluntary eviction of the head (a node drain waits until someone moves it): without GCS fault
    tolerance losing the head is losing the cluster. A head that is not Ready may still be evicted
    (AlwaysAllow): a broken head has nothing to protect, and must not block the drain for ever.

    Deployment rollouts delete pods directly, not through the eviction API, so `pulumi up` is never
    blocked by it.
    """
    return _budget(settings, settings.head_name, c.HEAD, c.HEAD_GROUP, DisruptionBudget(max_unavailable=0))


def worker_disruption_budget_args(
    settings: Settings, group: WorkerGroup
) -> policy.PodDisruptionBudgetInitArgs:
    """The group's own budget for evictions (node drains); pods that are not Ready may always go, so a
    broken worker never blocks a drain. Rollouts delete pods directly and are bounded by the rollout's
    own values instead."""
    budget = group.disruption_budget
    assert budget is not None  # the component makes one only for a group with a budget
    return _budget(settings, group.deployment_name, c.WORKER, group.group, budget)


def _budget(
    settings: Settings, name: str, node_type: str, group: str, budget: DisruptionBudget
) -> policy.PodDisruptionBudgetInitArgs:
    """A budget over one Deployment's pods; an unhealthy pod may always be evicted (AlwaysAllow)."""
    return policy.PodDisruptionBudgetInitArgs(
        metadata=meta.ObjectMetaArgs(
            name=name, namespace=settings.namespace, labels=labels(settings, node_type, group)
        ),
        spec=policy.PodDisruptionBudgetSpecArgs(
            min_available=budget.min_available,
            max_unavailable=budget.max_unavailable,
            selector=meta.LabelSelectorArgs(match_labels=selector_labels(settings, node_type, group)),
            unhealthy_pod_eviction_policy="AlwaysAllow",
        ),
    )
