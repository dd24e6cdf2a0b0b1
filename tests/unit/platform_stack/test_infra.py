"""The platform stack's unit tests, written the way Pulumi's testing guide writes them: the echo mocks
(`new_resource` returns the inputs as the outputs), set before the program is imported, then
`@pulumi.runtime.test` functions that check Outputs with `apply`.

RAY_STATIC_PREVIEW=1 runs the same tests as a preview (`set_mocks(..., preview=True)`).
tests/unit/test_platform_stack.py runs this module in a process of its own, once per mode.
"""

import os

import pulumi

REGISTERED: list[pulumi.runtime.MockResourceArgs] = []


class MyMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):  # pyright: ignore[reportIncompatibleMethodOverride]
        REGISTERED.append(args)
        return [args.name + "_id", args.inputs]

    def call(self, args: pulumi.runtime.MockCallArgs):  # pyright: ignore[reportIncompatibleMethodOverride]
        return {}


pulumi.runtime.set_mocks(MyMocks(), preview=os.environ.get("RAY_STATIC_PREVIEW") == "1")

from tests.unit.platform_stack import infra  # noqa: E402  (after set_mocks, as the guide says)


def registered(type_: str, name: str) -> pulumi.runtime.MockResourceArgs:
    return next(r for r in REGISTERED if r.typ == type_ and r.name == name)


@pulumi.runtime.test
def test_both_clusters_run_in_the_platform_namespace():
    def check(namespaces):
        assert namespaces == ["ml", "ml"]

    return pulumi.Output.all(infra.cpu.namespace, infra.gpu.namespace).apply(check)


@pulumi.runtime.test
def test_the_cpu_cluster_is_reached_through_its_head_service():
    def check(address):
        assert address == "ray://cpu-head.ml.svc.cluster.local:10001"

    return infra.cpu.client_address.apply(check)


@pulumi.runtime.test
def test_a_token_is_generated_for_each_cluster():
    def check(tokens):
        assert all(isinstance(t, str) and len(t) >= 16 for t in tokens)
        assert tokens[0] != tokens[1]

    return pulumi.Output.all(infra.cpu.auth_token, infra.gpu.auth_token).apply(check)


@pulumi.runtime.test
def test_the_workers_get_the_outputs_given():
    def check(_):
        workers = registered("kubernetes:apps/v1:Deployment", "cpu-worker").inputs
        assert workers["spec"]["replicas"] == 2
        container = workers["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "rayproject/ray:2.60.0-py311"
        assert container["resources"]["limits"]["cpu"] == "2"

    return pulumi.Output.all(infra.cpu.urn, infra.cpu.image).apply(check)


@pulumi.runtime.test
def test_the_gpu_head_keeps_its_state_under_a_generated_storage_namespace():
    def check(_):
        head = registered("kubernetes:apps/v1:Deployment", "gpu-head").inputs
        env = {e["name"]: e.get("value") for e in head["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["RAY_external_storage_namespace"].startswith("ml-gpu-")
        assert env["RAY_external_storage_namespace"] != "None"

    return pulumi.Output.all(infra.gpu.urn, infra.gpu.gcs_address).apply(check)


@pulumi.runtime.test
def test_the_job_goes_to_the_cpu_cluster_with_its_token():
    def check(_):
        job = registered("kubernetes:batch/v1:Job", "nightly-submitter").inputs
        env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["RAY_AUTH_MODE"]["value"] == "token"

    return pulumi.Output.all(infra.nightly.urn, infra.nightly.submission_id).apply(check)
