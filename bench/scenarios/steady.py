"""Scenarios 3 and 4: a deployed cluster, left as it is (no-op commands) and scaled."""

import time

from bench.engine import Program, Timed
from bench.kube import HEAD, PLACEHOLDER_NS, WORKERS
from bench.projects import TEMPLATES, retarget
from bench.rounds import Arm, alternate, compare
from bench.scenarios.base import Scenario, measure
from bench.session import Bench

STEADY = Scenario(
    3,
    "Steady state",
    "3. Steady state",
    "no-op `pulumi preview` and `pulumi up` with the default cluster deployed",
    "the same commands on an empty Python program, and on the plain program",
)
SCALE = Scenario(
    4,
    "Scale",
    "4. Scale",
    "`pulumi config set workers N+1` + `pulumi up`",
    "`kubectl scale --replicas N+1` + `kubectl rollout status`",
)

STACK = "steady"
"""The stack of every deployed program here (one per project)."""
NAMESPACES = {"ours": "steady", "plain": "steady-plain", "kubectl": "steady-kubectl"}
COMMANDS = ("preview", "up")
BASELINES = {
    "empty": "`pulumi {command}` of an empty Python program",
    "plain": "no-op `pulumi {command}` of the plain program (same 7 objects deployed)",
}
"""The steady measure's baselines, each compared with ours for each command."""
DEFAULT_WORKERS = 3
"""The component's default: where both sides of the scale measure start."""


def deploy_steady(bench: Bench) -> dict[str, Program]:
    """Stacks `steady` of ours, the plain program and the empty program, deployed once (untimed)."""
    deployed = bench.results.meta.setdefault("deployed", [])
    ours = bench.projects.program("ours")
    plain, _ = bench.projects.plain("plain-steady", {"namespace": PLACEHOLDER_NS})
    empty = bench.projects.program("empty", TEMPLATES / "empty", with_source=False)
    if STACK not in deployed:
        retarget(plain, NAMESPACES["plain"])
        for program, config in ((ours, {"namespace": NAMESPACES["ours"]}), (plain, None), (empty, None)):
            bench.engine.init(program, STACK, config)
            bench.engine.timed(program, STACK, "up")
        deployed.append(STACK)
    return {"ours": ours, "plain": plain, "empty": empty}


@measure("scenario 3: steady state", STEADY)
def steady(bench: Bench) -> None:
    """3: no-op `pulumi up` and `pulumi preview` vs the same on the empty program (and the plain one)."""
    programs = deploy_steady(bench)

    def arm(name: str, command: str) -> Arm:
        return Arm(name, lambda _r: bench.engine.timed(programs[name], STACK, command))

    arms = {c: {p: arm(p, c) for p in ("ours", "empty", "plain")} for c in COMMANDS}
    for r in bench.rounds():
        for c in COMMANDS:
            alternate(r, list(arms[c].values()))
        last = "; ".join(
            f"{c} ours {arms[c]['ours'].values[-1]:.1f}s empty {arms[c]['empty'].values[-1]:.1f}s"
            for c in COMMANDS
        )
        bench.log(f"steady round {r + 1}: {last}")
    for c in COMMANDS:
        for baseline, baseline_label in BASELINES.items():
            bench.add(
                STEADY.row(
                    f"noop-{c}/{baseline}",
                    f"no-op `pulumi {c}` (default cluster deployed)",
                    baseline_label.format(command=c),
                    ours=arms[c]["ours"].values,
                    baseline=arms[c][baseline].values,
                )
            )
        for p in ("ours", "plain", "empty"):
            bench.breakdown(f"{p}: no-op {c}", arms[c][p].timed)


@measure("scenario 4: scale", SCALE)
def scale(bench: Bench) -> None:
    """4: `pulumi config set workers N+1` + `pulumi up` vs `kubectl scale` + rollout status."""
    ours = deploy_steady(bench)["ours"]
    _, manifests = bench.projects.plain("plain", {"namespace": PLACEHOLDER_NS})
    namespace = NAMESPACES["kubectl"]
    path = bench.kubectl.write_manifests(manifests, namespace, namespace)
    bench.kubectl.apply_and_wait(path, namespace, [HEAD, WORKERS])
    # The measure includes `config set`; the breakdown is of the `up` alone.
    ups: list[Timed] = []

    def scale_ours(r: int) -> float:
        start = time.perf_counter()
        bench.engine.set_config(ours, STACK, {"workers": str(DEFAULT_WORKERS + r + 1)})
        ups.append(bench.engine.timed(ours, STACK, "up"))
        seconds = time.perf_counter() - start
        bench.check_ready("scale/ours", NAMESPACES["ours"])
        return seconds

    def scale_kubectl(r: int) -> float:
        seconds = bench.kubectl.scale_and_wait(namespace, WORKERS, DEFAULT_WORKERS + r + 1)
        bench.check_ready("scale/kubectl", namespace)
        return seconds

    arms = [Arm("ours", scale_ours), Arm("kubectl", scale_kubectl)]
    compare(bench, arms, "scale")
    bench.add(
        SCALE.row(
            "scale/kubectl",
            "`pulumi config set workers N+1` + `pulumi up`",
            "`kubectl scale --replicas N+1` + `kubectl rollout status`",
            ours=arms[0].values,
            baseline=arms[1].values,
        )
    )
    bench.breakdown("ours: scale", ups)
