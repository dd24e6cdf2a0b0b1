"""Validate a RayJob's args into frozen settings, before any resource exists.

Two parts: the submission (`resolve_job`: entrypoint, runtime_env, resources, metadata, the submission id,
waiting) and the cluster it goes to (`resolve_target`: a RayCluster of the same program, or its outputs).
The repository's program checks the submission alone, before its cluster exists. Every refusal is one
RayStaticConfigError sentence naming the setting, as ``naming`` spells it.
"""

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi

from ray_static import constants as c
from ray_static.config import checks
from ray_static.config.checks import At, Naming, identity
from ray_static.config.deferred import checked
from ray_static.errors import RayStaticConfigError, invalid
from ray_static.inputs.job import RayJobArgs

KNOWN_JOB_ARGS = frozenset(RayJobArgs.__annotations__)
TARGET_KEYS = ("namespace", "dashboard_url", "auth_secret", "image", "image_pull_secrets")
"""The cluster's outputs a job needs; a `cluster` provides all of them."""
CLUSTER_KEYS = (*TARGET_KEYS, "auth")
"""What describes the cluster rather than the job: given by a `cluster`, or by the user."""
SUBMISSION_KEYS = ("entrypoint", "runtime_env", "entrypoint_resources", "metadata")
"""What the default submission id is a hash of: everything Ray receives about the job."""
_SUBMISSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
HASH_LENGTH = 10
RESOURCE_FLAGS = {
    "CPU": "--entrypoint-num-cpus",
    "GPU": "--entrypoint-num-gpus",
    "memory": "--entrypoint-memory",
}
"""Ray's predefined resources have flags of their own; any other name goes to --entrypoint-resources."""


@dataclass(frozen=True)
class JobSettings:
    """One Ray submission, validated."""

    name: str
    entrypoint: str
    runtime_env: dict[str, Any]
    entrypoint_resources: dict[str, float]
    metadata: dict[str, str]
    submission_id: str
    wait: bool
    timeout_seconds: int | None

    @property
    def job_name(self) -> str:
        """The Kubernetes Job's name: the submission id when it is one, else the name and a hash of it."""
        if checks.is_dns_label(self.submission_id):
            return self.submission_id
        return f"{self.name}-{digest(self.submission_id)}"


@dataclass(frozen=True)
class Target:
    """The cluster a job goes to; plain values or outputs (another stack's, or a RayCluster's)."""

    namespace: pulumi.Input[str]
    dashboard_url: pulumi.Input[str]
    auth_secret: pulumi.Input[str | None]
    image: pulumi.Input[str]
    image_pull_secrets: pulumi.Input[list[str]]
    cluster: pulumi.Resource | None
    """The RayCluster given, which the Job depends on."""


def digest(value: Any) -> str:
    """A short, stable hash of a JSON value."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def default_submission_id(name: str, submission: Mapping[str, Any]) -> str:
    """``<name>-<hash>``: the same job always gets the same id, a changed one a new id."""
    return f"{name}-{digest({key: submission[key] for key in SUBMISSION_KEYS})}"


def resolve_job(name: str, args: Mapping[str, Any] | None, naming: Naming = identity) -> JobSettings:
    """Validate a RayJob's name and its submission; the cluster's keys are checked by resolve_target."""
    name = checks.instance_name(name, At("name", naming))
    if not isinstance(args, Mapping):
        raise invalid(naming("args"), args, "a RayJobArgs mapping with at least an entrypoint")
    given = cast(Mapping[str, Any], args)
    checks.unknown_keys(given, KNOWN_JOB_ARGS, At("", naming))
    submission = {
        "entrypoint": entrypoint(given.get("entrypoint"), At("entrypoint", naming)),
        "runtime_env": runtime_env(given.get("runtime_env"), At("runtime_env", naming)),
        "entrypoint_resources": entrypoint_resources(
            given.get("entrypoint_resources"), At("entrypoint_resources", naming)
        ),
        "metadata": checks.str_map(given.get("metadata"), At("metadata", naming)),
    }
    given_id = given.get("submission_id")
    timeout = given.get("timeout_seconds")
    return JobSettings(
        name=name,
        **submission,
        submission_id=default_submission_id(name, submission)
        if given_id is None
        else submission_id(given_id, At("submission_id", naming)),
        wait=checks.boolean(given.get("wait", True), At("wait", naming)),
        timeout_seconds=None
        if timeout is None
        else checks.whole_number(1, c.MAX_JOB_TIMEOUT_SECONDS)(timeout, At("timeout_seconds", naming)),
    )


def entrypoint(value: Any, at: At) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(at.name, value, 'a command for Ray to run, such as "python train.py"')
    return value


def runtime_env(value: Any, at: At) -> dict[str, Any]:
    """Ray's runtime_env: a mapping of plain JSON values (the default submission id is a hash of it)."""
    if value is None:
        return {}
    expected = 'a mapping of plain JSON values (Ray\'s runtime_env), such as {"pip": ["requests"]}'
    return checks.json_mapping(value, at, expected)


