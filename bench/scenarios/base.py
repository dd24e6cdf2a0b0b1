"""What a scenario is (a numbered question with a baseline) and what a measure is (the work answering it)."""

from collections.abc import Callable
from dataclasses import dataclass

from bench.results import Row
from bench.session import Bench


@dataclass(frozen=True)
class Scenario:
    """A numbered scenario, as `-s` selects it and the report groups its rows."""

    number: int
    name: str
    """As `bench/run --help` lists it."""
    section: str
    """Heading of its rows in the report; earlier results files carry the same text in every row."""
    description: str
    """What is measured of ray-static."""
    baseline: str
    """What it is measured against."""

    def row(
        self,
        key: str,
        label: str,
        baseline_label: str,
        *,
        ours: list[float],
        baseline: list[float],
        unit: str = "s",
    ) -> Row:
        """A result row of this scenario; `key` is what `--compare` matches rows of another run by."""
        return Row(self.section, key, label, baseline_label, ours, baseline, unit=unit)


@dataclass(frozen=True)
class Measure:
    """The work of one or more scenarios, run once per run if any of them is selected."""

    title: str
    """Progress line before it starts; `{field}` names an Options field (e.g. `{large_workers}`)."""
    scenarios: tuple[Scenario, ...]
    run: Callable[[Bench], None]

    @property
    def numbers(self) -> frozenset[int]:
        """The numbers of the scenarios it serves."""
        return frozenset(s.number for s in self.scenarios)


def measure(title: str, *scenarios: Scenario) -> Callable[[Callable[[Bench], None]], Measure]:
    """Declares a function as the measure of `scenarios` (see `Measure`)."""

    def wrap(run: Callable[[Bench], None]) -> Measure:
        return Measure(title, scenarios, run)

    return wrap
