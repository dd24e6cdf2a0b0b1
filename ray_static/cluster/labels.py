"""The labels on every object, and the stable subset Deployments and the Service select on."""

from ray_static import constants as c
from ray_static.config.settings import Settings


def labels(settings: Settings, node_type: str | None = None, group: str | None = None) -> dict[str, str]:
    """All labels for an object of this cluster; pods (and their controllers) also get node type and group."""
    out = {
        c.LABEL_NAME: "ray",
        c.LABEL_INSTANCE: settings.name,
        c.LABEL_MANAGED_BY: "pulumi",
        c.LABEL_PART_OF: "ray-static",
        c.LABEL_VERSION: settings.ray_version_text,
        c.LABEL_CLUSTER: settings.name,
    }
    if node_type is not None:
        out[c.LABEL_COMPONENT] = node_type
        out[c.LABEL_NODE_TYPE] = node_type
    if group is not None:
        out[c.LABEL_GROUP] = group
    return out


def selector_labels(settings: Settings, node_type: str, group: str) -> dict[str, str]:
    """What a Deployment or the Service selects on: never the version or image, so upgrades stay in place."""
    full = labels(settings, node_type, group)
    return {k: full[k] for k in (c.LABEL_CLUSTER, c.LABEL_NODE_TYPE, c.LABEL_GROUP)}


def cluster_selector(settings: Settings) -> dict[str, str]:
    """Every pod of this Ray cluster (head and all worker groups)."""
    return {c.LABEL_CLUSTER: settings.name}
