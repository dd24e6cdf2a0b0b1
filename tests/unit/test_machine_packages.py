"""Every external command the scripts and tests run is on a new machine or installed by a script.

A green CI on a machine where someone once ran `apt-get install` by hand hides a missing install step; a
new machine of this kind (the package list in tests/data/new-machine-packages.txt, copied from the
workplace's list for it) shows it only after twenty minutes of builds. This guard shows it in a second:
each command named in scripts/, bench/, .ci/ and tests/ (tests/support/commands.py reads them) must have
a row in tests/data/commands.tsv, and the row's source must be real: a Debian package that a new machine
has or that a script installs through scripts/debs.sh, a piece the toolchain builds, or the machine's Go.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.commands import Use, is_shell_script, python_uses, shell_uses

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SOURCE_DIRS = ("scripts", "bench", ".ci", "tests", "examples")
SKIP_PARTS = frozenset({"node_modules", "__pycache__", "venv", "data"})
NOBODY_INSTALLS = (
    "which a new machine lacks and no script installs (a *DEB_PACKAGES list passed to scripts/debs.sh)"
)
MACHINE_COMMANDS = frozenset({"go", "gofmt"})
"""Commands a new machine has outside Debian's packages (Go in /usr/local/go)."""


@dataclass(frozen=True)
class Source:
    """Where one command comes from: `deb PACKAGE`, `toolchain PIECE` or `machine WHAT`."""

    kind: str
    name: str


def command_table(path: Path = DATA / "commands.tsv") -> dict[str, Source]:
    """tests/data/commands.tsv: command -> source."""
    table = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            command, kind, name = line.split("\t")
            table[command] = Source(kind, name)
    return table


def new_machine_packages(path: Path = DATA / "new-machine-packages.txt") -> set[str]:
    """The Debian packages a new machine of this kind has (architecture suffixes dropped)."""
    rows = (line.split("\t") for line in path.read_text().splitlines() if line.startswith("apt\t"))
    return {row[1].split(":")[0] for row in rows}


def source_files(root: Path) -> tuple[list[Path], list[Path]]:
    """(shell scripts, Python files) under the project's script and test folders."""
    files = [
        p
        for d in SOURCE_DIRS
        if (root / d).is_dir()
        for p in sorted((root / d).rglob("*"))
        if p.is_file() and not SKIP_PARTS & set(p.relative_to(root).parts)
    ]
    return [p for p in files if is_shell_script(p)], [p for p in files if p.suffix == ".py"]


def shell_install_lists(scripts: Iterable[Path]) -> dict[str, set[str]]:
    """`NAME_DEB_PACKAGES=(...)` arrays that a script passes to debs_install: name -> packages."""
    lists: dict[str, set[str]] = {}
    for path in scripts:
        text = path.read_text()
        for m in re.finditer(r"^\s*([A-Z_]*DEB_PACKAGES)=\(([^)]*)\)", text, re.MULTILINE):
            if re.search(rf'debs_install\s+"\$\{{{m.group(1)}\[@\]\}}"', text):
                lists[f"{path.name}:{m.group(1)}"] = set(m.group(2).split())
    return lists


def python_install_lists(files: Iterable[Path]) -> dict[str, set[str]]:
    """`NAME_DEB_PACKAGES = ("...",)` constants that a module spreads (`*NAME`) into the arguments of
    scripts/debs.sh or a helper that runs it: name -> packages."""
    lists: dict[str, set[str]] = {}
    for path in files:
        tree = ast.parse(path.read_text())
        passed = {
            node.value.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Starred) and isinstance(node.value, ast.Name)
        }
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.endswith("DEB_PACKAGES")
                and node.targets[0].id in passed
                and isinstance(node.value, ast.Tuple)
            ):
                elements = node.value.elts
                values = {
                    e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)
                }
                lists[f"{path.name}:{node.targets[0].id}"] = values
    return lists


def toolchain_binaries(toolchain: Path) -> dict[str, set[str]]:
    """scripts/toolchain.sh's PIECE_TABLE: piece -> the binaries it builds."""
    table = re.search(r"PIECE_TABLE='(.*?)'", toolchain.read_text(), re.DOTALL)
    assert table, "scripts/toolchain.sh has no PIECE_TABLE"
    rows = (line.split() for line in table.group(1).splitlines() if line.strip() and not line.startswith("#"))
    return {row[0]: set(row[5:]) for row in rows}


