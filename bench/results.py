"""What a benchmark run measured, as plain data (saved as JSON, rendered by bench/report.py)."""

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One measure against its baseline, the two measured alternately in the same run."""

    scenario: str
    key: str
    """Stable id, used to match rows of another run (`--compare`)."""
    label: str
    baseline_label: str
    ours: list[float]
    baseline: list[float]
    unit: str = "s"
    note: str = ""

    @property
    def paired_ratios(self) -> list[float]:
        """ours/baseline of each round (rounds whose baseline is 0 left out)."""
        return [a / b for a, b in zip(self.ours, self.baseline, strict=False) if b > 0]

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios (each round measures both sides back to back)."""
        ratios = self.paired_ratios
        return statistics.median(ratios) if ratios else float("nan")


@dataclass
class Results:
    """Everything a run measured; `meta` says what ran, on what, and when."""

    meta: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    breakdowns: dict[str, dict[str, float]] = field(default_factory=dict)
    """Median seconds per phase, per program and command (e.g. "ours: create")."""
    steps: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """Median [start, duration] of each resource step, per program and command."""
    memory: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """Peak RSS (MiB) per process kind, one value per run, per measure."""
    composition: dict[str, Any] = field(default_factory=dict)
    readiness: dict[str, list[int]] = field(default_factory=dict)
    """Per measure: [runs whose command returned with everything Ready, runs checked]."""
    notes: list[str] = field(default_factory=list)

    def row(self, key: str) -> Row | None:
        """The row of `key`, if this run measured it."""
        return next((r for r in self.rows if r.key == key), None)

    def to_json(self) -> dict[str, Any]:
        """As saved in `bench/results/*.json`."""
        return {
            "meta": self.meta,
            "rows": [asdict(r) for r in self.rows],
            "breakdowns": self.breakdowns,
            "steps": self.steps,
            "memory": self.memory,
            "composition": self.composition,
            "readiness": self.readiness,
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Results":
        """Read back from `to_json`; keys an older run did not write default to empty."""
        return cls(
            meta=data.get("meta", {}),
            rows=[Row(**r) for r in data.get("rows", [])],
            breakdowns=data.get("breakdowns", {}),
            steps=data.get("steps", {}),
            memory=data.get("memory", {}),
            composition=data.get("composition", {}),
            readiness=data.get("readiness", {}),
            notes=data.get("notes", []),
        )


def spread(values: list[float]) -> tuple[float, float, float]:
    """Median, min and max."""
    return statistics.median(values), min(values), max(values)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else float("nan")
