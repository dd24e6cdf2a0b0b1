"""One benchmark run's options and shared state: what every measure reads, runs and records into."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.engine import Engine, Timed, median_phases, median_steps
from bench.kube import Kubectl
from bench.procs import Processes
from bench.projects import Projects
from bench.results import Results, Row, spread


@dataclass
class Options:
    """What to run, as the command line asked for it."""

    scenarios: list[int]
    runs: int
    large_workers: int
    compose_sizes: list[int]
    ref: str | None
    workdir: Path
    timeout: float
    log: Callable[[str], None]
    nodes: int = 0
    results: Results = field(default_factory=Results)


class Bench:
    """One run: a source snapshot, a local control plane, the programs, and the results."""

    def __init__(self, opts: Options, procs: Processes, env: dict[str, str], kubeconfig: Path) -> None:
        self.opts = opts
        self.procs = procs
        self.log = opts.log
        self.results = opts.results
        kenv = {**env, "KUBECONFIG": str(kubeconfig)}
        self.engine = Engine(procs, kenv, opts.workdir, opts.timeout)
        self.kubectl = Kubectl(procs, kenv, opts.workdir, opts.timeout)
        self.projects = Projects(procs, opts.workdir, opts.timeout)

    def rounds(self) -> range:
        """The rounds of every measure: each runs all its arms once per round."""
        return range(self.opts.runs)

    def check_ready(self, key: str, namespace: str) -> None:
        """Records whether the command just timed returned with every Deployment's pods Ready."""
        ok = self.kubectl.all_ready(namespace)
        done, total = self.results.readiness.get(key, [0, 0])
        self.results.readiness[key] = [done + int(ok), total + 1]

    def add(self, row: Row) -> None:
        """Keeps a measured row and logs its medians and ratio."""
        self.results.rows.append(row)
        med, bmed = spread(row.ours)[0], spread(row.baseline)[0]
        self.log(f"  {row.label}: {med:.2f} {row.unit} vs {bmed:.2f} {row.unit} -> ratio {row.ratio:.2f}")

    def breakdown(self, key: str, runs: list[Timed], memory: bool = False) -> None:
        """Median phases and steps of `runs` (and, if asked, the peak memory of their processes)."""
        if not runs:
            return
        self.results.breakdowns[key] = median_phases(runs)
        self.results.steps[key] = {k: [s, d] for k, (s, d) in median_steps(runs).items()}
        if memory:
            kinds = sorted({k for t in runs for k in t.memory_mib})
            self.results.memory[key] = {
                k: [t.memory_mib[k] for t in runs if k in t.memory_mib] for k in kinds
            }
