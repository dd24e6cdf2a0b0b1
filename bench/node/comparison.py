"""The KubeRay comparison page: per scenario, each arm's median of each measure and its ratio to
ray-static's, the goals stated against KubeRay and the floor, and one chart of the medians.

Reads the JSON files `python -m bench.node --scenario S` writes (bench/results/node-S.json); a scenario
not run yet is left out of the page.
"""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import median
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

from bench.node.report import SVG_OPTIONS, load_note
from bench.node.timeline import PHASES, median_summary

RESULTS = Path(__file__).resolve().parents[1] / "results"
SCENARIOS = ("create", "scale", "head-restart", "idle")
MEASURES: dict[str, tuple[tuple[str, str], ...]] = {
    "create": (
        ("returned_s", "command returned (s)"),
        ("alive_s", "every worker alive in Ray (s)"),
        ("job_s", "first job's result (s)"),
        ("destroy_s", "destroy until nothing is left (s)"),
    ),
    "scale": (
        ("returned_s", "command returned (s)"),
        ("alive_s", "the new worker alive in Ray (s)"),
    ),
    "head-restart": (
        ("alive_s", "every worker alive again (s)"),
        ("tasks_s", "every worker ran a task again (s)"),
    ),
    "idle": (
        ("cpu_millicores", "operator CPU, mean (millicores)"),
        ("rss_mib_mean", "operator memory, mean (MiB)"),
        ("rss_mib_max", "operator memory, peak (MiB)"),
    ),
}
"""Each scenario's measures, in the order of its table's columns."""
GOALS = (
    ("create", "job_s", "ray-static", "kuberay-kubectl", 1.0),
    ("create", "job_s", "ray-static", "kuberay-pulumi", 1.0),
    ("create", "job_s", "ray-static", "floor", 1.2),
    ("head-restart", "tasks_s", "ray-static", "kuberay-kubectl", 1.0),
)
"""(scenario, measure, arm, against, at most): ray-static at most 1.0x KubeRay for create -> first job and
for head recovery, and at most 1.2x the floor."""
COMMAND = "sudo venv/bin/python -m bench.node --scenario {scenario} --rounds 3"
COLORS = {
    "floor": "tab:gray",
    "ray-static": "tab:blue",
    "kuberay-kubectl": "tab:orange",
    "kuberay-pulumi": "tab:red",
}
"""One color per arm in every panel."""
IDLE_NOTE = (
    "ray-static runs no process of its own beside Ray's pods (no operator, no controller): its figure is "
    "none. The operator's is its whole process (all threads) read from /proc once a second."
)


def medians(results: Mapping[str, Any], key: str) -> dict[str, float]:
    """Each arm's median of ``key`` over its runs (runs without the value are skipped)."""
    values: dict[str, list[float]] = {}
    for run in results["runs"]:
        if run.get(key) is not None:
            values.setdefault(run["kind"], []).append(run[key])
    return {kind: round(median(v), 2) for kind, v in values.items()}


def kinds(results: Mapping[str, Any]) -> list[str]:
    """The arms of a run, in the order they first ran."""
    return list(dict.fromkeys(run["kind"] for run in results["runs"]))


def ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else round(value / base, 2)


def goal_rows(
    by_scenario: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, float | None, float, bool | None]]:
    """Each goal whose scenario ran: what it says, the measured ratio, the bound, and whether it holds."""
    rows = []
    for scenario, key, arm, against, bound in GOALS:
        if scenario not in by_scenario:
            continue
        m = medians(by_scenario[scenario], key)
        measured = ratio(m.get(arm), m.get(against))
        label = f"{scenario}: {key} of {arm} / {against} <= {bound}"
        rows.append((label, measured, bound, None if measured is None else measured <= bound))
    return rows


def table(scenario: str, results: Mapping[str, Any]) -> list[str]:
    """One row per arm: each measure's median and, for timings, its ratio to ray-static's."""
    measures = MEASURES[scenario]
    head = "| arm | " + " | ".join(label for _, label in measures) + " |"
    rows = [head, "| --- |" + " --- |" * len(measures)]
    per_key = {key: medians(results, key) for key, _ in measures}
    for kind in kinds(results):
        cells = []
        for key, _ in measures:
            value = per_key[key].get(kind)
            base = per_key[key].get("ray-static")
            share = ratio(value, base) if scenario != "idle" else None
            cells.append(
                "" if value is None else f"{value:g}" + ("" if share is None else f" ({share:.2f}x)")
            )
        rows.append(f"| {kind} | " + " | ".join(cells) + " |")
    return rows


