"""Volumes of a Ray pod and where its containers mount them: /dev/shm, the token file, the writable
directories a read-only root filesystem needs, then the user's own (Kubernetes wire format)."""

from typing import Any

import pulumi
import pulumi_kubernetes.core.v1 as core

from ray_static import constants as c
from ray_static.pod_options import PodOptions
from ray_static.settings import Resources, Settings


def shm_volume(resources: Resources) -> core.VolumeArgs:
    """/dev/shm in memory, as large as the memory limit (the default 64 MB starves Ray's object store)."""
    return core.VolumeArgs(
        name=c.SHM_VOLUME,
        empty_dir=core.EmptyDirVolumeSourceArgs(medium="Memory", size_limit=resources.memory),
    )


def shm_mount() -> core.VolumeMountArgs:
    return core.VolumeMountArgs(name=c.SHM_VOLUME, mount_path=c.SHM_PATH)


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
