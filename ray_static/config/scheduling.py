"""Where Ray pods may run: tolerations (validated into Kubernetes wire format)."""

from typing import Any

from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.errors import invalid
from ray_static.inputs.cluster import TolerationArgs

KNOWN_FIELDS = frozenset(TolerationArgs.__annotations__)
OPERATORS = ("Equal", "Exists")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
WIRE_NAMES = {"toleration_seconds": "tolerationSeconds"}
"""TolerationArgs fields whose Kubernetes name differs."""


def toleration(value: Any, at: At) -> dict[str, Any]:
    """One toleration, in Kubernetes wire format (camelCase)."""
    given = checks.mapping(value, at, "a toleration with key, operator, value and effect")
    checks.unknown_keys(given, KNOWN_FIELDS, at)
    wire: dict[str, Any] = {
        "operator": checks.one_of(*OPERATORS)(given.get("operator", "Equal"), at.field("operator"))
    }
    for key in ("key", "value", "effect"):
        if given.get(key) is not None:
            if not isinstance(given[key], str):
                raise invalid(at.field(key).name, given[key], "a string")
            wire[key] = given[key]
    if "effect" in wire:
        checks.one_of(*EFFECTS)(wire["effect"], at.field("effect"))
    seconds = given.get("toleration_seconds")
    if seconds is not None:
        wire[WIRE_NAMES["toleration_seconds"]] = checks.whole_number(None, unit="seconds")(
            seconds, at.field("toleration_seconds")
        )
    return wire


def tolerations(value: Any, at: At) -> list[dict[str, Any]]:
    """A list of tolerations, each in wire format."""
    items = checks.sequence(value, at, "a list of tolerations")
    return [toleration(item, at.item(i)) for i, item in enumerate(items)]
