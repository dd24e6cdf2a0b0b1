"""RayServe in the repository's program (the `serveConfig` stack-config key) and in the component plugin."""

import asyncio
import json
from typing import Any

import pulumi
import pytest
from pulumi import InputPropertyError

from program.serve import parse_serve
from ray_static import RayCluster, RayJob, RayServe, RayStaticConfigError
from tests.support.render import find, run_program
from tests.unit.test_packaging import load_plugin

FRUIT = {"name": "fruit", "import_path": "fruit.app:app", "route_prefix": "/fruit"}
CONFIG = {"applications": [FRUIT], "proxy_location": "EveryNode"}


def serve_config(value: Any, **extra: str) -> dict[str, str]:
    text = value if isinstance(value, str) else json.dumps(value)
    return {"ray-static:serveConfig": text, **{f"ray-static:{k}": v for k, v in extra.items()}}


def test_serve_config_deploys_on_the_programs_cluster_and_turns_serve_on() -> None:
    run = run_program(serve_config(CONFIG, clusterName="lab", namespace="ml"))
    serve = find(run.resources, "ray-static:index:RayServe", "lab-serve")
    service = find(run.resources, "core/v1:Service", "lab-serve-serve").inputs
    assert serve.parent and service["metadata"]["name"] == "lab-serve"
    head_service = find(run.resources, "core/v1:Service", "lab-head").inputs
    assert 8000 in [p["port"] for p in head_service["spec"]["ports"]]
    assert run.stack_outputs["serve_url"] == "http://lab-serve.ml.svc.cluster.local:8000"


def test_without_the_key_there_is_no_rayserve() -> None:
    assert parse_serve(None, "ray") is None
    assert parse_serve("", "ray") is None


REFUSALS = [
    (
        {"applications": [FRUIT], "namespace": "x"},
        "serveConfig.namespace: got an unknown field",
        "this stack's",
    ),
    (
        {"aplications": [FRUIT]},
        "serveConfig.aplications: got an unknown field",
        'did you mean "applications"?',
    ),
    (
        {"applications": [{**FRUIT, "route_prefix": "fruit"}]},
        'serveConfig.applications[0].route_prefix: got "fruit"',
        "absolute path",
    ),
    ("[1]", "serveConfig: got", "a JSON object"),
]


@pytest.mark.parametrize(("value", "start", "part"), REFUSALS)
def test_refusals_name_the_field_under_the_key(value: Any, start: str, part: str) -> None:
    with pytest.raises(RayStaticConfigError) as error:
        parse_serve(value if isinstance(value, str) else json.dumps(value), "ray")
    assert str(error.value).startswith(start) and part in str(error.value)


def test_serve_config_turns_serve_on_whatever_serve_says() -> None:
    """The engine passes Pulumi.yaml's default `serve: false` for a stack that never set it."""
    run = run_program(serve_config(CONFIG, serve="false"))
    head_service = find(run.resources, "core/v1:Service", "ray-head").inputs
    assert 8000 in [p["port"] for p in head_service["spec"]["ports"]]


# --- the plugin ---------------------------------------------------------------------------------------

OUTPUTS = {
    "namespace": "ray",
    "dashboardUrl": "http://ray-head.ray.svc.cluster.local:8265",
    "authSecret": "ray-auth",
    "clusterName": "ray",
}


def test_the_plugin_serves_rayserve_and_refuses_bad_inputs_by_schema_name() -> None:
    plugin = load_plugin()
    provider = plugin.RayStaticProvider([RayCluster, RayJob, RayServe], plugin.NAME)
    app = {"name": "fruit", "importPath": "fruit.app:app", "routePrefix": "fruit"}
    with pytest.raises(InputPropertyError) as failure:
        provider.construct("models", "ray-static:index:RayServe", {**OUTPUTS, "applications": [app]})
    assert failure.value.property_path == "applications[0].routePrefix"
    with pytest.raises(InputPropertyError) as failure:
        provider.construct(
            "models", "ray-static:index:RayServe", {**OUTPUTS, "applications": [], "proxyLocation": "X"}
        )
    assert failure.value.property_path == "proxyLocation"
    with pytest.raises(InputPropertyError) as failure:
        provider.construct(
            "models",
            "ray-static:index:RayServe",
            {"namespace": "ray", "dashboardUrl": OUTPUTS["dashboardUrl"], "auth": False, "applications": []},
        )
    assert failure.value.property_path == "clusterName"


def test_the_plugin_hands_whole_numbers_inside_free_form_fields_as_int() -> None:
    """Every number crosses the wire as a float: YAML's `num_replicas: 2` must reach Serve as 2."""
    plugin = load_plugin()
    provider = plugin.RayStaticProvider([RayCluster, RayJob, RayServe], plugin.NAME)
    app = {
        "name": "fruit",
        "importPath": "fruit.app:app",
        "deployments": [{"name": "Mango", "num_replicas": 2.0, "ray_actor_options": {"num_cpus": 0.5}}],
        "args": {"sizes": [1.0, 2.5], "price": 3.0},
    }
    args = provider.map_inputs({**OUTPUTS, "applications": [app]}, provider._component_defs["RayServe"])
    [mapped] = args["applications"]
    assert mapped["deployments"] == [
        {"name": "Mango", "num_replicas": 2, "ray_actor_options": {"num_cpus": 0.5}}
    ]
    assert type(mapped["deployments"][0]["num_replicas"]) is int
    assert mapped["args"] == {"sizes": [1, 2.5], "price": 3}
    assert [type(v) for v in mapped["args"]["sizes"]] == [int, float]
    cluster = provider.map_inputs(
        {"tolerations": [{"key": "gpu", "operator": "Exists", "tolerationSeconds": 300.0}]},
        provider._component_defs["RayCluster"],
    )
    # A RayCluster's free-form fields too: Kubernetes refuses 300.0 for an int64.
    assert cluster["tolerations"] == [{"key": "gpu", "operator": "Exists", "toleration_seconds": 300}]
    assert type(cluster["tolerations"][0]["toleration_seconds"]) is int


def test_the_plugin_takes_an_integer_input_that_is_another_resources_output() -> None:
    """`servePort: ${ray.servePort}` arrives as an Output; the SDK's own mapping would call int() on it."""
    plugin = load_plugin()
    provider = plugin.RayStaticProvider([RayCluster, RayJob, RayServe], plugin.NAME)
    app = {"name": "fruit", "importPath": "fruit.app:app"}

    async def mapped_port() -> Any:
        port = pulumi.Output.from_input(8001.0)
        args = provider.map_inputs(
            {**OUTPUTS, "servePort": port, "applications": [app]}, provider._component_defs["RayServe"]
        )
        return await args["serve_port"].future()

    value = asyncio.run(mapped_port())
    assert (value, type(value)) == (8001, int)
