"""RayServe: Ray Serve applications as infrastructure as code, on a ray-static cluster."""

import inspect
from typing import Any

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.batch.v1 as batch
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.rbac.v1 as rbac

from ray_static import constants as c
from ray_static.config.deferred import checked, derived
from ray_static.errors import RayStaticConfigError
from ray_static.inputs.serve import RayServeArgs, RayServeInputs
from ray_static.serve.objects import (
    Cluster,
    deployer_job_args,
    keeper_deployment_args,
    keeper_role_args,
    keeper_role_binding_args,
    keeper_service_account_args,
    serve_service_args,
    serve_service_name,
)
from ray_static.serve.settings import (
    ServeSettings,
    ServeTarget,
    claim_cluster,
    resolve_serve,
    resolve_serve_target,
)


def known_cluster(where: ServeTarget) -> pulumi.Output[Cluster]:
    """The cluster's values once known; a cluster without Serve's port fails the deployment in one
    sentence before any object of the RayServe exists."""
    t = where.target
    values = pulumi.Output.all(
        where.cluster_name,
        t.namespace,
        t.dashboard_url,
        t.auth_secret,
        t.image,
        t.image_pull_secrets,
        where.serve_port,
    )

    def build(known: list[Any]) -> Cluster:
        name, namespace, url, secret, image, pull, port = known
        if port is None:
            setting = "cluster" if t.cluster is not None else "serve_port"
            raise RayStaticConfigError(setting, "a cluster with serve off", "a RayCluster with serve true")
        return Cluster(name, namespace, url, secret or None, image, list(pull or []), int(port))

    return checked(values, build)


class RayServe(pulumi.ComponentResource):
    """Ray Serve applications on a ray-static cluster, deployed by a Kubernetes Job and served through
    `<cluster>-serve`, a Service of the pods whose Serve proxy is ready."""

    service_name: pulumi.Output[str]
    """The serve Service: `<cluster>-serve`."""
    service_url: pulumi.Output[str]
    """The applications' address inside Kubernetes: http://<cluster>-serve.<namespace>.svc.cluster.local:<port>."""
    deployer_job_name: pulumi.Output[str]
    """The Job that deployed the current config (`kubectl logs job/<name>`)."""

    def __init__(self, name: str, args: RayServeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Ray Serve's config put on the cluster by an idempotent Job (a new one exactly when the config
        changes); `pulumi up` waits until every application is RUNNING. Removing it deletes the
        applications.

        Args:
            name: The RayServe's name; its Job and keeper derive from it.
            args: RayServeArgs: `applications` (required), `http_options`, `proxy_location`, and the
                cluster: `cluster`, a RayCluster of this program (one RayServe per cluster), or its outputs
                (`namespace`, `dashboard_url`, `auth_secret`, `image`, `image_pull_secrets`,
                `cluster_name`, `serve_port`).
            opts: Pulumi resource options; the children inherit them.

        Example::

            RayServe("models", {"cluster": cluster, "applications": [
                {"name": "fruit", "import_path": "fruit:app", "route_prefix": "/fruit"}]})

        A bad value raises RayStaticConfigError (one sentence) before anything is registered.
        """
        serve = resolve_serve(name, args)
        where = resolve_serve_target(args)
        claim_cluster(where.target.cluster, name)
        super().__init__(c.SERVE_COMPONENT_TYPE, name, None, opts)

        cluster = known_cluster(where)
        after = [where.target.cluster] if where.target.cluster is not None else []
        keeper(self, name, serve, cluster, after)
        service = core.Service(
            f"{name}-serve",
            derived(cluster, lambda k: serve_service_args(serve, k), core.ServiceInitArgs),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        deployer = batch.Job(
            f"{name}-deployer",
            derived(cluster, lambda k: deployer_job_args(serve, k), batch.JobInitArgs),
            # A new config replaces the Job: the old one goes first, so two deployers never race.
            opts=pulumi.ResourceOptions(parent=self, depends_on=after, delete_before_replace=True),
        )

        self.service_name = pulumi.Output.all(service.urn, cluster).apply(
            lambda both: serve_service_name(both[1].name)
        )
        self.service_url = pulumi.Output.all(self.service_name, cluster).apply(
            lambda both: f"http://{both[0]}.{both[1].namespace}.svc.cluster.local:{both[1].serve_port}"
        )
        self.deployer_job_name = deployer.metadata.apply(lambda m: m.name or "")
        # Registering outputs marks the component complete (and records them in the state).
        self.register_outputs({output: getattr(self, output) for output in OUTPUTS})


OUTPUTS = ("service_name", "service_url", "deployer_job_name")
"""The component's outputs, in the order they are registered."""


def keeper(
    parent: RayServe,
    name: str,
    serve: ServeSettings,
    cluster: pulumi.Output[Cluster],
    after: list[pulumi.Resource],
) -> apps.Deployment:
    """The keeper's ServiceAccount, Role and RoleBinding, then its Deployment, which depends on them, so
    it goes first on removal: it deletes the applications while the cluster, its Role and its token are
    still there."""
    child = pulumi.ResourceOptions(parent=parent, depends_on=after)
    account = core.ServiceAccount(
        f"{name}-keeper",
        derived(cluster, lambda k: keeper_service_account_args(serve, k), core.ServiceAccountInitArgs),
        opts=child,
    )
    role = rbac.Role(
        f"{name}-keeper",
        derived(cluster, lambda k: keeper_role_args(serve, k), rbac.RoleInitArgs),
        opts=child,
    )
    binding = rbac.RoleBinding(
        f"{name}-keeper",
        derived(cluster, lambda k: keeper_role_binding_args(serve, k), rbac.RoleBindingInitArgs),
        opts=child,
    )
    return apps.Deployment(
        f"{name}-keeper",
        derived(cluster, lambda k: keeper_deployment_args(serve, k), apps.DeploymentInitArgs),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*after, account, role, binding]),
    )


# The inferred schema (other languages, other stacks) offers the plain inputs: a RayCluster object exists
# in Python only. Pulumi's inference reads the annotations; help() and IDEs read the signature.
RayServe.__init__.__signature__ = inspect.signature(RayServe.__init__)  # type: ignore[attr-defined]
RayServe.__init__.__annotations__["args"] = RayServeInputs
