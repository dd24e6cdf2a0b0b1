"""Volumes of a Ray pod and where its containers mount them: /dev/shm and the token file."""

import pulumi_kubernetes.core.v1 as core

from ray_static import constants as c
from ray_static.settings import Resources, Settings

SHM_VOLUME = "dshm"
AUTH_VOLUME = "ray-auth"


def shm_volume(resources: Resources) -> core.VolumeArgs:
    """/dev/shm in memory, as large as the memory limit (the default 64 MB starves Ray's object store)."""
    return core.VolumeArgs(
        name=SHM_VOLUME,
        empty_dir=core.EmptyDirVolumeSourceArgs(medium="Memory", size_limit=resources.memory),
    )


def shm_mount() -> core.VolumeMountArgs:
    return core.VolumeMountArgs(name=SHM_VOLUME, mount_path="/dev/shm")


def auth_volume(settings: Settings) -> core.VolumeArgs:
    """The token Secret as a file, readable by Ray's group only."""
    return core.VolumeArgs(
        name=AUTH_VOLUME,
        secret=core.SecretVolumeSourceArgs(
            secret_name=settings.auth_secret_name,
            items=[core.KeyToPathArgs(key=c.AUTH_SECRET_KEY, path=c.AUTH_SECRET_KEY)],
            default_mode=c.AUTH_TOKEN_MODE,
        ),
    )


def ray_mounts(settings: Settings, *, shm: bool = True) -> list[core.VolumeMountArgs]:
    """What every Ray container mounts: /dev/shm (not the GCS wait) and, with auth, the token read-only."""
    mounts = [shm_mount()] if shm else []
    if settings.auth:
        mounts.append(core.VolumeMountArgs(name=AUTH_VOLUME, mount_path=c.AUTH_TOKEN_DIR, read_only=True))
    return mounts


def pod_volumes(settings: Settings, resources: Resources) -> list[core.VolumeArgs]:
    """Every volume of a Ray pod sized by ``resources``."""
    return [shm_volume(resources), *([auth_volume(settings)] if settings.auth else [])]