def entrypoint_resources(value: Any, at: At) -> dict[str, float]:
    """Resources reserved for the driver: non-negative numbers; memory in whole bytes."""
    out: dict[str, float] = {}
    for key, amount in checks.mapping(value, at, 'a mapping such as {"CPU": 1, "GPU": 0.5}').items():
        where = at.field(key)
        number = isinstance(amount, int | float) and not isinstance(amount, bool)
        if not number or not math.isfinite(amount) or amount < 0:
            raise invalid(where.name, amount, "a number of at least 0")
        if key == "memory" and not float(amount).is_integer():
            raise invalid(where.name, amount, "a whole number of bytes")
        out[key] = float(amount)
    return out


def submission_id(value: Any, at: At) -> str:
    """A Ray submission id: Ray puts it in URLs and log file names."""
    if (
        not isinstance(value, str)
        or len(value) > c.MAX_SUBMISSION_ID_LENGTH
        or not _SUBMISSION_ID.match(value)
    ):
        raise invalid(
            at.name,
            value,
            f"a Ray submission id: 1 to {c.MAX_SUBMISSION_ID_LENGTH} letters, digits, '-', '_' or '.', "
            "starting with a letter or digit",
        )
    return value


def resolve_target(args: Mapping[str, Any], naming: Naming = identity) -> Target:
    """The cluster: a RayCluster given as `cluster`, or its outputs (plain values are checked here)."""
    cluster = args.get("cluster")
    if cluster is not None:
        return _from_cluster(cluster, args, naming)
    for key in ("namespace", "dashboard_url"):
        if args.get(key) is None:
            raise RayStaticConfigError(
                naming(key), "no value", f"the cluster's {key} output here, or a RayCluster as cluster"
            )
    return Target(
        namespace=plain_or_output(args["namespace"], At("namespace", naming), checks.dns_label),
        dashboard_url=plain_or_output(args["dashboard_url"], At("dashboard_url", naming), _url),
        auth_secret=_auth_secret(args, naming),
        image=plain_or_output(args.get("image", c.DEFAULT_IMAGE), At("image", naming), checks.image),
        image_pull_secrets=plain_or_output(
            args.get("image_pull_secrets", []), At("image_pull_secrets", naming), checks.name_list
        ),
        cluster=None,
    )


def _from_cluster(cluster: Any, args: Mapping[str, Any], naming: Naming) -> Target:
    from ray_static.cluster.shared import is_ray_cluster  # noqa: PLC0415  (pulumi_kubernetes when needed)

    if not is_ray_cluster(cluster):
        raise RayStaticConfigError(naming("cluster"), f"a {type(cluster).__name__}", "a RayCluster")
    both = [key for key in CLUSTER_KEYS if args.get(key) is not None]
    if both:
        raise RayStaticConfigError(
            naming("cluster"),
            f"a RayCluster together with {', '.join(naming(k) for k in both)}",
            "either the cluster or its outputs, not both",
        )
    return Target(
        namespace=cluster.namespace,
        dashboard_url=cluster.dashboard_url,
        auth_secret=cluster.auth_secret_name,
        image=cluster.image,
        image_pull_secrets=cluster.image_pull_secrets,
        cluster=cluster,
    )


def plain_or_output(value: Any, at: At, check: checks.Check) -> Any:
    """Outputs (another stack's) are known only at deployment; plain values are checked now."""
    if value is None or isinstance(value, pulumi.Output):
        return value
    return check(value, at)


def _url(value: Any, at: At) -> str:
    return checks.http_origin(
        value, at, 'the cluster\'s dashboard URL, such as "http://ray-head.ray.svc.cluster.local:8265"'
    )


def _auth_secret(args: Mapping[str, Any], naming: Naming) -> pulumi.Input[str] | None:
    """The token Secret: required while `auth` is true (the default), checked once known when an Output;
    none while it is false. Auth is off only when the user says so, never because an output was missing."""
    auth = checks.boolean(args.get("auth", True), At("auth", naming))
    secret, at = args.get("auth_secret"), At("auth_secret", naming)
    if not auth:
        if secret not in (None, ""):
            raise invalid(at.name, secret, f"no value while {naming('auth')} is false")
        return None
    if isinstance(secret, pulumi.Output):
        return checked(secret, lambda known: _required_secret(known, at, naming))
    return _required_secret(secret, at, naming)


def _required_secret(value: Any, at: At, naming: Naming) -> str:
    if value in (None, ""):
        raise RayStaticConfigError(
            at.name,
            "no value",
            "the cluster's token Secret: its auth_secret_name output (export it from the cluster's stack), "
            f"or {naming('auth')} false for a cluster deployed with auth off",
        )
    return checks.object_name(value, at)
