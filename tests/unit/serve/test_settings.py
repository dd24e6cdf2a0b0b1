"""RayServe's settings: Serve's config checked before anything is registered, each refusal one sentence."""

from dataclasses import dataclass
from typing import Any

import pytest

from ray_static import RayStaticConfigError
from ray_static import constants as c
from ray_static.serve.settings import resolve_serve, resolve_serve_target

FRUIT = {"name": "fruit", "import_path": "fruit.app:app", "route_prefix": "/fruit"}
MATH = {"name": "math", "import_path": "math_app:app", "route_prefix": "/math"}
OUTPUTS = {"namespace": "ray", "dashboard_url": "http://ray-head.ray.svc.cluster.local:8265", "auth": False}


@dataclass(frozen=True)
class Case:
    name: str
    given: Any
    want: Any


def test_defaults_are_serves_own() -> None:
    serve = resolve_serve("models", {"applications": [{"name": "a", "import_path": "a.b:c"}]})
    assert serve.applications == ({"name": "a", "import_path": "a.b:c", "route_prefix": "/"},)
    assert serve.proxy_location == "EveryNode"
    assert serve.timeout_seconds == c.DEFAULT_SERVE_WAIT_SECONDS
    assert serve.config(8000) == {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": 8000},
        "applications": [{"name": "a", "import_path": "a.b:c", "route_prefix": "/"}],
    }


def test_every_field_of_an_application_passes_through() -> None:
    app = {
        **FRUIT,
        "runtime_env": {"pip": ["requests"]},
        "deployments": [{"name": "Model", "num_replicas": 2, "user_config": {"t": 0.5}}],
        "args": {"model": "small"},
    }
    serve = resolve_serve(
        "models",
        {
            "applications": [app, MATH],
            "http_options": {"request_timeout_s": 30},
            "proxy_location": "HeadOnly",
            "timeout_seconds": 60,
        },
    )
    assert serve.applications == (app, MATH)
    assert serve.config(8001)["http_options"] == {"request_timeout_s": 30, "host": "0.0.0.0", "port": 8001}
    assert serve.proxy_location == "HeadOnly" and serve.timeout_seconds == 60


REFUSALS = [
    Case("no applications", {}, "applications: got no value; expected a list of applications"),
    Case(
        "an unknown key, with a suggestion",
        {"applications": [FRUIT], "aplications": []},
        'did you mean "applications"?',
    ),
    Case(
        "an unknown application key, with a suggestion",
        {"applications": [{**FRUIT, "import_pth": "x"}]},
        "applications[0].import_pth: got an unknown setting; expected one of",
    ),
    Case("no import_path", {"applications": [{"name": "a"}]}, "applications[0].import_path: got None"),
    Case(
        "an import_path without a module",
        {"applications": [{"name": "a", "import_path": "app"}]},
        'got "app"',
    ),
    Case(
        "duplicate names",
        {"applications": [FRUIT, {**MATH, "name": "fruit"}]},
        'applications[1].name: got "fruit"; expected a name no other application has.',
    ),
    Case(
        "duplicate route prefixes",
        {"applications": [FRUIT, {**MATH, "route_prefix": "/fruit"}]},
        'applications[1].route_prefix: got "/fruit"; expected a route prefix no other application has.',
    ),
    Case(
        "the default route prefix twice",
        {"applications": [{"name": "a", "import_path": "a:b"}, {"name": "b", "import_path": "a:b"}]},
        'applications[1].route_prefix: got "/"',
    ),
    Case(
        "a relative route prefix",
        {"applications": [{**FRUIT, "route_prefix": "fruit"}]},
        'applications[0].route_prefix: got "fruit"; expected an absolute path',
    ),
    Case(
        "a deployment override without a name",
        {"applications": [{**FRUIT, "deployments": [{"num_replicas": 2}]}]},
        "applications[0].deployments[0].name: got None",
    ),
    Case(
        "the same deployment overridden twice",
        {"applications": [{**FRUIT, "deployments": [{"name": "M"}, {"name": "M"}]}]},
        'applications[0].deployments[1].name: got "M"',
    ),
    Case(
        "http_options.port: the cluster's",
        {"applications": [FRUIT], "http_options": {"port": 9000}},
        "http_options.port: got 9000; expected no value: ray-static sets it to the cluster's serve_port.",
    ),
    Case(
        "an unknown http option",
        {"applications": [FRUIT], "http_options": {"request_timeout": 3}},
        'did you mean "http_options.request_timeout_s"?',
    ),
    Case(
        "an unknown proxy location",
        {"applications": [FRUIT], "proxy_location": "Everywhere"},
        'proxy_location: got "Everywhere"; expected "EveryNode", "HeadOnly" or "Disabled".',
    ),
    Case("a timeout of 0", {"applications": [FRUIT], "timeout_seconds": 0}, "timeout_seconds: got 0"),
    Case(
        "a LoadBalancer without the waiver: Serve checks no token",
        {"applications": [FRUIT], "service_type": "LoadBalancer"},
        'service_type: got "LoadBalancer"; expected "ClusterIP" (Ray Serve\'s proxies check no token: anyone '
        "reaching the port calls the applications), unless allow_unauthenticated_exposure is true.",
    ),
    Case(
        "an unknown service type",
        {"applications": [FRUIT], "service_type": "External"},
        'service_type: got "External"',
    ),
    Case(
        "a source range that is an address",
        {"applications": [FRUIT], "load_balancer_source_ranges": ["10.0.0.1"]},
        "load_balancer_source_ranges",
    ),
    Case(
        "a runtime_env that is not JSON",
        {"applications": [{**FRUIT, "runtime_env": {"x": object()}}]},
        "applications[0].runtime_env: got a mapping holding values that are not JSON",
    ),
]


@pytest.mark.parametrize("case", REFUSALS, ids=lambda case: case.name)
def test_refusals_are_one_sentence_naming_the_setting(case: Case) -> None:
    with pytest.raises(RayStaticConfigError) as error:
        resolve_serve("models", case.given)
    message = str(error.value)
    assert case.want in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_the_cluster_from_its_outputs_needs_its_name() -> None:
    with pytest.raises(RayStaticConfigError, match=r"^cluster_name: got no value"):
        resolve_serve_target(OUTPUTS)
    where = resolve_serve_target({**OUTPUTS, "cluster_name": "ray"})
    assert (where.cluster_name, where.serve_port) == ("ray", 8000)
    with pytest.raises(RayStaticConfigError, match=r"^serve_port: got 8265"):
        resolve_serve_target({**OUTPUTS, "cluster_name": "ray", "serve_port": 8265})
