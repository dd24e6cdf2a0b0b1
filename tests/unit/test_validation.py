"""Bad component args: one exact sentence each, raised before any resource is registered."""

from typing import Any

import pytest

from ray_static import RayStaticConfigError
from ray_static.config.settings import resolve
from tests.support.render import RenderError, refusal, run_cluster

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("negative workers", {"workers": -1}, "workers: got -1; expected a whole number from 0 to 1000."),
    ("absurd workers", {"workers": 1001}, "workers: got 1001; expected a whole number from 0 to 1000."),
    ("fractional workers", {"workers": 2.5}, "workers: got 2.5; expected a whole number from 0 to 1000."),
    ("string workers", {"workers": "3"}, 'workers: got "3"; expected a whole number from 0 to 1000.'),
    ("bool workers", {"workers": True}, "workers: got True; expected a whole number from 0 to 1000."),
    (
        "fractional CPU (millicores)",
        {"worker_resources": {"cpu": "1500m"}},
        'worker_resources.cpu: got "1500m"; expected a whole number of CPUs such as "2" or "2000m" '
        "(Ray schedules whole CPUs).",
    ),
    (
        "fractional CPU (decimal)",
        {"head_resources": {"cpu": "0.5"}},
        'head_resources.cpu: got "0.5"; expected a whole number of CPUs such as "2" or "2000m" '
        "(Ray schedules whole CPUs).",
    ),
    (
        "invalid memory quantity",
        {"worker_resources": {"memory": "2 GB"}},
        'worker_resources.memory: got "2 GB"; expected a Kubernetes memory quantity of at least 512Mi, '
        'such as "4Gi".',
    ),
    (
        "memory without unit",
        {"head_resources": {"memory": "4"}},
        'head_resources.memory: got "4"; expected a Kubernetes memory quantity of at least 512Mi, such as "4Gi".',
    ),
    (
        "request above limit",
        {"worker_resources": {"cpu": "2", "cpu_request": "3"}},
        'worker_resources.cpu_request: got "3"; expected a CPU quantity greater than 0 and at most the limit "2".',
    ),
    (
        "too many GPUs",
        {"worker_resources": {"gpus": 65}},
        "worker_resources.gpus: got 65; expected a whole number from 0 to 64.",
    ),
    (
        "head Ray CPUs above the limit",
        {"head_ray_cpus": 3},
        "head_ray_cpus: got 3; expected a whole number from 0 to the head's CPU limit (2).",
    ),
    (
        "invalid namespace",
        {"namespace": "Ray_NS"},
        "namespace: got \"Ray_NS\"; expected a Kubernetes name: lowercase letters, digits and '-', starting with "
        "a letter or digit, ending with a letter or digit, at most 63 characters.",
    ),
    (
        "empty image",
        {"image": ""},
        'image: got ""; expected a container image reference such as "rayproject/ray:2.60.0".',
    ),
    (
        "unknown service type",
        {"service_type": "Ingress"},
        'service_type: got "Ingress"; expected "ClusterIP", "NodePort" or "LoadBalancer".',
    ),
    (
        "NodePort with auth off",
        {"service_type": "NodePort", "auth": False},
        'service_type: got "NodePort"; expected "ClusterIP" while auth is false (anyone reaching the port could '
        "run code), unless allow_unauthenticated_exposure is true.",
    ),
    (
        "LoadBalancer with auth off",
        {"service_type": "LoadBalancer", "auth": False},
        'service_type: got "LoadBalancer"; expected "ClusterIP" while auth is false (anyone reaching the port could '
        "run code), unless allow_unauthenticated_exposure is true.",
    ),
    (
        "LoadBalancer with Serve on: its port checks no token, auth or not",
        {"service_type": "LoadBalancer", "serve": True},
        'service_type: got "LoadBalancer"; expected "ClusterIP" while serve is on (the head Service then '
        "carries the serve port, which Ray's token does not guard), unless allow_unauthenticated_exposure "
        "is true.",
    ),
    (
        "short token (never echoed)",
        {"auth_token": "hunter2"},
        "auth_token: got a 7-character value; expected at least 16 characters.",
    ),
    (
        "auth with a Ray too old for tokens",
        {"image": "rayproject/ray:2.40.0"},
        "auth: got True; expected false for Ray 2.40.0: token authentication needs Ray 2.52 or newer.",
    ),
    (
        "bad ray_version",
        {"ray_version": "two"},
        'ray_version: got "two"; expected a Ray version such as "2.60.0".',
    ),
    (
        "image by digest without its version",
        {"image": "rayproject/ray@sha256:" + "a" * 64},
        'ray_version: got no value; expected the Ray version in "rayproject/ray@sha256:'
        + "a" * 64
        + '" such as "2.60.0" (an image pinned by digest names none).',
    ),
    (
        "unknown arg",
        {"worker": 3},
        'worker: got an unknown setting; expected one of the 64 known settings (did you mean "workers"?).',
    ),
    (
        "negative grace period",
        {"termination_grace_period_seconds": -5},
        "termination_grace_period_seconds: got -5; expected a whole number from 0 to 86400.",
    ),
    (
        "duplicate group",
        {"worker_groups": [{"name": "gpu"}, {"name": "gpu"}]},
        'worker_groups[1].name: got "gpu"; expected a group name that is unique and not "default".',
    ),
    (
        "absurd group replicas",
        {"worker_groups": [{"name": "gpu", "replicas": 5000}]},
        "worker_groups[0].replicas: got 5000; expected a whole number from 0 to 1000.",
    ),
    (
        "bad toleration operator",
        {"tolerations": [{"key": "a", "operator": "In"}]},
        'tolerations[0].operator: got "In"; expected "Equal" or "Exists".',
    ),
    (
        "managed env var",
        {"env": {"RAY_AUTH_MODE": "disabled"}},
        'env.RAY_AUTH_MODE: got "RAY_AUTH_MODE"; expected a variable ray-static does not manage '
        "(RAY_AUTH_MODE, RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, RAY_CLUSTER_NAME, RAY_ADDRESS, "
        "RAY_USAGE_STATS_ENABLED, RAY_STATIC_POD_IP, "
        "DASHBOARD_METRIC_PORT, "
        "RAY_REDIS_ADDRESS, REDIS_PASSWORD, RAY_external_storage_namespace, "
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S).",
    ),
    (
        "bad label in node selector",
        {"node_selector": {"pool": "not valid!"}},
        'node_selector.pool: got "not valid!"; expected a Kubernetes label value (at most 63 letters, digits, '
        "'-', '_' or '.').",
    ),
    (
        "invalid client namespace",
        {"allowed_client_namespaces": ["ML"]},
        "allowed_client_namespaces[0]: got \"ML\"; expected a Kubernetes name: lowercase letters, digits and '-', "
        "starting with a letter or digit, ending with a letter or digit, at most 63 characters.",
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_args_fail_with_one_sentence_and_register_nothing(
    case: str, args: dict[str, Any], message: str
) -> None:
    assert refusal(args) == message, case


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "Ray",
            "name: got \"Ray\"; expected a Kubernetes name: lowercase letters, digits and '-', starting with a letter, "
            "ending with a letter or digit, at most 40 characters.",
        ),
        (
            "1ray",
            "name: got \"1ray\"; expected a Kubernetes name: lowercase letters, digits and '-', starting with a "
            "letter, ending with a letter or digit, at most 40 characters.",
        ),
    ],
)
def test_invalid_instance_name(name: str, message: str) -> None:
    with pytest.raises(RenderError) as failure:
        run_cluster({}, name=name)
    assert str(failure.value.error) == message
    assert failure.value.run.resources == []


