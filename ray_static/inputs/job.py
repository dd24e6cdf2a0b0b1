"""A RayJob's inputs: TypedDicts with a docstring under every field.

RayJobInputs is what every language sees (the inferred schema): the job and the cluster's outputs, plain
values or outputs of another stack. RayJobArgs adds `cluster`, a RayCluster object of the same Python
program, which no other language can hold. Keep to the schema rules of args.py here (no
`from __future__ import annotations`, `X | None` only, unique type names).
"""

from typing import TYPE_CHECKING, Any, Required, TypedDict

import pulumi

from ray_static.inputs.field_docs import document_fields

if TYPE_CHECKING:
    from ray_static.cluster.component import RayCluster


class RayJobInputs(TypedDict, total=False):
    """A Ray job submitted once to a ray-static cluster, given by the cluster's outputs."""

    namespace: pulumi.Input[str]
    """The cluster's namespace (its `namespace` output); the submitter Job runs there."""
    dashboard_url: pulumi.Input[str]
    """The cluster's Jobs API address (its `dashboard_url` output, http://<name>-head.<ns>.svc...:8265)."""
    auth: bool
    """Whether the cluster has token auth (a plain value). Default true: then `auth_secret` is required,
    and an `auth_secret` that resolves to nothing fails the deployment instead of submitting without the
    token. False only for a cluster deployed with auth off (and then no `auth_secret`)."""
    auth_secret: pulumi.Input[str]
    """The cluster's token Secret (its `auth_secret_name` output); required unless `auth` is false."""
    image: pulumi.Input[str]
    """The cluster's image (its `image` output), so the submitter's Ray matches the cluster's."""
    image_pull_secrets: pulumi.Input[list[str]]
    """The Secrets the cluster pulls its image with (its `image_pull_secrets` output), for the submitter."""
    entrypoint: Required[str]
    """The command Ray runs as the job's driver, through a shell, e.g. "python train.py --epochs 3"."""
    runtime_env: dict[str, Any]
    """Ray's runtime_env for the job (pip, env_vars, working_dir as a URI, ...)."""
    submission_id: str
    """The Ray submission id. Default: "<name>-<hash of the job>", new exactly when the job changes."""
    wait: bool
    """`pulumi up` waits for the end, failing with the last log lines unless it SUCCEEDED. Default true."""
    timeout_seconds: int
    """Stop the job after this many seconds (1 to 2592000) and wait no longer. Default: no limit."""
    entrypoint_resources: dict[str, float]
    """Resources reserved for the driver: "CPU", "GPU", "memory" (bytes) or custom resource names."""
    metadata: dict[str, str]
    """Ray job metadata (shown by `ray job list` and the dashboard)."""


class RayJobArgs(RayJobInputs, total=False):
    """A RayJob's args in Python: the cluster's outputs, or the RayCluster itself."""

    cluster: "RayCluster"
    """A RayCluster of this Python program instead of its outputs; the job comes after it, and goes first."""


document_fields([RayJobInputs, RayJobArgs])
