"""Shared renders: one mock run per configuration, reused by the tests that only read it."""

import pytest

from tests.support.render import Rendered, Run, run_cluster


@pytest.fixture(scope="session")
def default_run() -> Run:
    """`RayCluster("ray", {})`: what the default stack deploys."""
    return run_cluster()


@pytest.fixture(scope="session")
def rendered(default_run: Run) -> list[Rendered]:
    return default_run.resources
