"""The Pulumi projects a run measures, made under its work directory from one snapshot of the source."""

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench import PYTHON, REPO
from bench.engine import Program
from bench.kube import PLACEHOLDER_NS
from bench.procs import Processes
from bench.results import Results

TEMPLATES = Path(__file__).resolve().parent / "programs"
"""Programs of the benchmark's own (`empty`, `compose`), copied into the work directory."""
SOURCE_FILES = ("Pulumi.yaml", "__main__.py", "program", "ray_static")
"""What of the repo is measured: the component and the program that configures it (older commits have
no `program/`: only the paths a ref has are taken from it)."""


def snapshot_source(dest: Path, ref: str | None, results: Results) -> None:
    """The component and program to measure: a copy of the working tree, or `ref` from git."""
    dest.mkdir(parents=True)
    if ref:
        present = _git("ls-tree", "--name-only", ref, "--", *SOURCE_FILES).split()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, *present], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        commit = _git("rev-parse", "--short", ref)
        results.meta["source"] = f"git {ref}" + (f" ({commit})" if commit != ref else "")
        return
    for item in SOURCE_FILES:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / item)
    dirty = _git("status", "--porcelain", "--", *SOURCE_FILES)
    results.meta["source"] = f"working tree at {_git('rev-parse', '--short', 'HEAD')}" + (
        " (with uncommitted changes)" if dirty else ""
    )


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def retarget(program: Program, namespace: str) -> None:
    """Points a generated plain program at `namespace` (checked equivalent by the worker)."""
    text = (program.path / "template.py").read_text().replace(PLACEHOLDER_NS, namespace)
    (program.path / "__main__.py").write_text(text)


class Projects:
    """Makes each project once per run (by name) under `<workdir>/programs`, from the snapshot `src`."""

    def __init__(self, procs: Processes, workdir: Path, timeout: float) -> None:
        self.procs = procs
        self.work = workdir
        self.src = workdir / "src"
        self.timeout = timeout
        self._programs: dict[str, Program] = {}
        self._manifests: dict[str, str] = {}

    def worker(self, *args: str) -> Any:
        """`python -m bench.worker ARGS` on the snapshot (see bench/worker.py): its JSON result."""
        result = self.work / "worker-result.json"
        self.procs.run(
            [PYTHON, "-m", "bench.worker", "--src", str(self.src), "--result", str(result), *args],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
            log_path=self.work / "logs" / "worker.log",
            timeout=self.timeout,
        )
        return json.loads(result.read_text())

    def program(self, name: str, template: Path | None = None, with_source: bool = True) -> Program:
        """A project directory: a template's files plus (optionally) the component."""
        if name in self._programs:
            return self._programs[name]
        path = self._project_dir(name)
        if template is not None:
            for item in template.iterdir():
                if item.name != "__pycache__":
                    shutil.copy2(item, path / item.name)
        if with_source:
            for item in SOURCE_FILES:
                src = self.src / item
                if src.is_dir():
                    shutil.copytree(src, path / item, ignore=shutil.ignore_patterns("__pycache__"))
                elif src.exists() and template is None:
                    shutil.copy2(src, path / item)
        (path / "venv").symlink_to(REPO / "venv")
        return self._keep(Program(name, path))

    def plain(self, name: str, args: Mapping[str, Any], clusters: int = 1) -> tuple[Program, str]:
        """The generated plain pulumi_kubernetes program for these args, and the manifests (JSON text)."""
        if name in self._programs:
            return self._programs[name], self._manifests[name]
        path = self._project_dir(name)
        (path / "Pulumi.yaml").write_text(
            f"name: bench-{name}\nruntime:\n  name: python\n  options:\n"
            "    toolchain: pip\n    virtualenv: venv\n"
        )
        (path / "venv").symlink_to(REPO / "venv")
        rendered = self.worker(
            "plain",
            "--clusters",
            str(clusters),
            "--args",
            json.dumps(dict(args)),
            "--out",
            str(path / "template.py"),
        )
        shutil.copy2(path / "template.py", path / "__main__.py")
        manifests = json.dumps({"apiVersion": "v1", "kind": "List", "items": rendered["objects"]})
        self._manifests[name] = manifests
        return self._keep(Program(name, path)), manifests

    def _project_dir(self, name: str) -> Path:
        path = self.work / "programs" / name
        path.mkdir(parents=True)
        return path

    def _keep(self, program: Program) -> Program:
        self._programs[program.name] = program
        return program
