"""`venv/bin/python -m bench.node` (root): ray-static's create on the real node against Ray's floor, side by
side, alternating, with a per-phase timeline of each; writes docs/benchmarks-startup.md and its chart.

    venv/bin/python -m bench.node                 3 rounds, 2 workers
    venv/bin/python -m bench.node --rounds 5 --json bench/results/node-startup.json

With `--scenario create|scale|head-restart|idle`, one of the comparisons with KubeRay instead (see
bench/node/scenarios.py): writes bench/results/node-<scenario>.json and docs/benchmarks-kuberay.md, which
shows every scenario saved so far.

    venv/bin/python -m bench.node --scenario create --rounds 3
    venv/bin/python -m bench.node --scenario idle --rounds 1 --idle-seconds 300

It brings the node up (`scripts/node.sh up`) unless one is running, and takes it down again if it did.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import REPO
from bench.node import comparison, report, scenarios
from bench.node.cluster import Created, Node, Stack, create_floor, destroy_floor, toolchain_env, workdir
from bench.node.timeline import summary, timelines, workers_alive_after


def measured(kind: str, created: Created, destroy_s: float) -> dict[str, Any]:
    """One create as numbers: seconds to the command's return, to every worker alive in Ray (Ray's own
    node start times), the phase summary and the destroy time."""
    lines = timelines(created.pods, created.ray_nodes, created.roles, created.t0)
    alive = workers_alive_after(lines)
    if alive is None:
        raise RuntimeError(f"{kind}: a worker pod has no alive Ray node")
    return {
        "kind": kind,
        "returned_s": round(created.returned - created.t0, 2),
        "alive_s": round(alive, 2),
        "phases": summary(lines),
        "pods": [{"name": t.name, "role": t.role, "phases": t.phases} for t in lines],
        "destroy_s": round(destroy_s, 2),
    }


def run(rounds: int, workers: int, source: Path) -> dict[str, Any]:
    node = Node.up(toolchain_env())
    runs: list[dict[str, Any]] = []
    try:
        stack = Stack(node, workdir(), source)
        for i in range(rounds):
            order = ("floor", "ray-static") if i % 2 == 0 else ("ray-static", "floor")
            for kind in order:
                load = round(os.getloadavg()[0], 2)
                if kind == "floor":
                    created = create_floor(node, workers)
                    runs.append(measured(kind, created, destroy_floor(node)))
                else:
                    created = stack.create(workers)
                    runs.append(measured(kind, created, stack.destroy()))
                last = runs[-1]
                last["load_1m"] = load
                print(
                    f"round {i + 1} {kind}: returned {last['returned_s']} s, "
                    f"workers alive {last['alive_s']} s",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        node.down()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rounds": rounds,
        "workers": workers,
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.node", description="ray-static's create on the real node against Ray's floor"
    )
    p.add_argument(
        "--scenario",
        choices=("startup", *scenarios.SCENARIOS),
        default="startup",
        help="startup (default): ray-static against the floor; the others compare with KubeRay",
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--idle-seconds", type=float, default=180, help="the idle scenario's window")
    p.add_argument("--json", type=Path, help="default: bench/results/node-<scenario>.json")
    p.add_argument("--from-json", type=Path, help="only redraw the page from a saved run")
    p.add_argument(
        "--source",
        type=Path,
        default=REPO,
        help="measure the program and component of this checkout (e.g. a "
        "`git worktree` of an older commit) instead of this one",
    )
    p.add_argument("--doc", type=Path, help="default: docs/benchmarks-startup.md, or -kuberay.md")
    args = p.parse_args(argv)
    results_dir = REPO / "bench" / "results"
    args.json = args.json or results_dir / f"node-{args.scenario}.json"
    if args.scenario != "startup":
        return compare(args, results_dir)
    args.doc = args.doc or REPO / "docs" / "benchmarks-startup.md"
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        results = run(args.rounds, args.workers, args.source.resolve())
        results["source"] = str(args.source)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    report.write(results, args.doc)
    for line in report.headline(results):
        print(line)
    return 0


def compare(args: argparse.Namespace, results_dir: Path) -> int:
    """One KubeRay comparison scenario: run (or reload), save, and redraw the page of all of them."""
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        results = scenarios.run(
            args.scenario, args.rounds, args.workers, args.source.resolve(), args.idle_seconds
        )
        results["source"] = str(args.source)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    by_scenario = {**comparison.load(results_dir), args.scenario: results}
    comparison.write(by_scenario, args.doc or REPO / "docs" / "benchmarks-kuberay.md")
    for line in comparison.headline(by_scenario):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
