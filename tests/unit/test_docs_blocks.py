"""Every code block of the README and docs/*.md does what the page says it does.

- ``python``: executed. A block that sets Pulumi's mocks itself (the unit-testing recipe) runs in a process
  of its own and its ``test_*`` functions are called; every other block runs under the repository's mocks
  (tests/support/render.py) with ``pulumi``, ``k8s`` and ray_static's public names at hand, as the blocks
  that leave out their imports assume, and must create at least one resource.
- ``sh``: parsed with ``bash -n``; every ``scripts/...``, ``bench/...`` or ``.ci/...`` path it names exists,
  and every ``pulumi config set <key>`` names a key of the project it runs in (Pulumi.yaml's ``config:``).
  Inline code in the prose that starts with ``pulumi config set`` is held to the same keys.
- ``yaml``: parsed.
- ``typescript``: type-checked against the generated SDK by tests/e2e/test_typescript.py, which reads it
  from the one page that holds it.
- ``text``: shown output (a tree, an error message); nothing to run.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

import ray_static
from tests.support.markdown import PAGES, Block, blocks, without_code
from tests.support.render import REPO_ROOT, run_programs

LANGUAGES = {"python", "sh", "yaml", "typescript", "text"}
ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]
# What a StackReference to a cluster stack (or a capacity stack) holds in the pages' examples.
STACK_OUTPUTS: dict[str, Any] = {
    "namespace": "ray",
    "dashboard_url": "http://ray-head.ray.svc.cluster.local:8265",
    "auth_secret_name": "ray-auth",
    "image": "rayproject/ray:2.60.0",
    "image_pull_secrets": [],
    "rayImage": "rayproject/ray:2.60.0",
    "rayWorkers": 2,
}
# The stack config the pages' examples read (pulumi.Config() in the project `ray-static`).
CONFIG = {"ray-static:rayToken": "a-token-of-at-least-16-characters"}
# The mocks recipe imports `infra`: tests/unit/platform_stack's stack is written for it.
MOCKS_RECIPE_PATH = REPO_ROOT / "tests" / "unit" / "platform_stack"
PATH_IN_SHELL = re.compile(r"(?<![\w./-])((?:scripts|bench|\.ci)/[\w.-]+(?:/[\w.-]+)*)")
CONFIG_SET = re.compile(
    r"pulumi config set(?P<flags>(?:\s+--?[a-z][\w-]*)*)(?:\s+--)?\s+(?P<key>[A-Za-z][\w:.-]*)"
)


def of(lang: str) -> list[Block]:
    return [block for block in ALL_BLOCKS if block.lang == lang]


def ids(block: Block) -> str:
    return block.where


def test_every_block_names_a_language_this_module_handles() -> None:
    unknown = [
        f"{block.where}: {block.lang or 'no language'}" for block in ALL_BLOCKS if block.lang not in LANGUAGES
    ]
    assert unknown == []


def test_the_pages_have_blocks_of_each_kind() -> None:
    """The fence pattern finds the blocks (indented ones inside list items too)."""
    assert {block.lang for block in ALL_BLOCKS} == LANGUAGES
    assert any(block.code.startswith("kubernetes:batch/v1:Job") for block in of("text"))


# --- python ---------------------------------------------------------------------------------------------


# Older SDKs (the floor of pyproject.toml's range among them) refuse `transforms` under mocks: their
# callback server needs a real engine. Newer mocks resolve the callbacks themselves.
MOCKS_RUN_TRANSFORMS = hasattr(pulumi.runtime.mocks, "_resolve_callbacks")


def prelude() -> dict[str, Any]:
    """The names a block may use without importing them."""
    names = {name: getattr(ray_static, name) for name in ray_static.__all__}
    return {"__name__": "__docs_block__", "pulumi": pulumi, "k8s": k8s, **names}


@pytest.mark.parametrize("block", [b for b in of("python") if "set_mocks" not in b.code], ids=ids)
def test_python_block_runs_under_mocks(block: Block) -> None:
    if "transforms=" in block.code and not MOCKS_RUN_TRANSFORMS:
        pytest.skip("this pulumi SDK's mocks cannot run transforms (the e2e test runs the block's idea)")

    def program() -> None:
        exec(compile(block.code, block.where, "exec"), prelude())

    run = run_programs(program, config=CONFIG, referenced_outputs=STACK_OUTPUTS)
    assert run.resources, f"{block.where}: creates no resource"


@pytest.mark.parametrize("block", [b for b in of("python") if "set_mocks" in b.code], ids=ids)
def test_python_block_with_its_own_mocks_passes_its_tests(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "recipe.py"
    script.write_text(
        block.code
        + "\n\nfor _name, _test in list(globals().items()):\n"
        + "    if _name.startswith('test_') and callable(_test):\n"
        + "        _test()\n"
        + "        print('passed', _name)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO_ROOT), str(MOCKS_RECIPE_PATH)))}
    result = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "passed test_" in result.stdout, f"{block.where}: defines no test function"


# --- sh -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", of("sh"), ids=ids)
def test_shell_block_parses(block: Block) -> None:
    result = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{block.where}: {result.stderr}"


@pytest.mark.parametrize("block", of("sh"), ids=ids)
def test_shell_block_names_existing_scripts(block: Block) -> None:
    missing = [path for path in PATH_IN_SHELL.findall(block.code) if not (REPO_ROOT / path).exists()]
    assert missing == [], block.where


def project_keys(project: Path) -> set[str]:
    """The config keys a project declares in its Pulumi.yaml, bare and with the project's prefix."""
    declared = yaml.safe_load((project / "Pulumi.yaml").read_text())
    keys = set(declared.get("config", {}))
    return keys | {f"{declared['name']}:{key}" for key in keys}


