"""The option table is the one declaration: the TypedDicts, Pulumi.yaml, docs/configuration.md's table and the
defaults agree with it, and every validator it names refuses what it should."""

import ast
from collections.abc import Awaitable
from typing import Any, Union, get_args, get_origin

import pytest
import yaml

from program import schema
from program.options import PROGRAM_OPTIONS
from program.schema import config_schema, config_table
from program.sync import CONFIG_PAGE, config_page, pulumi_yaml
from ray_static.config import checks
from ray_static.config.checks import At
from ray_static.config.options import BY_KEY, OPTIONS, Option
from ray_static.errors import RayStaticConfigError
from ray_static.inputs.cluster import (
    DisruptionBudgetArgs,
    EgressArgs,
    GcsFaultToleranceArgs,
    HeadArgs,
    IngressArgs,
    MetricsArgs,
    RayClusterArgs,
    ResourcesArgs,
    SecretKeyArgs,
    TolerationArgs,
    WorkerGroupArgs,
)
from tests.support.render import REPO_ROOT

# What each kind is in the TypedDicts the schema is inferred from.
KIND_TYPES: dict[str, set[Any]] = {
    "integer": {int},
    "boolean": {bool},
    "string": {str},
    "list": {list[str]},
    "map": {dict[str, str]},
    "object": {dict[str, Any]},
    "objects": {list[dict[str, Any]]},
    "numbers": {dict[str, float]},
    "secret_env": {dict[str, SecretKeyArgs]},
    "groups": {list[WorkerGroupArgs]},
    "tolerations": {list[TolerationArgs]},
    "record": {MetricsArgs, IngressArgs, GcsFaultToleranceArgs, EgressArgs, DisruptionBudgetArgs},
    "pod": {HeadArgs},
}


def plain_type(annotation: Any) -> Any:
    """The annotation with every `pulumi.Input[T]` read as T (``Input[dict[str, Input[str]]]`` ->
    ``dict[str, str]``): the kind says what the value is once known."""
    arguments = get_args(annotation)
    # pulumi.Input[T] is Union[T, Awaitable[T], Output[T]]
    if get_origin(annotation) is Union and any(get_origin(a) is Awaitable for a in arguments):
        return plain_type(arguments[0])
    origin = get_origin(annotation)
    if origin is dict:
        return dict[plain_type(arguments[0]), plain_type(arguments[1])]
    if origin is list:
        return list[plain_type(arguments[0])]
    return annotation


def annotation(path: str) -> Any:
    """The TypedDict annotation of an argument path (``head_resources.cpu`` -> ResourcesArgs' cpu), with
    Inputs read as their values."""
    head, _, tail = path.partition(".")
    hints = RayClusterArgs.__annotations__
    if not tail:
        return plain_type(hints[head])
    assert plain_type(hints[head]) is ResourcesArgs, path
    return plain_type(ResourcesArgs.__annotations__[tail])


def test_keys_and_paths_are_unique() -> None:
    assert len(BY_KEY) == len(OPTIONS)
    assert len({o.path for o in OPTIONS}) == len(OPTIONS)


def unmatched_arguments(options: tuple[Option, ...]) -> set[str]:
    """Top-level arguments without an option, and options without an argument."""
    heads = {o.path.partition(".")[0] for o in options} - {"name"}
    return heads ^ set(RayClusterArgs.__annotations__)


def test_every_argument_has_an_option_and_every_option_an_argument() -> None:
    assert unmatched_arguments(OPTIONS) == set()


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.path != "name"], ids=lambda o: o.key)
def test_the_kind_matches_the_argument_type(option: Option) -> None:
    assert annotation(option.path) in KIND_TYPES[option.kind]


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.check is not None], ids=lambda o: o.key)
def test_every_default_passes_its_own_check(option: Option) -> None:
    assert option.check is not None
    option.check(option.default, At(option.path))


def test_pulumi_yaml_declares_exactly_the_table() -> None:
    text = (REPO_ROOT / "Pulumi.yaml").read_text()
    assert yaml.safe_load(text)["config"] == config_schema()
    assert pulumi_yaml(text) == text, "Pulumi.yaml is stale: run scripts/sync-config"


YAML_TYPES = {"integer": int, "boolean": bool, "string": str}


@pytest.mark.parametrize("key", sorted(config_schema()))
def test_every_default_in_pulumi_yaml_has_its_declared_type(key: str) -> None:
    """The Pulumi CLI refuses to load a project whose default does not match its type (e.g. "" for an
    integer), before it runs anything."""
    declared = config_schema()[key]
    assert type(declared["default"]) is YAML_TYPES[declared["type"]], declared


def test_config_page_table_is_the_table() -> None:
    text = (REPO_ROOT / CONFIG_PAGE).read_text()
    assert config_page(text) == text, f"{CONFIG_PAGE}'s config table is stale: run scripts/sync-config"
    assert config_table() in text


