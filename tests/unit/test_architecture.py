"""The package's shape: layers that import one way, the public API and the plugin schema kept as they
are, the lists of what ray-static manages kept equal to what its builders emit, and the package map in
docs/development.md generated from the modules themselves.

The layers, lowest first: the base modules at the top of the package (constants, errors, names, version);
``inputs`` (the Args types); ``config`` (validation into settings: never pulumi_kubernetes); ``cluster``
(the RayCluster component and its builders); ``jobs`` (RayJob) and ``serve`` (RayServe, which reuses the
jobs' target and submitter parts), which reach the cluster's code only through
``ray_static.cluster.shared``. ``ray_static/__init__.py`` and ``schema_docs.py`` face outwards and may import
any layer.
"""

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

import ray_static
from ray_static import RayClusterArgs
from ray_static.config.checks import DEFAULT_ENV, MANAGED_ENV
from ray_static.config.kube_values import MANAGED_LABELS
from ray_static.config.ray_flags import MANAGED_FLAGS
from tests.support import package_map
from tests.support.manifests import all_containers, env_of, ray_start
from tests.support.render import REPO_ROOT, Rendered, run_cluster
from tests.unit.test_schema import schema

PACKAGE = REPO_ROOT / "ray_static"
SCHEMA_SNAPSHOT = REPO_ROOT / "tests" / "data" / "plugin-schema.json"
LAYERS = ("base", "inputs", "config", "cluster", "jobs", "serve")
FACADE = {"ray_static", "ray_static.schema_docs"}
JOBS_DOOR = "ray_static.cluster.shared"
BESIDE_THE_CLUSTER = ("jobs", "serve")
"""Components that deploy to a cluster: they reach its code only through JOBS_DOOR."""
KUBERNETES_FREE = ("base", "inputs", "config")


