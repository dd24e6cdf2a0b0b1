"""Pulumi projects and stacks driven through the real CLI, timed, with the engine's events as milestones.

The CLI is called directly (not through the Automation API) so the wall time measured is exactly one
`pulumi up`/`pulumi preview` process, as a user types it. `--event-log` (behind PULUMI_DEBUG_COMMANDS)
gives the events the breakdown is made of.
"""

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import BenchError, Event, EventTail, Finished, Processes, ProcessWatch

PASSPHRASE = "ray-static-bench"
STACK_TYPE = "pulumi:pulumi:Stack"

# The phases of one `pulumi up`, in order; each ends at the milestone named.
# The Python SDK sends its registrations only once the program's module body has returned (the body runs
# inside the event loop's first step), so the Stack's first step marks "program imported and evaluated".
PHASES: tuple[tuple[str, str], ...] = (
    ("engine start (CLI, backend, plugins, language host)", "program_process"),
    ("Python: SDK import + program import + evaluation", "program_ran"),
    ("resource operations (provider start, calls, awaits)", "last_step"),
    ("finish (outputs, state, plugin shutdown)", "end"),
)
PROCESS_MILESTONES = {
    "program (python)": "program_process",
    "kubernetes provider": "kubernetes_provider_process",
    "dynamic provider (python)": "dynamic_provider_process",
}


@dataclass
class Timed:
    """One timed CLI run: wall seconds, milestones (seconds since start), per-resource step spans."""

    seconds: float
    milestones: dict[str, float] = field(default_factory=dict)
    steps: dict[str, tuple[float, float]] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)

    def phases(self) -> dict[str, float]:
        """Durations of PHASES; a phase whose milestone is missing is folded into the next one."""
        out: dict[str, float] = {}
        last = 0.0
        for label, key in PHASES:
            at = self.seconds if key == "end" else self.milestones.get(key)
            if at is None:
                continue
            at = min(max(at, last), self.seconds)
            out[label] = at - last
            last = at
        return out


def _resource_label(meta: Mapping[str, object]) -> str:
    urn = str(meta.get("urn", ""))
    type_ = str(meta.get("type", ""))
    return f"{type_.rsplit(':', 1)[-1]} {urn.rsplit('::', 1)[-1]}"


def milestones(events: list[Event]) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Milestones and per-resource step spans (start, end) from the engine's events."""
    marks: dict[str, float] = {}
    steps: dict[str, tuple[float, float]] = {}
    started: dict[str, float] = {}
    for ev in events:
        if ev.kind == "preludeEvent":
            marks.setdefault("prelude", ev.at)
        elif ev.kind in ("resourcePreEvent", "resOutputsEvent"):
            meta = ev.body.get("metadata", {})
            if not isinstance(meta, dict):
                continue
            type_ = str(meta.get("type", ""))
            if type_ == STACK_TYPE:
                marks.setdefault("program_ran", ev.at)
                continue
            if type_.startswith("pulumi:providers:"):
                continue
            new = meta.get("new") or meta.get("old") or {}
            custom = bool(new.get("custom")) if isinstance(new, dict) else True
            label = _resource_label(meta)
            if ev.kind == "resourcePreEvent":
                started[label] = ev.at
            else:
                steps[label] = (started.get(label, ev.at), ev.at)
                if custom:
                    marks["last_step"] = ev.at
        elif ev.kind == "summaryEvent":
            marks.setdefault("summary", ev.at)
    return marks, steps


@dataclass
class Program:
    """A Pulumi project directory whose `venv` is the repo's."""

    name: str
    path: Path


