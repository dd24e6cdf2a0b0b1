"""A platform stack that uses RayCluster and RayJob, unit-tested exactly as Pulumi's testing guide teaches
(tests/unit/platform_stack): the echo mocks, normal and preview.

The guide sets the mocks once, at import, for the whole process, so each mode runs in a process of its
own: nothing of the repository's own mock helper (tests/support/render.py) is involved.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_platform_stack_passes_its_own_tests(preview: bool) -> None:
    env = {**os.environ, "RAY_STATIC_PREVIEW": "1" if preview else "0", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/platform_stack"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "6 passed" in result.stdout
