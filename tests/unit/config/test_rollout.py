"""How workers roll, drain, are evicted and pause: the checks of config/rollout.py, what lands on the
Deployments, PodDisruptionBudgets and containers, the stack config's spelling, and the refusals."""

from typing import Any

import pytest

from program.config import program_config
from ray_static import constants as c
from ray_static.config.checks import At
from ray_static.config.rollout import disruption_budget, int_or_percent
from ray_static.errors import RayStaticConfigError
from tests.support.manifests import container, deployment, env_of
from tests.support.render import Rendered, find_all, refusal, run_cluster

TWO_GROUPS: dict[str, Any] = {"worker_groups": [{"name": "gpu", "replicas": 2}]}


def render(args: dict[str, Any]) -> list[Rendered]:
    return run_cluster(args).resources  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "want"), [(0, 0), ("3", 3), (" 25% ", "25%"), ("100%", "100%"), ("007%", "7%"), (1000, 1000)]
)
def test_a_count_or_a_percentage(given: Any, want: int | str) -> None:
    assert int_or_percent(given, At("max_surge")) == want


@pytest.mark.parametrize("given", [-1, "101%", "1.5", 1.5, "x", True, None, 1001, "%"])
def test_anything_else_is_refused(given: Any) -> None:
    with pytest.raises(RayStaticConfigError, match=r"^max_surge: got .*; expected a whole number from 0"):
        int_or_percent(given, At("max_surge"))


# --- what lands on the objects ----------------------------------------------------------------------


def strategy(rendered: list[Rendered], name: str) -> dict[str, Any]:
    return deployment(rendered, name)["spec"]["strategy"]


def test_workers_roll_in_place_by_default_and_the_head_is_recreated() -> None:
    """maxSurge 0: a rollout never needs room for an extra pod, so it moves on a full node."""
    rendered = render(TWO_GROUPS)
    want = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "25%"}}
    assert strategy(rendered, "ray-worker") == want
    assert strategy(rendered, "ray-worker-gpu") == want
    assert strategy(rendered, "ray-head") == {"type": "Recreate"}


