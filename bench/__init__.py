"""ray-static's benchmarks: the real engine, provider and a local control plane, against the alternatives."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
"""The checkout the benchmarks run from (its venv runs every program and worker)."""
PYTHON = str(REPO / "venv" / "bin" / "python")
"""The repo venv's interpreter: programs, workers and import timings all run under it."""
