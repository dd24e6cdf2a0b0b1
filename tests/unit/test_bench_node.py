"""The real-node benchmark's pure parts: the floor's manifests and the timeline read from Kubernetes' and
Ray's timestamps (the runs themselves need the real node: `python -m bench.node`)."""

from typing import Any

from bench.node import floor
from bench.node.timeline import median_summary, summary, timelines, workers_alive_after
from ray_static import DEFAULT_IMAGE

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def stamp(seconds: float) -> str:
    from datetime import UTC, datetime  # noqa: PLC0415

    return datetime.fromtimestamp(T0 + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    name: str, ip: str, created: int, started: int, *, ready: int | None, init: tuple[int, int] | None
) -> Any:
    status: dict[str, Any] = {
        "podIP": ip,
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp(created + 1)}],
        "containerStatuses": [{"state": {"running": {"startedAt": stamp(started)}}}],
    }
    if ready is not None:
        status["conditions"].append({"type": "Ready", "status": "True", "lastTransitionTime": stamp(ready)})
    if init:
        status["initContainerStatuses"] = [
            {"state": {"terminated": {"startedAt": stamp(init[0]), "finishedAt": stamp(init[1])}}}
        ]
    return {"metadata": {"name": name, "creationTimestamp": stamp(created)}, "status": status}


PODS = [
    pod("head", "10.0.0.1", 2, 4, ready=15, init=None),
    pod("w0", "10.0.0.2", 3, 12, ready=20, init=(5, 11)),
    pod("w1", "10.0.0.3", 3, 13, ready=21, init=(5, 12)),
]
NODES = [
    {"node_ip": "10.0.0.1", "state": "ALIVE", "is_head_node": True, "start_time_ms": int((T0 + 8.5) * 1000)},
    {
        "node_ip": "10.0.0.2",
        "state": "ALIVE",
        "is_head_node": False,
        "start_time_ms": int((T0 + 14.25) * 1000),
    },
    {
        "node_ip": "10.0.0.3",
        "state": "ALIVE",
        "is_head_node": False,
        "start_time_ms": int((T0 + 16.5) * 1000),
    },
]
ROLES = {"head": "head", "w0": "worker", "w1": "worker"}


def test_each_pods_phases_are_seconds_after_the_command() -> None:
    lines = {t.name: t for t in timelines(PODS, NODES, ROLES, T0)}
    assert lines["w0"].phases == {
        "created": 3,
        "scheduled": 4,
        "init started": 5,
        "init finished": 11,
        "started": 12,
        "ray node alive": 14.25,
        "ready": 20,
    }
    assert lines["head"].phases["init started"] is None
    assert workers_alive_after(list(lines.values())) == 16.5


def test_the_summary_takes_each_roles_last_pod_and_the_median_over_runs() -> None:
    one = summary(timelines(PODS, NODES, ROLES, T0))
    assert one["worker"]["ray node alive"] == 16.5 and one["head"]["ray node alive"] == 8.5
    later = summary(timelines(PODS, NODES, ROLES, T0 - 2))
    third = summary(timelines(PODS, NODES, ROLES, T0 - 10))
    assert median_summary([one, later, third])["worker"]["ready"] == 23


def test_a_worker_without_an_alive_ray_node_is_not_counted_as_alive() -> None:
    dead = [{**NODES[2], "state": "DEAD"}]
    assert workers_alive_after(timelines(PODS, NODES[:2] + dead, ROLES, T0)) is None


def test_the_floor_is_bare_ray_in_the_node_stacks_sizes() -> None:
    objects = floor.manifests(workers=2)
    pods = [o for o in objects if o["kind"] == "Pod"]
    assert [p["metadata"]["labels"]["role"] for p in pods] == ["head", "worker", "worker"]
    for p in pods:
        (container,) = p["spec"]["containers"]
        assert container["image"] == DEFAULT_IMAGE
        assert "initContainers" not in p["spec"] and "readinessProbe" not in container
        assert container["command"][-1].startswith("exec ray start ")
    assert pods[0]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    assert pods[1]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "250m", "memory": "1Gi"}
    assert (
        "--address=floor-head.ray-floor.svc.cluster.local:6379"
        in pods[1]["spec"]["containers"][0]["command"][-1]
    )
