"""The real-node benchmark's pure parts: the floor's manifests, the timeline read from Kubernetes' and
Ray's timestamps, and the comparison with KubeRay (its custom resource, the operator's command line, the
first job, /proc usage, the result math). The runs themselves need the real node: `python -m bench.node`."""

import json
import runpy
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.node import arms, comparison, floor, job, kuberay, scenarios, usage
from bench.node.timeline import after, median_summary, summary, timelines, workers_alive_after
from ray_static import DEFAULT_IMAGE
from ray_static.constants import RAY_VERSION
from tests.support.render import PROJECT, _execute, find

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


def test_after_the_command_keeps_only_later_phases_and_pods_with_any() -> None:
    lines = timelines(PODS, NODES, ROLES, T0 + 12.5)
    kept = {t.name: t.phases for t in after(lines)}
    assert kept["w0"]["ray node alive"] == 1.75 and kept["w0"]["started"] == -0.5
    assert kept["w0"]["init finished"] is None and kept["w0"]["created"] is None
    assert "head" in kept and kept["head"]["created"] is None
    assert after(timelines(PODS, NODES, ROLES, T0 + 100)) == [], "a pod with nothing after is dropped"
    just_before = {t.name: t.phases for t in after(timelines(PODS, NODES, ROLES, T0 + 14.5))}
    assert just_before["w0"]["ray node alive"] is None, "Ray's clock is exact: no second of grace"
    assert just_before["w0"]["ready"] == 5.5
    assert after(timelines(PODS, NODES, ROLES, T0 + 12.5), new_pods=True) == [], "no pod created after"
    assert [t.name for t in after(timelines(PODS, NODES, ROLES, T0 + 3.5), new_pods=True)] == ["w0", "w1"]


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


# The comparison with KubeRay: the custom resource both KubeRay arms create, the operator's command line,
# the first job, /proc usage and the result math (the runs themselves: `python -m bench.node --scenario`).

KUBERAY_PROGRAM = Path(__file__).resolve().parents[2] / "bench" / "programs" / "kuberay"


def test_the_raycluster_has_the_node_stacks_image_and_sizes() -> None:
    namespace, cluster = kuberay.manifests(workers=2)
    assert namespace == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": kuberay.NAMESPACE}}
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    assert cluster["metadata"] == {"name": kuberay.NAME, "namespace": kuberay.NAMESPACE}
    spec = cluster["spec"]
    assert spec["rayVersion"] == RAY_VERSION
    (head,) = spec["headGroupSpec"]["template"]["spec"]["containers"]
    (group,) = spec["workerGroupSpecs"]
    (worker,) = group["template"]["spec"]["containers"]
    assert head["image"] == worker["image"] == DEFAULT_IMAGE
    assert head["resources"] == floor.HEAD.resources()
    assert worker["resources"] == floor.WORKER.resources()
    assert spec["headGroupSpec"]["rayStartParams"] == {"num-cpus": "0"}, "no tasks on the head, as ray-static"
    assert group["replicas"] == 2 and group["minReplicas"] == 0


def test_scaling_the_raycluster_stays_inside_its_max_replicas() -> None:
    """KubeRay clamps replicas into [minReplicas, maxReplicas]: a scale past the max would silently stop."""
    for workers in (2, 3, 12):
        (group,) = kuberay.manifests(workers)[1]["spec"]["workerGroupSpecs"]
        assert group["replicas"] == workers <= group["maxReplicas"]


def test_the_pulumi_program_declares_the_same_raycluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(KUBERAY_PROGRAM))
    config = {"workers": "3", "image": DEFAULT_IMAGE, "rayVersion": RAY_VERSION, "namespace": "ns"}

    def program() -> None:
        runpy.run_path(str(KUBERAY_PROGRAM / "__main__.py"), run_name="__main__")

    run = _execute(program, {f"{PROJECT}:{k}": v for k, v in config.items()})
    namespace = find(run.resources, ":Namespace")
    cluster = find(run.resources, "ray.io/v1:RayCluster")
    assert namespace.inputs["metadata"]["name"] == "ns"
    declared = {key: cluster.inputs[key] for key in ("apiVersion", "kind", "metadata", "spec")}
    assert declared == kuberay.manifests(3, namespace="ns")[1]


def test_the_programs_config_defaults_are_the_benchmarks() -> None:
    project = yaml.safe_load((KUBERAY_PROGRAM / "Pulumi.yaml").read_text())
    defaults = {key: spec["default"] for key, spec in project["config"].items()}
    assert defaults == {
        "workers": 2,
        "image": DEFAULT_IMAGE,
        "rayVersion": RAY_VERSION,
        "namespace": kuberay.PULUMI_NAMESPACE,
    }


def test_the_operator_runs_on_the_host_with_leader_election_off_and_local_endpoints() -> None:
    argv = kuberay.operator_argv(Path("/c/kuberay-operator"), "/k/config")
    assert argv[0] == "/c/kuberay-operator"
    flags = dict(a.removeprefix("--").split("=", 1) for a in argv[1:])
    assert flags["kubeconfig"] == "/k/config"
    assert flags["enable-leader-election"] == "false"
    assert flags["metrics-addr"].startswith("127.0.0.1:")
    assert flags["health-probe-bind-address"].startswith("127.0.0.1:")
    assert flags["watch-namespace"] == "", "every namespace, as KubeRay's chart installs it"
    some = kuberay.operator_argv(Path("/op"), "/k", ("a", "b"))
    assert "--watch-namespace=a,b" in some