def test_an_option_added_only_to_the_table_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the tests above see when someone adds an option to the table and nowhere else."""
    extra = Option("extra", "extra", "boolean", False, "Declared in the table only.", checks.boolean)
    monkeypatch.setattr(schema, "OPTIONS", (*OPTIONS, extra))
    text = (REPO_ROOT / "Pulumi.yaml").read_text()
    assert pulumi_yaml(text) != text
    assert config_page((REPO_ROOT / CONFIG_PAGE).read_text()) != (REPO_ROOT / CONFIG_PAGE).read_text()
    assert unmatched_arguments((*OPTIONS, extra)) == {"extra"}


def test_typed_dicts_document_every_field() -> None:
    """The docstring under each field is its schema description for other languages."""
    tree = ast.parse((REPO_ROOT / "ray_static" / "inputs" / "cluster.py").read_text())
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        body = cls.body
        for i, node in enumerate(body):
            if isinstance(node, ast.AnnAssign):
                following = body[i + 1] if i + 1 < len(body) else None
                assert isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant), (
                    f"{cls.name}.{ast.unparse(node.target)} has no docstring"
                )


CHECK_CASES: list[tuple[str, checks.Check, Any, str]] = [
    ("count", checks.count, -1, "x: got -1; expected a whole number from 0 to 1000."),
    ("count bool", checks.count, True, "x: got True; expected a whole number from 0 to 1000."),
    (
        "cpu",
        checks.cpu,
        "1.5",
        'x: got "1.5"; expected a whole number of CPUs such as "2" or "2000m" (Ray schedules whole CPUs).',
    ),
    (
        "cpu int",
        checks.cpu,
        2,
        'x: got 2; expected a string such as "2" (a Kubernetes quantity).',
    ),
    (
        "memory",
        checks.memory,
        "100Mi",
        'x: got "100Mi"; expected a Kubernetes memory quantity of at least 512Mi, such as "4Gi".',
    ),
    ("one_of", checks.one_of("A", "B", "C"), "D", 'x: got "D"; expected "A", "B" or "C".'),
    (
        "image",
        checks.image,
        "ray ray",
        'x: got "ray ray"; expected a container image reference such as "rayproject/ray:2.60.0".',
    ),
    ("ray_version", checks.ray_version, "2.60", 'x: got "2.60"; expected a Ray version such as "2.60.0".'),
    ("str_list", checks.str_list, "a,b", 'x: got "a,b"; expected a list of strings.'),
    ("str_list item", checks.str_list, ["a", 1], "x[1]: got 1; expected a string."),
    (
        "label_map key",
        checks.label_map,
        {"-bad": "v"},
        'x.-bad: got "-bad"; expected a Kubernetes label key such as "team" or "example.com/team".',
    ),
    (
        "env name",
        checks.env_map,
        {"1 X": "v"},
        "x.1 X: got \"1 X\"; expected an environment variable name (letters, digits, '_', '-', '.').",
    ),
    (
        "affinity kind",
        checks.affinity,
        {"nodeAffinty": {}},
        'x.nodeAffinty: got "nodeAffinty"; expected "nodeAffinity", "podAffinity" or "podAntiAffinity".',
    ),
    ("token type", checks.token, 12345678901234567, "x: got a int; expected a string (a secret)."),
    (
        "object name",
        checks.object_name,
        "Reg_Cred",
        "x: got \"Reg_Cred\"; expected a Kubernetes object name (lowercase letters, digits, '-' and '.').",
    ),
]


@pytest.mark.parametrize(("case", "check", "value", "message"), CHECK_CASES, ids=[c[0] for c in CHECK_CASES])
def test_checks_refuse_in_one_sentence(case: str, check: checks.Check, value: Any, message: str) -> None:
    with pytest.raises(RayStaticConfigError) as failure:
        check(value, At("x"))
    assert str(failure.value) == message, case


def test_at_names_nested_paths_through_the_naming() -> None:
    at = At("worker_groups", lambda p: p.upper()).item(2).field("replicas")
    assert (at.path, at.name) == ("worker_groups[2].replicas", "WORKER_GROUPS[2].REPLICAS")


MAX_FUNCTION_LINES = 60


def test_functions_in_the_package_fit_on_one_screen() -> None:
    long = []
    for path in sorted((REPO_ROOT / "ray_static").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO_ROOT)}:{node.name} ({lines} lines)")
    assert not long, f"functions longer than {MAX_FUNCTION_LINES} lines: {long}"


def test_no_module_reads_stack_config() -> None:
    """The package takes args only; reading `ray-static:*` config is the program's job (program/)."""
    for path in (REPO_ROOT / "ray_static").rglob("*.py"):
        text = path.read_text()
        assert "pulumi.Config(" not in text and "get_config_env" not in text, path.name


def test_program_keys_are_declared_once_and_are_no_cluster_options() -> None:
    """The program's own keys (program/options.py) share the config namespace with the option table."""
    keys = [o.key for o in OPTIONS] + [o.key for o in PROGRAM_OPTIONS]
    assert len(keys) == len(set(keys))
    assert not {o.key for o in PROGRAM_OPTIONS} & set(RayClusterArgs.__annotations__)
    rendered = config_schema()
    page = (REPO_ROOT / CONFIG_PAGE).read_text()
    for option in PROGRAM_OPTIONS:
        assert rendered[option.key]["description"] == option.description
        assert f"| `{option.key}` |" in page
