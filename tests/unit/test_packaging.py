"""Packaging: the wheel pip builds from the repository, the pins around it, and the component plugin."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version
from pulumi import InputPropertyError

from ray_static import RayCluster
from ray_static.version import __version__
from tests.support.versions import pinned_versions

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def pins(requirements: Path) -> dict[str, str]:
    """name -> pinned version of every `name==version` line."""
    out: dict[str, str] = {}
    for line in requirements.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            req = Requirement(line.strip())
            out[req.name] = next(iter(req.specifier)).version
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """`pip wheel` of a copy of the sources (building in the clone would leave build/ and egg-info)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", PROJECT["readme"]):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "ray_static", src / "ray_static", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (path,) = out.glob("ray_static-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_holds_only_the_component_package_and_its_data(wheel: zipfile.ZipFile) -> None:
    files = {n for n in wheel.namelist() if ".dist-info/" not in n}
    package = REPO / "ray_static"
    data = {
        *package.glob("dashboards/*.json"),  # Ray's Grafana dashboards
        *package.glob("charts/capabilities/**/*.yaml"),  # the chart the PodMonitor CRD check templates
    }
    expected = {str(p.relative_to(REPO)) for p in package.rglob("*.py")} | {"ray_static/py.typed"}
    expected |= {str(p.relative_to(REPO)) for p in data}
    assert files == expected  # no top-level __main__.py, program/, provider/, examples/ or tests/
    # The stack-config layer is the program's: nothing in the wheel reads `ray-static:*` config.
    for name in {n for n in files if n.endswith(".py")}:
        text = wheel.read(name).decode()
        for marker in ("get_config_env", "pulumi.Config(", "program_config", "PROJECT ="):
            assert marker not in text, (name, marker)


def metadata(wheel: zipfile.ZipFile) -> Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode())


def test_the_wheel_metadata_names_version_and_dependency_ranges(wheel: zipfile.ZipFile) -> None:
    meta = metadata(wheel)
    assert (meta["Name"], meta["Version"]) == ("ray-static", __version__)
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "Apache-2.0"
    requires = {r.name: r.specifier for r in map(Requirement, meta.get_all("Requires-Dist") or [])}
    assert set(requires) == {"pulumi", "pulumi-kubernetes"}
    # Bounded above by the next major version, so a breaking SDK never installs silently.
    assert not requires["pulumi"].contains("4.0.0")
    assert not requires["pulumi-kubernetes"].contains("5.0.0")


def test_the_version_is_written_once(wheel: zipfile.ZipFile) -> None:
    """ray_static/version.py: the wheel's version, the plugin's and the changelog's newest entry."""
    assert "version" not in PROJECT and PROJECT["dynamic"] == ["version"]
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "ray_static.version.__version__"}
    assert metadata(wheel)["Version"] == __version__
    assert json.loads(load_plugin().provider().schema)["version"] == __version__
    releases = [line for line in (REPO / "CHANGELOG.md").read_text().splitlines() if line.startswith("## [")]
    assert releases[0].startswith(f"## [{__version__}]"), releases[0]


def test_the_package_page_is_short_and_links_home(wheel: zipfile.ZipFile) -> None:
    """PyPI shows docs/PYPI.md, not the README (the repository's front door and reference)."""
    meta = metadata(wheel)
    assert PROJECT["readme"] == "docs/PYPI.md"
    assert meta["Description-Content-Type"] == "text/markdown"
    description = meta.get_payload()
    assert isinstance(description, str)
    assert description.strip() == (REPO / "docs" / "PYPI.md").read_text().strip()
    assert len(description.encode()) < 4096
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    assert all(u.startswith("https://") for u in urls.values())


def test_the_classifiers_say_what_is_tested(wheel: zipfile.ZipFile) -> None:
    classifiers = set(metadata(wheel).get_all("Classifier") or [])
    assert {
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: System :: Distributed Computing",
        "Typing :: Typed",
    } <= classifiers
    assert len([c for c in classifiers if c.startswith("Development Status ::")]) == 1
    # The licence is the SPDX expression (License-Expression); setuptools refuses License classifiers.
    assert not any(c.startswith("License ::") for c in classifiers)
    # The oldest Python named is the one requires-python admits.
    pythons = [
        c.rsplit(" ", 1)[-1] for c in classifiers if c.startswith("Programming Language :: Python :: 3.")
    ]
    assert PROJECT["requires-python"] == f">={min(pythons, key=Version)}"


def test_the_floors_are_the_set_the_ranges_step_tests() -> None:
    """scripts/ranges.sh reads the floors from pyproject.toml: what it installs is what the package claims."""
    floors: dict[str, str] = {}
    for dependency in map(Requirement, PROJECT["dependencies"]):
        (floor,) = [s.version for s in dependency.specifier if s.operator == ">="]
        floors[dependency.name] = floor
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "ranges.sh"), "floors"],
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert out.splitlines() == [f"{name}=={floor}" for name, floor in floors.items()]


