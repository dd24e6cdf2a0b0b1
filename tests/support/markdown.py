"""The repository's Markdown pages read the way GitHub renders them: fenced code blocks, heading anchors and
relative links, for the tests that keep the README and docs/*.md honest."""

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.support.render import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
PAGES = (README, *sorted(DOCS.glob("*.md")))
"""The README and every docs page (docs/PYPI.md too: it is the package page)."""

FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(?P<title>.+?) *#*$", re.M)


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    """1-based line of the opening fence."""
    lang: str
    code: str
    """The block's text, dedented when the fence was indented (a block inside a list item)."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced code block of ``page``, in order."""
    text = page.read_text()
    return [
        Block(page, text.count("\n", 0, m.start()) + 1, m["lang"], textwrap.dedent(m["code"]))
        for m in FENCE.finditer(text)
    ]


def without_code(text: str) -> str:
    """``text`` with its fenced blocks and inline code spans blanked (links and headings in them are not)."""
    text = FENCE.sub(lambda m: "\n" * m[0].count("\n"), text)
    return re.sub(r"`[^`\n]*`", "``", text)


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link keeps its text
    title = title.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", title).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of every heading of ``page`` (a repeated heading gets -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    text = FENCE.sub(lambda m: "\n" * m[0].count("\n"), page.read_text())
    for m in HEADING.finditer(text):
        base = slug(m["title"])
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    """The targets of ``page``'s links and images that point inside the repository (no scheme)."""
    targets = [m["target"] for m in LINK.finditer(without_code(page.read_text()))]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]
