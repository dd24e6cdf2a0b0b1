"""The pinned toolchain versions (scripts/versions.env), for tests that must agree with them."""

from functools import cache
from pathlib import Path

VERSIONS_ENV = Path(__file__).resolve().parents[2] / "scripts" / "versions.env"


@cache
def pinned_versions() -> dict[str, str]:
    """scripts/versions.env as a dict (plain KEY=value lines; comments and blanks skipped)."""
    pairs = (
        line.split("=", 1)
        for line in VERSIONS_ENV.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}
