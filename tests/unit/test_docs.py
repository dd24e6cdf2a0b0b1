"""The docs' tables (config, outputs, stack exports) and the pinned versions stay in step with their
sources; the README stays a short front door that links every docs page, and no relative link is broken."""

import ast
import inspect
import re
from pathlib import Path
from typing import Any, get_origin

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.util import camel_case

import ray_static.jobs.component
from ray_static import RayCluster, RayJob, RayServe
from tests.support.markdown import DOCS, PAGES, anchors, relative_links
from tests.support.render import REPO_ROOT, find, run_cluster, run_programs
from tests.support.versions import pinned_versions
from tests.unit.test_schema import schema

README = (REPO_ROOT / "README.md").read_text()
README_MAX_LINES = 200
SCHEMA: dict[str, dict[str, Any]] = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]
COMPONENTS: dict[str, type[pulumi.ComponentResource]] = {
    "RayCluster": RayCluster,
    "RayJob": RayJob,
    "RayServe": RayServe,
}


def docs_table(marker: str, header: list[str]) -> list[list[str]]:
    """The rows of the table between ``<!-- marker:start -->`` and ``<!-- marker:end -->``, in whichever
    page (the README or docs/*.md) holds those markers; exactly one may."""
    found = [
        (page, match)
        for page in PAGES
        if (
            match := re.search(
                rf"<!-- {marker}:start -->\n(.*?)<!-- {marker}:end -->", page.read_text(), re.DOTALL
            )
        )
    ]
    assert len(found) == 1, f"{marker} markers in {[page.name for page, _ in found] or 'no page'}"
    match = found[0][1]
    lines = [line for line in match[1].strip().splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    assert rows[0] == header
    assert all(len(row) == len(header) for row in rows), f"{marker}: a row without {len(header)} cells"
    return rows[2:]


def shown(default: Any) -> str:
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return '`""`' if default == "" else f"`{default}`"


def test_config_table_matches_pulumi_yaml() -> None:
    expected = [[f"`{k}`", s["type"], shown(s["default"]), s["description"]] for k, s in SCHEMA.items()]
    assert docs_table("config-table", ["Key", "Type", "Default", "Description"]) == expected


def test_readme_keeps_the_run_and_test_commands() -> None:
    assert "## Run it" in README and "scripts/run" in README
    assert "## Tests" in README and "scripts/test" in README


def test_readme_is_a_front_door_read_in_minutes() -> None:
    lines = len(README.splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move the reference to docs/*.md"


def test_readme_links_every_docs_page() -> None:
    """Every docs page is one click from the README (docs/PYPI.md is the package page, not a docs page)."""
    linked = {
        (REPO_ROOT / target.partition("#")[0]).resolve() for target in relative_links(REPO_ROOT / "README.md")
    }
    pages = {page.resolve() for page in DOCS.glob("*.md") if page.name != "PYPI.md"}
    assert sorted(p.name for p in pages - linked) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_relative_links_point_to_existing_files_and_headings(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            broken.append(f"{target}: no heading with that anchor in {dest.name}")
    assert broken == [], f"{page.name}: {broken}"


def test_requirements_pin_the_provider_version_the_toolchain_builds() -> None:
    pinned = pinned_versions()
    requirements = (REPO_ROOT / "requirements.txt").read_text()
    match = re.search(r"^pulumi-kubernetes==(\S+)", requirements, re.MULTILINE)
    assert match, "requirements.txt does not pin pulumi-kubernetes"
    assert match[1] == pinned["PULUMI_K8S_PROVIDER_VERSION"]


def test_default_image_matches_the_pinned_ray() -> None:
    from ray_static import DEFAULT_IMAGE, RAY_VERSION  # noqa: PLC0415

    assert f"rayproject/ray:{RAY_VERSION}" == DEFAULT_IMAGE
    assert f"ray[default]=={RAY_VERSION}" in (REPO_ROOT / "requirements-dev.txt").read_text()
    assert SCHEMA["image"]["default"] == DEFAULT_IMAGE


def test_the_deployment_picture_is_drawn_from_the_current_objects() -> None:
    """docs/deployed.svg is the builders' output: a change to names, ports or mounts must redraw it."""
    from program import diagram  # noqa: PLC0415

    assert (REPO_ROOT / "docs" / "deployed.svg").read_text() == diagram.render(), "run scripts/sync-config"
    assert "Deployment ray-worker" in diagram.render() and "Deployment big-worker" in diagram.render(
        {"workers": 7}, name="big"
    )
    assert "7 replica(s)" in diagram.render({"workers": 7})


# --- outputs and stack exports ----------------------------------------------------------------------


def documented_outputs() -> dict[str, list[tuple[str, str]]]:
    """(Python name, schema name) of each output per component, as the docs' outputs table lists them."""
    header = ["Component", "Python", "Other languages", "What it is, e.g."]
    documented: dict[str, list[tuple[str, str]]] = {}
    for component, python, other, what in docs_table("component-outputs", header):
        assert what, f"{python}: says not what it is"
        documented.setdefault(component.strip("`"), []).append((python.strip("`"), other.strip("`")))
    return documented


def declared_outputs(component: type) -> list[str]:
    """The component's outputs: its ``pulumi.Output[...]``-annotated class attributes (its own, in order)."""
    annotations = inspect.get_annotations(component, eval_str=True)
    return [name for name, kind in annotations.items() if get_origin(kind) is pulumi.Output]


def registered_outputs(component: str, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names the component passes to ``register_outputs``, rendered with every output set (an unset
    one is not recorded)."""
    if component == "RayCluster":
        return set(run_cluster({"ingress": {"host": "ray.example.com"}, "serve": True}).component_outputs())
    if component == "RayServe":

        def serving() -> None:
            ray = RayCluster("ray", {"serve": True})
            RayServe("models", {"cluster": ray, "applications": [{"name": "a", "import_path": "a:b"}]})

        run = run_programs(serving)
        return set(run.outputs[find(run.resources, "ray-static:index:RayServe", "models").urn])
    # Under mocks Kubernetes never reports the submitter Job's end: say it succeeded, so `status` is set.
    monkeypatch.setattr(ray_static.jobs.component, "outcome", lambda status: "SUCCEEDED")

    def program() -> None:
        RayJob("hello", {"cluster": RayCluster("ray", {}), "entrypoint": "true"})

    run = run_programs(program)
    return set(run.outputs[find(run.resources, "ray-static:index:RayJob", "hello").urn])


def test_docs_list_the_components_and_only_them() -> None:
    assert list(documented_outputs()) == list(COMPONENTS)


@pytest.mark.parametrize("component", COMPONENTS)
def test_documented_outputs_are_the_declared_ones_named_as_the_schema_infers(component: str) -> None:
    declared = declared_outputs(COMPONENTS[component])
    assert documented_outputs().get(component) == [(name, camel_case(name)) for name in declared]


@pytest.mark.parametrize("component", COMPONENTS)
def test_documented_outputs_are_the_plugin_schemas_properties(component: str) -> None:
    properties = schema()["resources"][f"ray-static:index:{component}"]["properties"]
    assert [other for _, other in documented_outputs().get(component, [])] == list(properties)


@pytest.mark.parametrize("component", COMPONENTS)
def test_documented_outputs_are_the_registered_ones(component: str, monkeypatch: pytest.MonkeyPatch) -> None:
    documented = {python for python, _ in documented_outputs().get(component, [])}
    assert documented == registered_outputs(component, monkeypatch)


def program_exports() -> list[tuple[str, bool]]:
    """Each ``pulumi.export`` of ``__main__.py`` in order, read without running it: its name and whether an
    ``if`` guards it."""
    exports: list[tuple[str, bool]] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call) and ast.unparse(child.func) == "pulumi.export":
                name = child.args[0]
                assert isinstance(name, ast.Constant) and isinstance(name.value, str), ast.unparse(child)
                exports.append((name.value, guarded))
            visit(child, guarded or isinstance(child, ast.If))

    visit(ast.parse((REPO_ROOT / "__main__.py").read_text()), guarded=False)
    return exports


def test_documented_stack_exports_are_the_programs() -> None:
    rows = docs_table("stack-exports", ["Export", "Present", "Value, e.g."])
    documented = [(export.strip("`"), present != "always") for export, present, _ in rows]
    assert documented == program_exports()