@dataclass(frozen=True)
class Import:
    """One import statement of a module: the module it names, where, and whether only type checkers see it."""

    module: str
    line: int
    type_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    """``ray_static.config.checks`` -> ``config``; the top-level modules are the base layer."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()):
        return parts[1]
    return "base"


def imports(source: str) -> Iterator[Import]:
    """Every import in ``source``, nested ones (inside functions) included; ``from ray_static.config import
    checks`` names ``ray_static.config.checks`` when that is a module."""

    def visit(node: ast.AST, type_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            guarded = type_only or (isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING")
            if isinstance(child, ast.Import):
                yield from (Import(alias.name, child.lineno, type_only) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    is_module = (REPO_ROOT / sub.replace(".", "/")).with_suffix(".py").exists()
                    yield Import(sub if is_module else child.module, child.lineno, type_only)
            yield from visit(child, guarded)

    yield from visit(ast.parse(source), False)


def violations(module: str, source: str) -> list[str]:
    """What ``module`` imports against the layering, one line each."""
    if module in FACADE:
        return []
    own = layer(module)
    found = []
    for imp in imports(source):
        where = f"{module}:{imp.line} imports {imp.module}"
        if imp.module.startswith("pulumi_kubernetes") and own in KUBERNETES_FREE:
            found.append(f"{where}: the {own} layer never imports pulumi_kubernetes")
        if not imp.module.startswith("ray_static.") or imp.type_only or imp.module in FACADE:
            continue
        theirs = layer(imp.module)
        if own in BESIDE_THE_CLUSTER and theirs == "cluster" and imp.module != JOBS_DOOR:
            found.append(f"{where}: {own} reach the cluster only through {JOBS_DOOR}")
        elif own not in BESIDE_THE_CLUSTER and LAYERS.index(theirs) > LAYERS.index(own):
            found.append(f"{where}: the {own} layer may not import the {theirs} layer above it")
    return found


def test_every_module_imports_only_its_own_layer_and_those_below() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += violations(module_name(path), path.read_text())
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "ray_static.config.x",
            "import pulumi_kubernetes.core.v1 as core",
            "never imports pulumi_kubernetes",
        ),
        (
            "ray_static.config.x",
            "def f():\n    from ray_static.cluster import pods",
            "may not import the cluster",
        ),
        ("ray_static.inputs.x", "from ray_static.config.checks import At", "may not import the config"),
        ("ray_static.jobs.x", "from ray_static.cluster.pods import head_container", "only through"),
        ("ray_static.errors", "from ray_static.inputs import cluster", "may not import the inputs"),
    ],
)
def test_the_layer_check_catches_a_wrong_import(module: str, source: str, expected: str) -> None:
    """The check above can fail: each of these would be refused."""
    assert any(expected in v for v in violations(module, source)), violations(module, source)


def test_type_only_imports_and_the_jobs_door_pass() -> None:
    assert not violations(
        "ray_static.inputs.x",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ray_static.cluster import component",
    )
    assert not violations("ray_static.jobs.x", "from ray_static.cluster.shared import auth_mount")


# --- the public face stays as it was ------------------------------------------------------------------

PUBLIC_NAMES = [
    "DEFAULT_IMAGE",
    "DisruptionBudgetArgs",
    "EgressArgs",
    "GcsFaultToleranceArgs",
    "HeadArgs",
    "IngressArgs",
    "MetricsArgs",
    "PodArgs",
    "RAY_VERSION",
    "RayCluster",
    "RayClusterArgs",
    "RayJob",
    "RayJobArgs",
    "RayJobInputs",
    "RayServe",
    "RayServeArgs",
    "RayServeInputs",
    "RayStaticConfigError",
    "ResourcesArgs",
    "SecretKeyArgs",
    "ServeApplicationArgs",
    "TolerationArgs",
    "WorkerGroupArgs",
    "__version__",
]


def test_from_ray_static_import_gives_the_same_names() -> None:
    assert sorted(ray_static.__all__) == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        assert getattr(ray_static, name) is not None


def test_the_plugin_schema_is_the_recorded_one() -> None:
    """Other languages' API. A deliberate change: rewrite the record with
    ``venv/bin/python -m tests.unit.test_architecture`` and review its diff."""
    assert schema() == json.loads(SCHEMA_SNAPSHOT.read_text())


# --- what ray-static manages is what it emits --------------------------------------------------------

EMITTING_ARGS: dict[str, Any] = {
    "gcs_fault_tolerance": {"redis_address": "redis:6379", "redis_password_secret": "redis"},
    "metrics": {"grafana_url": "http://grafana:80", "prometheus_url": "http://prometheus:9090"},
    "serve": True,
    "ray_resources": {"accel": 1},
    "ray_labels": {"zone": "a"},
}
"""Options that make the builders emit every variable, flag and label they can."""
NEVER_EMITTED_ENV = {"RAY_AUTH_TOKEN"}
"""Refused because it would override the token file ray-static mounts, though never set itself."""
NEVER_EMITTED_FLAGS = {"--labels-file"}
"""Refused because ray-static passes --labels, which it would contradict."""


@pytest.fixture(scope="module")
def emitting() -> list[Rendered]:
    return run_cluster(cast(RayClusterArgs, EMITTING_ARGS)).resources


def emitted_env(rendered: list[Rendered]) -> set[str]:
    return {name for c in all_containers(rendered) for name in env_of(c)}


def emitted_flags(rendered: list[Rendered]) -> set[str]:
    flags = set()
    for c in all_containers(rendered):
        command = c.get("command") or []
        if command[:2] == ["/bin/bash", "-c"] and "exec ray start" in command[2]:
            flags |= {arg.split("=")[0] for arg in ray_start(command) if arg.startswith("--")}
    return flags


def emitted_labels(rendered: list[Rendered]) -> set[str]:
    labels = set()
    for r in rendered:
        if r.type == "kubernetes:apps/v1:Deployment":
            labels |= set(r.inputs["spec"]["template"]["metadata"]["labels"])
            labels |= set(r.inputs["spec"]["selector"]["matchLabels"])
        if r.type == "kubernetes:core/v1:Service":
            labels |= set(r.inputs["spec"]["selector"])
    return labels


def test_the_managed_variables_are_the_ones_the_builders_set(emitting: list[Rendered]) -> None:
    assert emitted_env(emitting) == (set(MANAGED_ENV) - NEVER_EMITTED_ENV) | set(DEFAULT_ENV)
    assert not set(MANAGED_ENV) & set(DEFAULT_ENV)


def test_the_managed_flags_are_the_ones_the_builders_pass(emitting: list[Rendered]) -> None:
    assert emitted_flags(emitting) == set(MANAGED_FLAGS) - NEVER_EMITTED_FLAGS


def test_the_managed_labels_are_the_ones_on_pods_and_selectors(emitting: list[Rendered]) -> None:
    assert emitted_labels(emitting) == set(MANAGED_LABELS)


def test_a_default_variable_set_by_the_user_appears_once_with_the_users_value() -> None:
    head = {"env": {"RAY_GRAFANA_HOST": "http://grafana.internal:3000"}}
    rendered = run_cluster(cast(RayClusterArgs, {**EMITTING_ARGS, "head": head})).resources
    head_ray = next(c for c in all_containers(rendered) if c["name"] == "ray-head")
    names = [e["name"] for e in head_ray["env"]]
    assert names.count("RAY_GRAFANA_HOST") == 1
    assert env_of(head_ray)["RAY_GRAFANA_HOST"]["value"] == "http://grafana.internal:3000"


# --- the package map ----------------------------------------------------------------------------------


def test_unit_test_files_in_package_folders_are_named_after_a_module_there() -> None:
    """tests/unit/<package>/test_<module>.py tests ray_static/<package>/<module>.py (program/ for the
    program's), so a module's tests are found from its name; cross-cutting tests stay in tests/unit/."""
    mirrored = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} | {"program"}
    folders = {p.name for p in package_map.UNIT_TESTS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders - mirrored == {"platform_stack"}  # a platform team's stack and its tests, run as theirs
    strays = []
    for test_file in sorted(package_map.UNIT_TESTS.glob("*/test_*.py")):
        folder = test_file.parent.name
        if folder not in mirrored:
            continue
        source = (REPO_ROOT / "program") if folder == "program" else (PACKAGE / folder)
        if not (source / f"{test_file.stem.removeprefix('test_')}.py").exists():
            strays.append(str(test_file.relative_to(REPO_ROOT)))
    assert not strays, f"unit test files named after no module: {strays}"


def test_the_package_map_lists_every_module_as_its_docstring_says() -> None:
    text = package_map.PAGE.read_text()
    assert package_map.rendered(text) == text, "run: venv/bin/python -m tests.support.package_map --write"


if __name__ == "__main__":
    SCHEMA_SNAPSHOT.write_text(json.dumps(schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {SCHEMA_SNAPSHOT.relative_to(REPO_ROOT)}")
