"""`venv/bin/python -m bench` (or `bench/run`): run the benchmarks and write docs/benchmarks.md.

    bench/run                          every scenario, 5 runs each (~30 min on 2 cores)
    bench/run --quick                  2 runs, workers=100 for the large scenario, 1/5 clusters
    bench/run -s 1,3 -n 3              scenarios 1 and 3 only, 3 runs
    bench/run --ref HEAD~3 --json bench/results/before.json --no-doc
                                       measure the component as of a commit
    bench/run --compare bench/results/before.json
                                       add that run's ratios as "before" columns

Every run starts its own control plane (scripts/cluster.sh) and deletes it at the end, as it stops every
process it started, on failure and on SIGINT/SIGTERM too.
"""

import argparse
import atexit
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench import REPO, charts, report
from bench.kube import nodes_for
from bench.procs import BenchError
from bench.results import Results
from bench.runner import execute
from bench.scenarios import SCENARIOS
from bench.session import Options

CHARTS_DIR = "benchmarks"
"""Charts go to this folder beside the report."""


def _list(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p.strip()]


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line (see `bench/run --help`)."""
    p = argparse.ArgumentParser(
        prog="bench/run",
        description="ray-static benchmarks: " + "; ".join(f"{k} {s.name}" for k, s in SCENARIOS.items()),
        epilog="scenarios (what is measured, and its baseline):\n"
        + "\n".join(f"  {k} {s.name}: {s.description}\n      vs {s.baseline}" for k, s in SCENARIOS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-s", "--scenarios", type=_list, default=list(SCENARIOS), help="comma-separated, e.g. 1,3")
    p.add_argument("-n", "--runs", type=int, help="runs per measure (default 5; --quick 2)")
    p.add_argument("--quick", action="store_true", help="a fast check: 2 runs, smaller scenarios 5 and 6")
    p.add_argument("--large-workers", type=int, help="workers in scenario 5 (default 1000; --quick 100)")
    p.add_argument(
        "--compose-sizes", type=_list, help="clusters per stack in scenarios 6-7 (default 1,10,50)"
    )
    p.add_argument("--ref", help="measure ray_static/__main__.py/Pulumi.yaml as of this git ref")
    p.add_argument(
        "--json", type=Path, default=REPO / "bench" / "results" / "latest.json", help="results file"
    )
    p.add_argument("--doc", type=Path, default=REPO / "docs" / "benchmarks.md", help="markdown report")
    p.add_argument("--no-doc", action="store_true", help="write only the JSON results")
    p.add_argument(
        "--compare", type=Path, help="an earlier results JSON: its ratios become the 'before' column"
    )
    p.add_argument("--from-json", type=Path, help="do not measure: render the report from this results JSON")
    p.add_argument("--timeout", type=float, default=900, help="seconds any one command may take")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, event logs, programs)")
    return p.parse_args(argv)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    # SystemExit unwinds through every `finally`: processes stopped, control plane deleted.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Measures (or reads `--from-json`), writes the results and the report, prints one line per row."""
    ns = parse(sys.argv[1:] if argv is None else argv)
    runs = ns.runs or (2 if ns.quick else 5)
    large = ns.large_workers or (100 if ns.quick else 1000)
    sizes = ns.compose_sizes or ([1, 5] if ns.quick else [1, 10, 50])
    before = Results.from_json(json.loads(ns.compare.read_text())) if ns.compare else None
    command = "bench/run " + " ".join(sys.argv[1:] if argv is None else argv)

    def log(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    if ns.from_json:
        results = Results.from_json(json.loads(ns.from_json.read_text()))
    else:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _on_signal)
        # Started in the background (`bench/run &`, nohup), this process inherits SIGINT and SIGQUIT
        # ignored, and so would every child: the pulumi CLI stops its plugins with SIGINT and, when that is
        # ignored, waits 5 s before killing each one. Children must get the default dispositions.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
        workdir = Path(tempfile.mkdtemp(prefix="ray-static-bench-"))
        log(f"work directory {workdir}")
        if not ns.keep:
            atexit.register(shutil.rmtree, workdir, True)
        opts = Options(
            scenarios=sorted(ns.scenarios),
            runs=runs,
            large_workers=large,
            compose_sizes=sizes,
            ref=ns.ref,
            workdir=workdir,
            timeout=ns.timeout,
            log=log,
            nodes=nodes_for(large) if 5 in ns.scenarios else 3,
        )
        try:
            results = execute(opts)
        except BenchError as e:
            log(f"FAILED: {e}")
            log(f"logs kept in {workdir}/logs" if ns.keep else "rerun with --keep to keep the logs")
            return 1
        results.meta["command"] = command
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        ns.json.write_text(json.dumps(results.to_json(), indent=1) + "\n")
        log(f"results in {ns.json}")
    if not ns.no_doc:
        drawn = charts.draw(results, ns.doc.parent / CHARTS_DIR)
        relative = {k: [str(p.relative_to(ns.doc.parent)) for p in v] for k, v in drawn.items()}
        ns.doc.write_text(report.render(results, before, results.meta.get("command", command), relative))
        log(f"report in {ns.doc}, charts in {ns.doc.parent / CHARTS_DIR}")
    for line in report.headline(results, before):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