NEEDED = {
    "pulumi": ("3.237.0", "schema inference reading NotRequired fields (the args' optional ones)"),
    "pulumi-kubernetes": ("4.18.4", "pulumi.com/waitFor overriding a Job's own await (RayJob wait=false)"),
}
"""What the component relies on, and the first release that has it. The unit tests fail below the first
(scripts/ranges.sh would say so); only the real provider shows the second."""


@pytest.mark.parametrize("name", NEEDED)
def test_no_floor_is_below_what_the_component_needs(name: str) -> None:
    (dependency,) = [r for r in map(Requirement, PROJECT["dependencies"]) if r.name == name]
    (floor,) = [s.version for s in dependency.specifier if s.operator == ">="]
    assert Version(floor) >= Version(NEEDED[name][0]), NEEDED[name][1]


def test_the_pinned_sdks_satisfy_the_package_ranges() -> None:
    ranges = {r.name: r.specifier for r in map(Requirement, PROJECT["dependencies"])}
    pinned = pins(REPO / "requirements.txt")
    for name, spec in ranges.items():
        assert spec.contains(pinned[name]), (name, pinned[name], str(spec))


@pytest.mark.parametrize("requirements", ["provider/requirements.txt", "examples/platform/requirements.txt"])
def test_consumers_pin_the_kubernetes_sdk_to_the_provider_plugin_in_use(requirements: str) -> None:
    assert pins(REPO / requirements)["pulumi-kubernetes"] == pinned_versions()["PULUMI_K8S_PROVIDER_VERSION"]


def test_consumers_install_ray_static_from_the_repository() -> None:
    assert "-e .." in (REPO / "provider" / "requirements.txt").read_text().splitlines()
    assert "../.." in (REPO / "examples" / "platform" / "requirements.txt").read_text().splitlines()


def test_the_plugin_manifest_runs_python_in_its_own_venv() -> None:
    manifest = yaml.safe_load((REPO / "provider" / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def load_plugin() -> ModuleType:
    """provider/__main__.py as a module (its `if __name__ == "__main__"` keeps it from serving)."""
    spec = importlib.util.spec_from_file_location("ray_static_plugin", REPO / "provider" / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_plugin_hands_integers_to_the_component_as_int() -> None:
    plugin = load_plugin()
    provider = plugin.RayStaticProvider([RayCluster], plugin.NAME)
    # What the engine sends: every number a float.
    wire: dict[str, Any] = {
        "workers": 2.0,
        "headRayCpus": 0.0,
        "workerResources": {"cpu": "1", "gpus": 1.0},
        "workerGroups": [{"name": "gpu", "replicas": 3.0, "tolerations": [{"tolerationSeconds": 30.0}]}],
    }
    args = provider.map_inputs(wire, provider._component_defs["RayCluster"])
    assert args["workers"] == 2 and type(args["workers"]) is int
    assert type(args["head_ray_cpus"]) is int
    assert type(args["worker_resources"]["gpus"]) is int
    group = args["worker_groups"][0]
    assert (group["replicas"], type(group["replicas"])) == (3, int)
    assert type(group["tolerations"][0]["toleration_seconds"]) is int


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("workers", "workers"),
        ("worker_resources.cpu_request", "workerResources.cpuRequest"),
        (
            "worker_groups[1].tolerations[0].toleration_seconds",
            "workerGroups[1].tolerations[0].tolerationSeconds",
        ),
        ("node_selector.kubernetes.io/arch", "nodeSelector.kubernetes.io/arch"),
        ("name", "resource name"),
    ],
)
def test_plugin_errors_name_schema_properties(path: str, name: str) -> None:
    assert load_plugin().schema_name(path) == name


def test_the_plugin_refuses_bad_inputs_before_constructing() -> None:
    """The error a YAML/TypeScript program sees: one sentence with the property in its own spelling."""
    plugin = load_plugin()
    provider = plugin.RayStaticProvider([RayCluster], plugin.NAME)
    with pytest.raises(InputPropertyError) as failure:
        provider.construct("ray", "ray-static:index:RayCluster", {"workerResources": {"cpu": "1500m"}})
    assert failure.value.property_path == "workerResources.cpu"
    assert failure.value.reason == (
        'workerResources.cpu: got "1500m"; expected a whole number of CPUs such as "2" or "2000m" '
        "(Ray schedules whole CPUs)."
    )
    with pytest.raises(InputPropertyError) as failure:
        provider.construct("ray", "ray-static:index:RayCluster", {"serviceType": "NodePort", "auth": False})
    assert failure.value.reason == (
        'serviceType: got "NodePort"; expected "ClusterIP" while auth is false (anyone reaching the port '
        "could run code), unless allowUnauthenticatedExposure is true."
    )


def test_stacks_of_the_dynamic_provider_release_can_still_delete_its_token() -> None:
    """The engine unpickles `ray_static.token.TokenProvider` by name to delete the old token resource."""
    from pulumi import dynamic  # noqa: PLC0415

    from ray_static.token import TokenProvider  # noqa: PLC0415

    assert issubclass(TokenProvider, dynamic.ResourceProvider)
    TokenProvider().delete("id", {"token": "old"})  # nothing to clean up, and no error
