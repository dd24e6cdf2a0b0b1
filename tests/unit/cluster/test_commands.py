"""`ray start` lines, the GCS wait loop, and the version-dependent probes."""

import socket
import subprocess
import time

import pytest

from ray_static import constants as c
from ray_static.cluster.commands import head_start_args, pinned_port_args, wait_for_gcs_script, worker_command
from ray_static.cluster.probes import (
    legacy_health_command,
    liveness_probe,
    readiness_probe,
    startup_probe,
    uses_healthz,
)
from ray_static.cluster.wire import to_wire
from ray_static.config.settings import parse_ray_version, resolve


def _flags(args: list[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in args if a.startswith("--")}


def test_every_flag_exists_in_the_installed_ray() -> None:
    """The flags we pass are real `ray start` options (some, like --memory, are hidden from --help)."""
    from ray.scripts.scripts import start  # noqa: PLC0415 (heavy import, this test only)

    known = {opt for param in start.params for opt in param.opts}
    settings = resolve("ray", {})
    group = settings.groups[0]
    worker_args = worker_command(settings, group.resources, group.pod)[2].split("exec ", 1)[1].split()
    used = _flags(head_start_args(settings)) | _flags(worker_args)
    assert used <= known, used - known


def test_pinned_ports_match_the_constants() -> None:
    assert pinned_port_args() == [
        f"--node-manager-port={c.NODE_MANAGER_PORT}",
        f"--object-manager-port={c.OBJECT_MANAGER_PORT}",
        f"--dashboard-agent-grpc-port={c.DASHBOARD_AGENT_GRPC_PORT}",
        f"--dashboard-agent-listen-port={c.DASHBOARD_AGENT_LISTEN_PORT}",
        f"--runtime-env-agent-port={c.RUNTIME_ENV_AGENT_PORT}",
        f"--min-worker-port={c.MIN_WORKER_PORT}",
        f"--max-worker-port={c.MAX_WORKER_PORT}",
    ]


def test_worker_command_waits_then_execs_ray_start() -> None:
    settings = resolve("ray", {})
    command = worker_command(settings, settings.groups[0].resources, settings.groups[0].pod)
    subprocess.run(["bash", "-n", "-c", command[2]], check=True)
    with socket.socket() as server:  # the GCS, listening: the wait returns at once
        server.bind(("127.0.0.1", 0))
        server.listen()
        local = f"/dev/tcp/127.0.0.1/{server.getsockname()[1]}"
        script = command[2].replace("/dev/tcp/ray-gcs-2-60-0.ray.svc.cluster.local/6379", local)
        fake = 'ray() { echo "ray $*"; }; '
        out = subprocess.run(
            ["bash", "-c", fake + script.replace("exec ray", "ray")],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    assert out.stdout.startswith("ray start --address=ray-gcs-2-60-0.ray.svc.cluster.local:6379 ")


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("rayproject/ray:2.60.0", (2, 60, 0)),
        ("rayproject/ray:2.60.0-py311-cpu", (2, 60, 0)),
        ("rayproject/ray:2.47.1-gpu", (2, 47, 1)),
        ("registry.local:5000/ray:2.53.0", (2, 53, 0)),
        ("rayproject/ray:2.60.0@sha256:" + "a" * 64, (2, 60, 0)),
        ("rayproject/ray:latest", None),
        ("rayproject/ray", None),
        ("registry.local:5000/ray", None),
    ],
)
def test_ray_version_from_the_image_tag(image: str, version: tuple[int, int, int] | None) -> None:
    assert parse_ray_version(image) == version


@pytest.mark.parametrize(
    ("version", "healthz"), [((2, 53, 0), True), ((2, 60, 0), True), ((2, 52, 9), False)]
)
def test_probe_kind_by_version(version: tuple[int, int, int], healthz: bool) -> None:
    assert uses_healthz(version) is healthz
    probe = to_wire(readiness_probe(version, c.WORKER))
    assert ("httpGet" in probe) is healthz and ("exec" in probe) is (not healthz)


def timing(probe: dict[str, int]) -> tuple[int, int, int]:
    return (probe["initialDelaySeconds"], probe["periodSeconds"], probe["failureThreshold"])


def test_a_startup_probe_each_second_then_kuberays_readiness_and_liveness_periods() -> None:
    start = to_wire(startup_probe((2, 60, 0), c.HEAD))
    ready = to_wire(readiness_probe((2, 60, 0), c.HEAD))
    live = to_wire(liveness_probe((2, 60, 0), c.HEAD))
    assert timing(start) == (0, 1, 630)
    assert timing(ready) == (0, 5, 10) and timing(live) == (0, 5, 120)
    # A starting node is given as long as before the startup probe (30 s delay + 120 probes of 5 s)
    # before its container is restarted, and a running one as long as KubeRay gives it.
    assert start["periodSeconds"] * start["failureThreshold"] == 30 + 120 * 5
    assert start["httpGet"] == ready["httpGet"] == live["httpGet"]


@pytest.mark.parametrize("version", [(2, 60, 0), (2, 47, 1)])
@pytest.mark.parametrize(("node_type", "timeout"), [(c.HEAD, 5), (c.WORKER, 2)])
def test_probe_timeouts_are_kuberays_head_and_worker_values(
    version: tuple[int, int, int], node_type: str, timeout: int
) -> None:
    for probe in (
        startup_probe(version, node_type),
        readiness_probe(version, node_type),
        liveness_probe(version, node_type),
    ):
        assert to_wire(probe)["timeoutSeconds"] == timeout


def test_legacy_head_probe_fits_its_two_checks_in_its_timeout() -> None:
    # Two `wget -T 2` in a row on the head: 4 s, inside the head's 5 s (why KubeRay made it longer).
    command = legacy_health_command(c.HEAD)[-1]
    assert command.count("wget -T 2 ") == 2
    assert to_wire(readiness_probe((2, 47, 1), c.HEAD))["timeoutSeconds"] > 2 * 2


def test_legacy_probe_checks_gcs_on_the_head_only() -> None:
    assert "gcs_healthz" in legacy_health_command(c.HEAD)[-1]
    assert "gcs_healthz" not in legacy_health_command(c.WORKER)[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_gcs_wait_returns_once_the_port_listens_and_not_before() -> None:
    """The wait script in bash itself: it keeps waiting (and says so) while nothing listens, and returns
    within an interval of the port opening."""
    port = _free_port()
    wait = subprocess.Popen(
        ["/bin/bash", "-c", wait_for_gcs_script(f"127.0.0.1:{port}")], stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(1.2)
        assert wait.poll() is None, "returned while nothing listened"
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()
            opened = time.monotonic()
            wait.wait(timeout=5)
            assert wait.returncode == 0 and time.monotonic() - opened < 2 * c.GCS_WAIT_INTERVAL_SECONDS + 0.5
    finally:
        wait.kill()
        out, _ = wait.communicate()
    assert out.splitlines() == [f"waiting for the Ray head (GCS at 127.0.0.1:{port})"]
