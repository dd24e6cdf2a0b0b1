"""Table tests that call the pure builders directly: args in, typed Args (as wire dicts) or settings out.

One table per builder, in the style of KubeRay's pod_test.go; the behaviour tests under Pulumi mocks
(test_component.py, test_program.py) check the same objects once wired into resources.
"""

from dataclasses import dataclass
from typing import Any

import pytest

from program.config import parse_value
from ray_static import constants as c
from ray_static.cluster.objects import head_service_args
from ray_static.cluster.pods import ray_env, resource_requirements
from ray_static.cluster.security import network_policy_args
from ray_static.cluster.volumes import shm_volume
from ray_static.cluster.wire import to_wire
from ray_static.config.checks import At
from ray_static.config.groups import extra_groups
from ray_static.config.options import BY_KEY
from ray_static.config.resources import Resources, parse_resources
from ray_static.config.rollout import GroupDefaults
from ray_static.config.scheduling import tolerations
from ray_static.config.settings import resolve

WORKER = parse_resources(None, At("worker_resources"), {"cpu": "1", "memory": "2Gi"})


@dataclass(frozen=True)
class Case:
    name: str
    given: Any
    want: Any


RESOURCES = [
    Case("defaults parse like user values", {}, Resources("1", "2Gi", "1", "2Gi", 0, 1, 2 * 2**30)),
    Case("millicores", {"cpu": "3000m"}, Resources("3000m", "2Gi", "3000m", "2Gi", 0, 3, 2 * 2**30)),
    Case(
        "lower requests",
        {"cpu": "4", "cpu_request": "2500m", "memory": "8Gi", "memory_request": "6Gi"},
        Resources("4", "8Gi", "2500m", "6Gi", 0, 4, 8 * 2**30),
    ),
    Case("decimal memory", {"memory": "3G"}, Resources("1", "3G", "1", "3G", 0, 1, 3 * 10**9)),
    Case("gpus", {"gpus": 2}, Resources("1", "2Gi", "1", "2Gi", 2, 1, 2 * 2**30)),
]


@pytest.mark.parametrize("case", RESOURCES, ids=lambda case: case.name)
def test_parse_resources(case: Case) -> None:
    assert parse_resources(case.given, At("r"), {"cpu": "1", "memory": "2Gi"}) == case.want


REQUIREMENTS = [
    Case(
        "limits equal requests",
        WORKER,
        {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}},
    ),
    Case(
        "gpus on both sides",
        parse_resources({"gpus": 1}, At("r"), {"cpu": "4", "memory": "16Gi"}),
        {
            "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
            "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
        },
    ),
]


@pytest.mark.parametrize("case", REQUIREMENTS, ids=lambda case: case.name)
def test_resource_requirements(case: Case) -> None:
    assert to_wire(resource_requirements(case.given)) == case.want


def test_shm_volume_is_memory_backed_and_as_large_as_the_limit() -> None:
    assert to_wire(shm_volume(WORKER)) == {
        "name": "dshm",
        "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"},
    }


TOLERATIONS = [
    Case(
        "operator defaults to Equal",
        [{"key": "a", "value": "b"}],
        [{"operator": "Equal", "key": "a", "value": "b"}],
    ),
    Case(
        "wire names",
        [{"key": "gpu", "operator": "Exists", "effect": "NoExecute", "toleration_seconds": 30}],
        [{"operator": "Exists", "key": "gpu", "effect": "NoExecute", "tolerationSeconds": 30}],
    ),
    Case("none", None, []),
]


@pytest.mark.parametrize("case", TOLERATIONS, ids=lambda case: case.name)
def test_tolerations(case: Case) -> None:
    assert tolerations(case.given, At("tolerations")) == case.want


GROUPS = [
    Case("inherits the default group's resources", [{"name": "a"}], [("a", "ray-worker-a", 1, WORKER)]),
    Case(
        "own limits, requests follow them",
        [{"name": "big", "replicas": 2, "resources": {"cpu": "8", "memory": "32Gi"}}],
        [("big", "ray-worker-big", 2, Resources("8", "32Gi", "8", "32Gi", 0, 8, 32 * 2**30))],
    ),
    Case(
        "gpus only: cpu and memory from the default group",
        [{"name": "gpu", "resources": {"gpus": 1}}],
        [("gpu", "ray-worker-gpu", 1, Resources("1", "2Gi", "1", "2Gi", 1, 1, 2 * 2**30))],
    ),
]


@pytest.mark.parametrize("case", GROUPS, ids=lambda case: case.name)
def test_extra_groups(case: Case) -> None:
    settings = resolve("ray", {})
    defaults = GroupDefaults(settings.groups[0].rollout, None, None)
    groups = extra_groups(
        "ray", case.given, At("worker_groups"), WORKER, settings.pod_base, defaults=defaults
    )
    assert [(g.group, g.deployment_name, g.replicas, g.resources) for g in groups] == case.want


