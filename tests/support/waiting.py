"""Polling until something holds: the one `wait_for` of the end-to-end and real-node tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0) -> T:
    """Calls `check` every `interval` seconds until it returns something truthy, and returns that; after
    `timeout` seconds, an AssertionError naming `what`. The deadline is looked at only after a check, so
    `check` runs at least once and a slow one is never cut short."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
