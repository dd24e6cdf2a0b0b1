"""RayCluster: a static Ray cluster on Kubernetes, wired from the pure builders."""

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar, cast

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.networking.v1 as networking
import pulumi_kubernetes.policy.v1 as policy
from pulumi_kubernetes import apiextensions

from ray_static import constants as c
from ray_static.cluster.fault_tolerance import generated_storage_namespace
from ray_static.cluster.ingress import dashboard_ingress_args
from ray_static.cluster.metrics import (
    POD_MONITOR_API_VERSION,
    POD_MONITOR_KIND,
    dashboard_config_map_args,
    pod_monitor,
    ray_dashboards,
    require_pod_monitor_crd,
)
from ray_static.cluster.objects import (
    head_deployment_args,
    head_disruption_budget_args,
    head_service_args,
    namespace_args,
    worker_deployment_args,
    worker_disruption_budget_args,
    worker_gcs_service_args,
)
from ray_static.cluster.security import auth_secret_args, network_policy_args, service_account_args
from ray_static.cluster.token import fingerprint, generated_token
from ray_static.config.deferred import derived
from ray_static.config.ingress import Ingress
from ray_static.config.plan import plan
from ray_static.config.settings import Settings
from ray_static.config.shape import Shape
from ray_static.inputs.cluster import RayClusterArgs

T = TypeVar("T")
AUTH_SECRET_FIELDS = ("metadata", "type", "string_data")
"""What auth_secret_args sets: the Secret's `data` (which pulumi_kubernetes wraps as a secret) stays unset."""