ENV = [
    Case(
        "auth on: mode, and the token as a file (never the value in the environment)",
        {},
        [
            {"name": "RAY_STATIC_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "RAY_CLUSTER_NAME", "value": "ray"},
            {"name": "RAY_ADDRESS", "value": "addr"},
            {"name": "RAY_AUTH_MODE", "value": "token"},
            {"name": "RAY_USAGE_STATS_ENABLED", "value": "0"},
            {"name": "RAY_AUTH_TOKEN_PATH", "value": "/var/run/secrets/ray/token"},
        ],
    ),
    Case(
        "auth off: mode set explicitly, no token",
        {"auth": False},
        [
            {"name": "RAY_STATIC_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "RAY_CLUSTER_NAME", "value": "ray"},
            {"name": "RAY_ADDRESS", "value": "addr"},
            {"name": "RAY_AUTH_MODE", "value": "disabled"},
            {"name": "RAY_USAGE_STATS_ENABLED", "value": "0"},
        ],
    ),
    Case(
        "variables from Secrets after the plain ones, each sorted",
        {
            "auth": False,
            "env": {"B": "2"},
            "secret_env": {"Z": {"secret": "s", "key": "k"}, "Y": {"secret": "t", "key": "u"}},
        },
        [
            {"name": "RAY_STATIC_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "RAY_CLUSTER_NAME", "value": "ray"},
            {"name": "RAY_ADDRESS", "value": "addr"},
            {"name": "RAY_AUTH_MODE", "value": "disabled"},
            {"name": "RAY_USAGE_STATS_ENABLED", "value": "0"},
            {"name": "B", "value": "2"},
            {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "t", "key": "u"}}},
            {"name": "Z", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ],
    ),
    Case(
        "usage stats on when asked; extra variables last, sorted",
        {"auth": False, "usage_stats": True, "env": {"B": "2", "A": "1"}},
        [
            {"name": "RAY_STATIC_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "RAY_CLUSTER_NAME", "value": "ray"},
            {"name": "RAY_ADDRESS", "value": "addr"},
            {"name": "RAY_AUTH_MODE", "value": "disabled"},
            {"name": "RAY_USAGE_STATS_ENABLED", "value": "1"},
            {"name": "A", "value": "1"},
            {"name": "B", "value": "2"},
        ],
    ),
]


@pytest.mark.parametrize("case", ENV, ids=lambda case: case.name)
def test_ray_env(case: Case) -> None:
    settings = resolve("ray", case.given)
    assert to_wire(ray_env(settings, "addr", settings.head_pod)) == case.want


SERVICE = [
    Case("ClusterIP is not awaited", {}, ("ClusterIP", {c.SKIP_AWAIT_ANNOTATION: "true"})),
    Case(
        "NodePort is not awaited",
        {"service_type": "NodePort"},
        ("NodePort", {c.SKIP_AWAIT_ANNOTATION: "true"}),
    ),
    Case(
        "a LoadBalancer is awaited for its address", {"service_type": "LoadBalancer"}, ("LoadBalancer", None)
    ),
]


@pytest.mark.parametrize("case", SERVICE, ids=lambda case: case.name)
def test_head_service(case: Case) -> None:
    wire = to_wire(head_service_args(resolve("ray", case.given)))
    assert (wire["spec"]["type"], wire["metadata"].get("annotations")) == case.want
    assert [p["port"] for p in wire["spec"]["ports"]] == [
        c.GCS_PORT,
        c.CLIENT_PORT,
        c.DASHBOARD_PORT,
        c.METRICS_PORT,
        c.DASHBOARD_METRICS_PORT,
    ]


CLIENT_RULES = [
    Case("no clients: the cluster's own pods (and RayJob submitters)", {}, []),
    Case(
        "namespaces and labels",
        {"allowed_client_namespaces": ["nb"], "allowed_client_pod_labels": {"ray-client": "true"}},
        [
            {"namespaceSelector": {"matchLabels": {c.NAMESPACE_NAME_LABEL: "nb"}}},
            {"podSelector": {"matchLabels": {"ray-client": "true"}}},
        ],
    ),
]


@pytest.mark.parametrize("case", CLIENT_RULES, ids=lambda case: case.name)
def test_network_policy_clients(case: Case) -> None:
    *rules, submitters = to_wire(network_policy_args(resolve("ray", case.given)))["spec"]["ingress"]
    assert rules[0]["from"] == [{"podSelector": {"matchLabels": {c.LABEL_CLUSTER: "ray"}}}]
    assert submitters["from"] == [{"podSelector": {"matchLabels": {c.SUBMITTER_LABEL: "true"}}}]
    clients = rules[1]["from"] if len(rules) > 1 else []
    assert clients == case.want
    if clients:
        assert [p["port"] for p in rules[1]["ports"]] == [c.CLIENT_PORT, c.DASHBOARD_PORT, c.GCS_PORT]


CONFIG_VALUES = [
    Case("integer", ("workers", "4"), 4),
    Case("integer stays text when not one (validation names it)", ("workers", "2.5"), "2.5"),
    Case("boolean", ("auth", "False"), False),
    Case("comma-separated list", ("imagePullSecrets", "a, b"), ["a", "b"]),
    Case("JSON list", ("allowedClientNamespaces", '["x"]'), ["x"]),
    Case("map", ("nodeSelector", '{"pool": "ray"}'), {"pool": "ray"}),
    Case(
        "groups: camelCase fields to nested args",
        ("workerGroups", '[{"name": "g", "cpu": "2", "cpuRequest": "1", "nodeSelector": {"a": "b"}}]'),
        [{"name": "g", "resources": {"cpu": "2", "cpu_request": "1"}, "node_selector": {"a": "b"}}],
    ),
    Case(
        "tolerations",
        ("tolerations", '[{"key": "k", "tolerationSeconds": 5}]'),
        [{"key": "k", "toleration_seconds": 5}],
    ),
]


@pytest.mark.parametrize("case", CONFIG_VALUES, ids=lambda case: case.name)
def test_stack_config_values_become_args(case: Case) -> None:
    key, text = case.given
    assert parse_value(text, BY_KEY[key]) == case.want