def test_the_job_code_compiles_and_its_result_counts_the_workers_that_ran() -> None:
    compile(job.submit_code(timeout=30), "submit", "exec")
    compile(job.DRIVER, "driver", "exec")
    assert "deadline = time.time() + 30" in job.submit_code(timeout=30)
    ran = {"status": "SUCCEEDED", "logs": 'noise\nRAN ["a", "b"]\n'}
    assert job.workers_that_ran(ran) == 2
    assert job.workers_that_ran({**ran, "status": "FAILED"}) is None
    assert job.workers_that_ran({"status": "SUCCEEDED", "logs": "no line"}) is None
    assert job.workers_that_ran(None) is None


STAT = "4242 (kuberay (op) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 99 0 0"


def test_proc_stat_cpu_is_user_plus_system_after_the_command_name() -> None:
    assert usage.cpu_seconds(STAT, ticks=100) == 3.0
    assert usage.rss_kib("Name:\tx\nVmRSS:\t  51200 kB\nThreads: 9\n") == 51200
    assert usage.rss_kib("Name:\tzombie\n") == 0


def test_the_usage_summary_is_cpu_over_the_window_and_memory_mean_peak_end() -> None:
    samples = [
        usage.Sample(10.0, 1.0, 40960),
        usage.Sample(70.0, 1.6, 61440),
        usage.Sample(130.0, 2.2, 51200),
    ]
    assert usage.summary(samples) == {
        "window_s": 120.0,
        "cpu_s": 1.2,
        "cpu_millicores": 10.0,
        "rss_mib_mean": 50.0,
        "rss_mib_max": 60.0,
        "rss_mib_end": 50.0,
    }
    with pytest.raises(ValueError, match="at least 2 samples"):
        usage.summary(samples[:1])


