"""Kubernetes quantities and the whole-number figures Ray takes from them."""

from decimal import Decimal

import pytest

from ray_static.config.quantities import memory_bytes, parse_quantity, whole_cpus


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", Decimal(2)),
        ("500m", Decimal("0.5")),
        ("4Gi", Decimal(4 * 2**30)),
        ("512Mi", Decimal(512 * 2**20)),
        ("1G", Decimal(10**9)),
        ("1.5Gi", Decimal("1.5") * 2**30),
        ("1e3", Decimal(1000)),
        (".5", Decimal("0.5")),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["2 GB", "GB", "", "4gi", "1.2.3", "2Gb", " 2", "two"])
def test_not_quantities(text: str) -> None:
    assert parse_quantity(text) is None


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("1", 1), ("2", 2), ("2000m", 2), ("64", 64), ("1500m", None), ("0.5", None), ("0", None), ("-1", None)],
)
def test_whole_cpus(text: str, cpus: int | None) -> None:
    assert whole_cpus(text) == cpus


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4Gi", 4 * 2**30),
        ("2048Mi", 2 * 2**30),
        ("1G", 10**9),
        ("1.5Gi", 3 * 2**29),
        ("0", None),
        ("1m", None),
    ],
)
def test_memory_bytes(text: str, size: int | None) -> None:
    assert memory_bytes(text) == size
