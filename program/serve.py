"""The `serveConfig` stack-config key -> one RayServe's args, checked before anything is registered.

The value is a JSON object of Ray Serve's config as RayServeArgs spells it (`applications`, `http_options`,
`proxy_location`, plus `timeout_seconds`); the cluster is the program's own, so the cluster's fields are not
among them. It turns the cluster's `serve` on: the engine passes Pulumi.yaml's default (false) for a key the
stack does not set, so a `serve: false` cannot be told from no `serve` at all. Errors name the field under
the key (``serveConfig.applications[0].route_prefix``).
"""

import json
from dataclasses import dataclass
from typing import Any, cast

from ray_static import RayServeArgs
from ray_static.errors import RayStaticConfigError, invalid
from ray_static.inputs.serve import RayServeInputs
from ray_static.names import did_you_mean
from ray_static.serve.settings import ServeSettings, resolve_serve

KEY = "serveConfig"
TARGET_FIELDS = ("namespace", "dashboard_url", "auth", "auth_secret", "image", "image_pull_secrets")
SERVE_FIELDS = tuple(
    k for k in RayServeInputs.__annotations__ if k not in (*TARGET_FIELDS, "cluster_name", "serve_port")
)
EXAMPLE = 'a JSON object such as {"applications": [{"name": "fruit", "import_path": "fruit:app"}]}'


@dataclass(frozen=True)
class ServeConfig:
    """The RayServe of the `serveConfig` key: its args (the program adds its cluster) and settings."""

    args: RayServeArgs
    settings: ServeSettings


def _object(value: Any) -> dict[str, Any] | None:
    parsed = value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise invalid(KEY, value, EXAMPLE) from None
    if parsed is None:
        return None
    if not isinstance(parsed, dict):
        raise invalid(KEY, value, EXAMPLE)
    return cast(dict[str, Any], parsed)


def parse_serve(value: Any, cluster_name: str) -> ServeConfig | None:
    """The `serveConfig` value (JSON text, or parsed), validated; None when empty."""
    fields = _object(value)
    if fields is None:
        return None
    for key in fields:
        if key not in SERVE_FIELDS:
            hint = (
                " (Serve runs on this stack's cluster)"
                if key in TARGET_FIELDS
                else did_you_mean(key, SERVE_FIELDS)
            )
            raise RayStaticConfigError(
                f"{KEY}.{key}", "an unknown field", f"one of {', '.join(SERVE_FIELDS)}{hint}"
            )
    settings = resolve_serve(f"{cluster_name}-serve", fields, lambda path: f"{KEY}.{path}")
    return ServeConfig(args=cast(RayServeArgs, fields), settings=settings)