def _pod(name: str, created: int, *, phase: str = "Running", deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": stamp(created)}
    if deleting:
        meta["deletionTimestamp"] = stamp(created + 100)
    return {"metadata": meta, "status": {"phase": phase}}


def test_the_current_head_is_the_newest_running_pod_not_being_deleted() -> None:
    old, new = _pod("head-a", 1, deleting=True), _pod("head-b", 50)
    assert scenarios.current_head([old, new]) == "head-b"
    assert scenarios.current_head([_pod("head-a", 1), _pod("head-b", 50, phase="Pending")]) == "head-a"
    assert scenarios.current_head([_pod("head-a", 1)], exclude="head-a") is None
    assert scenarios.current_head([_pod("x", 5), _pod("y", 9)]) == "y"


def test_the_new_workers_start_is_read_from_rays_node_table() -> None:
    assert scenarios.last_worker_started(NODES, T0) == 16.5
    assert scenarios.last_worker_started(NODES[:1], T0) is None, "the head alone"
    assert len(scenarios.alive_workers([*NODES, {**NODES[2], "state": "DEAD"}])) == 2


def test_arms_take_turns_going_first() -> None:
    kinds = scenarios.CREATE_ARMS
    orders = [scenarios.rotation(kinds, i) for i in range(len(kinds))]
    assert all(sorted(o) == sorted(kinds) for o in orders)
    assert [o[0] for o in orders] == list(kinds)


def test_every_scenario_compares_ray_static_with_a_kuberay_arm() -> None:
    assert set(scenarios.SCENARIOS) == set(comparison.SCENARIOS)
    for name, (kinds, _runner) in scenarios.SCENARIOS.items():
        assert any(k.startswith("kuberay") for k in kinds), name
    assert "floor" in scenarios.SCENARIOS["create"][0]


def _results(scenario: str, runs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "date": "2026-12-05 09:00 UTC",
        "rounds": 2,
        "workers": 2,
        "runs": [{"kind": kind, **values} for kind, values in runs],
    }


CREATE = _results(
    "create",
    [
        ("floor", {"alive_s": 10, "job_s": 14, "returned_s": 0.5, "destroy_s": 5}),
        ("ray-static", {"alive_s": 12, "job_s": 16, "returned_s": 12, "destroy_s": 8}),
        ("kuberay-kubectl", {"alive_s": 15, "job_s": 20, "returned_s": 0.4, "destroy_s": 6}),
        ("kuberay-pulumi", {"alive_s": 17, "job_s": 22, "returned_s": 3, "destroy_s": 9}),
        ("floor", {"alive_s": 12, "job_s": 16, "returned_s": 0.5, "destroy_s": 5}),
        ("ray-static", {"alive_s": 14, "job_s": 18, "returned_s": 13, "destroy_s": 8}),
        ("kuberay-kubectl", {"alive_s": 15, "job_s": 20, "returned_s": 0.4, "destroy_s": 6}),
        ("kuberay-pulumi", {"alive_s": 17, "job_s": 22, "returned_s": 3, "destroy_s": 9}),
    ],
)
RESTART = _results(
    "head-restart",
    [("ray-static", {"alive_s": 40, "tasks_s": 50}), ("kuberay-kubectl", {"alive_s": 30, "tasks_s": 40})],
)


def test_medians_per_arm_and_the_goals_against_kuberay_and_the_floor() -> None:
    assert comparison.medians(CREATE, "job_s") == {
        "floor": 15,
        "ray-static": 17,
        "kuberay-kubectl": 20,
        "kuberay-pulumi": 22,
    }
    goals = {
        label: (measured, holds)
        for label, measured, _bound, holds in comparison.goal_rows(
            {"create": CREATE, "head-restart": RESTART}
        )
    }
    assert goals["create: job_s of ray-static / kuberay-kubectl <= 1.0"] == (0.85, True)
    assert goals["create: job_s of ray-static / floor <= 1.2"] == (1.13, True)
    assert goals["head-restart: tasks_s of ray-static / kuberay-kubectl <= 1.0"] == (1.25, False)
    assert len(comparison.goal_rows({"create": CREATE})) == 3, "a scenario not run has no goal row"


def test_the_page_shows_each_scenario_run_with_ratios_to_ray_static() -> None:
    idle = _results(
        "idle", [("kuberay-operator", {"cpu_millicores": 4.2, "rss_mib_mean": 48, "rss_mib_max": 50})]
    )
    text = comparison.page({"create": CREATE, "idle": idle}, "kuberay-medians.svg")
    assert "## create" in text and "## idle" in text and "## scale" not in text
    assert "| kuberay-kubectl | 0.4 (0.03x) | 15 (1.15x) | 20 (1.18x) | 6 (0.75x) |" in text
    assert "| kuberay-operator | 4.2 | 48 | 50 |" in text
    assert "--scenario create --rounds 3" in text
    assert comparison.ratio(None, 2) is None and comparison.ratio(3, 0) is None


def test_scale_and_restart_pages_show_where_the_time_went_per_arm_and_role() -> None:
    phases = {"worker": {"created": 0.0, "scheduled": 0.1, "started": 1.2, "ray node alive": 3.5}}
    scale = _results(
        "scale",
        [
            ("ray-static", {"returned_s": 6, "alive_s": 4, "phases": phases}),
            ("floor", {"returned_s": 0.5, "alive_s": 3.4, "phases": {"worker": {"ray node alive": 3.0}}}),
        ],
    )
    rows = comparison.phase_table(scale)
    assert rows[0].startswith("| arm | pods | created | scheduled |")
    assert "| ray-static | worker | 0 | 0.1 |  |  | 1.2 | 3.5 |  |" in rows
    assert "| floor | worker |  |  |  |  |  | 3 |  |" in rows
    text = comparison.page({"scale": scale})
    assert "Per phase" in text and "| ray-static | worker | 0 | 0.1 |" in text
    assert comparison.phase_table(RESTART) == [], "runs without phases have no table"
    noted = {**RESTART, "note": "The ray-static arm ran a variant."}
    assert "The ray-static arm ran a variant." in comparison.page({"head-restart": noted})


def test_the_page_and_its_chart_are_written_beside_each_other(tmp_path: Path) -> None:
    (tmp_path / "benchmarks").mkdir()
    comparison.write({"create": CREATE, "head-restart": RESTART}, tmp_path / "benchmarks-kuberay.md")
    assert (tmp_path / "benchmarks" / "kuberay-medians.svg").read_text().startswith("<?xml")
    assert "![medians](benchmarks/kuberay-medians.svg)" in (tmp_path / "benchmarks-kuberay.md").read_text()


def test_a_commands_return_time_is_its_own_not_when_the_bench_asks() -> None:
    class Quick:
        kind = "quick"

        def prepare(self, workers: int) -> None:
            pass

        def start(self, workers: int) -> subprocess.Popen[str]:
            return subprocess.Popen(["sleep", "0.1"], text=True)

    t0 = time.time()
    started = arms.start(Quick(), 2)  # type: ignore[arg-type]
    time.sleep(1.0)  # the bench polls Ray meanwhile
    returned = arms.finish(started, Quick())  # type: ignore[arg-type]
    assert 0.1 <= returned - t0 < 0.8


def test_a_scenarios_earlier_runs_are_kept_under_it_with_their_notes(tmp_path: Path) -> None:
    earlier = {**CREATE, "date": "2026-12-04 13:29 UTC", "note": "Measured under other conditions."}
    (tmp_path / "node-create-20261204-1329.json").write_text(json.dumps(earlier))
    (tmp_path / "node-scale-20261204-1338.json").write_text(json.dumps({**earlier, "scenario": "scale"}))
    text = comparison.page({"create": CREATE}, results_dir=tmp_path)
    assert "### Earlier: 2026-12-04 13:29 UTC" in text
    assert "Measured under other conditions." in text
    assert text.count("### Earlier") == 1, "a scenario not on the page shows no history"
    assert "### Earlier" not in comparison.page({"create": CREATE}), "no results directory, no history"
