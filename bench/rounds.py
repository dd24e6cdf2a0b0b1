"""Measures and their baselines run alternately, round after round, so both see the same machine."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.engine import Timed
from bench.session import Bench


@dataclass
class Arm:
    """One side of a comparison: what it runs in round `r`, and what each round measured."""

    name: str
    run: Callable[[int], Timed | float]
    """Returns the timed command (its seconds are the value) or a plain value (seconds, or ms)."""
    values: list[float] = field(default_factory=list)
    timed: list[Timed] = field(default_factory=list)
    """The timed commands, for the phase and memory breakdowns."""

    def __call__(self, r: int) -> None:
        out = self.run(r)
        if isinstance(out, Timed):
            self.timed.append(out)
            out = out.seconds
        self.values.append(out)


def alternate(r: int, arms: Sequence[Arm]) -> None:
    """Runs the arms of round `r`, starting one further each round (no arm always goes first)."""
    k = r % len(arms)
    for arm in [*arms[k:], *arms[:k]]:
        arm(r)


def compare(bench: Bench, arms: Sequence[Arm], label: str | None = None) -> None:
    """Every round of `arms`; with a `label`, a progress line per round with each arm's seconds."""
    for r in bench.rounds():
        alternate(r, arms)
        if label:
            last = ", ".join(f"{a.name} {a.values[-1]:.1f}s" for a in arms)
            bench.log(f"{label} round {r + 1}: {last}")
