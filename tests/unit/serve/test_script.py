"""The scripts as the pods run them: one self-contained source each, standard library only."""

import ast
import sys

import pytest

from ray_static.serve.script import (
    DEPLOYER_SCRIPT,
    KEEPER_SCRIPT,
    OWN_IMPORT,
    deployer_command,
    keeper_command,
)


@pytest.mark.parametrize("script", [DEPLOYER_SCRIPT, KEEPER_SCRIPT], ids=["deployer", "keeper"])
def test_a_script_imports_only_the_standard_library_and_defines_what_it_uses(script: str) -> None:
    tree = ast.parse(script)
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert modules <= set(sys.stdlib_module_names)
    assert OWN_IMPORT not in script
    namespace: dict[str, object] = {"__name__": "bundled"}
    exec(compile(script, "<script>", "exec"), namespace)
    assert callable(namespace["http"]) and callable(namespace["main"])


def test_the_commands_run_the_images_python() -> None:
    assert deployer_command({"applications": []}, 60)[:2] == ["python", "-c"]
    assert deployer_command({"applications": []}, 60)[3:] == ['{"applications": []}', "60"]
    assert keeper_command() == ["python", "-c", KEEPER_SCRIPT]
