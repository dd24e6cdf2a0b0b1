"""Charts of a run's results beside the report: one per scenario (ours vs baseline, median with min-max
bars), and the cost of each added cluster in the composition scenario.

SVG with fixed metadata and hash salt, so redrawing the same results gives the same files.
"""

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

from bench.results import Results, Row, spread

OURS, BASELINE = "#2b6cb0", "#a0aec0"
SVG_OPTIONS = {"format": "svg", "metadata": {"Date": None, "Creator": None}}
plt.rcParams["svg.hashsalt"] = "ray-static-bench"


def slug(scenario: str) -> str:
    """A file name for a scenario heading ("2. Our own overhead" -> "2-our-own-overhead")."""
    return "-".join(scenario.replace(".", "").lower().split())


def _bars(rows: Sequence[Row], title: str, path: Path) -> None:
    """Ours and the baseline per measure, horizontal, median with a min-max bar."""
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.9 * len(rows)))
    for i, row in enumerate(reversed(rows)):
        sides = ((0.2, row.ours, OURS, "ours"), (-0.2, row.baseline, BASELINE, "baseline"))
        for offset, values, color, label in sides:
            if not values:
                continue
            med, lo, hi = spread(values)
            ax.barh(i + offset, med, height=0.38, color=color, label=label if i == 0 else None)
            ax.errorbar(
                med, i + offset, xerr=[[med - lo], [hi - med]], fmt="none", ecolor="#1a202c", capsize=3
            )
        ratio = f"  ratio {row.ratio:.2f}" if row.paired_ratios else ""
        ax.text(0, i + 0.45, f"{_short(row.label)}{ratio}", fontsize=8, va="bottom")
    ax.set_yticks([])
    ax.set_xlabel(rows[0].unit)
    ax.set_title(title, fontsize=11, loc="left")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.2 + 0.4)
    fig.tight_layout()
    fig.savefig(path, **SVG_OPTIONS)  # type: ignore[arg-type]
    plt.close(fig)


def _short(label: str, limit: int = 90) -> str:
    text = label.replace("`", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _composition(results: Results, path: Path) -> None:
    """`pulumi preview` time against clusters per stack, ours and the plain program, with the slope."""
    comp = results.composition
    sizes = [int(s) for s in comp["sizes"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, color, label in (("ours", OURS, "ours"), ("plain", BASELINE, "plain program")):
        data = comp.get(key)
        if not data:
            continue
        times = [data["median"][str(s)] for s in sizes]
        ax.plot(
            sizes, times, marker="o", color=color, label=f"{label}: {data['slope']:.3f} s per added cluster"
        )
    ax.set_xlabel("clusters in one stack")
    ax.set_ylabel("s, median pulumi preview")
    ax.set_title("6. Composition: the cost of each added cluster", fontsize=11, loc="left")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, **SVG_OPTIONS)  # type: ignore[arg-type]
    plt.close(fig)


def draw(results: Results, out: Path) -> dict[str, list[Path]]:
    """Every chart of ``results`` into ``out``; returns them by scenario heading (one chart per unit)."""
    out.mkdir(parents=True, exist_ok=True)
    charts: dict[str, list[Path]] = {}
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in results.rows:
        groups.setdefault((row.scenario, row.unit), []).append(row)
    for (scenario, unit), rows in groups.items():
        several = len({u for s, u in groups if s == scenario}) > 1
        path = out / f"{slug(scenario)}{f'-{unit}' if several else ''}.svg"
        _bars(rows, scenario, path)
        charts.setdefault(scenario, []).append(path)
    if results.composition:
        scenario = next((s for s, _ in groups if s.startswith("6")), "6. Composition")
        path = out / "6-composition-per-cluster.svg"
        _composition(results, path)
        charts.setdefault(scenario, []).append(path)
    return charts
