"""The NetworkPolicy's client ranges and egress rules: the builders table-tested on validated settings,
the component under Pulumi mocks, every refusal in one sentence, every variant valid against the
Kubernetes schema. What an engine enforces from these rules is proven on the real node
(tests/node/test_network_policy.py).
"""

from dataclasses import dataclass
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from ray_static import RayClusterArgs
from ray_static import constants as c
from ray_static.cluster.egress import egress_rules
from ray_static.cluster.security import network_policy_args
from ray_static.cluster.wire import to_wire
from ray_static.config.settings import resolve
from tests.support.render import RenderError, find, kubernetes_objects, refusal, run_cluster, run_program
from tests.unit.test_kubernetes_schema import kubernetes_version

OWN_PODS = {"podSelector": {"matchLabels": {c.LABEL_CLUSTER: "ray"}}}
KUBE_DNS = {
    "namespaceSelector": {"matchLabels": {c.NAMESPACE_NAME_LABEL: "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {c.NAMESPACE_NAME_LABEL: name}}}


def _cidr(cidr: str) -> dict[str, Any]:
    return {"ipBlock": {"cidr": cidr}}


@dataclass(frozen=True)
class Case:
    name: str
    given: dict[str, Any]
    want: Any


EGRESS = [
    Case("not set: no egress rules", {}, None),
    Case(
        "empty: DNS to kube-dns and the cluster's own pods only",
        {"egress": {}},
        [{"to": [KUBE_DNS], "ports": DNS_PORTS}, {"to": [OWN_PODS]}],
    ),
    Case(
        "DNS elsewhere, listed namespaces and ranges on any port",
        {
            "egress": {
                "dns_cidrs": ["10.244.0.1/32"],
                "allowed_namespaces": ["data"],
                "allowed_cidrs": ["10.0.5.0/24"],
            }
        },
        [
            {"to": [_cidr("10.244.0.1/32")], "ports": DNS_PORTS},
            {"to": [OWN_PODS]},
            {"to": [_namespace("data"), _cidr("10.0.5.0/24")]},
        ],
    ),
    Case(
        "the Redis of gcs_fault_tolerance: a Service name becomes its namespace on its port",
        {"egress": {}, "gcs_fault_tolerance": {"redis_address": "redis.db.svc.cluster.local:6380"}},
        [
            {"to": [KUBE_DNS], "ports": DNS_PORTS},
            {"to": [OWN_PODS]},
            {"to": [_namespace("db")], "ports": [{"protocol": "TCP", "port": 6380}]},
        ],
    ),
    Case(
        "a bare Redis name is a Service of the cluster's namespace; an IP address its own range",
        {
            "egress": {},
            "namespace": "ml",
            "gcs_fault_tolerance": {"redis_address": "redis://redis:6379"},
            "metrics": {"prometheus_url": "http://192.0.2.7:9090"},
        },
        [
            {"to": [KUBE_DNS], "ports": DNS_PORTS},
            {"to": [OWN_PODS]},
            {"to": [_namespace("ml")], "ports": [{"protocol": "TCP", "port": 6379}]},
            {"to": [_cidr("192.0.2.7/32")], "ports": [{"protocol": "TCP", "port": 9090}]},
        ],
    ),
    Case(
        "Prometheus and Grafana by Service name, Grafana on the scheme's port",
        {
            "egress": {},
            "metrics": {
                "prometheus_url": "http://prometheus-operated.monitoring.svc:9090",
                "grafana_url": "https://grafana.monitoring",
            },
        },
        [
            {"to": [KUBE_DNS], "ports": DNS_PORTS},
            {"to": [OWN_PODS]},
            {"to": [_namespace("monitoring")], "ports": [{"protocol": "TCP", "port": 9090}]},
            {"to": [_namespace("monitoring")], "ports": [{"protocol": "TCP", "port": 443}]},
        ],
    ),
]


@pytest.mark.parametrize("case", EGRESS, ids=lambda case: case.name)
def test_egress_rules(case: Case) -> None:
    settings = resolve("ray", case.given)
    spec = to_wire(network_policy_args(settings))["spec"]
    assert spec.get("egress") == case.want
    assert to_wire(egress_rules(settings)) == (case.want or [])
    assert spec["policyTypes"] == (["Ingress", "Egress"] if case.want is not None else ["Ingress"])


CLIENT_CIDRS = [
    Case("none", {}, []),
    Case("a VPN range", {"allowed_client_cidrs": ["10.8.0.0/16"]}, [_cidr("10.8.0.0/16")]),
    Case(
        "beside namespaces, as peers of the same rule",
        {"allowed_client_namespaces": ["nb"], "allowed_client_cidrs": ["192.0.2.10/32", "2001:db8::/64"]},
        [_namespace("nb"), _cidr("192.0.2.10/32"), _cidr("2001:db8::/64")],
    ),
    Case(
        "every address, with auth on",
        {"allowed_client_cidrs": ["0.0.0.0/0"]},
        [_cidr("0.0.0.0/0")],
    ),
]


@pytest.mark.parametrize("case", CLIENT_CIDRS, ids=lambda case: case.name)
def test_client_cidrs_reach_the_client_ports_only(case: Case) -> None:
    _own, *rules, _submitters = to_wire(network_policy_args(resolve("ray", case.given)))["spec"]["ingress"]
    clients = rules[0] if rules else {"from": []}
    assert clients["from"] == case.want
    if case.want:
        assert [p["port"] for p in clients["ports"]] == [c.CLIENT_PORT, c.DASHBOARD_PORT, c.GCS_PORT]


def test_egress_under_mocks() -> None:
    rendered = run_cluster(
        {
            "allowed_client_cidrs": ["10.8.0.0/16"],
            "egress": {"allowed_namespaces": ["data"]},
            "gcs_fault_tolerance": {"redis_address": "redis.db:6379"},
        }
    ).resources
    spec = find(rendered, "NetworkPolicy").inputs["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert [rule["to"] for rule in spec["egress"]] == [
        [KUBE_DNS],
        [OWN_PODS],
        [_namespace("db")],
        [_namespace("data")],
    ]
    assert _cidr("10.8.0.0/16") in spec["ingress"][1]["from"]


def test_the_default_stays_ingress_only() -> None:
    spec = find(run_cluster().resources, "NetworkPolicy").inputs["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    assert "egress" not in spec


REFUSALS = [
    Case(
        "egress without the NetworkPolicy",
        {"egress": {}, "network_policy": False},
        "egress: got egress rules; expected none while network_policy is false (egress rules are part of "
        "the NetworkPolicy).",
    ),
    Case(
        "a Redis the egress rules would block",
        {"egress": {}, "gcs_fault_tolerance": {"redis_address": "redis.example.com:6379"}},
        'gcs_fault_tolerance.redis_address: got "redis.example.com:6379"; expected an IP address or a '
        "Service of this cluster (name, name.namespace or name.namespace.svc.cluster.local) while egress "
        "is on: a NetworkPolicy cannot allow a name outside the cluster.",
    ),
    Case(
        "a Prometheus the egress rules would block",
        {"egress": {}, "metrics": {"prometheus_url": "https://prom.example.com"}},
        'metrics.prometheus_url: got "https://prom.example.com"; expected an IP address or a Service of '
        "this cluster (name, name.namespace or name.namespace.svc.cluster.local) while egress is on: a "
        "NetworkPolicy cannot allow a name outside the cluster.",
    ),
    Case(
        "egress to every address",
        {"egress": {"allowed_cidrs": ["10.0.0.0/8", "0.0.0.0/0"]}},
        'egress.allowed_cidrs[1]: got "0.0.0.0/0"; expected a range narrower than every address (with it '
        "egress restricts nothing: leave egress unset).",
    ),
    Case(
        "a client range that is not one",
        {"allowed_client_cidrs": ["10.8.0.1/16"]},
        'allowed_client_cidrs[0]: got "10.8.0.1/16"; expected an IP range in CIDR notation such as '
        '"203.0.113.0/24".',
    ),
    Case(
        "every address as clients while auth is off",
        {"allowed_client_cidrs": ["::/0"], "auth": False},
        "allowed_client_cidrs: got ['::/0']; expected ranges narrower than every address while auth is "
        "false (anyone could run code), unless allow_unauthenticated_exposure is true.",
    ),
    Case(
        "an unknown egress field",
        {"egress": {"allowed_cidr": ["10.0.0.0/8"]}},
        None,
    ),
]


@pytest.mark.parametrize("case", REFUSALS, ids=lambda case: case.name)
def test_refusals(case: Case) -> None:
    message = refusal(case.given)
    if case.want is None:
        assert message.startswith("egress.allowed_cidr: ") and '"egress.allowed_cidrs"' in message
    else:
        assert message == case.want


VARIANTS = [case.given for case in EGRESS + CLIENT_CIDRS]


@pytest.mark.parametrize("args", VARIANTS, ids=[case.name for case in EGRESS + CLIENT_CIDRS])
def test_every_variant_is_a_valid_network_policy(args: dict[str, Any]) -> None:
    objects = kubernetes_objects(run_cluster(args).resources)  # type: ignore[arg-type]
    policy = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert len(policy) == 1
    kubernetes_validate.validate(policy[0], kubernetes_version(), strict=True)


def test_egress_may_be_an_output() -> None:
    """Egress rules only fill fields of the NetworkPolicy, which exists either way: an Output will do."""

    def args() -> RayClusterArgs:
        return {"egress": pulumi.Output.from_input({"allowed_cidrs": ["10.0.5.0/24"]})}  # type: ignore[typeddict-item]

    spec = find(run_cluster(args).resources, "NetworkPolicy").inputs["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["egress"][-1] == {"to": [_cidr("10.0.5.0/24")]}


def test_the_programs_stack_config_takes_both_options() -> None:
    config = {
        "ray-static:allowedClientCidrs": '["10.8.0.0/16"]',
        "ray-static:egress": '{"dnsCidrs": ["10.244.0.1/32"], "allowedNamespaces": ["data"]}',
    }
    spec = find(run_program(config).resources, "NetworkPolicy").inputs["spec"]
    assert spec["egress"][0]["to"] == [_cidr("10.244.0.1/32")]
    assert spec["egress"][-1] == {"to": [_namespace("data")]}
    assert _cidr("10.8.0.0/16") in spec["ingress"][1]["from"]


def test_the_programs_error_names_the_camel_case_keys() -> None:
    config = {"ray-static:egress": "{}", "ray-static:networkPolicy": "false"}
    with pytest.raises(RenderError) as failure:
        run_program(config)
    assert "egress: got egress rules; expected none while networkPolicy is false" in str(failure.value.error)