def test_every_message_is_one_sentence() -> None:
    for _, args, _ in CASES:
        with pytest.raises(RayStaticConfigError) as failure:
            resolve("ray", args)
        text = str(failure.value)
        assert text.endswith(".") and "\n" not in text
        assert text.startswith(f"{failure.value.setting}: got {failure.value.got}; expected ")


@pytest.mark.parametrize(
    ("args", "version"),
    [
        ({"image": "rayproject/ray@sha256:" + "a" * 64, "ray_version": "2.60.0"}, (2, 60, 0)),
        ({"image": "rayproject/ray:2.51.0-py311@sha256:" + "b" * 64, "auth": False}, (2, 51, 0)),
        (
            {"image": "registry.example.com:5000/ray/ray@sha256:" + "c" * 64, "ray_version": "2.53.1"},
            (2, 53, 1),
        ),
    ],
)
def test_an_image_pinned_by_digest_takes_its_version_from_the_tag_or_ray_version(
    args: dict[str, Any], version: tuple[int, int, int]
) -> None:
    assert resolve("ray", args).ray_version == version


def test_exposure_with_auth_off_needs_the_explicit_override() -> None:
    settings = resolve(
        "ray", {"service_type": "NodePort", "auth": False, "allow_unauthenticated_exposure": True}
    )
    assert settings.service_type == "NodePort" and not settings.auth


def test_defaults() -> None:
    s = resolve("ray", {})
    assert (s.namespace, s.create_namespace, s.image, s.ray_version) == (
        "ray",
        True,
        "rayproject/ray:2.60.0",
        (2, 60, 0),
    )
    assert (s.head.cpu, s.head.memory, s.head_ray_cpus) == ("2", "4Gi", 0)
    assert [(g.deployment_name, g.replicas, g.resources.cpu, g.resources.memory) for g in s.groups] == [
        ("ray-worker", 3, "1", "2Gi")
    ]
    assert (s.service_type, s.auth, s.network_policy, s.service_account) == ("ClusterIP", True, True, "ray")


def test_a_whole_number_that_crossed_the_engine_as_a_float_counts() -> None:
    """Another stack's outputs (and other languages' numbers) arrive as float64: 4.0 workers is 4."""
    settings = resolve("ray", {"workers": 4.0, "worker_groups": [{"name": "gpu", "replicas": 2.0}]})
    replicas = [group.replicas for group in settings.groups]
    assert replicas == [4, 2] and all(type(r) is int for r in replicas)
