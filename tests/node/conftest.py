"""Fixtures for the real-node tests: one real node per module, always taken down again (each module's
stack on it comes from `tests.node.support.deployed_stack`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import toolchain_env
from tests.node.support import (
    TIMINGS,
    NodeSession,
    RealNode,
    log,
    node_dir,
    node_logs_tail,
    node_sh,
    snapshot,
    timed,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/node runs on the real node."""
    for item in items:
        if "tests/node/" in str(item.path):
            item.add_marker(pytest.mark.node)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The measured durations, after the run."""
    if TIMINGS:
        terminalreporter.section("real node timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name:<60} {seconds:7.1f}s")


@pytest.fixture(scope="session")
def node_env() -> dict[str, str]:
    """The environment with the toolchain first on PATH (the Automation API reads os.environ)."""
    env = toolchain_env()
    os.environ.update({k: v for k, v in env.items() if k == "PATH" or k.startswith("PULUMI_")})
    return env


@pytest.fixture(scope="module")
def real_node(node_env: dict[str, str]) -> Iterator[NodeSession]:
    """`scripts/node.sh up` from a machine without a node; `down` at the end whatever happened.

    Fails (never skips) when the node cannot come up: the script's log lines name the piece and its
    message, and the tail of every daemon's log follows.
    """
    if os.geteuid() != 0:
        pytest.fail("the real node needs root (containerd, kubelet, iptables, mounts)")
    if node_sh("status", node_env, timeout=60).returncode == 0 or node_dir().exists():
        log("a node is already up (e.g. from scripts/run): taking it down to start from a clean machine")
        node_sh("down", node_env)
    before = snapshot(node_env)
    t0 = os.times().elapsed
    up = node_sh("up", node_env)
    if up.returncode != 0:
        node_sh("down", node_env)
        pytest.fail(
            f"scripts/node.sh up exited {up.returncode} (its ERROR line above names the piece)\n"
            + node_logs_tail()
        )
    timed("scripts/node.sh up (images and toolchain cached)", os.times().elapsed - t0)
    kubeconfig = Path(up.stdout.strip().splitlines()[-1])
    node = RealNode("ray-static-node", kubeconfig, {**node_env, "KUBECONFIG": str(kubeconfig)})
    try:
        yield NodeSession(node, before, node_env)
    finally:
        node_sh("down", node_env)
