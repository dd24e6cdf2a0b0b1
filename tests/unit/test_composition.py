"""RayCluster and RayJob composed the way a platform stack composes them: Outputs as inputs, validated once
known; plain values where they decide which objects exist; a namespace from another resource; two clusters;
a RayJob that never loses its token silently."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import pytest

from ray_static import RayCluster, RayClusterArgs, RayJob
from ray_static.config.deferred import DeferredConfigError
from ray_static.errors import RayStaticConfigError
from tests.support.render import Rendered, RenderError, Run, find, run_cluster, run_programs

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def unknown() -> pulumi.Output[Any]:
    """An Output whose value a preview does not know (another resource's output not created yet)."""
    loop = asyncio.get_event_loop()
    value, known = loop.create_future(), loop.create_future()
    value.set_result(None)
    known.set_result(False)
    return pulumi.Output(set(), value, known)


def leaves_as_outputs(value: Any) -> Any:
    """Every plain value inside mappings turned into an Output of itself."""
    if isinstance(value, dict):
        return {k: leaves_as_outputs(v) for k, v in value.items()}
    return pulumi.Output.from_input(value)


def kubernetes_objects(run: Run) -> list[Rendered]:
    return [r for r in run.resources if r.type.startswith("kubernetes:")]


def test_outputs_give_the_same_objects_as_plain_values() -> None:
    token = "t" * 32  # a generated token differs from run to run
    plain = run_cluster(
        {"namespace": "ml", "image": "rayproject/ray:2.60.0-py311", "workers": 5, "auth_token": token}
    )
    given = run_cluster(
        lambda: {
            "auth_token": pulumi.Output.secret(token),
            "namespace": pulumi.Output.from_input("ml"),
            "image": pulumi.Output.from_input("rayproject/ray:2.60.0-py311"),
            "workers": pulumi.Output.from_input(5),
            "worker_resources": {"memory": pulumi.Output.from_input("2Gi")},
        }
    )
    assert sorted((r.type, r.name) for r in kubernetes_objects(given)) == sorted(
        (r.type, r.name) for r in kubernetes_objects(plain)
    )
    for rendered in kubernetes_objects(plain):
        assert find(given.resources, rendered.type, rendered.name).inputs == rendered.inputs, rendered.name


@pytest.mark.parametrize(
    ("case", "args", "message"),
    [
        (
            "a negative worker count",
            {"workers": -1},
            "workers: got -1; expected a whole number from 0 to 1000.",
        ),
        (
            "an image of another Ray",
            {"image": "rayproject/ray:2.59.0", "head": {"image": "rayproject/ray:2.60.0"}},
            'head.image: got "rayproject/ray:2.60.0"; expected an image of Ray 2.59.0, the cluster\'s version.',
        ),
        (
            "a fractional CPU",
            {"worker_resources": {"cpu": "1500m"}},
            'worker_resources.cpu: got "1500m"; expected a whole number of CPUs such as "2" or "2000m" '
            "(Ray schedules whole CPUs).",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v and ":" not in v else "",
)
def test_a_bad_value_inside_an_output_fails_in_one_sentence_with_no_object_created(
    case: str, args: dict[str, Any], message: str
) -> None:
    """The same sentence as for a plain value; the cluster's objects all wait for the checked settings."""
    with pytest.raises(RenderError) as plain:
        run_cluster(cast(RayClusterArgs, args))
    assert isinstance(plain.value.error, RayStaticConfigError)
    assert str(plain.value.error) == message

    def as_outputs() -> RayClusterArgs:
        return cast(RayClusterArgs, leaves_as_outputs(args))

    with pytest.raises(RenderError) as failure:
        run_cluster(as_outputs)
    assert isinstance(failure.value.error, DeferredConfigError), case
    assert isinstance(failure.value.error, pulumi.RunError)  # shown without a traceback
    assert str(failure.value.error) == message
    assert kubernetes_objects(failure.value.run) == []


def test_a_short_token_given_as_a_secret_output_is_refused_once_known() -> None:
    with pytest.raises(RenderError) as failure:
        run_cluster(lambda: {"auth_token": pulumi.Output.secret("short")})
    assert str(failure.value.error) == "auth_token: got a 5-character value; expected at least 16 characters."
    assert not any(r.type == "kubernetes:core/v1:Secret" for r in failure.value.run.resources)


def test_an_empty_token_output_is_refused_rather_than_silently_generated() -> None:
    with pytest.raises(RenderError) as failure:
        run_cluster(lambda: {"auth_token": pulumi.Output.secret("")})
    assert "auth_token: got an empty value" in str(failure.value.error)


@pytest.mark.parametrize("key", ["create_namespace", "auth", "network_policy", "pod_disruption_budget"])
def test_a_setting_that_decides_which_objects_exist_must_be_plain(key: str) -> None:
    with pytest.raises(RenderError) as failure:
        run_cluster(lambda: {key: pulumi.Output.from_input(True)})  # type: ignore[misc]
    assert str(failure.value.error) == (
        f"{key}: got an Output (a value known only during the deployment); expected a plain value: it decides "
        "which resources exist."
    )
    assert failure.value.run.resources == []


def test_a_worker_group_name_must_be_plain_its_replicas_need_not() -> None:
    run = run_cluster(lambda: {"worker_groups": [{"name": "gpu", "replicas": pulumi.Output.from_input(2)}]})
    assert find(run.resources, DEPLOYMENT, "ray-worker-gpu").inputs["spec"]["replicas"] == 2
    with pytest.raises(RenderError) as failure:
        run_cluster(lambda: {"worker_groups": [{"name": pulumi.Output.from_input("gpu")}]})  # pyright: ignore[reportArgumentType]
    assert str(failure.value.error).startswith("worker_groups[0].name: got an Output")


def test_a_namespace_from_another_resource_orders_the_cluster_after_it() -> None:
    def program() -> None:
        namespace = k8s.core.v1.Namespace("ml", metadata={"name": "ml"})
        RayCluster("ray", {"namespace": namespace.metadata.name, "create_namespace": False})

    run = run_programs(program)
    namespace = find(run.resources, "kubernetes:core/v1:Namespace", "ml")
    for name in ("ray-head", "ray-worker"):
        deployment = find(run.resources, DEPLOYMENT, name)
        assert deployment.inputs["metadata"]["namespace"] == "ml"
        assert namespace.urn in deployment.dependencies, name
    assert run.component_outputs()["namespace"] == "ml"


def test_two_clusters_share_a_namespace_through_the_first_ones_output() -> None:
    def program() -> None:
        alpha = RayCluster("alpha", {"namespace": "shared"})
        RayCluster("beta", {"namespace": alpha.namespace, "create_namespace": False})

    run = run_programs(program)
    namespaces = [r for r in run.resources if r.type == "kubernetes:core/v1:Namespace"]
    assert [n.name for n in namespaces] == ["alpha"]
    beta_head = find(run.resources, DEPLOYMENT, "beta-head")
    assert beta_head.inputs["metadata"]["namespace"] == "shared"
    assert namespaces[0].urn in beta_head.dependencies


@pytest.mark.parametrize(
    "beta", [lambda: "shared", lambda: pulumi.Output.from_input("shared")], ids=["plain", "output"]
)
def test_two_clusters_creating_one_namespace_are_refused(beta: Callable[[], Any]) -> None:
    def program() -> None:
        RayCluster("alpha", {"namespace": "shared"})
        RayCluster("beta", {"namespace": beta(), "image": pulumi.Output.from_input("rayproject/ray:2.60.0")})

    with pytest.raises(RenderError) as failure:
        run_programs(program)
    assert str(failure.value.error) == (
        'create_namespace: got true in cluster "beta" for namespace "shared", which cluster "alpha" of this '
        "program creates; expected false, with that cluster's `namespace` output as this one's namespace."
    )


def test_a_preview_with_unknown_values_shows_every_object() -> None:
    def program() -> None:
        RayCluster("ray", {"image": unknown(), "workers": unknown(), "worker_groups": [{"name": "gpu"}]})

    run = run_programs(program, preview=True)
    assert sorted(r.name for r in run.resources if r.type == DEPLOYMENT) == [
        "ray-head",
        "ray-worker",
        "ray-worker-gpu",
    ]


def test_defaults_need_no_args() -> None:
    def program() -> None:
        RayCluster("ray")

    run = run_programs(program)
    assert find(run.resources, DEPLOYMENT, "ray-worker").inputs["spec"]["replicas"] == 3


def test_gcs_fault_tolerance_gets_a_real_storage_namespace_under_echo_mocks() -> None:
    run = run_cluster({"gcs_fault_tolerance": {"redis_address": "redis:6379"}, "auth": False})
    head = find(run.resources, DEPLOYMENT, "ray-head").inputs
    env = {e["name"]: e.get("value") for e in head["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RAY_external_storage_namespace"].startswith("ray-ray-")
    assert len(env["RAY_external_storage_namespace"]) == len("ray-ray-") + 8


CLUSTER_OUTPUTS: dict[str, Any] = {
    "namespace": "ray",
    "dashboard_url": "http://ray-head.ray.svc.cluster.local:8265",
    "entrypoint": "python -c 'import ray; ray.init()'",
}


def test_a_job_whose_auth_secret_resolves_to_nothing_fails_before_its_submitter_exists() -> None:
    def program() -> None:
        RayJob("hello", {**CLUSTER_OUTPUTS, "auth_secret": pulumi.Output.from_input(None)})  # type: ignore[typeddict-item]

    with pytest.raises(RenderError) as failure:
        run_programs(program)
    assert str(failure.value.error) == (
        "auth_secret: got no value; expected the cluster's token Secret: its auth_secret_name output (export "
        "it from the cluster's stack), or auth false for a cluster deployed with auth off."
    )
    assert not any(r.type == "kubernetes:batch/v1:Job" for r in failure.value.run.resources)


def test_a_job_without_auth_secret_is_refused_unless_auth_is_off() -> None:
    with pytest.raises(RenderError) as failure:
        run_programs(lambda: RayJob("hello", CLUSTER_OUTPUTS))  # type: ignore[arg-type]
    assert str(failure.value.error).startswith("auth_secret: got no value;")
    run = run_programs(lambda: RayJob("hello", {**CLUSTER_OUTPUTS, "auth": False}))  # type: ignore[arg-type]
    job = find(run.resources, "kubernetes:batch/v1:Job", "hello-submitter").inputs
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RAY_AUTH_MODE"] == "disabled"


def test_a_job_with_auth_off_and_a_secret_is_refused() -> None:
    args = {**CLUSTER_OUTPUTS, "auth": False, "auth_secret": "ray-auth"}
    with pytest.raises(RenderError) as failure:
        run_programs(lambda: RayJob("hello", args))  # type: ignore[arg-type]
    assert str(failure.value.error) == 'auth_secret: got "ray-auth"; expected no value while auth is false.'


def test_the_runtime_refuses_what_the_types_refuse() -> None:
    """`cpu` is a string (a Kubernetes quantity) in the args' type; the runtime says so too."""
    with pytest.raises(RenderError) as failure:
        run_cluster(cast(RayClusterArgs, {"worker_resources": {"cpu": 2}}))
    assert (
        str(failure.value.error)
        == 'worker_resources.cpu: got 2; expected a string such as "2" (a Kubernetes quantity).'
    )
