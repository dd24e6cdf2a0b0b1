"""What a run ran on: tool versions, the machine, and its load (recorded in the results' meta)."""

import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path

from bench import PYTHON
from tests.support.versions import pinned_versions


def versions(env: Mapping[str, str]) -> dict[str, str]:
    """Versions of the CLI, SDKs, provider, control plane and Python, and the machine's CPU and memory."""

    def out(*argv: str) -> str:
        try:
            return subprocess.run(
                argv, env=dict(env), check=False, capture_output=True, text=True, timeout=60
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"

    pinned = pinned_versions()
    sdk = out(
        PYTHON,
        "-c",
        "from importlib.metadata import version as v; print(v('pulumi'), v('pulumi_kubernetes'))",
    ).split()
    return {
        "pulumi CLI": out("pulumi", "version"),
        "pulumi Python SDK": sdk[0] if sdk else "?",
        "pulumi-kubernetes SDK": sdk[1] if len(sdk) > 1 else "?",
        "pulumi-resource-kubernetes": pinned.get("PULUMI_K8S_PROVIDER_VERSION", "?"),
        "Kubernetes (control plane, kubectl)": pinned.get("KUBERNETES_VERSION", "?"),
        "kwok": pinned.get("KWOK_VERSION", "?"),
        "Python": out(PYTHON, "-c", "import platform; print(platform.python_version())"),
        "cores": str(os.cpu_count()),
        "CPU": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "memory": f"{int(_proc_field('/proc/meminfo', 'MemTotal').split()[0]) / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
    }


def _proc_field(path: str, name: str) -> str:
    """The value of the first `name: value` line of a /proc file ("" if there is none)."""
    return next(
        (
            line.split(":", 1)[1].strip()
            for line in Path(path).read_text().splitlines()
            if line.startswith(name)
        ),
        "",
    )


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