def config_keys_set(code: str) -> list[tuple[Path, str]]:
    """(project directory, key) of every ``pulumi config set`` in ``code``, following ``cd`` into examples."""
    found = []
    for match in CONFIG_SET.finditer(code):
        directories = re.findall(r"\bcd\s+(\S+)", code[: match.start()])
        project = REPO_ROOT / directories[-1] if directories else REPO_ROOT
        found.append((project, match["key"]))
    return found


@pytest.mark.parametrize("block", [b for b in of("sh") if "pulumi config set" in b.code], ids=ids)
def test_shell_block_sets_declared_config_keys(block: Block) -> None:
    unknown = [
        f"{key} (in {project.name})"
        for project, key in config_keys_set(block.code)
        if key not in project_keys(project)
    ]
    assert config_keys_set(block.code) and unknown == [], block.where


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_inline_config_commands_set_declared_keys(page: Path) -> None:
    spans = re.findall(r"`(pulumi config set [^`]*)`", page.read_text())
    keys = project_keys(REPO_ROOT)
    unknown = [span for span in spans for _, key in config_keys_set(span) if key not in keys]
    assert unknown == []


def test_the_config_key_check_has_teeth() -> None:
    assert config_keys_set("pulumi config set --secret authToken x") == [(REPO_ROOT, "authToken")]
    assert config_keys_set("pulumi config set -- workers -1") == [(REPO_ROOT, "workers")]
    assert "worker" not in project_keys(REPO_ROOT)
    platform = config_keys_set("cd examples/platform && pulumi install\npulumi config set kubeconfig x")
    assert platform == [(REPO_ROOT / "examples/platform", "kubeconfig")]


# --- yaml, typescript -----------------------------------------------------------------------------------


@pytest.mark.parametrize("block", of("yaml"), ids=ids)
def test_yaml_block_parses(block: Block) -> None:
    assert isinstance(yaml.safe_load(block.code), dict), block.where


def test_typescript_blocks_live_where_the_e2e_test_type_checks_them() -> None:
    pages = {block.page for block in of("typescript")}
    assert len(of("typescript")) == 1, [block.where for block in of("typescript")]
    e2e = (REPO_ROOT / "tests" / "e2e" / "test_typescript.py").read_text()
    assert [str(page.relative_to(REPO_ROOT)) for page in pages] == re.findall(r'"(docs/\w+\.md)"', e2e)


def test_no_code_hides_outside_the_fences() -> None:
    """An unclosed or mis-indented fence would swallow prose or leave a block unchecked."""
    for page in PAGES:
        assert "```" not in without_code(page.read_text()), page.name