class RayCluster(pulumi.ComponentResource):
    """A static (non-autoscaling) Ray cluster: a head Service and Deployment plus worker Deployments."""

    namespace: pulumi.Output[str]
    """Namespace the cluster runs in."""
    head_service_name: pulumi.Output[str]
    """Name of the head Service (`<name>-head`)."""
    gcs_address: pulumi.Output[str]
    """Address workers and drivers use to join: `<svc>.<ns>.svc.cluster.local:6379`."""
    client_address: pulumi.Output[str]
    """Ray Client address: `ray://<svc>.<ns>.svc.cluster.local:10001`."""
    dashboard_url: pulumi.Output[str]
    """Dashboard and Jobs API: `http://<svc>.<ns>.svc.cluster.local:8265`."""
    auth_token: pulumi.Output[str | None]
    """The Ray auth token (a secret); unset when auth is off."""
    auth_secret_name: pulumi.Output[str | None]
    """Name of the Secret holding the token (key `token`), for RayJobs; unset when auth is off."""
    image: pulumi.Output[str]
    """The Ray image every pod runs (a RayJob's submitter runs it too)."""
    image_pull_secrets: pulumi.Output[list[str]]
    """The Secrets every pod pulls the image with (a RayJob's submitter pulls it with them too)."""
    dashboard_ingress_url: pulumi.Output[str | None]
    """The dashboard through the Ingress (`https://<host><path>` with a TLS Secret); unset without one."""
    serve_port: pulumi.Output[int | None]
    """Ray Serve's HTTP port on every Ray pod (for a RayServe); unset when serve is off."""

    def __init__(
        self, name: str, args: RayClusterArgs | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        """A static Ray cluster named ``name``: a head Service and Deployment, worker Deployments, and by
        default its Namespace, token Secret, ServiceAccount and NetworkPolicy, all children of this one.

        Args:
            name: The instance name; every Kubernetes object's name derives from it (``<name>-head``,
                ``<name>-worker``), so several clusters can share a namespace.
            args: RayClusterArgs; every field is optional (defaults: 3 workers of 1 CPU / 2Gi, a head of
                2 CPUs / 4Gi, token auth, namespace "ray"). Fields that only flow into the objects may be
                Outputs (a Namespace's name, an image, worker counts); the few that decide which objects
                exist must be plain values (their docstrings say so).
            opts: Pulumi resource options (``providers``, ``transforms``, ...); children inherit them.

        Example::

            ns = k8s.core.v1.Namespace("ml")
            cluster = RayCluster("analytics", {
                "namespace": ns.metadata.name, "create_namespace": False,
                "workers": 4, "worker_resources": {"cpu": "4", "memory": "16Gi"},
            })
            pulumi.export("ray_address", cluster.client_address)

        A bad value raises RayStaticConfigError (one sentence naming the setting) before anything is
        registered; a bad value inside an Output fails the deployment the same way, before any object of
        the cluster is created.
        """
        shape, settings, token = plan(name, args)
        super().__init__(c.COMPONENT_TYPE, name, None, opts)
        require_pod_monitor_crd(self, shape.pod_monitor)  # before any child: nothing half-created without it
        build = _Builder(self, name, shape, settings)
        token = build.token(token)
        settings = build.storage_namespace(settings)
        service = build.cluster(token)
        self.dashboard_ingress_url = build.observability()
        self._publish(name, shape, settings, service, build.namespace_name, token=token)

    def _publish(
        self,
        name: str,
        shape: Shape,
        settings: pulumi.Output[Settings],
        service: core.Service,
        namespace_name: pulumi.Output[str],
        *,
        token: pulumi.Output[str] | None,
    ) -> None:
        """The component's outputs, from its children's."""
        service_name = pulumi.Output.all(service.urn, settings).apply(lambda both: both[1].head_name)
        fqdn = pulumi.Output.concat(service_name, ".", namespace_name, ".svc.cluster.local")
        self.namespace = namespace_name
        self.head_service_name = service_name
        self.gcs_address = pulumi.Output.concat(fqdn, f":{c.GCS_PORT}")
        self.client_address = pulumi.Output.concat("ray://", fqdn, f":{c.CLIENT_PORT}")
        self.dashboard_url = pulumi.Output.concat("http://", fqdn, f":{c.DASHBOARD_PORT}")
        self.auth_token = token if token is not None else pulumi.Output.from_input(None)
        self.auth_secret_name = pulumi.Output.from_input(f"{name}-auth" if shape.auth else None)
        self.image = settings.apply(lambda s: s.image)
        self.image_pull_secrets = settings.apply(lambda s: s.pod_base.resolve().image_pull_secrets)
        self.serve_port = settings.apply(lambda s: s.serve_port)
        # Registering outputs marks the component complete (and records them in the state).
        self.register_outputs({output: getattr(self, output) for output in OUTPUTS})


OUTPUTS = (
    "namespace",
    "head_service_name",
    "gcs_address",
    "client_address",
    "dashboard_url",
    "auth_token",
    "auth_secret_name",
    "image",
    "image_pull_secrets",
    "dashboard_ingress_url",
    "serve_port",
)
"""The component's outputs, in the order they are registered."""


class _Builder:
    """The cluster's children, one method per concern: each object's fields derive from the settings."""

    def __init__(
        self, parent: "RayCluster", name: str, shape: Shape, settings: pulumi.Output[Settings]
    ) -> None:
        self.name, self.shape, self.settings = name, shape, settings
        self.child = pulumi.ResourceOptions(parent=parent)
        self.scoped = self.child
        self.in_namespace = self.child
        self.namespace_name: pulumi.Output[str] = settings.apply(lambda s: s.namespace)
        if shape.create_namespace:
            namespace = core.Namespace(
                name, self.args(namespace_args, core.NamespaceInitArgs), opts=self.child
            )
            # Deleting the namespace deletes everything in it: skip the one-by-one deletes on destroy.
            self.scoped = pulumi.ResourceOptions(
                parent=parent, depends_on=[namespace], deleted_with=namespace
            )
            # Except the Deployments: the namespace controller, finding pods still terminating, looks
            # again only after their grace period (60 s), so a destroy would wait that long. Deleted
            # first, their pods are gone (Pulumi waits) before the namespace is.
            self.in_namespace = pulumi.ResourceOptions(parent=parent, depends_on=[namespace])
            self.namespace_name = pulumi.Output.all(namespace.urn, self.namespace_name).apply(
                lambda both: str(both[1])
            )

    def args(
        self, build: Callable[[Settings], T], args_type: type[T], only: tuple[str, ...] | None = None
    ) -> T:
        return derived(self.settings, build, args_type, only)

    def token(self, given: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
        """The given token, or one generated once and kept in the state; a secret either way."""
        if not self.shape.auth:
            return None
        if given is not None:
            return pulumi.Output.secret(given)
        return generated_token(f"{self.name}-auth-token", self.child)

    def storage_namespace(self, settings: pulumi.Output[Settings]) -> pulumi.Output[Settings]:
        """With GCS fault tolerance and no storage namespace given: one generated once, kept in the state."""
        if not self.shape.generate_storage_namespace:
            return settings
        prefix = pulumi.Output.concat(self.namespace_name, "-", self.name)
        generated = generated_storage_namespace(f"{self.name}-gcs-storage-namespace", prefix, self.child)

        def filled(s: Settings, namespace: str) -> Settings:
            ft = s.gcs_fault_tolerance
            return s if ft is None else replace(s, gcs_fault_tolerance=ft.with_storage_namespace(namespace))

        self.settings = pulumi.Output.all(settings, generated).apply(lambda both: filled(*both))
        return self.settings

    def cluster(self, token: pulumi.Output[str] | None) -> core.Service:
        """Secret, ServiceAccount, NetworkPolicy, the head Service and the Deployments, the head's
        PodDisruptionBudget; returns the Service."""
        pod_dependencies: list[pulumi.Resource] = []
        if token is not None:
            secret = self.args(lambda s: auth_secret_args(s, token), core.SecretInitArgs, AUTH_SECRET_FIELDS)
            pod_dependencies.append(core.Secret(f"{self.name}-auth", secret, opts=self.scoped))
        if self.shape.create_service_account:
            account = self.args(service_account_args, core.ServiceAccountInitArgs)
            pod_dependencies.append(core.ServiceAccount(self.name, account, opts=self.scoped))
        if self.shape.network_policy:
            policy_args = self.args(network_policy_args, networking.NetworkPolicyInitArgs)
            networking.NetworkPolicy(self.name, policy_args, opts=self.scoped)
        # Pods need their Secret and ServiceAccount. Head and workers start in parallel: workers wait for
        # the GCS themselves, so they never depend on the head Deployment.
        pods = pulumi.ResourceOptions.merge(
            self.in_namespace, pulumi.ResourceOptions(depends_on=pod_dependencies)
        )
        rollout = {c.AUTH_TOKEN_FINGERPRINT_ANNOTATION: fingerprint(token, self.name)} if token else None
        service = core.Service(
            f"{self.name}-head", self.args(head_service_args, core.ServiceInitArgs), opts=self.scoped
        )
        # Its Kubernetes name carries the Ray version: a new version replaces it (worker_gcs_service_args).
        gcs = self.args(worker_gcs_service_args, core.ServiceInitArgs)
        core.Service(f"{self.name}-gcs", gcs, opts=self.scoped)
        head = self.args(lambda s: head_deployment_args(s, rollout), apps.DeploymentInitArgs)
        apps.Deployment(f"{self.name}-head", head, opts=pods)
        for i, deployment in enumerate(self.shape.worker_deployments):
            workers = self.args(
                lambda s, i=i: worker_deployment_args(s, s.groups[i], rollout), apps.DeploymentInitArgs
            )
            apps.Deployment(deployment, workers, opts=pods)
        self.disruption_budgets()
        return service

    def disruption_budgets(self) -> None:
        """The head's PodDisruptionBudget and those of the worker groups that have one."""
        if self.shape.pod_disruption_budget:
            budget = self.args(head_disruption_budget_args, policy.PodDisruptionBudgetInitArgs)
            policy.PodDisruptionBudget(f"{self.name}-head", budget, opts=self.scoped)
        for i, deployment in enumerate(self.shape.worker_deployments):
            if self.shape.worker_disruption_budgets[i]:
                budget = self.args(
                    lambda s, i=i: worker_disruption_budget_args(s, s.groups[i]),
                    policy.PodDisruptionBudgetInitArgs,
                )
                policy.PodDisruptionBudget(deployment, budget, opts=self.scoped)

    def observability(self) -> pulumi.Output[str | None]:
        """The PodMonitor, Ray's Grafana dashboards (in Grafana's namespace, which may be another) and
        the dashboard's Ingress; returns the Ingress URL (None without one)."""
        if self.shape.pod_monitor:
            monitor = self.settings.apply(pod_monitor)
            apiextensions.CustomResource(
                f"{self.name}-pod-monitor",
                api_version=POD_MONITOR_API_VERSION,
                kind=POD_MONITOR_KIND,
                metadata=monitor.apply(lambda m: m["metadata"]),
                spec=monitor.apply(lambda m: m["spec"]),
                opts=self.scoped,
            )
        if self.shape.grafana_dashboards:
            where = self.scoped if self.shape.grafana_in_cluster_namespace else self.child
            for dashboard in ray_dashboards():
                config_map = self.args(
                    lambda s, d=dashboard: dashboard_config_map_args(s, d), core.ConfigMapInitArgs
                )
                core.ConfigMap(f"{self.name}-grafana-{dashboard.slug}", config_map, opts=where)
        if self.shape.ingress:
            ingress = self.args(
                lambda s: dashboard_ingress_args(s, cast(Ingress, s.ingress)), networking.IngressInitArgs
            )
            networking.Ingress(f"{self.name}-dashboard", ingress, opts=self.scoped)
        return self.settings.apply(lambda s: s.ingress.url if s.ingress is not None else None)


# The inferred schema reads `args` as the component's inputs type: `RayClusterArgs | None` (for
# `RayCluster("ray")`) is the same inputs to every other language.
RayCluster.__init__.__signature__ = inspect.signature(RayCluster.__init__)  # type: ignore[attr-defined]
RayCluster.__init__.__annotations__["args"] = RayClusterArgs
