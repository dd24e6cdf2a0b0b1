"""Validate a RayServe's args into frozen settings, before any resource exists.

Two parts: Serve's config (`resolve_serve`: Ray Serve's own schema, ServeDeploySchema, refused in one
sentence where Serve would refuse it later, or where ray-static decides the value itself), and the
cluster it goes to (`resolve_serve_target`: RayJob's target, plus the cluster's name and Serve port).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi

from ray_static import constants as c
from ray_static.config import checks
from ray_static.config.checks import At, Naming, identity
from ray_static.errors import RayStaticConfigError, invalid, show
from ray_static.inputs.serve import RayServeArgs, ServeApplicationArgs
from ray_static.jobs.settings import Target, digest, plain_or_output, resolve_target, runtime_env

KNOWN_SERVE_ARGS = frozenset(RayServeArgs.__annotations__)
APPLICATION_KEYS = tuple(ServeApplicationArgs.__annotations__)
HTTP_OPTION_KEYS = ("root_path", "request_timeout_s", "keep_alive_timeout_s")
"""Serve's http_options a user sets; host and port are the cluster's (SERVE_HTTP_HOST, serve_port). Ray
2.60's ssl_* options need files in every Ray pod, which ray-static does not mount."""
SET_BY_CLUSTER = {"host": "every pod's addresses", "port": "the cluster's serve_port"}


@dataclass(frozen=True)
class ServeSettings:
    """One RayServe, validated: Serve's config as the REST API takes it, less the port."""

    name: str
    applications: tuple[dict[str, Any], ...]
    http_options: dict[str, Any]
    proxy_location: str
    timeout_seconds: int
    exposure: "Exposure"

    def config(self, serve_port: int) -> dict[str, Any]:
        """The body of `PUT /api/serve/applications/`."""
        return {
            "proxy_location": self.proxy_location,
            "http_options": {**self.http_options, "host": c.SERVE_HTTP_HOST, "port": serve_port},
            "applications": list(self.applications),
        }


@dataclass(frozen=True)
class Exposure:
    """How the serve Service is reached: its type, annotations and load balancer source ranges."""

    service_type: str = "ClusterIP"
    annotations: tuple[tuple[str, str], ...] = ()
    source_ranges: tuple[str, ...] = ()


def exposure(given: Mapping[str, Any], naming: Naming) -> Exposure:
    """The serve Service's exposure. Beyond the cluster it needs the waiver, whatever the cluster's auth:
    Serve's proxies check no token (nothing under Ray's serve/ uses its auth code)."""
    service_type = checks.one_of(*c.SERVICE_TYPES)(
        given.get("service_type", "ClusterIP"), At("service_type", naming)
    )
    waived = checks.boolean(
        given.get("allow_unauthenticated_exposure", False), At("allow_unauthenticated_exposure", naming)
    )
    if service_type != "ClusterIP" and not waived:
        raise invalid(
            naming("service_type"),
            service_type,
            '"ClusterIP" (Ray Serve\'s proxies check no token: anyone reaching the port calls the '
            f"applications), unless {naming('allow_unauthenticated_exposure')} is true",
        )
    annotations = checks.annotation_map(
        given.get("service_annotations", {}), At("service_annotations", naming)
    )
    ranges = checks.cidr_list(
        given.get("load_balancer_source_ranges", []), At("load_balancer_source_ranges", naming)
    )
    return Exposure(service_type, tuple(sorted(annotations.items())), tuple(ranges))


@dataclass(frozen=True)
class ServeTarget:
    """The cluster: RayJob's target, its name (its pods' `ray.io/cluster` label) and its Serve port."""

    target: Target
    cluster_name: pulumi.Input[str]
    serve_port: pulumi.Input[int | None]


def config_hash(config: Mapping[str, Any]) -> str:
    """A short hash of a Serve config: the deployer Job's name carries it."""
    return digest(config)


def resolve_serve(name: str, args: Mapping[str, Any] | None, naming: Naming = identity) -> ServeSettings:
    """Validate a RayServe's name and its Serve config; the cluster's keys are checked by
    resolve_serve_target."""
    name = checks.instance_name(name, At("name", naming))
    if not isinstance(args, Mapping):
        raise invalid(naming("args"), args, "a RayServeArgs mapping with at least applications")
    given = cast(Mapping[str, Any], args)
    checks.unknown_keys(given, KNOWN_SERVE_ARGS, At("", naming))
    timeout = given.get("timeout_seconds", c.DEFAULT_SERVE_WAIT_SECONDS)
    return ServeSettings(
        name=name,
        applications=applications(given.get("applications"), At("applications", naming)),
        http_options=http_options(given.get("http_options"), At("http_options", naming)),
        proxy_location=checks.one_of(*c.SERVE_PROXY_LOCATIONS)(
            given.get("proxy_location", c.SERVE_PROXY_LOCATIONS[0]), At("proxy_location", naming)
        ),
        timeout_seconds=checks.whole_number(1, c.MAX_SERVE_WAIT_SECONDS)(
            timeout, At("timeout_seconds", naming)
        ),
        exposure=exposure(given, naming),
    )


def applications(value: Any, at: At) -> tuple[dict[str, Any], ...]:
    """The applications, each checked, no two with the same name or route prefix."""
    expected = 'a list of applications such as [{"name": "app", "import_path": "app.main:app"}]'
    if value is None:
        raise RayStaticConfigError(at.name, "no value", expected)
    apps: list[dict[str, Any]] = []
    for i, item in enumerate(checks.sequence(value, at, expected)):
        app = application(item, at.item(i))
        for key, what in (("name", "name"), ("route_prefix", "route prefix")):
            if any(other[key] == app[key] for other in apps):
                raise invalid(at.item(i).field(key).name, app[key], f"a {what} no other application has")
        apps.append(app)
    return tuple(apps)


