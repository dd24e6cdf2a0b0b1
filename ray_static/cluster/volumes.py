"""Volumes of a Ray pod and where its containers mount them: /dev/shm, the token file, the writable
directories a read-only root filesystem needs, then the user's own (Kubernetes wire format)."""

from typing import Any

import pulumi_kubernetes.core.v1 as core

from ray_static import constants as c
from ray_static.cluster.shared import auth_mount, auth_volume, writable_dirs, writable_mounts
from ray_static.config.pod_options import PodOptions
from ray_static.config.settings import Resources, Settings


def shm_volume(resources: Resources) -> core.VolumeArgs:
    """/dev/shm in memory, as large as the memory limit (the default 64 MB starves Ray's object store)."""
    return core.VolumeArgs(
        name=c.SHM_VOLUME,
        empty_dir=core.EmptyDirVolumeSourceArgs(medium="Memory", size_limit=resources.memory),
    )


def shm_mount() -> core.VolumeMountArgs:
    return core.VolumeMountArgs(name=c.SHM_VOLUME, mount_path=c.SHM_PATH)


def ray_mounts(settings: Settings, *, shm: bool = True) -> list[core.VolumeMountArgs]:
    """What every Ray container mounts: /dev/shm (not the GCS wait), the token read-only (with auth), and
    the writable directories (with a read-only root filesystem). The user's mounts: `user_mounts`."""
    mounts = [shm_mount()] if shm else []
    if settings.auth:
        mounts.append(auth_mount())
    if settings.read_only_root_filesystem:
        mounts.extend(writable_mounts())
    return mounts


def writable_volumes(settings: Settings) -> list[core.VolumeArgs]:
    """emptyDirs for the directories Ray writes to, when the root filesystem is read-only."""
    return writable_dirs() if settings.read_only_root_filesystem else []


def user_mounts(pod: PodOptions) -> list[Any]:
    """The user's mounts of a Ray container, passed through in wire format."""
    return list(pod.volume_mounts)


def pod_volumes(settings: Settings, resources: Resources, pod: PodOptions) -> list[Any]:
    """Every volume of a Ray pod sized by ``resources``: ray-static's, then the user's (wire format)."""
    auth = [auth_volume(settings.auth_secret_name)] if settings.auth else []
    return [shm_volume(resources), *auth, *writable_volumes(settings), *pod.volumes]
