"""Processes the benchmark starts: timed runs, cleanup on any exit, memory and engine-event sampling.

Every child runs in a session of its own, so stopping it (and whatever plugins it started) is one
`killpg`. `Processes.stop_all()` runs from the runner's `finally`, from atexit and on SIGTERM/SIGHUP.
"""

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TextIO


class BenchError(RuntimeError):
    """A command the benchmark depends on failed; the message names it and where its log is."""


@dataclass
class Finished:
    """A command that ran to completion."""

    argv: list[str]
    seconds: float
    returncode: int
    output: str


class Processes:
    """Starts children in their own sessions and stops every one still alive on `stop_all()`."""

    def __init__(self) -> None:
        self._live: dict[int, subprocess.Popen[Any]] = {}
        self._lock = threading.Lock()

    def start(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None, log: TextIO | int
    ) -> subprocess.Popen[Any]:
        """Starts `argv` in a session of its own, output to `log`, tracked until it is stopped."""
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        with self._lock:
            self._live[proc.pid] = proc
        return proc

    def wait(self, proc: subprocess.Popen[Any], timeout: float) -> int:
        """Its exit code; past `timeout` it is stopped and TimeoutExpired raised."""
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(proc)
            raise
        finally:
            if proc.poll() is not None:
                with self._lock:
                    self._live.pop(proc.pid, None)

    @staticmethod
    def reap(proc: subprocess.Popen[Any]) -> None:
        """Stops whatever the finished child left running in its session (call once it is timed).

        Plugins move to process groups of their own but stay in the child's session; the CLI normally
        stops them, but not when it is killed.
        """
        _kill_session(proc.pid)

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        """SIGTERM the child's whole process group, then SIGKILL what is left after 5 s, then whatever
        else still runs in its session."""
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                # The leader is gone; plugins it started may linger in its group.
                os.killpg(proc.pid, signal.SIGKILL)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue
            break
        _kill_session(proc.pid)
        with self._lock:
            self._live.pop(proc.pid, None)

    def stop_all(self) -> None:
        """Stops every child still running (and its session)."""
        with self._lock:
            procs = list(self._live.values())
        for proc in procs:
            self.stop(proc)

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        timeout: float = 600,
        check: bool = True,
        log_path: Path | None = None,
        reap: bool = True,
    ) -> Finished:
        """Runs `argv` to completion; its output is captured (and appended to `log_path`).

        `reap=False` skips looking for leftovers in its session (for commands that start no plugins and
        are timed by the caller).
        """
        log_path = log_path or Path(os.devnull)
        with log_path.open("a") as log:
            log.write(f"\n$ {' '.join(argv)}\n")
            log.flush()
            start = time.perf_counter()
            read_from = log.tell()
            proc = self.start(argv, env=env, cwd=cwd, log=log)
            rc = self.wait(proc, timeout)
            seconds = time.perf_counter() - start
            if reap:
                self.reap(proc)
        output = ""
        if log_path != Path(os.devnull):
            with log_path.open() as f:
                f.seek(read_from)
                output = f.read()
        if check and rc != 0:
            tail = "\n".join(output.splitlines()[-25:])
            raise BenchError(f"`{' '.join(argv)}` exited {rc} (log {log_path}):\n{tail}")
        return Finished(list(argv), seconds, rc, output)


# ---------------------------------------------------------------------------------------------------------
# Memory: peak RSS (VmHWM) of every process below a root pid, classified by what it is.
# ---------------------------------------------------------------------------------------------------------


def _kill_session(sid: int) -> None:
    """SIGTERM, then after 2 s SIGKILL, every process left in session `sid` (one this runner created)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = [pid for pid, (_, session) in _stat_map().items() if session == sid]
        if not left:
            return
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and any(session == sid for _, session in _stat_map().values()):
            time.sleep(0.05)


def _stat_map() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, session id) of every process."""
    out: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...: comm may hold spaces or parentheses.
        rest = stat[stat.rfind(")") + 2 :].split()
        out[int(entry.name)] = (int(rest[1]), int(rest[3]))
    return out


def _ppid_map() -> dict[int, int]:
    return {pid: ppid for pid, (ppid, _) in _stat_map().items()}


def _descendants(root: int) -> set[int]:
    parents = _ppid_map()
    found = {root}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return found


