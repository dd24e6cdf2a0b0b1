"""RayServe under Pulumi mocks: its objects with a RayCluster and from the outputs, valid Kubernetes,
and the refusals before anything is registered."""

from typing import Any, cast

import kubernetes_validate
import pytest

from ray_static import RayCluster, RayClusterArgs, RayServe, RayServeArgs, RayStaticConfigError
from ray_static import constants as c
from tests.support.render import RenderError, Run, find, find_all, kubernetes_objects, run_programs
from tests.unit.test_kubernetes_schema import kubernetes_version

FRUIT = {"name": "fruit", "import_path": "fruit.app:app", "route_prefix": "/fruit"}
OUTPUTS = {
    "namespace": "ml",
    "dashboard_url": "http://ray-head.ml.svc.cluster.local:8265",
    "auth_secret": "ray-auth",
    "cluster_name": "ray",
}


def run_with_cluster(serve: dict[str, Any] | None = None, cluster: RayClusterArgs | None = None) -> Run:
    def program() -> None:
        ray = RayCluster("ray", cluster if cluster is not None else {"serve": True})
        RayServe("models", {"cluster": ray, "applications": [FRUIT], **(serve or {})})  # type: ignore[typeddict-item]

    return run_programs(program)


@pytest.fixture(scope="module")
def with_cluster() -> Run:
    return run_with_cluster()


def serve_objects(run: Run) -> list[dict[str, Any]]:
    owned = [r for r in run.resources if r.parent and "RayServe" in r.parent]
    return kubernetes_objects(owned)


def test_its_objects_are_valid_kubernetes_in_the_clusters_namespace(with_cluster: Run) -> None:
    objects = serve_objects(with_cluster)
    assert sorted(o["kind"] for o in objects) == [
        "Deployment",
        "Job",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]
    for manifest in objects:
        assert manifest["metadata"]["namespace"] == "ray"
        kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)


def test_the_outputs_name_the_service_and_the_job(with_cluster: Run) -> None:
    urn = next(r for r in with_cluster.resources if r.type == c.SERVE_COMPONENT_TYPE)
    outputs = next(v for k, v in with_cluster.outputs.items() if k.endswith("RayServe::models"))
    assert urn.name == "models"
    assert outputs["service_name"] == "ray-serve"
    assert outputs["service_url"] == "http://ray-serve.ray.svc.cluster.local:8000"
    assert outputs["deployer_job_name"].startswith("models-")


def test_the_clusters_network_policy_admits_the_keeper_on_the_serve_and_dashboard_ports(
    with_cluster: Run,
) -> None:
    policy = find(with_cluster.resources, "NetworkPolicy", "ray").inputs
    keeper_rules = [
        rule
        for rule in policy["spec"]["ingress"]
        if rule["from"][0].get("podSelector", {}).get("matchLabels") == {c.SERVE_KEEPER_LABEL: "true"}
    ]
    assert [{p["port"] for p in rule["ports"]} for rule in keeper_rules] == [{c.DASHBOARD_PORT, 8000}]


def test_from_another_stacks_outputs() -> None:
    run = run_programs(lambda: RayServe("models", {**OUTPUTS, "applications": [FRUIT], "serve_port": 9000}))  # type: ignore[typeddict-item]
    service = find(run.resources, "core/v1:Service").inputs
    assert service["metadata"] == {**service["metadata"], "name": "ray-serve", "namespace": "ml"}
    assert service["spec"]["ports"][0]["port"] == 9000


def test_a_cluster_with_serve_off_fails_the_deployment_before_any_object() -> None:
    with pytest.raises(
        RenderError, match="cluster: got a cluster with serve off; expected a RayCluster with serve true"
    ):
        run_with_cluster(cluster={})


def test_a_second_rayserve_on_the_same_cluster_is_refused_before_it_is_registered() -> None:
    def program() -> None:
        ray = RayCluster("ray", {"serve": True})
        RayServe("a", cast(RayServeArgs, {"cluster": ray, "applications": [FRUIT]}))
        RayServe("b", cast(RayServeArgs, {"cluster": ray, "applications": [FRUIT]}))

    with pytest.raises(
        RenderError, match=r'^cluster: got the RayCluster "ray", which RayServe "a" deploys to'
    ):
        run_programs(program)


def test_a_bad_config_registers_nothing() -> None:
    registered: list[str] = []

    def program() -> None:
        ray = RayCluster("ray", {"serve": True})
        try:
            RayServe(
                "bad",
                cast(RayServeArgs, {"cluster": ray, "applications": [{**FRUIT, "route_prefix": "fruit"}]}),
            )
        except RayStaticConfigError as error:
            registered.append(str(error))

    run = run_programs(program)
    assert registered and not find_all(run.resources, c.SERVE_COMPONENT_TYPE.split(":", 1)[1])
