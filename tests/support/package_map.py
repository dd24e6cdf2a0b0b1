"""The package map in docs/development.md: every module of ray_static with the first sentence of its
docstring, generated so it cannot leave a module out.

    venv/bin/python -m tests.support.package_map --write   # rewrite the map in docs/development.md
"""

import ast
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "ray_static"
PAGE = REPO_ROOT / "docs" / "development.md"
BLOCK = re.compile(r"(<!-- package-map:start -->\n)(.*?)(<!-- package-map:end -->)", re.DOTALL)


def modules() -> list[Path]:
    """Every module of the package, each sub-package's ``__init__`` first, packages in layer order."""
    order = ["", "inputs", "config", "cluster", "jobs"]
    found = sorted(PACKAGE.rglob("*.py"))
    unknown = {p.parent.name for p in found if p.parent != PACKAGE} - set(order)
    order += sorted(unknown)

    def key(path: Path) -> tuple[int, bool, str]:
        package = "" if path.parent == PACKAGE else path.parent.name
        return (order.index(package), path.name != "__init__.py", path.name)

    return sorted(found, key=key)


def summary(path: Path) -> str:
    """The first sentence of a module's docstring, on one line."""
    doc = ast.get_docstring(ast.parse(path.read_text()))
    if not doc:
        raise ValueError(f"{path.relative_to(REPO_ROOT)} has no docstring")
    paragraph = " ".join(doc.split("\n\n")[0].split())
    match = re.match(r"(.+?\.)(\s|$)", paragraph)
    return match[1] if match else paragraph.rstrip(".") + "."


UNIT_TESTS = REPO_ROOT / "tests" / "unit"


def unit_test_file(path: Path) -> Path | None:
    """Where a module's unit tests are: ``ray_static/<package>/<module>.py`` in
    ``tests/unit/<package>/test_<module>.py`` (top-level modules in ``tests/unit/``), when it has its own."""
    package = path.parent.relative_to(PACKAGE)
    name = "__init__" if path.name == "__init__.py" else path.stem
    candidate = UNIT_TESTS / package / f"test_{name}.py"
    return candidate if candidate.exists() else None


def table() -> str:
    rows = ["| Module | What it holds | Unit tests |", "| --- | --- | --- |"]
    for path in modules():
        package = path.name == "__init__.py"
        name = f"**{path.parent.relative_to(REPO_ROOT)}/**" if package else f"`{path.relative_to(REPO_ROOT)}`"
        tests = unit_test_file(path)
        where = f"`{tests.relative_to(REPO_ROOT)}`" if tests else ""
        rows.append(f"| {name} | {summary(path).replace('|', '/')} | {where} |")
    return "\n".join(rows) + "\n"


def rendered(text: str) -> str:
    """``text`` (docs/development.md) with the map between its markers generated anew."""
    if not BLOCK.search(text):
        raise ValueError(f"{PAGE.relative_to(REPO_ROOT)} has no package-map markers")
    return BLOCK.sub(lambda m: m[1] + table() + m[3], text)


if __name__ == "__main__":
    current = PAGE.read_text()
    fresh = rendered(current)
    if "--write" in sys.argv[1:]:
        PAGE.write_text(fresh)
        print(f"wrote the package map in {PAGE.relative_to(REPO_ROOT)}")
    else:
        print(table(), end="")
        sys.exit(0 if fresh == current else 1)
