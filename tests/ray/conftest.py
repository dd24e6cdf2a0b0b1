"""Fixtures for the Ray-level tests: one harness per module, removed even when a test fails."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.ray.cluster import NOTES, TIMINGS
from tests.ray.harness import Harness


@pytest.fixture(scope="module")
def ray_harness() -> Iterator[Harness]:
    missing = [
        tool for tool in ("ip", "unshare", "nsenter", "setpriv", "curl", "ss") if not shutil.which(tool)
    ]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"the Ray harness needs root and {', '.join(missing) or 'network namespaces'}")
    harness = Harness()
    try:
        yield harness
    finally:
        harness.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        terminalreporter.section("ray harness timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name:<55} {seconds:7.1f}s")
    for text in NOTES:
        terminalreporter.write_line(f"note: {text}")
