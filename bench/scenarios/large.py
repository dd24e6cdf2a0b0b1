"""Scenario 5: a large cluster (a thousand workers by default), its time to Ready and its memory."""

from bench.kube import PLACEHOLDER_NS
from bench.lifecycle import component_arm, kubectl_arm
from bench.rounds import compare
from bench.scenarios.base import Scenario, measure
from bench.session import Bench

LARGE = Scenario(
    5,
    "Large",
    "5. Large",
    "`pulumi up` on a fresh stack with workers=N (default 1000) until Ready, and its peak memory",
    "`kubectl apply -f` of the same objects + `kubectl rollout status`",
)


@measure("scenario 5: large (workers={large_workers})", LARGE)
def large(bench: Bench) -> None:
    """5: workers=N (1000) on enough fake nodes: time to Ready vs kubectl, and peak memory."""
    n = bench.opts.large_workers
    ours = component_arm(bench, bench.projects.program("ours"), "large", {"workers": str(n)})
    _, manifests = bench.projects.plain("plain-large", {"namespace": PLACEHOLDER_NS, "workers": n})
    kubectl = kubectl_arm(bench, manifests, "large", watch_memory=True)
    compare(bench, [ours, kubectl], "large")
    bench.add(
        LARGE.row(
            "large/kubectl",
            f"`pulumi up` on a fresh stack, workers={n}, until Ready",
            f"`kubectl apply -f` + `kubectl rollout status`, workers={n}",
            ours=ours.values,
            baseline=kubectl.values,
        )
    )
    key = f"ours (workers={n}): create"
    bench.breakdown(key, ours.timed, memory=True)
    bench.results.memory[key]["kubectl (largest process, baseline)"] = [
        t.memory_mib["kubectl"] for t in kubectl.timed
    ]