def phase_table(results: Mapping[str, Any]) -> list[str]:
    """Where the time goes: per arm and role, the median second at which the role's pods reached each
    phase (Kubernetes' and Ray's timestamps, from the command); empty when the runs kept no phases."""
    runs = [r for r in results["runs"] if r.get("phases") is not None]
    if not runs:
        return []
    rows = ["| arm | pods | " + " | ".join(PHASES) + " |", "| --- | --- |" + " --- |" * len(PHASES)]
    for kind in kinds(results):
        per_role = median_summary([r["phases"] for r in runs if r["kind"] == kind])
        for role, phases in per_role.items():
            cells = ["" if phases.get(p) is None else f"{phases[p]:g}" for p in PHASES]
            rows.append(f"| {kind} | {role} | " + " | ".join(cells) + " |")
    return rows


def page(
    by_scenario: Mapping[str, Mapping[str, Any]],
    chart_name: str | None = None,
    results_dir: Path | None = None,
) -> str:
    lines = [
        "# ray-static against KubeRay and Ray's floor on the real node",
        "",
        "Same Ray image and sizes in every arm (head 1 CPU / 2Gi offering no CPUs to tasks; workers 1 CPU, "
        "250m requested, 1Gi). The KubeRay operator v1.5.0 runs on the host against the node's API server "
        "for the whole run, whichever arm is measured. Ratios in brackets are to ray-static's median.",
        "",
    ]
    goals = goal_rows(by_scenario)
    if goals:
        lines += ["| goal | measured | holds |", "| --- | --- | --- |"]
        for label, measured, _bound, holds in goals:
            shown = "" if measured is None else f"{measured:.2f}x"
            lines.append(f"| {label} | {shown} | {'' if holds is None else ('yes' if holds else 'no')} |")
        lines.append("")
    if chart_name:
        lines += [f"![medians](benchmarks/{chart_name})", ""]
    for scenario in SCENARIOS:
        if scenario not in by_scenario:
            continue
        results = by_scenario[scenario]
        lines += [
            f"## {scenario}",
            "",
            f"`{COMMAND.format(scenario=scenario)}` on {results['date']}: {results['rounds']} rounds, "
            f"{results['workers']} workers.{load_note(results)}",
            "",
            *table(scenario, results),
            "",
        ]
        phases = phase_table(results)
        if phases:
            lines += [
                "Per phase (median seconds from the command; only what happened after it):",
                "",
                *phases,
                "",
            ]
        if scenario == "idle":
            lines += [IDLE_NOTE, ""]
        if results.get("note"):
            lines += [results["note"], ""]
        lines += _history(scenario, results_dir)
    return "\n".join(lines)


def _history(scenario: str, results_dir: Path | None) -> list[str]:
    """A scenario's earlier runs kept in bench/results (node-<scenario>-<when>.json), newest first, each
    with its table and note, so the page says what changed between runs."""
    if results_dir is None:
        return []
    lines = []
    for path in sorted(results_dir.glob(f"node-{scenario}-*.json"), reverse=True):
        earlier = json.loads(path.read_text())
        if earlier.get("scenario") != scenario:
            continue
        lines += [f"### Earlier: {earlier['date']}", "", *table(scenario, earlier), ""]
        if earlier.get("note"):
            lines += [earlier["note"], ""]
    return lines


def chart(by_scenario: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """Per timed scenario, each arm's median of each measure as grouped bars."""
    timed = [s for s in SCENARIOS if s in by_scenario and s != "idle"]
    fig, axes = plt.subplots(1, max(len(timed), 1), figsize=(4 * max(len(timed), 1), 3.2), squeeze=False)
    for ax, scenario in zip(axes[0], timed, strict=False):
        arms = kinds(by_scenario[scenario])
        measures = MEASURES[scenario]
        width = 0.8 / len(arms)
        for i, arm in enumerate(arms):
            values = [medians(by_scenario[scenario], key).get(arm, 0.0) for key, _ in measures]
            color = COLORS.get(arm, "grey")
            ax.bar([m + i * width for m in range(len(measures))], values, width, label=arm, color=color)
        ax.set_xticks(
            [m + 0.4 - width / 2 for m in range(len(measures))], [k for k, _ in measures], fontsize=7
        )
        ax.set_title(scenario)
        ax.set_ylabel("median seconds")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, **SVG_OPTIONS)  # type: ignore[arg-type]
    plt.close(fig)


def load(results_dir: Path, names: Sequence[str] = SCENARIOS) -> dict[str, dict[str, Any]]:
    """The saved results of each scenario that has a file (bench/results/node-<scenario>.json)."""
    out = {}
    for name in names:
        path = results_dir / f"node-{name}.json"
        if path.exists():
            out[name] = json.loads(path.read_text())
    return out


def write(by_scenario: Mapping[str, Mapping[str, Any]], doc: Path) -> None:
    """The page and its chart (docs/benchmarks/kuberay-medians.svg beside it)."""
    svg = doc.parent / "benchmarks" / "kuberay-medians.svg"
    chart(by_scenario, svg)
    doc.write_text(page(by_scenario, svg.name, RESULTS))


def headline(by_scenario: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [
        f"{label:<60} {'-' if measured is None else f'{measured:.2f}x'}"
        for label, measured, _b, _h in goal_rows(by_scenario)
    ]
