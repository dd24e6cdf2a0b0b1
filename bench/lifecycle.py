"""The life of one measured deployment: created, timed until it returns, checked Ready, deleted.

Every measure that creates a cluster runs one of these per round: `pulumi up` on a fresh stack
(`stack_lifecycle`), or `kubectl apply` of the same objects (`kubectl_lifecycle`). Deleting the namespace
(untimed) before the next round keeps each round starting from the same empty cluster. The `*_arm`
functions name a round's stack and namespace after the measure (`<measure>-<r>`, `<measure>-<arm>-<r>`)
and its readiness record `<measure>/<arm>`.
"""

import os
import time
from collections.abc import Mapping

from bench.engine import Program, Timed
from bench.kube import HEAD, WORKERS
from bench.procs import ProcessWatch
from bench.projects import retarget
from bench.rounds import Arm
from bench.session import Bench


def stack_lifecycle(
    bench: Bench,
    program: Program,
    stack: str,
    namespace: str,
    *,
    ready_key: str,
    config: Mapping[str, str] | None = None,
) -> Timed:
    """`pulumi stack init` (with `config`), the timed `pulumi up`, the readiness check under
    `ready_key`, then the namespace deleted and the stack forgotten: the timed `up`."""
    bench.engine.init(program, stack, config)
    timed = bench.engine.timed(program, stack, "up")
    bench.check_ready(ready_key, namespace)
    bench.kubectl.delete_namespace(namespace)
    bench.engine.remove(program, stack)
    return timed


def kubectl_lifecycle(
    bench: Bench, manifests: str, namespace: str, *, name: str, ready_key: str, watch_memory: bool = False
) -> Timed:
    """The baseline of `stack_lifecycle`: `manifests` moved to `namespace`, timed `kubectl apply` and
    `kubectl rollout status` of the cluster, the readiness check, the namespace deleted.

    `watch_memory` also records kubectl's peak RSS (as `memory_mib["kubectl"]`). Only the large measure
    reports it; elsewhere the polling thread (every 100 ms) would just run beside the timed commands.
    """
    path = bench.kubectl.write_manifests(manifests, namespace, name)
    if watch_memory:
        with ProcessWatch(os.getpid(), time.clock_gettime(time.CLOCK_BOOTTIME)) as watch:
            seconds = bench.kubectl.apply_and_wait(path, namespace, [HEAD, WORKERS])
        timed = Timed(seconds, memory_mib={"kubectl": watch.peak_mib_by_kind().get("kubectl", 0.0)})
    else:
        timed = Timed(bench.kubectl.apply_and_wait(path, namespace, [HEAD, WORKERS]))
    bench.check_ready(ready_key, namespace)
    bench.kubectl.delete_namespace(namespace)
    return timed


def component_arm(
    bench: Bench, program: Program, measure: str, config: Mapping[str, str] | None = None
) -> Arm:
    """`ours`: the component's program on a fresh stack per round, with `config` and the namespace."""

    def run(r: int) -> Timed:
        namespace = f"{measure}-ours-{r}"
        stack_config = {**(config or {}), "namespace": namespace}
        return stack_lifecycle(
            bench, program, f"{measure}-{r}", namespace, ready_key=f"{measure}/ours", config=stack_config
        )

    return Arm("ours", run)


def plain_arm(bench: Bench, program: Program, measure: str) -> Arm:
    """`plain`: a generated plain program, moved to a fresh namespace, on a fresh stack per round."""

    def run(r: int) -> Timed:
        namespace = f"{measure}-plain-{r}"
        retarget(program, namespace)
        return stack_lifecycle(bench, program, f"{measure}-{r}", namespace, ready_key=f"{measure}/plain")

    return Arm("plain", run)


def kubectl_arm(bench: Bench, manifests: str, measure: str, watch_memory: bool = False) -> Arm:
    """`kubectl`: the same objects' manifests applied in a fresh namespace per round."""

    def run(r: int) -> Timed:
        namespace = f"{measure}-kubectl-{r}"
        return kubectl_lifecycle(
            bench,
            manifests,
            namespace,
            name=f"{measure}-{r}",
            ready_key=f"{measure}/kubectl",
            watch_memory=watch_memory,
        )

    return Arm("kubectl", run)