def classify(cmdline: list[str]) -> str:
    """What a process in a `pulumi` run is: engine, language host, program, a provider."""
    joined = " ".join(cmdline)
    exe = os.path.basename(cmdline[0]) if cmdline else ""
    if exe in ("sh", "bash", "dash"):
        return "other (shell wrappers, helper commands)"
    if "pulumi-resource-kubernetes" in joined:
        return "kubernetes provider"
    if "pulumi.dynamic" in joined or "pulumi-resource-pulumi-python" in joined:
        return "dynamic provider (python)"
    if "pulumi-language-python-exec" in joined:
        return "program (python)"
    if exe.startswith("pulumi-language-python"):
        return "language host"
    if exe == "pulumi":
        return "engine (pulumi CLI)"
    if exe == "kubectl":
        return "kubectl"
    return "other (shell wrappers, helper commands)"


def _read_hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _read_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [p.decode(errors="replace") for p in f.read().split(b"\0") if p]
    except OSError:
        return []


_TICKS = os.sysconf("SC_CLK_TCK")


def _start_since_boot(pid: int) -> float | None:
    """When the process started, in seconds since boot (CLOCK_BOOTTIME), 10 ms resolution."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[19]) / _TICKS


class _Sampler:
    """Calls `sample()` on a daemon thread, at once and then every `interval` seconds, while the `with`
    block runs (the main thread meanwhile waits for the command being measured)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        """One sample (what subclasses poll)."""
        raise NotImplementedError

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return


class ProcessWatch(_Sampler):
    """Polls /proc below `root`: when each process started (relative to `boot0`, a CLOCK_BOOTTIME reading
    taken when the command started) and its last seen peak RSS, by kind of process."""

    def __init__(self, root: int, boot0: float, interval: float = 0.1) -> None:
        super().__init__(interval)
        self.root = root
        self.boot0 = boot0
        self.peaks: dict[int, int] = {}
        self.kinds: dict[int, str] = {}
        self.started: dict[int, float] = {}

    def sample(self) -> None:
        """Records the processes below `root` not seen yet, and every one's peak RSS so far."""
        pids = _descendants(self.root)
        for pid in pids - self.kinds.keys():
            cmd = _read_cmdline(pid)
            start = _start_since_boot(pid)
            if cmd and start is not None:
                self.kinds[pid] = classify(cmd)
                self.started[pid] = start - self.boot0
        for pid in pids:
            hwm = _read_hwm_kib(pid)
            if hwm is not None:
                self.peaks[pid] = max(hwm, self.peaks.get(pid, 0))

    def peak_mib_by_kind(self) -> dict[str, float]:
        """Peak RSS per kind of process, MiB: the largest process of each kind, and for kinds with several
        processes also "<kind>, all processes (sum)" and "<kind>, number of processes"."""
        out: dict[str, float] = {}
        total: dict[str, float] = {}
        count: dict[str, int] = {}
        for pid, kib in self.peaks.items():
            kind = self.kinds.get(pid, "other (shell wrappers, helper commands)")
            out[kind] = max(out.get(kind, 0.0), kib / 1024)
            total[kind] = total.get(kind, 0.0) + kib / 1024
            count[kind] = count.get(kind, 0) + 1
        for kind, n in count.items():
            if not kind.startswith("other"):
                out[f"{kind}, all processes (sum)"] = total[kind]
                out[f"{kind}, number of processes"] = float(n)
        return out

    def first_start_by_kind(self) -> dict[str, float]:
        """Seconds after the command started when the first process of each kind started."""
        out: dict[str, float] = {}
        for pid, at in self.started.items():
            kind = self.kinds[pid]
            out[kind] = min(at, out.get(kind, at))
        return out


# ---------------------------------------------------------------------------------------------------------
# Engine events: the CLI's --event-log file, tailed live so every event gets its arrival time.
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Event:
    """One engine event of the `--event-log`, with the time it arrived."""

    at: float
    """Seconds since the command started."""
    kind: str
    body: dict[str, Any] = field(default_factory=dict)


class EventTail(_Sampler):
    """Reads JSON lines appended to `path` every 10 ms, stamping each with its arrival time."""

    def __init__(self, path: Path, start: float) -> None:
        super().__init__(0.01)
        self.path = path
        self.start = start
        self.events: list[Event] = []
        self._pos = 0
        self._buf = ""

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        # What the CLI wrote after the last sample.
        self.sample()

    def sample(self) -> None:
        """Reads what was appended since the last sample."""
        try:
            with self.path.open() as f:
                f.seek(self._pos)
                data = f.read()
                self._pos = f.tell()
        except FileNotFoundError:
            return
        now = time.perf_counter() - self.start
        self._buf += data
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = next((k for k in raw if k not in ("sequence", "timestamp")), "unknown")
            body = raw.get(kind)
            self.events.append(Event(now, kind, body if isinstance(body, dict) else {}))
