"""Shared renders: one mock run per configuration, reused by the tests that only read it."""

import pytest

from tests.support.render import Rendered, Run, run_cluster

# A platform team's stack and its tests, with Pulumi's own mocks set at import for the whole process:
# test_platform_stack.py runs them in processes of their own.
collect_ignore = ["platform_stack"]


@pytest.fixture(scope="session")
def default_run() -> Run:
    """`RayCluster("ray", {})`: what the default stack deploys."""
    return run_cluster()


@pytest.fixture(scope="session")
def rendered(default_run: Run) -> list[Rendered]:
    return default_run.resources
