"""Stack outputs that exist only for the repository's program (a user's own stack exports what it needs)."""

from ray_static import constants as c
from ray_static.config.settings import Settings


def port_forward_command(settings: Settings) -> str:
    """A ready-to-paste command that forwards the dashboard and Ray Client ports to localhost."""
    return (
        f"kubectl -n {settings.namespace} port-forward svc/{settings.head_name} "
        f"{c.DASHBOARD_PORT}:{c.DASHBOARD_PORT} {c.CLIENT_PORT}:{c.CLIENT_PORT}"
    )
