"""A create's timeline from Kubernetes' own timestamps and Ray's: when each pod was created, scheduled,
its init containers ran, its Ray container started, its Ray node registered and it became Ready, in
seconds from the moment the user ran the command.

Kubernetes records these to the second (RFC 3339 without fractions); Ray's node start time is in
milliseconds. Both clocks are this machine's: the node's pods run on it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

PHASES = ("created", "scheduled", "init started", "init finished", "started", "ray node alive", "ready")
"""A pod's phases in the order they happen (a pod without init containers or probes skips some)."""


def _epoch(stamp: str | None) -> float | None:
    return None if not stamp else datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _condition(pod: Mapping[str, Any], kind: str) -> float | None:
    for cond in pod.get("status", {}).get("conditions", []):
        if cond["type"] == kind and cond["status"] == "True":
            return _epoch(cond.get("lastTransitionTime"))
    return None


def _running_since(statuses: Sequence[Mapping[str, Any]], main: bool) -> float | None:
    """When the (last) main container started running; for init containers, when the first started."""
    times = []
    for status in statuses:
        state = status.get("state", {})
        started = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        if started:
            times.append(_epoch(started))
    known = [t for t in times if t is not None]
    return (max(known) if main else min(known)) if known else None


def _init_finished(statuses: Sequence[Mapping[str, Any]]) -> float | None:
    ends = [_epoch(s.get("state", {}).get("terminated", {}).get("finishedAt")) for s in statuses]
    known = [t for t in ends if t is not None]
    return max(known) if known and len(known) == len(statuses) else None


@dataclass(frozen=True)
class PodTimeline:
    """One pod's phases, seconds after the command started (None: the phase did not happen)."""

    name: str
    role: str
    phases: dict[str, float | None] = field(default_factory=dict)


def pod_timeline(pod: Mapping[str, Any], role: str, ray_start_ms: int | None, t0: float) -> PodTimeline:
    status = pod.get("status", {})
    inits = status.get("initContainerStatuses", [])
    stamps = {
        "created": _epoch(pod["metadata"].get("creationTimestamp")),
        "scheduled": _condition(pod, "PodScheduled"),
        "init started": _running_since(inits, main=False) if inits else None,
        "init finished": _init_finished(inits) if inits else None,
        "started": _running_since(status.get("containerStatuses", []), main=True),
        "ray node alive": ray_start_ms / 1000 if ray_start_ms else None,
        "ready": _condition(pod, "Ready"),
    }
    phases = {k: (None if v is None else round(v - t0, 3)) for k, v in stamps.items()}
    return PodTimeline(pod["metadata"]["name"], role, phases)


def timelines(
    pods: Sequence[Mapping[str, Any]],
    ray_nodes: Sequence[Mapping[str, Any]],
    role_of: Mapping[str, str],
    t0: float,
) -> list[PodTimeline]:
    """Every pod's timeline; ``role_of`` maps a pod name to "head" or "worker"; Ray nodes are matched to
    pods by IP (each pod is one Ray node)."""
    started = {n["node_ip"]: n.get("start_time_ms") for n in ray_nodes if n.get("state") == "ALIVE"}
    return [
        pod_timeline(
            pod, role_of[pod["metadata"]["name"]], started.get(pod.get("status", {}).get("podIP")), t0
        )
        for pod in pods
        if pod["metadata"]["name"] in role_of
    ]


RAY_PHASES = frozenset({"ray node alive"})
"""Phases read from Ray's millisecond clock; the others are Kubernetes' whole seconds."""


def after(lines: Sequence[PodTimeline], new_pods: bool = False) -> list[PodTimeline]:
    """What happened after the command, for a scale or a head restart: earlier phases (the create's) are
    dropped, and so are pods with no phase left; with ``new_pods``, pods created before it as well (a
    scale's old workers). Kubernetes' timestamps are whole seconds, rounded down, so its phases count from
    one second before the command; Ray's are exact."""
    kept = []
    for line in lines:
        phases = {
            k: (v if v is not None and v >= (0.0 if k in RAY_PHASES else -1.0) else None)
            for k, v in line.phases.items()
        }
        if new_pods and phases.get("created") is None:
            continue
        if any(v is not None for v in phases.values()):
            kept.append(PodTimeline(line.name, line.role, phases))
    return kept


def workers_alive_after(lines: Sequence[PodTimeline]) -> float | None:
    """Seconds until the last worker's Ray node was alive (None if one never was)."""
    times = [t.phases["ray node alive"] for t in lines if t.role == "worker"]
    return None if not times or None in times else max(t for t in times if t is not None)


def summary(lines: Sequence[PodTimeline]) -> dict[str, dict[str, float]]:
    """Per role, each phase's latest time over the role's pods (when the role as a whole got there)."""
    out: dict[str, dict[str, float]] = {}
    for role in ("head", "worker"):
        mine = [t for t in lines if t.role == role]
        for phase in PHASES:
            values = [t.phases.get(phase) for t in mine]
            if mine and all(v is not None for v in values):
                out.setdefault(role, {})[phase] = max(v for v in values if v is not None)
    return out


def median_summary(runs: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The median over runs of each role's phase times (phases every run has)."""
    out: dict[str, dict[str, float]] = {}
    for role in ("head", "worker"):
        for phase in PHASES:
            values = [r[role][phase] for r in runs if phase in r.get(role, {})]
            if values and len(values) == len(runs):
                out.setdefault(role, {})[phase] = round(median(values), 2)
    return out
