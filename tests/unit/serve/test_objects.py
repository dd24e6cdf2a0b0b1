"""RayServe's builders, called directly: tables of what each object carries."""

import json
from dataclasses import dataclass, replace
from typing import Any, cast

import pytest

from ray_static import constants as c
from ray_static.serve.objects import (
    Cluster,
    deployer_job_args,
    deployer_job_name,
    keeper_deployment_args,
    keeper_env,
    keeper_role_args,
    serve_service_args,
)
from ray_static.serve.script import DEPLOYER_SCRIPT
from ray_static.serve.settings import resolve_serve

FRUIT = {"name": "fruit", "import_path": "fruit.app:app", "route_prefix": "/fruit"}
CLUSTER = Cluster(
    name="ray",
    namespace="ml",
    dashboard_url="http://ray-head.ml.svc.cluster.local:8265",
    auth_secret="ray-auth",
    image="rayproject/ray:2.60.0",
    image_pull_secrets=[],
    serve_port=8000,
)


@dataclass(frozen=True)
class Case:
    name: str
    given: Any
    want: Any


def serve(**args: Any) -> Any:
    return resolve_serve("models", {"applications": [FRUIT], **args})


JOB_NAMES = [
    Case("the same config: the same Job", (serve(), CLUSTER), deployer_job_name(serve(), CLUSTER)),
    Case(
        "the timeout is not the config: the same Job",
        (serve(timeout_seconds=30), CLUSTER),
        deployer_job_name(serve(), CLUSTER),
    ),
]


@pytest.mark.parametrize("case", JOB_NAMES, ids=lambda case: case.name)
def test_job_names_follow_the_config(case: Case) -> None:
    assert deployer_job_name(*case.given) == case.want


def test_a_changed_config_or_port_is_a_new_job() -> None:
    names = {
        deployer_job_name(serve(), CLUSTER),
        deployer_job_name(serve(proxy_location="HeadOnly"), CLUSTER),
        deployer_job_name(resolve_serve("models", {"applications": [{**FRUIT, "args": {"a": 1}}]}), CLUSTER),
        deployer_job_name(serve(), replace(CLUSTER, serve_port=8001)),
    }
    assert len(names) == 4
    assert all(name.startswith("models-") and len(name) <= 63 for name in names)


def test_the_deployer_runs_the_script_with_the_config_and_the_token_file() -> None:
    job = cast(Any, deployer_job_args(serve(), CLUSTER))
    pod = job.spec.template.spec
    container = pod.containers[0]
    assert container.command[:3] == ["python", "-c", DEPLOYER_SCRIPT]
    assert json.loads(container.command[3]) == serve().config(8000)
    env = {e.name: e.value for e in container.env}
    assert env["RAY_API_SERVER_ADDRESS"] == CLUSTER.dashboard_url
    assert env["RAY_AUTH_TOKEN_PATH"] == c.AUTH_TOKEN_PATH
    assert pod.automount_service_account_token is False
    assert job.metadata.labels[c.SUBMITTER_LABEL] == "true"


def test_without_auth_no_token_file() -> None:
    container = cast(
        Any, deployer_job_args(serve(), replace(CLUSTER, auth_secret=None))
    ).spec.template.spec.containers[0]
    env = {e.name: e.value for e in container.env}
    assert "RAY_AUTH_TOKEN_PATH" not in env and env["RAY_AUTH_MODE"] == "disabled"


KEEPER_ENV = [
    Case("the cluster's pods", "POD_SELECTOR", "ray.io/cluster=ray"),
    Case("the label the Service selects", "PROXY_LABEL", c.SERVE_PROXY_LABEL),
    Case("the proxy's health check on the serve port", "HEALTH_URL", "http://{ip}:8000/-/healthz"),
    Case("its own Deployment", "KEEPER_DEPLOYMENT", "models-keeper"),
]


@pytest.mark.parametrize("case", KEEPER_ENV, ids=lambda case: case.name)
def test_keeper_env(case: Case) -> None:
    assert {e.name: e.value for e in keeper_env(serve(), CLUSTER)}[case.given] == case.want


def test_the_keeper_may_label_pods_and_read_its_own_deployment_only() -> None:
    rules = cast(Any, keeper_role_args(serve(), CLUSTER)).rules
    assert [(r.resources, r.verbs, r.resource_names) for r in rules] == [
        (["pods"], ["list", "patch"], None),
        (["deployments"], ["get"], ["models-keeper"]),
    ]


def test_the_keeper_is_admitted_by_the_clusters_network_policy_and_has_time_to_tear_down() -> None:
    deployment = cast(Any, keeper_deployment_args(serve(), CLUSTER))
    template = deployment.spec.template
    assert template.metadata.labels[c.SERVE_KEEPER_LABEL] == "true"
    assert template.spec.termination_grace_period_seconds == c.KEEPER_GRACE_PERIOD_SECONDS
    assert template.spec.service_account_name == "models-keeper"


SERVICES = [
    Case("the default cluster", CLUSTER, ("ray-serve", 8000)),
    Case("another cluster and port", replace(CLUSTER, name="llm", serve_port=9000), ("llm-serve", 9000)),
]


@pytest.mark.parametrize("case", SERVICES, ids=lambda case: case.name)
def test_the_serve_service_selects_ready_proxies_of_the_cluster(case: Case) -> None:
    service = cast(Any, serve_service_args(serve(), case.given))
    assert service.metadata.name == case.want[0]
    assert service.spec.selector == {c.LABEL_CLUSTER: case.given.name, c.SERVE_PROXY_LABEL: "true"}
    assert service.spec.ports[0].port == case.want[1]
    # No endpoints before the first deploy: never awaited.
    assert service.metadata.annotations == {c.SKIP_AWAIT_ANNOTATION: "true"}


def test_a_load_balancer_serve_service_with_its_annotations_and_ranges() -> None:
    exposed = resolve_serve(
        "models",
        {
            "applications": [FRUIT],
            "service_type": "LoadBalancer",
            "allow_unauthenticated_exposure": True,
            "service_annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
            "load_balancer_source_ranges": ["203.0.113.0/24"],
        },
    )
    service = cast(Any, serve_service_args(exposed, CLUSTER))
    assert service.spec.type == "LoadBalancer"
    assert service.spec.load_balancer_source_ranges == ["203.0.113.0/24"]
    # Still not awaited: a LoadBalancer's endpoints, too, come only with the first deploy.
    assert service.metadata.annotations == {
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
        c.SKIP_AWAIT_ANNOTATION: "true",
    }
