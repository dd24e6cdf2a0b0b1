"""The scenarios, by number, and the measures that run them, in the order a run takes them."""

from bench.scenarios import composition, create, large, mocks, steady
from bench.scenarios.base import Measure, Scenario

SCENARIOS: dict[int, Scenario] = {
    s.number: s
    for s in (
        create.CREATE,
        create.OVERHEAD,
        steady.STEADY,
        steady.SCALE,
        large.LARGE,
        composition.COMPOSITION,
        mocks.MOCKS,
    )
}
MEASURES: tuple[Measure, ...] = (
    create.create,
    create.four_objects,
    steady.steady,
    steady.scale,
    composition.composition,
    mocks.mocks,
    # Last: its thousand pods, and their deletion, keep the control plane busy well after it.
    large.large,
)
"""In run order; the steady and scale measures share one deployment, made by whichever runs first."""
