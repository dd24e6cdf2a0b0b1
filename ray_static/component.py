"""RayCluster: a static Ray cluster on Kubernetes, wired from the pure builders."""

from dataclasses import replace

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.networking.v1 as networking
import pulumi_kubernetes.policy.v1 as policy
from pulumi_kubernetes import apiextensions

from ray_static import constants as c
from ray_static.args import RayClusterArgs
from ray_static.fault_tolerance import generated_storage_namespace
from ray_static.ingress import dashboard_ingress_args
from ray_static.monitoring import (
    dashboard_config_map_args,
    grafana_namespace,
    pod_monitor,
    ray_dashboards,
    require_pod_monitor_crd,
)
from ray_static.objects import (
    head_deployment_args,
    head_disruption_budget_args,
    head_service_args,
    namespace_args,
    worker_deployment_args,
)
from ray_static.security import auth_secret_args, network_policy_args, service_account_args
from ray_static.settings import Settings, resolve
from ray_static.token import fingerprint, generated_token


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

    @staticmethod
    def _token(name: str, settings: Settings, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """The given token, or one generated once and kept in the state; a secret either way."""
        if settings.auth_token is not None:
            return pulumi.Output.secret(settings.auth_token)
        return generated_token(f"{name}-auth-token", opts)

    @staticmethod
    def _gcs_storage(name: str, settings: Settings, opts: pulumi.ResourceOptions) -> Settings:
        """With GCS fault tolerance and no storage namespace given: one generated once, kept in the state."""
        ft = settings.gcs_fault_tolerance
        if ft is None or ft.external_storage_namespace is not None:
            return settings
        namespace = generated_storage_namespace(
            f"{name}-gcs-storage-namespace", f"{settings.namespace}-{settings.name}", opts
        )
        return replace(settings, gcs_fault_tolerance=ft.with_storage_namespace(namespace))

    def _namespace(
        self, name: str, settings: Settings, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.ResourceOptions, pulumi.Output[str]]:
        """The Namespace when the cluster creates it; options for the objects in it, and its name."""
        if not settings.create_namespace:
            return child, pulumi.Output.from_input(settings.namespace)
        namespace = core.Namespace(name, namespace_args(settings), opts=child)
        # Deleting the namespace deletes everything in it: skip the one-by-one deletes on destroy.
        scoped = pulumi.ResourceOptions(parent=self, depends_on=[namespace], deleted_with=namespace)
        return scoped, namespace.metadata.apply(lambda m: m.name or settings.namespace)

    @staticmethod
    def _observability(
        name: str, settings: Settings, scoped: pulumi.ResourceOptions, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str | None]:
        """The PodMonitor, Ray's Grafana dashboards (in Grafana's namespace, which may be another) and
        the dashboard's Ingress; returns the Ingress URL (None without one)."""
        if settings.metrics.pod_monitor:
            apiextensions.CustomResource(f"{name}-pod-monitor", **pod_monitor(settings), opts=scoped)
        if settings.metrics.grafana_dashboards:
            same_namespace = grafana_namespace(settings) == settings.namespace
            for dashboard in ray_dashboards():
                core.ConfigMap(
                    f"{name}-grafana-{dashboard.slug}",
                    dashboard_config_map_args(settings, dashboard),
                    opts=scoped if same_namespace else child,
                )
        if settings.ingress is not None:
            networking.Ingress(
                f"{name}-dashboard", dashboard_ingress_args(settings, settings.ingress), opts=scoped
            )
        return pulumi.Output.from_input(settings.ingress.url if settings.ingress is not None else None)

    def __init__(self, name: str, args: RayClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Validate first: a bad value raises before anything is registered, so `pulumi up` changes nothing.
        settings = resolve(name, args)
        super().__init__(c.COMPONENT_TYPE, name, None, opts)
        require_pod_monitor_crd(self, settings)  # before any child: nothing half-created without the CRD

        child = pulumi.ResourceOptions(parent=self)
        settings = self._gcs_storage(name, settings, child)
        scoped, namespace_name = self._namespace(name, settings, child)

        pod_dependencies: list[pulumi.Resource] = []
        token = self._token(name, settings, child) if settings.auth else None
        if token is not None:
            pod_dependencies.append(
                core.Secret(f"{name}-auth", auth_secret_args(settings, token), opts=scoped)
            )
        if settings.create_service_account:
            pod_dependencies.append(core.ServiceAccount(name, service_account_args(settings), opts=scoped))
        if settings.network_policy:
            networking.NetworkPolicy(name, network_policy_args(settings), opts=scoped)

        # Pods need their Secret and ServiceAccount. Head and workers start in parallel: workers wait for
        # the GCS themselves, so they never depend on the head Deployment.
        pods = pulumi.ResourceOptions.merge(scoped, pulumi.ResourceOptions(depends_on=pod_dependencies))
        rollout = (
            {c.AUTH_TOKEN_FINGERPRINT_ANNOTATION: fingerprint(token, name)} if token is not None else None
        )
        service = core.Service(f"{name}-head", head_service_args(settings), opts=scoped)
        apps.Deployment(f"{name}-head", head_deployment_args(settings, rollout), opts=pods)
        for group in settings.groups:
            apps.Deployment(
                group.deployment_name, worker_deployment_args(settings, group, rollout), opts=pods
            )
        if settings.pod_disruption_budget:
            policy.PodDisruptionBudget(f"{name}-head", head_disruption_budget_args(settings), opts=scoped)

        self.dashboard_ingress_url = self._observability(name, settings, scoped, child)
        self._publish(settings, service, namespace_name, token)

    def _publish(
        self,
        settings: Settings,
        service: core.Service,
        namespace_name: pulumi.Output[str],
        token: pulumi.Output[str] | None,
    ) -> None:
        """The component's outputs, from its children's."""
        service_name = service.metadata.apply(lambda m: m.name or settings.head_name)
        fqdn = pulumi.Output.concat(service_name, ".", namespace_name, ".svc.cluster.local")
        self.namespace = namespace_name
        self.head_service_name = service_name
        self.gcs_address = pulumi.Output.concat(fqdn, f":{c.GCS_PORT}")
        self.client_address = pulumi.Output.concat("ray://", fqdn, f":{c.CLIENT_PORT}")
        self.dashboard_url = pulumi.Output.concat("http://", fqdn, f":{c.DASHBOARD_PORT}")
        self.auth_token = token if token is not None else pulumi.Output.from_input(None)
        self.auth_secret_name = pulumi.Output.from_input(settings.auth_secret_name if settings.auth else None)
        self.image = pulumi.Output.from_input(settings.image)
        self.image_pull_secrets = pulumi.Output.from_input(settings.pod_base.resolve().image_pull_secrets)
        # Registering outputs marks the component complete (and records them in the state).
        self.register_outputs(
            {
                "namespace": self.namespace,
                "head_service_name": self.head_service_name,
                "gcs_address": self.gcs_address,
                "client_address": self.client_address,
                "dashboard_url": self.dashboard_url,
                "auth_token": self.auth_token,
                "auth_secret_name": self.auth_secret_name,
                "image": self.image,
                "image_pull_secrets": self.image_pull_secrets,
                "dashboard_ingress_url": self.dashboard_ingress_url,
            }
        )
