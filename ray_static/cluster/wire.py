"""Turn typed pulumi_kubernetes Args into the Kubernetes wire format (camelCase dicts).

Used to hash pod templates. Their values are plain, except inside the Kubernetes objects users pass
through (a volume may name a claim made in the same program): those Outputs stay Outputs.
"""

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi import _types as pulumi_types


def to_wire(value: Any) -> Any:
    """Recursively convert Args objects, mappings and lists; drop unset (None) fields; keep Outputs."""
    if isinstance(value, pulumi.Output):
        return value
    if pulumi_types.is_input_type(type(value)):
        return to_wire(pulumi_types.input_type_to_dict(value))
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value


def has_output(wire: Any) -> bool:
    """Whether a wire-format value holds an Output anywhere."""
    if isinstance(wire, pulumi.Output):
        return True
    if isinstance(wire, Mapping):
        return any(has_output(v) for v in wire.values())
    if isinstance(wire, list):
        return any(has_output(v) for v in wire)
    return False
