"""A benchmark run: the selected scenarios' measures on a control plane of the run's own."""

import time

from bench.kube import local_control_plane
from bench.machine import loadavg, versions
from bench.procs import Processes
from bench.projects import snapshot_source
from bench.results import Results
from bench.scenarios import MEASURES
from bench.session import Bench, Options
from tests.e2e.support import toolchain_env


def run_measures(bench: Bench) -> None:
    """Every measure serving a selected scenario, in MEASURES order, each announced by its title."""
    selected = set(bench.opts.scenarios)
    for measure in MEASURES:
        if selected & measure.numbers:
            bench.log(measure.title.format(**vars(bench.opts)))
            measure.run(bench)


def execute(opts: Options) -> Results:
    """Runs the selected scenarios on a fresh local control plane; everything started is stopped."""
    procs = Processes()
    results = opts.results
    started = time.time()
    try:
        env = toolchain_env()
        results.meta.update(
            {
                "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                "versions": versions(env),
                "runs": opts.runs,
                "scenarios": opts.scenarios,
                "large_workers": opts.large_workers,
                "compose_sizes": opts.compose_sizes,
                "nodes": opts.nodes,
                "load_before": loadavg(),
            }
        )
        # The source is copied first, so later edits of the working tree do not reach this run.
        snapshot_source(opts.workdir / "src", opts.ref, results)
        with local_control_plane(env, opts.workdir, opts.nodes, opts.log) as kubeconfig:
            bench = Bench(opts, procs, env, kubeconfig)
            try:
                run_measures(bench)
            finally:
                procs.stop_all()
    finally:
        procs.stop_all()
        results.meta["load_after"] = loadavg()
        results.meta["duration_min"] = round((time.time() - started) / 60, 1)
    return results
