"""GCS fault tolerance (the head's state in Redis) and the head's PodDisruptionBudget: builders, the
component under mocks, Kubernetes-schema validation and every refusal."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, cast

import kubernetes_validate
import pytest

from ray_static import RayClusterArgs, RayStaticConfigError
from ray_static import constants as c
from ray_static.cluster.fault_tolerance import head_env, redis_password_flag, worker_annotations, worker_env
from ray_static.cluster.wire import to_wire
from ray_static.config.fault_tolerance import GcsFaultTolerance
from ray_static.config.settings import resolve
from tests.support.manifests import container, deployment, env_of, pod_spec, ray_start
from tests.support.render import Rendered, find, find_all, kubernetes_objects, run_cluster
from tests.support.versions import pinned_versions

TOKEN = "a-fixed-token-for-comparison"
FT = {"redis_address": "redis.data.svc.cluster.local:6379", "redis_password_secret": "redis"}
FT_FIXED = {**FT, "external_storage_namespace": "team-a"}
GENERATED = re.compile(r"^ray-ray-[0-9a-f]{8}$")
FT_ENV = {c.REDIS_ADDRESS_ENV, c.REDIS_PASSWORD_ENV, c.EXTERNAL_STORAGE_NAMESPACE_ENV}


def render(args: dict[str, Any]) -> list[Rendered]:
    """One RayCluster "ray" under mocks (plain dicts, as a program in any language passes them)."""
    return run_cluster(cast(RayClusterArgs, args)).resources


def _ft(**overrides: Any) -> GcsFaultTolerance:
    fields = {
        "redis_address": "redis:6379",
        "redis_password_secret": "redis",
        "redis_password_key": "password",
        "external_storage_namespace": "ns",
    }
    return GcsFaultTolerance(**(fields | overrides))


def _annotations(rendered: list[Rendered], name: str) -> dict[str, str]:
    return deployment(rendered, name)["spec"]["template"]["metadata"].get("annotations", {})


@pytest.fixture(scope="module")
def with_ft() -> list[Rendered]:
    return render({"gcs_fault_tolerance": FT, "pod_disruption_budget": True})


# --- builders -----------------------------------------------------------------------------------------

HEAD_ENV = [
    (
        "address, storage namespace and the password from the Secret",
        _ft(),
        frozenset(),
        [
            {"name": "RAY_REDIS_ADDRESS", "value": "redis:6379"},
            {"name": "RAY_external_storage_namespace", "value": "ns"},
            {
                "name": "REDIS_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "redis", "key": "password"}},
            },
        ],
    ),
    (
        "no Secret: no password",
        _ft(redis_password_secret=None),
        frozenset(),
        [
            {"name": "RAY_REDIS_ADDRESS", "value": "redis:6379"},
            {"name": "RAY_external_storage_namespace", "value": "ns"},
        ],
    ),
    (
        "the user's env wins, as in KubeRay",
        _ft(redis_password_key="pw"),
        frozenset({"RAY_external_storage_namespace"}),
        [
            {"name": "RAY_REDIS_ADDRESS", "value": "redis:6379"},
            {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis", "key": "pw"}}},
        ],
    ),
    ("off", None, frozenset(), []),
]


@pytest.mark.parametrize(("ft", "user", "want"), [h[1:] for h in HEAD_ENV], ids=[h[0] for h in HEAD_ENV])
def test_head_env(ft: GcsFaultTolerance | None, user: frozenset[str], want: list[dict[str, Any]]) -> None:
    assert to_wire(head_env(ft, user)) == want


WORKER_ENV = [
    ("KubeRay's 600 s", _ft(), frozenset(), [{"name": c.GCS_RECONNECT_TIMEOUT_ENV, "value": "600"}]),
    ("the user's own timeout wins", _ft(), frozenset({c.GCS_RECONNECT_TIMEOUT_ENV}), []),
    ("off: Ray's default", None, frozenset(), []),
]


@pytest.mark.parametrize(("ft", "user", "want"), [w[1:] for w in WORKER_ENV], ids=[w[0] for w in WORKER_ENV])
def test_worker_env(ft: GcsFaultTolerance | None, user: frozenset[str], want: list[dict[str, Any]]) -> None:
    assert to_wire(worker_env(ft, user)) == want


def test_password_flag_only_with_a_secret() -> None:
    assert redis_password_flag(_ft()) == '--redis-password="$REDIS_PASSWORD"'
    assert redis_password_flag(_ft(redis_password_secret=None)) is None
    assert redis_password_flag(None) is None


def test_worker_annotation_names_where_the_state_lives() -> None:
    assert worker_annotations(_ft()) == {c.GCS_STORAGE_ANNOTATION: "redis:6379 ns"}


def test_an_unset_storage_namespace_is_a_bug_not_a_default() -> None:
    with pytest.raises(RuntimeError, match="storage namespace is not set"):
        head_env(_ft(external_storage_namespace=None), frozenset())


def test_the_password_reaches_ray_start_intact_through_the_shell(tmp_path: Path) -> None:
    """The head's real bash line, with `ray` replaced by a script printing its argv: any character of the
    password arrives as one argument, and the pod spec only ever holds `$REDIS_PASSWORD`."""
    settings = resolve("ray", {"gcs_fault_tolerance": FT_FIXED})
    command = container(render({"gcs_fault_tolerance": FT_FIXED}), "ray-head")["command"]
    fake = tmp_path / "ray"
    fake.write_text("#!/usr/bin/env python3\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    fake.chmod(0o755)
    password = "p'a\"s s$HOME;`id`\\"
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "REDIS_PASSWORD": password}
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=30)
    argv = json.loads(out.stdout)
    assert argv[0:2] == ["start", "--head"] and f"--redis-password={password}" in argv
    assert password not in json.dumps(command) and settings.gcs_fault_tolerance is not None


# --- the component --------------------------------------------------------------------------------------


def test_off_by_default_nothing_of_it_is_deployed(rendered: list[Rendered]) -> None:
    for name in ("ray-head", "ray-worker"):
        env = env_of(container(rendered, name))
        assert not (FT_ENV | {c.GCS_RECONNECT_TIMEOUT_ENV}) & set(env), name
    assert "--redis-password" not in container(rendered, "ray-head")["command"][2]
    assert not find_all(rendered, "PodDisruptionBudget")
    assert not [r for r in rendered if r.name.endswith("gcs-storage-namespace")]
    # Without it a new head is a new, empty cluster: the workers follow the head template's hash.
    assert set(_annotations(rendered, "ray-worker")) >= {c.HEAD_TEMPLATE_HASH_ANNOTATION}


def test_the_head_runs_with_its_state_in_redis(with_ft: list[Rendered]) -> None:
    head = container(with_ft, "ray-head")
    env = env_of(head)
    assert env["RAY_REDIS_ADDRESS"] == {"name": "RAY_REDIS_ADDRESS", "value": FT["redis_address"]}
    assert env["REDIS_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "redis", "key": "password"}}
    assert GENERATED.match(env["RAY_external_storage_namespace"]["value"])
    assert '--redis-password="$REDIS_PASSWORD"' in head["command"][2]
    assert ray_start(head["command"])[-1] == "--redis-password=$REDIS_PASSWORD"
    # The head keeps Ray's 60 s: a head whose GCS is gone exits and is restarted, long before workers give up.
    assert c.GCS_RECONNECT_TIMEOUT_ENV not in env


def test_workers_wait_for_a_restarted_head_and_know_nothing_of_redis(with_ft: list[Rendered]) -> None:
    worker = container(with_ft, "ray-worker")
    assert env_of(worker)[c.GCS_RECONNECT_TIMEOUT_ENV]["value"] == "600"
    for c_ in [worker, container(with_ft, "ray-worker", c.WAIT_CONTAINER)]:
        assert not FT_ENV & set(env_of(c_)), c_["name"]
    assert "--redis-password" not in worker["command"][2]


def test_the_generated_storage_namespace_is_made_once_and_kept(with_ft: list[Rendered]) -> None:
    stash = find(with_ft, "pulumi:index:Stash", "ray-gcs-storage-namespace")
    assert stash.ignore_changes == ("input",)
    assert stash.parent == find(with_ft, "ray-static:index:RayCluster", "ray").urn
    env = env_of(container(with_ft, "ray-head"))
    assert env["RAY_external_storage_namespace"]["value"] == stash.inputs["input"]
    assert _annotations(with_ft, "ray-worker")[c.GCS_STORAGE_ANNOTATION] == (
        f"{FT['redis_address']} {stash.inputs['input']}"
    )
    # Each run proposes a fresh one; the Stash keeps the first (ignore_changes), so no roll follows.
    again = find(render({"gcs_fault_tolerance": FT}), "Stash", "ray-gcs-storage-namespace")
    assert again.inputs["input"] != stash.inputs["input"]


def test_a_given_storage_namespace_is_used_as_is() -> None:
    rendered = render({"gcs_fault_tolerance": {**FT_FIXED, "redis_password_key": "pw"}})
    env = env_of(container(rendered, "ray-head"))
    assert env["RAY_external_storage_namespace"]["value"] == "team-a"
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis", "key": "pw"}
    assert not [r for r in rendered if r.type == "pulumi:index:Stash" and "gcs" in r.name]


def test_without_a_secret_no_password_is_passed() -> None:
    rendered = render({"gcs_fault_tolerance": {"redis_address": "10.0.0.5:6380"}})
    head = container(rendered, "ray-head")
    assert c.REDIS_PASSWORD_ENV not in env_of(head) and "--redis-password" not in head["command"][2]
    assert env_of(head)["RAY_REDIS_ADDRESS"]["value"] == "10.0.0.5:6380"


def test_every_group_waits_and_a_groups_own_timeout_wins() -> None:
    groups = [
        {"name": "gpu", "replicas": 1, "env": {c.GCS_RECONNECT_TIMEOUT_ENV: "1200"}},
        {"name": "cpu", "replicas": 1},
    ]
    rendered = render({"gcs_fault_tolerance": FT_FIXED, "worker_groups": groups})
    timeouts = {
        name: [e for e in container(rendered, name)["env"] if e["name"] == c.GCS_RECONNECT_TIMEOUT_ENV]
        for name in ("ray-worker", "ray-worker-gpu", "ray-worker-cpu")
    }
    assert timeouts == {
        "ray-worker": [{"name": c.GCS_RECONNECT_TIMEOUT_ENV, "value": "600"}],
        "ray-worker-gpu": [{"name": c.GCS_RECONNECT_TIMEOUT_ENV, "value": "1200"}],
        "ray-worker-cpu": [{"name": c.GCS_RECONNECT_TIMEOUT_ENV, "value": "600"}],
    }


def _workers(args: dict[str, Any]) -> dict[str, Any]:
    rendered = render({"auth_token": TOKEN, **args})
    return {r.name: r.inputs for r in find_all(rendered, "apps/v1:Deployment") if r.name != "ray-head"}


@pytest.mark.parametrize(
    "head_change",
    [{"head_ray_cpus": 1}, {"head_resources": {"memory": "16Gi"}}, {"head": {"env": {"X": "1"}}}],
    ids=["head Ray CPUs", "head memory", "head env"],
)
def test_a_head_only_change_leaves_the_workers_alone_with_ft_and_rolls_them_without(
    head_change: dict[str, Any],
) -> None:
    base = {"head_ray_cpus": 0, "worker_groups": [{"name": "cpu", "replicas": 1}]}
    with_ft = {**base, "gcs_fault_tolerance": FT_FIXED}
    assert _workers(with_ft) == _workers({**with_ft, **head_change})
    assert _workers(base) != _workers({**base, **head_change})


def test_moving_the_state_rolls_the_workers() -> None:
    one = _workers({"gcs_fault_tolerance": FT_FIXED})["ray-worker"]["spec"]["template"]["metadata"]
    other = {**FT_FIXED, "external_storage_namespace": "team-b"}
    two = _workers({"gcs_fault_tolerance": other})["ray-worker"]["spec"]["template"]["metadata"]
    assert one["annotations"][c.GCS_STORAGE_ANNOTATION] == f"{FT['redis_address']} team-a"
    assert two["annotations"][c.GCS_STORAGE_ANNOTATION] == f"{FT['redis_address']} team-b"
    assert c.HEAD_TEMPLATE_HASH_ANNOTATION not in one["annotations"]


def test_the_token_still_rolls_every_pod_with_ft(with_ft: list[Rendered]) -> None:
    for name in ("ray-head", "ray-worker"):
        assert c.AUTH_TOKEN_FINGERPRINT_ANNOTATION in _annotations(with_ft, name)


def test_the_network_policy_leaves_egress_open_so_the_head_reaches_redis(with_ft: list[Rendered]) -> None:
    # Only Ingress is restricted: the head's connection to Redis (in any namespace, or outside the
    # cluster) needs no rule. A policy that added Egress would have to allow it.
    policy = find(with_ft, "NetworkPolicy").inputs["spec"]
    assert policy["policyTypes"] == ["Ingress"] and "egress" not in policy


def test_the_head_container_carries_the_heads_own_env() -> None:
    metrics = {"grafana_url": "http://grafana.monitoring.svc"}
    rendered = render({"metrics": metrics, "gcs_fault_tolerance": FT_FIXED})
    head, worker = env_of(container(rendered, "ray-head")), env_of(container(rendered, "ray-worker"))
    for name in (c.DASHBOARD_METRICS_PORT_ENV, "RAY_GRAFANA_HOST", c.REDIS_ADDRESS_ENV):
        assert name in head and name not in worker, name


# --- the head's PodDisruptionBudget ------------------------------------------------------------------


def test_the_budget_keeps_the_head_from_voluntary_eviction(with_ft: list[Rendered]) -> None:
    budget = find(with_ft, "policy/v1:PodDisruptionBudget", "ray-head")
    assert budget.inputs["metadata"]["name"] == "ray-head"
    assert budget.inputs["metadata"]["namespace"] == "ray"
    spec = budget.inputs["spec"]
    assert spec["maxUnavailable"] == 0 and "minAvailable" not in spec
    assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    head = deployment(with_ft, "ray-head")["spec"]
    assert spec["selector"] == head["selector"]
    assert spec["selector"]["matchLabels"].items() <= head["template"]["metadata"]["labels"].items()
    head_service = find(with_ft, "Service", "ray-head").inputs
    assert spec["selector"] == {"matchLabels": head_service["spec"]["selector"]}
    for name in ("ray-worker",):  # it selects no worker
        labels = deployment(with_ft, name)["spec"]["template"]["metadata"]["labels"]
        assert not spec["selector"]["matchLabels"].items() <= labels.items()
    namespace = find(with_ft, "core/v1:Namespace", "ray")
    assert budget.parent == find(with_ft, "ray-static:index:RayCluster", "ray").urn
    assert budget.deleted_with == namespace.urn


def test_the_budget_works_without_ft_too() -> None:
    rendered = render({"pod_disruption_budget": True})
    assert find(rendered, "PodDisruptionBudget").inputs["spec"]["maxUnavailable"] == 0
    assert c.HEAD_TEMPLATE_HASH_ANNOTATION in _annotations(rendered, "ray-worker")


def test_every_object_validates_against_the_kubernetes_schema(with_ft: list[Rendered]) -> None:
    version = ".".join(pinned_versions()["KUBERNETES_VERSION"].split(".")[:2])
    objects = kubernetes_objects(with_ft)
    assert {o["kind"] for o in objects} >= {"PodDisruptionBudget", "Deployment", "Service"}
    for manifest in objects:
        kubernetes_validate.validate(manifest, version, strict=True)
    assert pod_spec(with_ft, "ray-head")["containers"][0]["name"] == c.HEAD_CONTAINER


# --- refusals ---------------------------------------------------------------------------------------

ADDRESS = 'expected a Redis address "host:port" such as "redis.ray.svc.cluster.local:6379".'
STORAGE = (
    "expected letters, digits, '-', '_' and '.', starting with a letter or digit, at most 128 characters."
)
REFUSALS = [
    (
        "not a mapping",
        "redis:6379",
        'gcs_fault_tolerance: got "redis:6379"; expected a mapping with a redis_address, '
        'e.g. {"redis_address": "redis:6379"}.',
    ),
    (
        "no address",
        {},
        'gcs_fault_tolerance.redis_address: got no value; expected a Redis address "host:port".',
    ),
    ("no port", {"redis_address": "redis"}, f'gcs_fault_tolerance.redis_address: got "redis"; {ADDRESS}'),
    ("port 0", {"redis_address": "redis:0"}, f'gcs_fault_tolerance.redis_address: got "redis:0"; {ADDRESS}'),
    (
        "port above 65535",
        {"redis_address": "redis:65536"},
        f'gcs_fault_tolerance.redis_address: got "redis:65536"; {ADDRESS}',
    ),
    (
        "another scheme",
        {"redis_address": "http://redis:6379"},
        f'gcs_fault_tolerance.redis_address: got "http://redis:6379"; {ADDRESS}',
    ),
    ("a number", {"redis_address": 6379}, f"gcs_fault_tolerance.redis_address: got 6379; {ADDRESS}"),
    (
        "unknown field",
        {"redis_address": "redis:6379", "redis_password": "hunter2"},
        "gcs_fault_tolerance.redis_password: got an unknown setting; expected one of "
        "gcs_fault_tolerance.external_storage_namespace, gcs_fault_tolerance.redis_address, "
        "gcs_fault_tolerance.redis_password_key, gcs_fault_tolerance.redis_password_secret "
        '(did you mean "gcs_fault_tolerance.redis_password_key"?).',
    ),
    (
        "a key without its Secret",
        {"redis_address": "redis:6379", "redis_password_key": "pw"},
        "gcs_fault_tolerance.redis_password_secret: got no value; expected the name of the Secret holding "
        'gcs_fault_tolerance.redis_password_key "pw".',
    ),
    (
        "a Secret name Kubernetes refuses",
        {"redis_address": "redis:6379", "redis_password_secret": "Redis_Secret"},
        'gcs_fault_tolerance.redis_password_secret: got "Redis_Secret"; expected a Kubernetes object name '
        "(lowercase letters, digits, '-' and '.').",
    ),
    (
        "a Secret key Kubernetes refuses",
        {"redis_address": "redis:6379", "redis_password_secret": "redis", "redis_password_key": "pass word"},
        'gcs_fault_tolerance.redis_password_key: got "pass word"; expected a Secret key '
        "(letters, digits, '-', '_' and '.').",
    ),
    (
        "a storage namespace with a space",
        {"redis_address": "redis:6379", "external_storage_namespace": "team a"},
        f'gcs_fault_tolerance.external_storage_namespace: got "team a"; {STORAGE}',
    ),
    (
        "a storage namespace starting with '-'",
        {"redis_address": "redis:6379", "external_storage_namespace": "-a"},
        f'gcs_fault_tolerance.external_storage_namespace: got "-a"; {STORAGE}',
    ),
    (
        "a storage namespace too long",
        {"redis_address": "redis:6379", "external_storage_namespace": "a" * 129},
        f'gcs_fault_tolerance.external_storage_namespace: got "{"a" * 129}"; {STORAGE}',
    ),
]


@pytest.mark.parametrize(("value", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_setting_the_value_and_what_is_allowed(value: Any, message: str) -> None:
    with pytest.raises(RayStaticConfigError) as error:
        resolve("ray", {"gcs_fault_tolerance": value})
    assert str(error.value) == message
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize("value", [1, "yes", None])
def test_the_budget_is_a_boolean(value: Any) -> None:
    with pytest.raises(RayStaticConfigError) as error:
        resolve("ray", {"pod_disruption_budget": value})
    assert str(error.value) == f"pod_disruption_budget: got {value!r}; expected true or false.".replace(
        "'", '"'
    )


def test_a_refusal_registers_nothing() -> None:
    from tests.support.render import RenderError  # noqa: PLC0415 (only this test needs it)

    with pytest.raises(RenderError) as error:
        render({"gcs_fault_tolerance": {"redis_address": "redis"}})
    assert isinstance(error.value.error, RayStaticConfigError)
    assert [r.type for r in error.value.run.resources] == []


def test_stack_config_names_in_refusals() -> None:
    from program.config import program_config  # noqa: PLC0415 (the program's view, only here)

    with pytest.raises(RayStaticConfigError) as error:
        program_config({"ray-static:gcsFaultTolerance": json.dumps({"redisAddress": "redis"})})
    assert str(error.value).startswith(
        'gcsFaultTolerance.redisAddress: got "redis"; expected a Redis address'
    )
    config = program_config(
        {
            "ray-static:gcsFaultTolerance": json.dumps(
                {"redisAddress": "redis:6379", "redisPasswordSecret": "r"}
            ),
            "ray-static:podDisruptionBudget": "true",
        }
    )
    assert config.settings.gcs_fault_tolerance == GcsFaultTolerance("redis:6379", "r", "password", None)
    assert config.settings.pod_disruption_budget is True