def problems(root: Path, table: dict[str, Source], machine: set[str]) -> list[str]:
    """One sentence per command that a new machine would lack, or per row that does not hold."""
    scripts, python = source_files(root)
    uses, undeclared = shell_uses(scripts, root)
    uses += python_uses(python)
    installed = set().union(*shell_install_lists(scripts).values(), *python_install_lists(python).values())
    pieces = toolchain_binaries(root / "scripts" / "toolchain.sh")
    found = [
        f"{script}: function {name} runs its arguments as a command; say how many come first in its header "
        f"comment (`{name}() {{ # a b cmd...`)"
        for name, script in sorted(undeclared.items())
    ]
    for use in _first_uses(uses, root):
        where = f"{use.path.relative_to(root)}:{use.line}"
        source = table.get(use.command)
        if source is None:
            found.append(
                f"{where} runs `{use.command}`, which no row of tests/data/commands.tsv names: add where it "
                "comes from (and its Debian package to a script's install list if a new machine lacks it)"
            )
        elif source.kind == "deb" and source.name not in machine | installed:
            found.append(f"{where} runs `{use.command}` from Debian package {source.name}, {NOBODY_INSTALLS}")
        elif source.kind == "toolchain" and use.command not in pieces.get(source.name, set()):
            found.append(f"{where} runs `{use.command}`, which toolchain piece {source.name} does not build")
        elif source.kind == "machine" and use.command not in MACHINE_COMMANDS:
            found.append(f"{where} runs `{use.command}`, which a new machine lacks outside Debian's packages")
    return found


def _first_uses(uses: Iterable[Use], root: Path) -> list[Use]:
    """One use per command (the first by path and line), skipping the project's own scripts."""
    first: dict[str, Use] = {}
    for use in sorted(uses, key=lambda u: (str(u.path), u.line)):
        if (root / "scripts" / use.command).exists() or use.command in first:
            continue
        first[use.command] = use
    return list(first.values())


def test_every_command_is_on_a_new_machine_or_installed_by_a_script() -> None:
    assert problems(REPO, command_table(), new_machine_packages()) == []


def test_every_install_list_names_packages_debian_serves() -> None:
    """The install lists are real: each is passed to scripts/debs.sh, and none is empty."""
    scripts, python = source_files(REPO)
    lists = shell_install_lists(scripts) | python_install_lists(python)
    assert {"node.sh:DEB_PACKAGES", "ray-image.sh:BUILD_DEB_PACKAGES"} <= set(lists)
    assert all(lists.values()), lists


def tree_with_script(root: Path, body: str) -> Path:
    """A project tree holding the toolchain's piece table, the install helper and scripts/forward.sh."""
    (root / "scripts").mkdir()
    for kept in ("toolchain.sh", "debs.sh"):
        shutil.copy(REPO / "scripts" / kept, root / "scripts" / kept)
    (root / "scripts" / "forward.sh").write_text("#!/usr/bin/env bash\n" + body)
    return root


def test_the_guard_fails_for_a_command_nobody_installs(tmp_path: Path) -> None:
    """A script that calls socat (not on a new machine, installed by nothing) is caught, at its line."""
    tree_with_script(
        tmp_path, 'set -euo pipefail\necho "forwarding"\nsocat TCP-LISTEN:8265 TCP:127.0.0.1:8266\n'
    )
    table = command_table() | {"socat": Source("deb", "socat")}
    assert problems(tmp_path, table, new_machine_packages()) == [
        f"scripts/forward.sh:4 runs `socat` from Debian package socat, {NOBODY_INSTALLS}"
    ]
    del table["socat"]
    assert problems(tmp_path, table, new_machine_packages())[0].startswith(
        "scripts/forward.sh:4 runs `socat`, which no row of tests/data/commands.tsv names"
    )


def test_the_guard_accepts_a_package_a_script_installs(tmp_path: Path) -> None:
    tree_with_script(
        tmp_path,
        'FORWARD_DEB_PACKAGES=(socat)\ndebs_install "${FORWARD_DEB_PACKAGES[@]}"\n'
        "socat TCP-LISTEN:8265 TCP:127.0.0.1:8266\n",
    )
    table = command_table() | {"socat": Source("deb", "socat")}
    assert problems(tmp_path, table, new_machine_packages()) == []


@pytest.mark.parametrize("command", sorted(c for c, s in command_table().items() if s.kind == "deb"))
def test_a_row_names_the_package_that_ships_the_command_here(command: str) -> None:
    """Where the command is on this machine, dpkg agrees with the row (a wrong row cannot hide a gap)."""
    path = shutil.which(command)
    if path is None:
        pytest.skip(f"{command} is not installed on this machine (a script installs it when needed)")
    owners = _dpkg_owners(Path(path))
    if not owners:
        pytest.skip(f"{path} belongs to no Debian package here (another installation is first on PATH)")
    assert command_table()[command].name in owners


def _dpkg_owners(path: Path) -> set[str]:
    """The packages dpkg says ship `path`, trying /usr-merged spellings and the resolved link."""
    candidates = {str(path), str(path.resolve())}
    candidates |= {c.removeprefix("/usr") for c in set(candidates)} | {"/usr" + c for c in set(candidates)}
    return {owner for candidate in candidates for owner in _dpkg_paths().get(candidate, set())}


@functools.cache
def _dpkg_paths() -> dict[str, set[str]]:
    """Every file dpkg knows under the bin directories: path -> packages (one dpkg-query for all)."""
    out = subprocess.run(["dpkg-query", "-S", "bin/"], capture_output=True, text=True, check=False).stdout
    owners: dict[str, set[str]] = {}
    for line in out.splitlines():
        packages, _, file = line.partition(": ")
        for package in packages.split(","):
            owners.setdefault(file, set()).add(package.strip().split(":")[0])
    return owners
