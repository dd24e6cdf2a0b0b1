"""The API can be learned from the IDE: every args type exported, constructors documented with their
arguments and an example, every field's description visible at runtime."""

import inspect
import pydoc

import pytest

import ray_static
from ray_static.inputs import cluster as cluster_args
from ray_static.inputs import job as job_args


def args_types() -> list[type]:
    return [
        value
        for module in (cluster_args, job_args)
        for name, value in vars(module).items()
        if isinstance(value, type)
        and name.endswith(("Args", "Inputs"))
        and value.__module__ == module.__name__
    ]


def test_every_args_type_is_exported() -> None:
    assert {t.__name__ for t in args_types()} <= set(ray_static.__all__)
    for name in ray_static.__all__:
        assert getattr(ray_static, name) is not None


@pytest.mark.parametrize("component", ["RayCluster", "RayJob"])
def test_constructors_say_their_arguments_with_an_example(component: str) -> None:
    doc = inspect.getdoc(getattr(ray_static, component).__init__) or ""
    assert "Args:" in doc and "Example::" in doc
    for argument in ("name:", "args:", "opts:"):
        assert argument in doc, argument


@pytest.mark.parametrize("args_type", args_types(), ids=lambda t: t.__name__)
def test_help_shows_every_field_with_its_description(args_type: type) -> None:
    text = pydoc.render_doc(args_type, renderer=pydoc.TextDoc())
    for field in args_type.__annotations__:
        line = next((ln for ln in text.splitlines() if ln.strip(" |").startswith(f"{field}: ")), None)
        assert line is not None, f"{args_type.__name__}.{field} is not in help()"
        assert len(line.strip(" |")) > len(field) + 10, f"{args_type.__name__}.{field} has no description"


def test_signatures_show_what_python_callers_pass() -> None:
    """help() and IDEs: RayJob takes RayJobArgs (with `cluster`), RayCluster's args are optional; the
    plugin's schema still reads RayJobInputs and RayClusterArgs (tests/unit/test_schema.py)."""
    job = inspect.signature(ray_static.RayJob).parameters["args"]
    assert job.annotation is job_args.RayJobArgs
    assert "cluster" in job_args.RayJobArgs.__annotations__
    cluster = inspect.signature(ray_static.RayCluster).parameters["args"]
    assert cluster.default is None
