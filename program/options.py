"""The program's own stack-config keys: those that are not RayCluster options (ray_static/config/options.py).

Pulumi.yaml's `config:` block and docs/configuration.md's table render these after the option table's keys
(program/schema.py); tests/unit/test_options.py holds every key to exactly one declaration.
"""

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class ProgramOption:
    """One program-level key; every value is a JSON string in the stack config."""

    key: str
    kind: Literal["jobs", "serve"]
    default: Any
    description: str


PROGRAM_OPTIONS: tuple[ProgramOption, ...] = (
    ProgramOption(
        "jobs",
        "jobs",
        [],
        'Ray jobs to run on the cluster, as JSON, e.g. [{"name": "hello", "entrypoint": "python hello.py", '
        '"runtime_env": {}, "wait": true}].',
    ),
    ProgramOption(
        "serveConfig",
        "serve",
        None,
        "Ray Serve applications to deploy on the cluster (a RayServe; turns serve on), as JSON, e.g. "
        '{"applications": [{"name": "fruit", "import_path": "fruit:app", "route_prefix": "/fruit"}]}.',
    ),
)

PROGRAM_KEYS = {o.key: o for o in PROGRAM_OPTIONS}
