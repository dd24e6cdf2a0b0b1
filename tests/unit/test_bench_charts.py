"""The benchmark report's charts: one per scenario and unit, drawn from the results, the same every time."""

import json
from pathlib import Path

from bench import charts
from bench.results import Results
from tests.support.render import REPO_ROOT

LATEST = REPO_ROOT / "bench" / "results" / "latest.json"


def test_charts_are_drawn_per_scenario_and_redraw_identically(tmp_path: Path) -> None:
    results = Results.from_json(json.loads(LATEST.read_text()))
    first = charts.draw(results, tmp_path / "a")
    second = charts.draw(results, tmp_path / "b")
    assert set(first) == {r.scenario for r in results.rows}
    for scenario, paths in first.items():
        for a, b in zip(paths, second[scenario], strict=True):
            assert a.read_bytes() == b.read_bytes(), a.name
            assert a.read_text().startswith("<?xml") and "<svg" in a.read_text()
    composition = [p for paths in first.values() for p in paths if p.name == "6-composition-per-cluster.svg"]
    assert composition, "the per-cluster cost chart is missing"


def test_the_committed_report_shows_the_committed_charts() -> None:
    """Every chart in docs/benchmarks is shown by a benchmark page (bench/run's report or a page of its
    own, e.g. the startup timeline's)."""
    pages = sorted((REPO_ROOT / "docs").glob("benchmarks*.md"))
    shown = "\n".join(page.read_text() for page in pages)
    for chart in sorted((REPO_ROOT / "docs" / "benchmarks").glob("*.svg")):
        assert f"(benchmarks/{chart.name})" in shown, (
            f"{chart.name} is on no page of {[p.name for p in pages]}"
        )
