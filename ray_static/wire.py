"""Turn typed pulumi_kubernetes Args into the Kubernetes wire format (camelCase dicts).

Used to hash pod templates; every value in them is plain (the token travels through a secretKeyRef).
"""

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi import _types as pulumi_types


def to_wire(value: Any) -> Any:
    """Recursively convert Args objects, mappings and lists; drop unset (None) fields."""
    if isinstance(value, pulumi.Output):
        raise TypeError("to_wire needs plain values, not a pulumi.Output")
    if pulumi_types.is_input_type(type(value)):
        return to_wire(pulumi_types.input_type_to_dict(value))
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value
