"""What users add to `ray start`: custom resources, node labels and extra flags, checked and rendered.

ray-static derives addresses, ports, CPUs, GPUs and memory from the pod; a user flag setting one of them
would make Ray's view of the pod disagree with Kubernetes', so those flags are refused by name.
"""

import json
import math
from typing import Any, cast

from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.errors import invalid

MANAGED_FLAGS = (
    "--head",
    "--address",
    "--port",
    "--node-ip-address",
    "--num-cpus",
    "--num-gpus",
    "--memory",
    "--resources",
    "--labels",
    "--labels-file",
    "--block",
    "--dashboard-host",
    "--dashboard-port",
    "--ray-client-server-port",
    "--metrics-export-port",
    "--node-manager-port",
    "--object-manager-port",
    "--dashboard-agent-grpc-port",
    "--dashboard-agent-listen-port",
    "--runtime-env-agent-port",
    "--min-worker-port",
    "--max-worker-port",
    "--redis-password",
)
"""`ray start` flags ray-static sets itself (or, for resources and labels, builds from its own options)."""
BUILTIN_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
"""Resources Ray counts itself: --resources refuses them."""
RESERVED_LABEL_PREFIX = "ray.io/"


def ray_resources(value: Any, at: At) -> dict[str, float]:
    """Custom resources: names other than Ray's own, non-negative finite quantities."""
    out: dict[str, float] = {}
    for name, amount in checks.mapping(
        value, at, 'a mapping of resource names to numbers, e.g. {"tpu": 1}'
    ).items():
        where = at.field(name)
        if not isinstance(name, str) or not name or name in BUILTIN_RESOURCES:
            raise invalid(
                where.name, name, f"a custom resource name other than {', '.join(BUILTIN_RESOURCES)}"
            )
        if (
            isinstance(amount, bool)
            or not isinstance(amount, int | float)
            or not math.isfinite(amount)
            or amount < 0
        ):
            raise invalid(where.name, amount, "a number of at least 0")
        out[name] = amount
    return out


def ray_labels(value: Any, at: At) -> dict[str, str]:
    """Ray node labels: Kubernetes label syntax, no key under Ray's reserved "ray.io/" prefix."""
    labels = checks.label_map(value, at)
    for key in labels:
        if key.startswith(RESERVED_LABEL_PREFIX):
            raise invalid(
                at.field(key).name,
                key,
                f'a label key not starting with "{RESERVED_LABEL_PREFIX}" (Ray\'s own)',
            )
    return labels


def flag_name(arg: str) -> str:
    """``--object-store-memory=1000`` -> ``--object-store-memory``."""
    return arg.split("=", 1)[0]


def ray_start_args(value: Any, at: At) -> list[str]:
    """Extra flags: each a `--flag` or `--flag=value` that ray-static does not set itself."""
    args = checks.str_list(value, at)
    for i, arg in enumerate(args):
        if not arg.startswith("--") or any(ch.isspace() for ch in flag_name(arg)):
            raise invalid(at.item(i).name, arg, 'a flag such as "--object-store-memory=2000000000"')
        if flag_name(arg) in MANAGED_FLAGS:
            raise invalid(
                at.item(i).name,
                arg,
                f"a flag ray-static does not set itself (not {', '.join(MANAGED_FLAGS)})",
            )
    return args


def _number(amount: float) -> int | float:
    return int(amount) if float(amount).is_integer() else amount


def custom_args(resources: dict[str, float], labels: dict[str, str], extra: list[str]) -> list[str]:
    """The `ray start` flags for custom resources (JSON), node labels ("k=v,k2=v2") and the extra flags."""
    out: list[str] = []
    if resources:
        rendered = {k: _number(v) for k, v in sorted(resources.items())}
        out.append(f"--resources={json.dumps(rendered, separators=(',', ':'))}")
    if labels:
        out.append("--labels=" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())))
    return [*out, *cast(list[str], extra)]
