"""The harness's reading of Kubernetes semantics (no processes): `$(VAR)`, env sources, quantities."""

import base64
from decimal import Decimal

import pytest

from tests.ray import kube

pytestmark = pytest.mark.ray

CTX = kube.PodContext(name="ray-worker-abc", namespace="ray", ip="10.213.0.12")


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$(A)-$(B)", "1-$(B)"),  # unknown references stay as they are
        ("$$(A)", "$(A)"),  # $$ escapes
        ("$A $(A", "$A $(A"),
        ("x$", "x$"),
    ],
)
def test_expand_like_kubernetes(text: str, expanded: str) -> None:
    assert kube.expand(text, {"A": "1"}) == expanded


@pytest.mark.parametrize(
    ("quantity", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("4Gi", Decimal(4 * 1024**3)),
        ("1e3", Decimal(1000)),
        (3, Decimal(3)),
    ],
)
def test_quantities(quantity: str | int, value: Decimal) -> None:
    assert kube.parse_quantity(quantity) == value


def test_env_sources_resolve_in_order() -> None:
    objects = kube.Objects(
        secrets={
            ("ray", "auth"): kube.Objects.secret_data({"data": {"token": base64.b64encode(b"s3").decode()}})
        }
    )
    spec = {
        "name": "c",
        "resources": {"limits": {"cpu": "1500m"}},
        "env": [
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "auth", "key": "token"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "CPUS", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            {"name": "ADDR", "value": "$(IP):6379 $(LATER)"},
            {"name": "LATER", "value": "x"},
        ],
    }
    env = kube.resolve_env(spec, CTX, objects)
    assert env == {
        "TOKEN": "s3",
        "IP": "10.213.0.12",
        "CPUS": "2",
        "ADDR": "10.213.0.12:6379 $(LATER)",
        "LATER": "x",
    }


def test_missing_secret_is_an_error() -> None:
    spec = {"name": "c", "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}]}
    with pytest.raises(ValueError, match="nope/k"):
        kube.resolve_env(spec, CTX, kube.Objects())
