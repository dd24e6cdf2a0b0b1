"""Scenario 6: many clusters in one stack, and what each added cluster costs `pulumi preview`."""

import itertools
import statistics
from typing import Any

from bench.engine import Program
from bench.projects import TEMPLATES
from bench.results import slope
from bench.rounds import Arm, alternate
from bench.scenarios.base import Scenario, measure
from bench.session import Bench

COMPOSITION = Scenario(
    6,
    "Composition",
    "6. Composition",
    "`pulumi preview` of 1, 10 and 50 clusters in one stack, and the cost per added cluster",
    "`pulumi preview` of the plain program with the same objects",
)


def preview_arm(bench: Bench, name: str, program: Program, stack: str) -> Arm:
    """`pulumi preview` of `stack`, every round (its stack is never deployed, so each preview is fresh)."""
    return Arm(name, lambda _r: bench.engine.timed(program, stack, "preview"))


def growth(sizes: list[int], data: dict[int, list[float]]) -> dict[str, Any]:
    """Median per size, least-squares slope over every run, and the increment per cluster between sizes."""
    return {
        "median": {str(n): statistics.median(v) for n, v in data.items()},
        "slope": slope([(n, v) for n, vs in data.items() for v in vs]),
        "increments": {
            f"{a}->{b}": (statistics.median(data[b]) - statistics.median(data[a])) / (b - a)
            for a, b in itertools.pairwise(sizes)
        },
    }


@measure("scenario 6: composition", COMPOSITION)
def composition(bench: Bench) -> None:
    """6: 1, 10 and 50 clusters in one stack: preview time, cost per added cluster, vs plain."""
    sizes = bench.opts.compose_sizes
    ours_program = bench.projects.program("compose", TEMPLATES / "compose")
    arms: dict[int, tuple[Arm, Arm]] = {}
    for n in sizes:
        stack = f"n{n}"
        bench.engine.init(ours_program, stack, {"clusters": str(n)})
        plain_program, _ = bench.projects.plain(f"plain-compose-{n}", {}, clusters=n)
        bench.engine.init(plain_program, stack)
        arms[n] = (
            preview_arm(bench, "ours", ours_program, stack),
            preview_arm(bench, "plain", plain_program, stack),
        )
    for r in bench.rounds():
        for n in sizes:
            alternate(r, arms[n])
        last = ", ".join(
            f"{n}: ours {arms[n][0].values[-1]:.1f}s plain {arms[n][1].values[-1]:.1f}s" for n in sizes
        )
        bench.log(f"composition round {r + 1}: {last}")
    for n in sizes:
        bench.add(
            COMPOSITION.row(
                f"compose-{n}/plain",
                f"`pulumi preview`, {n} cluster(s) in one stack (fresh)",
                f"`pulumi preview` of the plain program with the same {n}x7 objects",
                ours=arms[n][0].values,
                baseline=arms[n][1].values,
            )
        )
    bench.results.composition = {
        "sizes": sizes,
        "ours": growth(sizes, {n: arms[n][0].values for n in sizes}),
        "plain": growth(sizes, {n: arms[n][1].values for n in sizes}),
    }
    for i, name in enumerate(("ours", "plain")):
        bench.breakdown(f"{name}: preview of {sizes[-1]} clusters", arms[sizes[-1]][i].timed, memory=True)