class Engine:
    """Runs `pulumi` for the benchmark: one file backend, one passphrase, logs under `logs`."""

    def __init__(self, procs: Processes, env: Mapping[str, str], workdir: Path, timeout: float) -> None:
        self.procs = procs
        self.backend = workdir / "backend"
        self.backend.mkdir(parents=True, exist_ok=True)
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.events = workdir / "events"
        self.events.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.env = {
            **env,
            "PULUMI_BACKEND_URL": f"file://{self.backend}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # Unlocks --event-log (the Automation API sets it too).
            "PULUMI_DEBUG_COMMANDS": "true",
        }
        self._seq = 0

    def _log(self, program: Program, stack: str) -> Path:
        return self.logs / f"{program.name}.{stack}.log"

    def cli(self, program: Program, stack: str, *args: str, timeout: float | None = None) -> Finished:
        """An untimed helper command (`stack init`, `config set-all`, ...)."""
        return self.procs.run(
            ["pulumi", *args, "--stack", stack],
            env=self.env,
            cwd=program.path,
            timeout=timeout or self.timeout,
            log_path=self._log(program, stack),
        )

    def init(self, program: Program, stack: str, config: Mapping[str, str] | None = None) -> None:
        """`pulumi stack init`, then `config` set on the new stack."""
        self.procs.run(
            ["pulumi", "stack", "init", stack, "--non-interactive"],
            env=self.env,
            cwd=program.path,
            log_path=self._log(program, stack),
        )
        if config:
            self.set_config(program, stack, config)

    def set_config(self, program: Program, stack: str, config: Mapping[str, str]) -> None:
        """`pulumi config set-all`: plain values, and keys prefixed `secret:` as secrets."""
        plain = [
            a for k, v in config.items() if not k.startswith("secret:") for a in ("--plaintext", f"{k}={v}")
        ]
        secret = [
            a
            for k, v in config.items()
            if k.startswith("secret:")
            for a in ("--secret", f"{k.removeprefix('secret:')}={v}")
        ]
        self.cli(program, stack, "config", "set-all", *plain, *secret)

    def remove(self, program: Program, stack: str) -> None:
        """Forgets the stack (resources are deleted with their namespace by the caller)."""
        self.cli(program, stack, "stack", "rm", "--yes", "--force")

    def timed(self, program: Program, stack: str, command: str, *, extra: tuple[str, ...] = ()) -> Timed:
        """`pulumi up --yes --skip-preview` or `pulumi preview`, timed; engine events and processes kept."""
        self._seq += 1
        event_log = self.events / f"{program.name}.{stack}.{command}.{self._seq}.jsonl"
        args = ["up", "--yes", "--skip-preview"] if command == "up" else [command]
        argv = ["pulumi", *args, *extra, "--stack", stack, "--color", "never", "--event-log", str(event_log)]
        log_path = self._log(program, stack)
        with log_path.open("a") as log:
            log.write(f"\n$ {' '.join(argv)}\n")
            log.flush()
            boot0 = time.clock_gettime(time.CLOCK_BOOTTIME)
            start = time.perf_counter()
            with EventTail(event_log, start) as tail:
                proc = self.procs.start(argv, env=self.env, cwd=program.path, log=log)
                with ProcessWatch(proc.pid, boot0) as watch:
                    rc = self.procs.wait(proc, self.timeout)
                    seconds = time.perf_counter() - start
                self.procs.reap(proc)
        if rc != 0:
            tail_text = "\n".join(log_path.read_text().splitlines()[-30:])
            raise BenchError(
                f"`{' '.join(argv)}` in {program.path} exited {rc} (log {log_path}):\n{tail_text}"
            )
        marks, steps = milestones(tail.events)
        for kind, at in watch.first_start_by_kind().items():
            if kind in PROCESS_MILESTONES:
                marks[PROCESS_MILESTONES[kind]] = at
        return Timed(seconds, marks, steps, watch.peak_mib_by_kind())


def median_phases(runs: list[Timed]) -> dict[str, float]:
    """Median duration of each phase over `runs`."""
    labels = [label for label, _ in PHASES]
    per = [r.phases() for r in runs]
    return {label: statistics.median(p.get(label, 0.0) for p in per) for label in labels}


def median_steps(runs: list[Timed]) -> dict[str, tuple[float, float]]:
    """Median start and duration of each resource step (seconds since the command started); processes
    the run started appear as "(process start) <kind>" with duration -1."""
    labels = {k for r in runs for k in r.steps}
    out: dict[str, tuple[float, float]] = {}
    for label in labels:
        spans = [r.steps[label] for r in runs if label in r.steps]
        out[label] = (statistics.median(s for s, _ in spans), statistics.median(e - s for s, e in spans))
    for kind, mark in PROCESS_MILESTONES.items():
        starts = [r.milestones[mark] for r in runs if mark in r.milestones]
        if starts:
            out[f"(process start) {kind}"] = (statistics.median(starts), -1.0)
    return dict(sorted(out.items(), key=lambda kv: kv[1][0]))
