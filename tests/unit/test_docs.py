"""The README's config table and the pinned versions stay in step with their sources."""

import re
from typing import Any

import yaml

from tests.support.render import REPO_ROOT
from tests.support.versions import pinned_versions

README = (REPO_ROOT / "README.md").read_text()
SCHEMA: dict[str, dict[str, Any]] = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]


def readme_table() -> list[list[str]]:
    match = re.search(r"<!-- config-table:start -->\n(.*?)<!-- config-table:end -->", README, re.DOTALL)
    assert match, "README has no config table markers"
    lines = [line for line in match[1].strip().splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    assert rows[0] == ["Key", "Type", "Default", "Description"]
    return rows[2:]


def shown(default: Any) -> str:
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return '`""`' if default == "" else f"`{default}`"


def test_readme_config_table_matches_pulumi_yaml() -> None:
    expected = [[f"`{k}`", s["type"], shown(s["default"]), s["description"]] for k, s in SCHEMA.items()]
    assert readme_table() == expected


def test_readme_keeps_the_run_and_test_commands() -> None:
    assert "## Run it" in README and "scripts/run" in README
    assert "## Tests" in README and "scripts/test" in README


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
