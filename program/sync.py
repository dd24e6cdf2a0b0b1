"""Rewrite Pulumi.yaml's `config:` block and the config table of docs/configuration.md from the option table,
and docs/deployed.svg from the builders.

venv/bin/python -m program.sync          # write all three
venv/bin/python -m program.sync --check  # exit 1 and name the stale file(s) instead of writing
"""

import re
import sys
from pathlib import Path

import yaml

from program import diagram
from program.schema import config_schema, config_table

REPO = Path(__file__).resolve().parents[1]
CONFIG_HEADER = "config:\n"
CONFIG_PAGE = "docs/configuration.md"
CONFIG_TABLE_BLOCK = re.compile(r"(<!-- config-table:start -->\n)(.*?)(<!-- config-table:end -->)", re.DOTALL)


def pulumi_yaml(text: str) -> str:
    """Pulumi.yaml with its `config:` block (the file's last top-level key) rendered anew."""
    head, found, _ = text.partition(CONFIG_HEADER)
    if not found:
        raise ValueError("Pulumi.yaml has no top-level `config:` block")
    body = yaml.safe_dump(config_schema(), sort_keys=False, width=200, allow_unicode=True)
    return head + CONFIG_HEADER + "".join(f"  {line}\n" for line in body.splitlines())


def config_page(text: str) -> str:
    """docs/configuration.md with the table between its config-table markers rendered anew."""
    if not CONFIG_TABLE_BLOCK.search(text):
        raise ValueError(f"{CONFIG_PAGE} has no config-table markers")
    return CONFIG_TABLE_BLOCK.sub(lambda m: m[1] + config_table() + m[3], text)


def picture(_: str) -> str:
    """docs/deployed.svg, drawn anew from the default cluster's objects."""
    return diagram.render()


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    renders = (("Pulumi.yaml", pulumi_yaml), (CONFIG_PAGE, config_page), ("docs/deployed.svg", picture))
    for name, render in renders:
        path = REPO / name
        current = path.read_text() if path.exists() else ""
        wanted = render(current)
        if wanted != current:
            stale.append(name)
            if not check:
                path.write_text(wanted)
    if check and stale:
        print(f"out of date with ray_static: {', '.join(stale)} (run scripts/sync-config)")
        return 1
    print(
        f"rewrote {', '.join(stale)}"
        if stale
        else f"Pulumi.yaml, {CONFIG_PAGE} and the picture are up to date"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
