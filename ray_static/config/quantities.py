"""Kubernetes resource quantities, and the whole-number figures Ray wants from them."""

import re
from decimal import Decimal, InvalidOperation

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"
)

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def parse_quantity(text: str) -> Decimal | None:
    """The value of a Kubernetes quantity (``"4Gi"``, ``"500m"``, ``"2"``), or None if it is not one."""
    match = _QUANTITY.match(text)
    if match is None:
        return None
    try:
        number = Decimal(match["number"])
    except InvalidOperation:
        return None
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    if suffix:
        return number * Decimal(10) ** int(suffix[1:])
    return number


def whole_cpus(text: str) -> int | None:
    """Whole CPUs in a CPU quantity (``"2"`` or ``"2000m"`` -> 2); None if not a positive whole number.

    Ray's ``--num-cpus`` takes integers only, so a fractional limit is refused rather than rounded.
    """
    value = parse_quantity(text)
    if value is None or value <= 0 or value != value.to_integral_value():
        return None
    return int(value)


def positive_quantity(text: str) -> bool:
    """Whether ``text`` is a Kubernetes quantity greater than zero."""
    value = parse_quantity(text)
    return value is not None and value > 0


def memory_bytes(text: str) -> int | None:
    """Bytes in a memory quantity (``"4Gi"`` -> 4294967296); None if not a whole positive byte count."""
    value = parse_quantity(text)
    if value is None or value <= 0 or value != value.to_integral_value():
        return None
    return int(value)
