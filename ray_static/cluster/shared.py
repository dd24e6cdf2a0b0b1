"""The parts every pod ray-static makes shares, whether it runs Ray (the cluster's pods) or talks to it
(a RayJob's submitter): the restricted security contexts, the token file, the writable directories of a
read-only root filesystem. The one module of the cluster package that the jobs package imports (an
architecture test keeps it so), and where a RayCluster is recognised without importing the component.
"""

from typing import Any

import pulumi
import pulumi_kubernetes.core.v1 as core

from ray_static import constants as c


def container_security_context(
    read_only_root_filesystem: bool = True, add: list[str] | None = None
) -> core.SecurityContextArgs:
    """The `restricted` Pod Security Standard, as the Ray image's own user; a read-only root filesystem
    unless turned off. ``add``: capabilities the user adds back (the one part a higher Pod Security level
    changes; everything else stays as strict)."""
    return core.SecurityContextArgs(
        read_only_root_filesystem=read_only_root_filesystem,
        run_as_non_root=True,
        run_as_user=c.RAY_UID,
        run_as_group=c.RAY_GID,
        allow_privilege_escalation=False,
        capabilities=core.CapabilitiesArgs(add=add or None, drop=["ALL"]),
        seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
    )


def pod_security_context() -> core.PodSecurityContextArgs:
    """The pod-level half of the `restricted` standard: Ray's user and group, the runtime's seccomp
    profile."""
    return core.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=c.RAY_UID,
        run_as_group=c.RAY_GID,
        fs_group=c.RAY_GID,
        seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
    )


def auth_volume(secret_name: pulumi.Input[str]) -> core.VolumeArgs:
    """The token Secret as a file, readable by Ray's group only."""
    return core.VolumeArgs(
        name=c.AUTH_VOLUME,
        secret=core.SecretVolumeSourceArgs(
            secret_name=secret_name,
            items=[core.KeyToPathArgs(key=c.AUTH_SECRET_KEY, path=c.AUTH_SECRET_KEY)],
            default_mode=c.AUTH_TOKEN_MODE,
        ),
    )


def auth_mount() -> core.VolumeMountArgs:
    """Where every container that talks to Ray finds the token (RAY_AUTH_TOKEN_PATH)."""
    return core.VolumeMountArgs(name=c.AUTH_VOLUME, mount_path=c.AUTH_TOKEN_DIR, read_only=True)


def writable_mounts() -> list[core.VolumeMountArgs]:
    """The emptyDirs a read-only root filesystem leaves writable."""
    return [core.VolumeMountArgs(name=name, mount_path=path) for name, path in c.WRITABLE_DIRS.items()]


def writable_dirs() -> list[core.VolumeArgs]:
    """emptyDirs for the directories Ray writes to."""
    return [core.VolumeArgs(name=name, empty_dir=core.EmptyDirVolumeSourceArgs()) for name in c.WRITABLE_DIRS]


def is_ray_cluster(value: Any) -> bool:
    """Whether ``value`` is a RayCluster component (imported only when asked: it loads pulumi_kubernetes'
    resource modules)."""
    from ray_static.cluster.component import RayCluster  # noqa: PLC0415

    return isinstance(value, RayCluster)
