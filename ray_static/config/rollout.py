"""How a worker group's pods are replaced and evicted: its rolling update and its PodDisruptionBudget.

The defaults replace workers in place (`max_surge` 0, `max_unavailable` 25%, at least one pod): a rollout
then never needs room for an extra pod, so it moves on a full node (a GPU node holds one worker as a
rule), where Kubernetes' own defaults (25% surge, 25% unavailable, which rounds to 0 below 4 replicas)
wait for ever for a surge pod that cannot be scheduled. Ray needs no surge capacity: a leaving worker
drains first and Ray retries or moves what it could not finish.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ray_static import constants as c
from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.errors import invalid

_PERCENT = re.compile(r"^(\d{1,3})%$")
ALLOWED = 'a whole number from 0 to 1000 or a percentage such as "25%"'
BUDGET_FIELDS = ("min_available", "max_unavailable")


def int_or_percent(value: Any, at: At) -> int | str:
    """A count of pods or a percentage of the group, as Kubernetes' IntOrString takes it; "3" -> 3."""
    number: Any = value
    if isinstance(value, str):
        text = value.strip()
        match = _PERCENT.match(text)
        if match is not None and int(match[1]) <= 100:
            return f"{int(match[1])}%"
        number = int(text) if text.isdigit() else None
    if checks.is_int(number) and 0 <= number <= 1000:
        return int(number)
    raise invalid(at.name, value, ALLOWED)


def is_zero(value: int | str) -> bool:
    return value in (0, "0%")


@dataclass(frozen=True)
class Rollout:
    """A worker Deployment's RollingUpdate: pods above and below the group's size during a rollout."""

    max_surge: int | str
    max_unavailable: int | str


def rollout(max_surge: Any, max_unavailable: Any, at: At, prefix: str = "") -> Rollout:
    """Both values checked; both 0 is refused, as Kubernetes refuses it (nothing could ever move)."""
    surge = int_or_percent(max_surge, at.field(f"{prefix}max_surge"))
    unavailable = int_or_percent(max_unavailable, at.field(f"{prefix}max_unavailable"))
    if is_zero(surge) and is_zero(unavailable):
        raise invalid(
            at.field(f"{prefix}max_unavailable").name,
            max_unavailable,
            f"a value above 0 while {at.field(f'{prefix}max_surge').name} is 0 "
            "(with both 0 a rollout could never replace a pod)",
        )
    return Rollout(surge, unavailable)


@dataclass(frozen=True)
class DisruptionBudget:
    """A PodDisruptionBudget for one worker group: exactly one of the two is set."""

    min_available: int | str | None = None
    max_unavailable: int | str | None = None


def disruption_budget(value: Any, at: At) -> DisruptionBudget | None:
    """`{"min_available": 2}` or `{"max_unavailable": "50%"}` (exactly one), or None for no budget."""
    if value is None:
        return None
    expected = 'a budget with exactly one of min_available or max_unavailable, e.g. {"max_unavailable": 1}'
    given: Mapping[str, Any] = checks.mapping(value, at, expected)
    checks.unknown_keys(given, BUDGET_FIELDS, at)
    present = [key for key in BUDGET_FIELDS if given.get(key) is not None]
    if len(present) != 1:
        raise invalid(at.name, value, expected)
    key = present[0]
    return DisruptionBudget(**{key: int_or_percent(given[key], at.field(key))})


@dataclass(frozen=True)
class GroupDefaults:
    """The top-level values every worker group starts from."""

    rollout: Rollout
    disruption_budget: DisruptionBudget | None
    drain_timeout_seconds: int | None
    """As given; None: each group's grace period less the margin."""


def group_rollout(given: Mapping[str, Any], at: At, defaults: GroupDefaults) -> Rollout:
    """A group's own `max_surge`/`max_unavailable` over the top-level ones."""
    if "max_surge" not in given and "max_unavailable" not in given:
        return defaults.rollout
    surge = given.get("max_surge", defaults.rollout.max_surge)
    unavailable = given.get("max_unavailable", defaults.rollout.max_unavailable)
    return rollout(surge, unavailable, at)


def group_budget(given: Mapping[str, Any], at: At, defaults: GroupDefaults) -> DisruptionBudget | None:
    """A group's own `pod_disruption_budget`, else the top-level `worker_pod_disruption_budget`."""
    if "pod_disruption_budget" not in given:
        return defaults.disruption_budget
    return disruption_budget(given["pod_disruption_budget"], at.field("pod_disruption_budget"))


def drain_timeout(given: int | None, grace: int, at: At, grace_at: At) -> int:
    """The drain timeout of a worker whose pod has ``grace`` seconds: below it, so the kubelet's SIGKILL
    never lands while Ray still drains (it needs a moment after the drain to stop its processes)."""
    if given is None:
        return max(grace - c.DRAIN_MARGIN_SECONDS, 0)
    if given > 0 and given >= grace:
        raise invalid(
            at.name,
            given,
            f"fewer seconds than {grace_at.name} ({grace}), leaving Ray time to stop after the drain, "
            f"e.g. {max(grace - c.DRAIN_MARGIN_SECONDS, 0)}",
        )
    return given
