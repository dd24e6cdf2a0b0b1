"""RayJob in the repository's program (the `jobs` stack-config key) and in the component plugin."""

import json
from typing import Any

import pytest
from pulumi import InputPropertyError

from program.jobs import parse_jobs
from ray_static import RayCluster, RayJob, RayStaticConfigError
from ray_static.jobs.settings import resolve_job
from tests.support.render import RenderError, find, find_all, run_program
from tests.unit.test_packaging import load_plugin

JOBS = [
    {"name": "hello", "entrypoint": "python -c 'print(1)'", "runtime_env": {"pip": ["emoji"]}, "wait": True},
    {"name": "later", "entrypoint": "python later.py", "wait": False},
]


def jobs_config(jobs: Any, **extra: str) -> dict[str, str]:
    text = jobs if isinstance(jobs, str) else json.dumps(jobs)
    return {"ray-static:jobs": text, **{f"ray-static:{k}": v for k, v in extra.items()}}


def test_jobs_run_on_the_programs_cluster() -> None:
    run = run_program(jobs_config(JOBS, clusterName="lab", namespace="ml"))
    cluster = find(run.resources, "ray-static:index:RayCluster", "lab")
    jobs = {r.name: r for r in find_all(run.resources, "batch/v1:Job")}
    assert set(jobs) == {"hello-submitter", "later-submitter"}
    head = find(run.resources, "apps/v1:Deployment", "lab-head")
    for job in jobs.values():
        assert job.inputs["metadata"]["namespace"] == "ml"
        assert head.urn in job.dependencies
    hello = resolve_job("hello", {k: v for k, v in JOBS[0].items() if k != "name"})
    later = resolve_job("later", {k: v for k, v in JOBS[1].items() if k != "name"})
    assert jobs["later-submitter"].inputs["metadata"]["annotations"] == {
        "pulumi.com/waitFor": "jsonpath={.metadata.name}"
    }
    assert run.stack_outputs["jobs"] == {
        "hello": {"submission_id": hello.submission_id, "status": None},
        "later": {"submission_id": later.submission_id, "status": None},
    }  # status: unset until Kubernetes reports the end
    assert cluster.urn not in {j.parent for j in jobs.values()}


def test_no_jobs_no_job_resources_and_no_jobs_output() -> None:
    run = run_program({})
    assert not find_all(run.resources, "RayJob") and "jobs" not in run.stack_outputs


REFUSALS = [
    ("not JSON", "[{", 'jobs: got "[{"; expected a JSON list of jobs such as [{"name": "hello", '
     '"entrypoint": "python hello.py"}].'),
    ("not a list", {"name": "x"}, 'jobs: got "{\\"name\\": \\"x\\"}"; expected a JSON list of jobs such as '
     '[{"name": "hello", "entrypoint": "python hello.py"}].'),
    ("no name", [{"entrypoint": "x"}],
     'jobs[0].name: got no value; expected a name for the job, such as "hello".'),
    ("empty entrypoint", [{"name": "a", "entrypoint": ""}],
     'jobs[0].entrypoint: got ""; expected a command for Ray to run, such as "python train.py".'),
    ("runtime_env not a mapping", [{"name": "a", "entrypoint": "x", "runtime_env": "pip"}],
     "jobs[0].runtime_env: got \"pip\"; expected a mapping of plain JSON values (Ray's runtime_env), such as "
     '{"pip": ["requests"]}.'),
    ("a camelCase field", [{"name": "a", "entrypoint": "x", "runtimeEnv": {}}],
     "jobs[0].runtimeEnv: got an unknown field; expected one of name, entrypoint, runtime_env, "
     'submission_id, wait, timeout_seconds, entrypoint_resources, metadata (did you mean "runtime_env"?).'),
    ("the cluster is the program's", [{"name": "a", "entrypoint": "x", "namespace": "other"}],
     "jobs[0].namespace: got an unknown field; expected one of name, entrypoint, runtime_env, submission_id, "
     "wait, timeout_seconds, entrypoint_resources, metadata (jobs run on this stack's cluster)."),
    ("a bad submission id", [{"name": "a", "entrypoint": "x"}, {"name": "b", "entrypoint": "x",
                                                               "submission_id": "a b"}],
     "jobs[1].submission_id: got \"a b\"; expected a Ray submission id: 1 to 128 letters, digits, "
     "'-', '_' or '.', starting with a letter or digit."),
    ("the same name twice", [{"name": "a", "entrypoint": "x"}, {"name": "a", "entrypoint": "y"}],
     'jobs[1].name: got "a"; expected a name no other job in jobs has.'),
    ("a bad name", [{"name": "A", "entrypoint": "x"}],
     "jobs[0].name: got \"A\"; expected a Kubernetes name: lowercase letters, digits and '-', "
     "starting with a letter, ending with a letter or digit, at most 40 characters."),
]  # fmt: skip


