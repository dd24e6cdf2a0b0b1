"""A process's CPU and memory read from /proc while it runs (the KubeRay operator's steady-state cost),
and the numbers a run reports from those samples."""

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    """One reading: when (monotonic seconds), CPU time used so far (seconds, all threads, user + system)
    and resident memory (KiB)."""

    at: float
    cpu_s: float
    rss_kib: int


def cpu_seconds(stat: str, ticks: int = CLOCK_TICKS) -> float:
    """utime + stime of /proc/PID/stat. The command name (field 2) may hold spaces and parentheses, so
    the fields are counted after its last ')'."""
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_kib(status: str) -> int:
    """VmRSS of /proc/PID/status (0 for a zombie, which has none)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sample(pid: int, proc: Path = Path("/proc")) -> Sample:
    at = time.monotonic()
    return Sample(
        at,
        cpu_seconds((proc / str(pid) / "stat").read_text()),
        rss_kib((proc / str(pid) / "status").read_text()),
    )


def summary(samples: Sequence[Sample]) -> dict[str, float]:
    """Over the window the samples span: mean CPU in millicores, CPU seconds used, and resident memory
    (MiB) at its mean, peak and end."""
    if len(samples) < 2:
        raise ValueError(f"a usage summary needs at least 2 samples, got {len(samples)}")
    first, last = samples[0], samples[-1]
    window = last.at - first.at
    used = last.cpu_s - first.cpu_s
    return {
        "window_s": round(window, 1),
        "cpu_s": round(used, 3),
        "cpu_millicores": round(1000 * used / window, 2),
        "rss_mib_mean": round(mean(s.rss_kib for s in samples) / 1024, 1),
        "rss_mib_max": round(max(s.rss_kib for s in samples) / 1024, 1),
        "rss_mib_end": round(last.rss_kib / 1024, 1),
    }
