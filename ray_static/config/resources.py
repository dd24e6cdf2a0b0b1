"""CPU, memory and GPUs of one Ray pod: validated, with the whole-number figures Ray's flags need.

Defaults go through the same parser as user values, so the figures derived from them (``memory_bytes``,
``ray_cpus``) can never disagree with the quantities they come from.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from ray_static import constants as c
from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.config.quantities import memory_bytes, parse_quantity, positive_quantity, whole_cpus
from ray_static.errors import invalid
from ray_static.inputs.cluster import ResourcesArgs

KNOWN_FIELDS = frozenset(ResourcesArgs.__annotations__)


@dataclass(frozen=True)
class Resources:
    """Validated resources of one Ray pod."""

    cpu: str
    memory: str
    cpu_request: str
    memory_request: str
    gpus: int
    ray_cpus: int
    """Whole CPUs in the limit (``--num-cpus`` for workers)."""
    memory_bytes: int
    """Bytes in the memory limit (``--memory``, /dev/shm size)."""
    ephemeral_storage: str | None = None
    """Local disk, request and limit; None sets neither."""
    gpu_resource: str = c.DEFAULT_GPU_RESOURCE
    """The Kubernetes resource `gpus` counts."""


def _cpu_request(value: Any, at: At, limit: str) -> str:
    text = str(value) if checks.is_int(value) else value
    if (
        not isinstance(text, str)
        or not positive_quantity(text)
        or cast(Any, parse_quantity(text)) > parse_quantity(limit)
    ):
        raise invalid(at.name, text, f'a CPU quantity greater than 0 and at most the limit "{limit}"')
    return text


def _memory_request(value: Any, at: At, limit: str) -> str:
    size = memory_bytes(value) if isinstance(value, str) else None
    if size is None or size > cast(int, memory_bytes(limit)):
        raise invalid(at.name, value, f'a memory quantity greater than 0 and at most the limit "{limit}"')
    return cast(str, value)


def parse_resources(given: Any, at: At, defaults: Mapping[str, Any]) -> Resources:
    """``given`` (a ResourcesArgs mapping, or None) over ``defaults`` (the same keys), validated.

    Requests default to the limits: Ray sizes itself from the limits, and a pod that may be throttled or
    evicted below them makes Ray's view of the node wrong (kuberay#2640).
    """
    values = {**defaults, **checks.mapping(given, at, "a mapping with cpu, memory and gpus")}
    checks.unknown_keys(values, KNOWN_FIELDS, at)
    cpu = checks.cpu(values["cpu"], at.field("cpu"))
    memory = checks.memory(values["memory"], at.field("memory"))
    gpus = checks.whole_number(0, c.MAX_GPUS_PER_POD)(values.get("gpus", 0), at.field("gpus"))
    return Resources(
        cpu=cpu,
        memory=memory,
        cpu_request=_cpu_request(values.get("cpu_request", cpu), at.field("cpu_request"), cpu),
        memory_request=_memory_request(
            values.get("memory_request", memory), at.field("memory_request"), memory
        ),
        gpus=gpus,
        ray_cpus=cast(int, whole_cpus(cpu)),
        memory_bytes=cast(int, memory_bytes(memory)),
        ephemeral_storage=checks.ephemeral_storage(
            values.get("ephemeral_storage"), at.field("ephemeral_storage")
        ),
        gpu_resource=checks.extended_resource(
            values.get("gpu_resource", c.DEFAULT_GPU_RESOURCE), at.field("gpu_resource")
        ),
    )
