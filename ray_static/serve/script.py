"""The in-cluster scripts as container commands: rest.py's source, then the deployer's or the keeper's,
run by the image's `python -c` (the pods have the image's Python, not ray-static)."""

import inspect
import json
from types import ModuleType
from typing import Any

from ray_static.serve import deployer, keeper, rest

OWN_IMPORT = "from ray_static.serve."
"""The line by which a script imports rest.py when tested in place; bundled, rest.py's source precedes it."""


def bundled(module: ModuleType) -> str:
    """One script: rest.py's source and the module's, without the import that joins them."""
    source = inspect.getsource(rest) + "\n\n" + inspect.getsource(module)
    return "\n".join(line for line in source.splitlines() if not line.startswith(OWN_IMPORT)) + "\n"


DEPLOYER_SCRIPT = bundled(deployer)
KEEPER_SCRIPT = bundled(keeper)


def deployer_command(config: dict[str, Any], timeout_seconds: int) -> list[str]:
    """The deployer container's command: the script, Serve's config as JSON, how long to wait for it."""
    return ["python", "-c", DEPLOYER_SCRIPT, json.dumps(config, sort_keys=True), str(timeout_seconds)]


def keeper_command() -> list[str]:
    """The keeper container's command."""
    return ["python", "-c", KEEPER_SCRIPT]