def test_a_group_sets_its_own_rollout_over_the_top_level_one() -> None:
    rendered = render(
        {
            "max_surge": "1",
            "max_unavailable": "0",
            "worker_groups": [{"name": "gpu", "max_surge": "0", "max_unavailable": "1"}, {"name": "cpu"}],
        }
    )
    assert strategy(rendered, "ray-worker")["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert strategy(rendered, "ray-worker-gpu")["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert strategy(rendered, "ray-worker-cpu")["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_disruption_budgets_per_group_beside_the_heads() -> None:
    rendered = render(
        {
            "pod_disruption_budget": True,
            "worker_pod_disruption_budget": {"max_unavailable": "1"},
            "worker_groups": [
                {"name": "gpu", "pod_disruption_budget": {"min_available": "50%"}},
                {"name": "cpu"},
                {"name": "spot", "pod_disruption_budget": None},
            ],
        }
    )
    budgets = {r.name: r.inputs["spec"] for r in find_all(rendered, "policy/v1:PodDisruptionBudget")}
    assert sorted(budgets) == ["ray-head", "ray-worker", "ray-worker-cpu", "ray-worker-gpu"]
    assert budgets["ray-worker"]["maxUnavailable"] == 1
    assert budgets["ray-worker-gpu"] == {
        "minAvailable": "50%",
        "selector": {
            "matchLabels": deployment(rendered, "ray-worker-gpu")["spec"]["selector"]["matchLabels"]
        },
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    assert budgets["ray-worker-cpu"]["maxUnavailable"] == 1


def test_no_worker_budget_unless_asked() -> None:
    assert [r.name for r in find_all(render(TWO_GROUPS), "policy/v1:PodDisruptionBudget")] == []


def test_suspend_scales_every_deployment_to_zero_and_keeps_the_rest() -> None:
    running, suspended = render(TWO_GROUPS), render({**TWO_GROUPS, "suspend": True})
    for name in ("ray-head", "ray-worker", "ray-worker-gpu"):
        assert deployment(suspended, name)["spec"]["replicas"] == 0
        assert deployment(running, name)["spec"]["replicas"] > 0
    assert sorted((r.type, r.name) for r in running) == sorted((r.type, r.name) for r in suspended)
    # Only the replicas differ: the pods come back as they were (the token is the stack's own, kept in its
    # state; the mocks make a new one per run, so its fingerprint is left out here).
    for name in ("ray-head", "ray-worker", "ray-worker-gpu"):
        assert (
            deployment(suspended, name)["spec"]["template"]["spec"]
            == (deployment(running, name)["spec"]["template"]["spec"])
        )


@pytest.mark.parametrize(
    ("given", "worker", "gpu"),
    [
        ({}, "45", "45"),
        ({"termination_grace_period_seconds": 300}, "285", "285"),
        ({"drain_timeout_seconds": 20}, "20", "20"),
        ({"drain_timeout_seconds": 0}, "0", "0"),
        ({"worker_groups": [{"name": "gpu", "termination_grace_period_seconds": 10}]}, "45", "0"),
    ],
)
def test_workers_drain_for_less_than_their_grace_period(given: dict[str, Any], worker: str, gpu: str) -> None:
    args = {**TWO_GROUPS, **given}
    rendered = render(args)
    assert env_of(container(rendered, "ray-worker"))[c.DRAIN_TIMEOUT_ENV]["value"] == worker
    assert env_of(container(rendered, "ray-worker-gpu"))[c.DRAIN_TIMEOUT_ENV]["value"] == gpu
    assert env_of(container(rendered, "ray-head"))[c.DRAIN_TIMEOUT_ENV]["value"] == "0"


def test_the_worker_command_execs_ray_start_so_sigterm_reaches_it() -> None:
    """`ray start --block` drains on SIGTERM only if it gets the signal: the shell must exec it (PID 1),
    and while it still waits for the GCS, a SIGTERM ends the wait at once instead of the grace period."""
    command = container(render({}), "ray-worker")["command"][2]
    assert command.startswith("trap 'exit 143' TERM; ")
    assert "; exec ray start " in command


# --- refusals ---------------------------------------------------------------------------------------

REFUSALS = [
    (
        "both 0",
        {"max_unavailable": "0%"},
        'max_unavailable: got "0%"; expected a value above 0 while max_surge is 0 (with both 0 a rollout '
        "could never replace a pod).",
    ),
    (
        "both 0 in a group",
        {"worker_groups": [{"name": "gpu", "max_surge": 0, "max_unavailable": 0}]},
        "worker_groups[0].max_unavailable: got 0; expected a value above 0 while worker_groups[0].max_surge "
        "is 0 (with both 0 a rollout could never replace a pod).",
    ),
    (
        "a fraction",
        {"max_surge": "0.5"},
        'max_surge: got "0.5"; expected a whole number from 0 to 1000 or a percentage such as "25%".',
    ),
    (
        "a budget with both",
        {"worker_pod_disruption_budget": {"min_available": "1", "max_unavailable": "1"}},
        "worker_pod_disruption_budget: got {'min_available': '1', 'max_unavailable': '1'}; expected a budget "
        'with exactly one of min_available or max_unavailable, e.g. {"max_unavailable": 1}.',
    ),
    (
        "a budget typo",
        {"worker_groups": [{"name": "gpu", "pod_disruption_budget": {"max_unavailble": "1"}}]},
        "worker_groups[0].pod_disruption_budget.max_unavailble: got an unknown setting; expected one of "
        "worker_groups[0].pod_disruption_budget.max_unavailable, "
        "worker_groups[0].pod_disruption_budget.min_available (did you mean "
        '"worker_groups[0].pod_disruption_budget.max_unavailable"?).',
    ),
    (
        "a drain as long as the grace period",
        {"drain_timeout_seconds": 60},
        "drain_timeout_seconds: got 60; expected fewer seconds than termination_grace_period_seconds (60), "
        "leaving Ray time to stop after the drain, e.g. 45.",
    ),
    (
        "a drain longer than a group's grace period",
        {
            "drain_timeout_seconds": 30,
            "worker_groups": [{"name": "gpu", "termination_grace_period_seconds": 20}],
        },
        "drain_timeout_seconds: got 30; expected fewer seconds than "
        "worker_groups[0].termination_grace_period_seconds (20), leaving Ray time to stop after the drain, "
        "e.g. 5.",
    ),
    (
        "a negative drain",
        {"drain_timeout_seconds": -1},
        "drain_timeout_seconds: got -1; expected a whole number from 0 to 86400.",
    ),
    (
        "drain in env",
        {"env": {c.DRAIN_TIMEOUT_ENV: "10"}},
        None,
    ),
    ("suspend not a bool", {"suspend": "yes"}, 'suspend: got "yes"; expected true or false.'),
]


@pytest.mark.parametrize(("case", "args", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_in_one_sentence_before_anything_is_registered(
    case: str, args: dict[str, Any], message: str | None
) -> None:
    got = refusal(args)
    if message is None:
        assert got.startswith(f"env.{c.DRAIN_TIMEOUT_ENV}: got "), case
    else:
        assert got == message, case


def test_a_budget_needs_exactly_one_value() -> None:
    assert disruption_budget(None, At("b")) is None
    with pytest.raises(RayStaticConfigError, match="exactly one"):
        disruption_budget({}, At("b"))


# --- the program's stack config ---------------------------------------------------------------------


def test_stack_config_spells_them_in_camel_case() -> None:
    config = program_config(
        {
            "ray-static:maxSurge": "1",
            "ray-static:maxUnavailable": "0",
            "ray-static:drainTimeoutSeconds": "20",
            "ray-static:suspend": "true",
            "ray-static:workerPodDisruptionBudget": '{"minAvailable": "1"}',
            "ray-static:workerGroups": '[{"name": "gpu", "maxSurge": "0", "maxUnavailable": "1", '
            '"podDisruptionBudget": {"maxUnavailable": "50%"}}]',
        }
    )
    default, gpu = config.settings.groups
    assert (default.rollout.max_surge, default.rollout.max_unavailable) == (1, 0)
    assert (gpu.rollout.max_surge, gpu.rollout.max_unavailable) == (0, 1)
    assert default.disruption_budget is not None and default.disruption_budget.min_available == 1
    assert gpu.disruption_budget is not None and gpu.disruption_budget.max_unavailable == "50%"
    assert default.drain_timeout_seconds == 20 and config.settings.suspend is True


def test_stack_config_errors_name_the_keys() -> None:
    with pytest.raises(RayStaticConfigError) as raised:
        program_config({"ray-static:maxSurge": "0", "ray-static:maxUnavailable": "0"})
    assert str(raised.value) == (
        "maxUnavailable: got 0; expected a value above 0 while maxSurge is 0 (with both 0 a rollout could "
        "never replace a pod)."
    )
    with pytest.raises(RayStaticConfigError) as raised:
        program_config({"ray-static:workerGroups": '[{"name": "g", "podDisruptionBudget": {"minAvail": 1}}]'})
    assert str(raised.value).startswith("workerGroups[0].podDisruptionBudget.minAvail: got an unknown field")