def application(value: Any, at: At) -> dict[str, Any]:
    """One application as Serve's config spells it, route_prefix always given (Serve's default "/")."""
    given = checks.mapping(value, at, 'a mapping such as {"name": "app", "import_path": "app.main:app"}')
    checks.unknown_keys(given, APPLICATION_KEYS, at)
    app: dict[str, Any] = {
        "name": text(given.get("name"), at.field("name"), 'a name such as "fruit"'),
        "import_path": import_path(given.get("import_path"), at.field("import_path")),
        "route_prefix": route_prefix(given.get("route_prefix", "/"), at.field("route_prefix")),
    }
    if given.get("runtime_env") is not None:
        app["runtime_env"] = runtime_env(given["runtime_env"], at.field("runtime_env"))
    if given.get("deployments") is not None:
        app["deployments"] = deployments(given["deployments"], at.field("deployments"))
    if given.get("args") is not None:
        app["args"] = checks.json_mapping(given["args"], at.field("args"))
    return app


def text(value: Any, at: At, expected: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(at.name, value, expected)
    return value


def import_path(value: Any, at: At) -> str:
    """Serve's import path: "module.sub:attribute" (or "module.sub.attribute")."""
    expected = 'an import path such as "fruit.app:deployment_graph"'
    path = text(value, at, expected)
    if any(ch.isspace() for ch in path) or not path.replace(":", ".").strip(".").count("."):
        raise invalid(at.name, value, expected)
    return path


def route_prefix(value: Any, at: At) -> str:
    """An absolute HTTP path, as Serve requires: starting with "/", no trailing "/" except the root's."""
    if not isinstance(value, str) or not value.startswith("/") or (value != "/" and value.endswith("/")):
        raise invalid(at.name, value, 'an absolute path such as "/" or "/fruit" (starting with "/")')
    if any(ch.isspace() or ch in "{}" for ch in value):
        raise invalid(at.name, value, "a path without spaces or braces")
    return value


def deployments(value: Any, at: At) -> list[dict[str, Any]]:
    """Overrides of an application's deployments: each names one deployment, no deployment twice."""
    out: list[dict[str, Any]] = []
    expected = 'a list of deployment overrides such as [{"name": "Model", "num_replicas": 2}]'
    for i, item in enumerate(checks.sequence(value, at, expected)):
        where = at.item(i)
        override = checks.json_mapping(item, where)
        name = text(
            override.get("name"), where.field("name"), "the name of one of the application's deployments"
        )
        if any(other["name"] == name for other in out):
            raise invalid(
                where.field("name").name, name, "a deployment no other override of this application names"
            )
        out.append(override)
    return out


def http_options(value: Any, at: At) -> dict[str, Any]:
    """Serve's http_options, without host and port (the cluster's)."""
    given = checks.json_mapping(value, at) if value is not None else {}
    for key, owner in SET_BY_CLUSTER.items():
        if key in given:
            raise invalid(at.field(key).name, given[key], f"no value: ray-static sets it to {owner}")
    checks.unknown_keys(given, HTTP_OPTION_KEYS, at)
    return given


def resolve_serve_target(args: Mapping[str, Any], naming: Naming = identity) -> ServeTarget:
    """The cluster: a RayCluster given as `cluster` (its name and Serve port with it), or its outputs."""
    target = resolve_target(args, naming)
    cluster = target.cluster
    if cluster is not None:
        for key in ("cluster_name", "serve_port"):
            if args.get(key) is not None:
                raise RayStaticConfigError(
                    naming("cluster"),
                    f"a RayCluster together with {naming(key)}",
                    "either the cluster or its outputs, not both",
                )
        return ServeTarget(target, cluster.pulumi_resource_name, cast(Any, cluster).serve_port)
    if args.get("cluster_name") is None:
        raise RayStaticConfigError(
            naming("cluster_name"),
            "no value",
            "the cluster's name (its pods' ray.io/cluster label), or a RayCluster as cluster",
        )
    return ServeTarget(
        target,
        plain_or_output(args["cluster_name"], At("cluster_name", naming), checks.instance_name),
        plain_or_output(
            args.get("serve_port", c.DEFAULT_SERVE_PORT), At("serve_port", naming), checks.serve_port
        ),
    )


OWNER_ATTRIBUTE = "_ray_static_serve_owner"
"""Set on a RayCluster object to the name of the RayServe that deploys to it."""


def claim_cluster(cluster: pulumi.Resource | None, name: str, naming: Naming = identity) -> None:
    """Record that RayServe ``name`` deploys to ``cluster``; refuse a second RayServe on the same one
    (Serve's config replaces every application of a cluster, so two would delete each other's)."""
    if cluster is None:
        return
    owner = getattr(cluster, OWNER_ATTRIBUTE, None)
    if owner is not None:
        raise RayStaticConfigError(
            naming("cluster"),
            f"the RayCluster {show(cluster.pulumi_resource_name)}, which RayServe {show(owner)} deploys to",
            "a cluster no other RayServe deploys to (Serve's config replaces every application of a cluster, "
            "so one RayServe holds all of them)",
        )
    setattr(cluster, OWNER_ATTRIBUTE, name)