@pytest.mark.parametrize(("case", "jobs", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_bad_jobs_are_refused_by_key_before_anything_is_registered(
    case: str, jobs: Any, message: str
) -> None:
    with pytest.raises(RenderError) as failure:
        run_program(jobs_config(jobs))
    assert isinstance(failure.value.error, RayStaticConfigError), case
    assert str(failure.value.error) == message
    assert failure.value.run.resources == []


def test_a_typo_of_the_key_is_suggested() -> None:
    with pytest.raises(RenderError) as failure:
        run_program({"ray-static:job": "[]"})
    assert 'did you mean "jobs"?' in str(failure.value.error)


def test_parse_jobs_takes_parsed_json_too() -> None:
    [job] = parse_jobs([{"name": "a", "entrypoint": "x", "timeout_seconds": 60}])
    assert (job.name, job.args, job.settings.timeout_seconds) == (
        "a",
        {"entrypoint": "x", "timeout_seconds": 60},
        60,
    )


# --- the plugin ---------------------------------------------------------------------------------------

OUTPUTS = {
    "namespace": "ray",
    "dashboardUrl": "http://ray-head.ray.svc.cluster.local:8265",
    "authSecret": "ray-auth",
    "image": "rayproject/ray:2.60.0",
}


def test_the_plugin_serves_rayjob_and_refuses_bad_inputs_by_schema_name() -> None:
    plugin = load_plugin()
    provider = plugin.RayStaticProvider([RayCluster, RayJob], plugin.NAME)
    with pytest.raises(InputPropertyError) as failure:
        provider.construct("hello", "ray-static:index:RayJob", {**OUTPUTS, "entrypoint": " "})
    assert failure.value.property_path == "entrypoint"
    assert (
        failure.value.reason
        == 'entrypoint: got " "; expected a command for Ray to run, such as "python train.py".'
    )
    with pytest.raises(InputPropertyError) as failure:
        provider.construct(
            "hello", "ray-static:index:RayJob", {**OUTPUTS, "entrypoint": "x", "submissionId": "a/b"}
        )
    assert failure.value.property_path == "submissionId"
    with pytest.raises(InputPropertyError) as failure:
        provider.construct(
            "hello", "ray-static:index:RayJob", {**OUTPUTS, "entrypoint": "x", "imagePullSecrets": ["Reg"]}
        )
    assert failure.value.property_path == "imagePullSecrets[0]"
    assert failure.value.reason == (
        'imagePullSecrets[0]: got "Reg"; expected a Kubernetes object name (lowercase letters, digits, '
        "'-' and '.')."
    )
    with pytest.raises(InputPropertyError) as failure:
        provider.construct("hello", "ray-static:index:RayJob", {"entrypoint": "x"})
    assert failure.value.reason == (
        "namespace: got no value; expected the cluster's namespace output here, or a RayCluster as cluster."
    )


def test_the_plugin_hands_the_timeout_to_the_component_as_int() -> None:
    plugin = load_plugin()
    provider = plugin.RayStaticProvider([RayCluster, RayJob], plugin.NAME)
    args = provider.map_inputs(
        {**OUTPUTS, "entrypoint": "x", "timeoutSeconds": 60.0, "entrypointResources": {"CPU": 1.0}},
        provider._component_defs["RayJob"],
    )
    assert (args["timeout_seconds"], type(args["timeout_seconds"])) == (60, int)
    assert resolve_job("hello", args).timeout_seconds == 60
