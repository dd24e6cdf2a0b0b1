"""Fixtures for the real-node tests: one real node shared by the modules (brought up once, recycled
when a module leaves something behind, always taken down at the end); each module's stack on it comes
from `tests.node.support.deployed_stack`."""

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
    Redis,
    log,
    node_dir,
    node_logs_tail,
    node_sh,
    running_redis,
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


SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


class SharedNode:
    """One real node for the whole session: `up` when a module first needs it (again after a module took
    it down, as test_real_node's last test does to check that `down` restores the machine), `down` at the
    end. A module that leaves anything behind (a pod, a namespace) gets the node recycled, so the next
    module always starts on a clean node."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.session: NodeSession | None = None

    def get(self) -> NodeSession:
        running = node_sh("status", self.env, timeout=60).returncode == 0
        if self.session is not None and running:
            return self.session
        self.session = None
        if running or node_dir().exists():
            log("a node is already up (e.g. from scripts/run): taking it down to start from a clean machine")
            node_sh("down", self.env)
        before = snapshot(self.env)
        t0 = os.times().elapsed
        up = node_sh("up", self.env)
        if up.returncode != 0:
            node_sh("down", self.env)
            pytest.fail(
                f"scripts/node.sh up exited {up.returncode} (its ERROR line above names the piece)\n"
                + node_logs_tail()
            )
        timed("scripts/node.sh up (images and toolchain cached)", os.times().elapsed - t0)
        kubeconfig = Path(up.stdout.strip().splitlines()[-1])
        node = RealNode("ray-static-node", kubeconfig, {**self.env, "KUBECONFIG": str(kubeconfig)})
        self.session = NodeSession(node, before, self.env)
        return self.session

    def leftovers(self) -> list[str]:
        """What a module left on a node that is still up: pods and namespaces outside the node's own
        (CoreDNS runs in kube-system)."""
        if self.session is None or node_sh("status", self.env, timeout=60).returncode != 0:
            return []
        node = self.session.node
        pods = node.get("pods", "--all-namespaces")["items"]
        namespaces = node.get("namespaces")["items"]
        return [
            f"pod {p['metadata']['namespace']}/{p['metadata']['name']}"
            for p in pods
            if p["metadata"]["namespace"] not in SYSTEM_NAMESPACES
        ] + [
            f"namespace {n['metadata']['name']}"
            for n in namespaces
            if n["metadata"]["name"] not in SYSTEM_NAMESPACES
        ]

    def down(self) -> None:
        node_sh("down", self.env)
        self.session = None


@pytest.fixture(scope="session")
def shared_node(node_env: dict[str, str]) -> Iterator[SharedNode]:
    if os.geteuid() != 0:
        pytest.fail("the real node needs root (containerd, kubelet, iptables, mounts)")
    shared = SharedNode(node_env)
    try:
        yield shared
    finally:
        shared.down()


@pytest.fixture(scope="module")
def real_node(shared_node: SharedNode) -> Iterator[NodeSession]:
    """The session's real node for this module (`scripts/node.sh up` once, not once per module).

    Fails (never skips) when the node cannot come up: the script's log lines name the piece and its
    message, and the tail of every daemon's log follows.
    """
    yield shared_node.get()
    left = shared_node.leftovers()
    if left:
        log(f"the module left {', '.join(left[:5])}: recycling the node for the next one")
        shared_node.down()


@pytest.fixture(scope="module")
def redis(real_node: NodeSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """A Redis on the node's bridge for a module's GCS fault tolerance, stopped after the module."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server
