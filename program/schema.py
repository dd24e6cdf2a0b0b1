"""Pulumi.yaml's `config:` block and the config table of docs/configuration.md, rendered from the option
table and the program's own keys (program/options.py).

`scripts/sync-config` writes both; tests/unit/test_options.py fails when either differs from this
rendering, so an option added in one place only never goes unnoticed.
"""

import json
from typing import Any

from program.options import PROGRAM_OPTIONS, ProgramOption
from ray_static.config.options import OPTIONS, Option

CONFIG_TYPES = {"integer": "integer", "boolean": "boolean"}
"""Pulumi.yaml type per option kind; every other kind is a string (JSON for lists and maps)."""


def config_type(option: Option | ProgramOption) -> str:
    """A key whose default is "not set" is a string whatever its kind: Pulumi.yaml can only say "not set"
    with an empty string (a key without a default is required), and the CLI refuses "" for an integer."""
    if option.default is None:
        return "string"
    return CONFIG_TYPES.get(option.kind, "string")


def config_default(option: Option | ProgramOption) -> Any:
    """The default as the stack config spells it: JSON text for lists and maps, "" for "not set"."""
    if option.default is None:
        return ""
    if option.kind not in ("integer", "boolean", "string"):
        return json.dumps(option.default)
    return option.default


def all_options() -> tuple[Option | ProgramOption, ...]:
    """Every stack-config key: the RayCluster options, then the program's own keys."""
    return (*OPTIONS, *PROGRAM_OPTIONS)


def config_schema() -> dict[str, dict[str, Any]]:
    """The `config:` block of Pulumi.yaml: every key with its type, default and description."""
    return {
        o.key: {"type": config_type(o), "default": config_default(o), "description": o.description}
        for o in all_options()
    }


def _shown(default: Any) -> str:
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return '`""`' if default == "" else f"`{default}`"


def config_table() -> str:
    """The Markdown table of config keys in docs/configuration.md (between its config-table markers)."""
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    rows += [
        f"| `{o.key}` | {config_type(o)} | {_shown(config_default(o))} | {o.description} |"
        for o in all_options()
    ]
    return "\n".join(rows) + "\n"
