"""Startup, readiness and liveness probes that fit the Ray version in the image (KubeRay's timeouts)."""

from dataclasses import dataclass

import pulumi_kubernetes.core.v1 as core

from ray_static import constants as c


@dataclass(frozen=True)
class Timing:
    initial_delay_seconds: int
    period_seconds: int
    failure_threshold: int


STARTUP = Timing(initial_delay_seconds=0, period_seconds=1, failure_threshold=630)
"""Asked every second from the container's start, so the pod turns Ready within a second of Ray answering
(the readiness probe runs at once when this one passes). 630 s, the time the liveness probe gave a
starting node before (30 s delay + 120 x 5 s), before the container is restarted: a worker waiting for a
head that is away (its command waits for the GCS) is never cut short sooner than it was."""
READINESS = Timing(initial_delay_seconds=0, period_seconds=5, failure_threshold=10)
LIVENESS = Timing(initial_delay_seconds=0, period_seconds=5, failure_threshold=120)
"""A live Ray node gets 10 minutes to answer again before it is restarted (KubeRay's value); neither probe
runs before the startup probe has passed."""
WORKER_TIMEOUT_SECONDS = 2
HEAD_TIMEOUT_SECONDS = 5
"""Probe timeouts as KubeRay's ray-operator/controllers/ray/utils/constant.go sets them: workers
DefaultReadinessProbeTimeoutSeconds = DefaultLivenessProbeTimeoutSeconds = 2, the head
DefaultHeadReadinessProbeTimeoutSeconds = DefaultHeadLivenessProbeTimeoutSeconds = 5, since the head's
check also covers the GCS (older Ray: two `wget -T 2` in a row)."""
WGET_TIMEOUT_SECONDS = 2
"""Each HTTP check of the legacy exec probe (KubeRay's BaseWgetHealthCommand uses `wget -T 2`)."""


def uses_healthz(ray_version: tuple[int, int, int]) -> bool:
    """Ray >= 2.53 serves one node health endpoint, /api/healthz, on the dashboard agent."""
    return ray_version >= c.HEALTHZ_MIN_VERSION


def _wget(url: str) -> str:
    return f"wget -T {WGET_TIMEOUT_SECONDS} -q -O- {url} | grep success"


def legacy_health_command(node_type: str) -> list[str]:
    """Older Ray: the raylet's health endpoint on every node, plus the GCS's on the head."""
    checks = [_wget(f"http://localhost:{c.DASHBOARD_AGENT_LISTEN_PORT}/api/local_raylet_healthz")]
    if node_type == c.HEAD:
        checks.append(_wget(f"http://localhost:{c.DASHBOARD_PORT}/api/gcs_healthz"))
    return ["bash", "-c", " && ".join(checks)]


def _probe(ray_version: tuple[int, int, int], node_type: str, timing: Timing) -> core.ProbeArgs:
    healthz = uses_healthz(ray_version)
    return core.ProbeArgs(
        http_get=(
            core.HTTPGetActionArgs(path="/api/healthz", port=c.DASHBOARD_AGENT_LISTEN_PORT)
            if healthz
            else None
        ),
        exec_=None if healthz else core.ExecActionArgs(command=legacy_health_command(node_type)),
        initial_delay_seconds=timing.initial_delay_seconds,
        period_seconds=timing.period_seconds,
        failure_threshold=timing.failure_threshold,
        timeout_seconds=HEAD_TIMEOUT_SECONDS if node_type == c.HEAD else WORKER_TIMEOUT_SECONDS,
        success_threshold=1,
    )


def startup_probe(ray_version: tuple[int, int, int], node_type: str) -> core.ProbeArgs:
    return _probe(ray_version, node_type, STARTUP)


def readiness_probe(ray_version: tuple[int, int, int], node_type: str) -> core.ProbeArgs:
    return _probe(ray_version, node_type, READINESS)


def liveness_probe(ray_version: tuple[int, int, int], node_type: str) -> core.ProbeArgs:
    return _probe(ray_version, node_type, LIVENESS)
