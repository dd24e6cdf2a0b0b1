"""Scenario 7: the program evaluated under mocks (no engine), and what importing it costs."""

import os

from bench import PYTHON
from bench.rounds import Arm, compare
from bench.scenarios.base import Scenario, measure
from bench.session import Bench

MOCKS = Scenario(
    7,
    "Program evaluation under mocks",
    "7. Program evaluation",
    "evaluating N clusters under mocks (ms per cluster), and importing the component",
    "the plain program under mocks, and importing what it (or Pulumi alone) needs",
)

IMPORTS = {
    # What the program imports (the package itself imports RayCluster only on first use).
    "ours": ("from ray_static import RayCluster", "`from ray_static import RayCluster` (fresh interpreter)"),
    "plain": (
        "import pulumi, pulumi_kubernetes.core.v1, pulumi_kubernetes.apps.v1, "
        "pulumi_kubernetes.networking.v1",
        "importing what the plain program uses (pulumi, pulumi_kubernetes core/apps/networking v1)",
    ),
    "pulumi": ("import pulumi", "`import pulumi` alone"),
}
"""Each import timed, as a statement and as the report labels it."""


def evaluate(bench: Bench, *args: str) -> float:
    """Seconds of one evaluation under mocks (`bench.worker eval ARGS`, after its warm-up)."""
    [seconds] = bench.projects.worker("eval", *args, "--reps", "1")
    return seconds


def import_ms(bench: Bench, statement: str) -> float:
    """Milliseconds `statement` takes in a fresh interpreter, with the snapshot as working directory."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = bench.procs.run(
        [PYTHON, "-c", code],
        env=os.environ,
        cwd=bench.projects.src,
        log_path=bench.opts.workdir / "logs" / "imports.log",
    ).output
    return 1000 * float(out.split()[-1])


@measure("scenario 7: mocks", MOCKS)
def mocks(bench: Bench) -> None:
    """7: program evaluation under mocks (ms per cluster) and import time, vs the plain program."""
    sizes = bench.opts.compose_sizes
    plain_files = {n: bench.projects.plain(f"plain-compose-{n}", {}, clusters=n)[0].path for n in sizes}
    for n in sizes:
        ours = Arm("ours", lambda _r, n=n: evaluate(bench, "--clusters", str(n)))
        plain = Arm("plain", lambda _r, n=n: evaluate(bench, "--plain", str(plain_files[n] / "template.py")))
        compare(bench, [ours, plain])
        bench.add(
            MOCKS.row(
                f"mock-eval-{n}/plain",
                f"{n} cluster(s) under mocks, per cluster",
                "the plain program under mocks, per cluster",
                ours=[1000 * v / n for v in ours.values],
                baseline=[1000 * v / n for v in plain.values],
                unit="ms",
            )
        )
    imports = {
        k: Arm(k, lambda _r, s=statement: import_ms(bench, s)) for k, (statement, _) in IMPORTS.items()
    }
    compare(bench, list(imports.values()))
    for baseline in ("plain", "pulumi"):
        bench.add(
            MOCKS.row(
                f"import/{baseline}",
                IMPORTS["ours"][1],
                IMPORTS[baseline][1],
                ours=imports["ours"].values,
                baseline=imports[baseline].values,
                unit="ms",
            )
        )
