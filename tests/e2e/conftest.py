"""Fixtures for the end-to-end tests: toolchain on PATH, one local control plane per session."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import Cluster, local_cluster, toolchain_env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is an end-to-end test."""
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_env() -> dict[str, str]:
    """The process environment with the built toolchain first on PATH.

    The Automation API looks `pulumi` up on this process's PATH, so the environment is applied here,
    not only passed to subprocesses.
    """
    env = toolchain_env()
    os.environ.update({k: v for k, v in env.items() if k == "PATH" or k.startswith("PULUMI_")})
    return env


@pytest.fixture(scope="session")
def cluster(e2e_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A fresh KWOK-backed control plane for the whole session, deleted at the end."""
    workdir = tmp_path_factory.mktemp("cluster")
    name = f"ray-static-e2e-{os.getpid()}"
    with local_cluster(name, workdir, e2e_env) as c:
        yield c


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `file://` state backend of the module's own."""
    return tmp_path_factory.mktemp("backend")
