"""RayJob: the builders called directly (tables), the component under Pulumi mocks, and its refusals."""

import json
from dataclasses import dataclass
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from ray_static import RayCluster, RayClusterArgs, RayJob, RayJobArgs, RayStaticConfigError
from ray_static import constants as c
from ray_static.jobs.objects import await_annotations
from ray_static.jobs.settings import default_submission_id, resolve_job
from ray_static.jobs.submitter import SCRIPT, submit_options, submitter_command
from tests.support.manifests import RESTRICTED_CONTAINER, RESTRICTED_POD
from tests.support.render import Rendered, RenderError, Run, find, find_all, run_programs
from tests.unit.test_kubernetes_schema import kubernetes_version

HELLO = "python -c 'print(285)'"
FQDN = "ray-head.ray.svc.cluster.local"


@dataclass(frozen=True)
class Case:
    name: str
    given: Any
    want: Any


# --- the builders ------------------------------------------------------------------------------------

SUBMIT_OPTIONS = [
    Case("entrypoint only, through sh -c", {}, ["--", "sh", "-c", HELLO]),
    Case(
        "runtime_env and metadata as JSON",
        {"runtime_env": {"pip": ["requests"], "env_vars": {"A": "1"}}, "metadata": {"team": "ml"}},
        [
            "--runtime-env-json",
            '{"env_vars": {"A": "1"}, "pip": ["requests"]}',
            "--metadata-json",
            '{"team": "ml"}',
            "--",
            "sh",
            "-c",
            HELLO,
        ],
    ),
    Case(
        "Ray's resources get their flags, the others --entrypoint-resources",
        {"entrypoint_resources": {"CPU": 1, "GPU": 0.5, "memory": 2**30, "accel": 2}},
        [
            "--entrypoint-num-cpus",
            "1",
            "--entrypoint-num-gpus",
            "0.5",
            "--entrypoint-resources",
            '{"accel": 2.0}',
            "--entrypoint-memory",
            str(2**30),
            "--",
            "sh",
            "-c",
            HELLO,
        ],
    ),
]


@pytest.mark.parametrize("case", SUBMIT_OPTIONS, ids=lambda case: case.name)
def test_submit_options(case: Case) -> None:
    options = submit_options(resolve_job("hello", {"entrypoint": HELLO, **case.given}))
    # The order of the resource flags is sorted by resource name; compare as sets of flag/value pairs
    # before the entrypoint, and exactly after it.
    split = options.index("--")
    pairs = set(zip(options[:split:2], options[1:split:2], strict=True))
    want_split = case.want.index("--")
    assert pairs == set(zip(case.want[:want_split:2], case.want[1:want_split:2], strict=True))
    assert options[split:] == case.want[want_split:]


def test_the_command_is_bash_running_the_script_with_the_id_and_the_options() -> None:
    job = resolve_job("hello", {"entrypoint": HELLO})
    assert submitter_command(job) == [
        "bash",
        "-c",
        SCRIPT,
        "ray-job-submitter",
        job.submission_id,
        "--",
        "sh",
        "-c",
        HELLO,
    ]
    # Idempotent like KubeRay's submitter: status first, submit only when unknown, then follow.
    status, submit, follow = (
        SCRIPT.index(s)
        for s in ('if job status "$id"', 'job submit --submission-id "$id"', 'job logs --follow "$id"')
    )
    assert status < submit < follow
    assert "--no-wait" in SCRIPT and "trap stop TERM" in SCRIPT
    # Terminated, it stops the job and waits until Ray reports it ended: its pod, and then its Job, are
    # gone only once the job is.
    assert 'job stop "$id"' in SCRIPT and "job stop --no-wait" not in SCRIPT


JOB_NAMES = [
    Case("the default id is a DNS label: the Job takes it", ("hello", None), "hello-"),
    Case("a given DNS-label id is the Job's name", ("hello", "nightly-2026"), "nightly-2026"),
    Case("any other id: name and a hash of it", ("hello", "raysubmit_AbC"), "hello-"),
]


@pytest.mark.parametrize("case", JOB_NAMES, ids=lambda case: case.name)
def test_job_names(case: Case) -> None:
    name, given_id = case.given
    args: dict[str, Any] = {"entrypoint": HELLO}
    if given_id is not None:
        args["submission_id"] = given_id
    job = resolve_job(name, args)
    assert job.job_name.startswith(case.want) and len(job.job_name) <= 63
    if given_id is None:
        assert job.job_name == job.submission_id
    elif given_id != case.want:
        assert job.job_name == f"hello-{job.job_name.removeprefix('hello-')}" != given_id


AWAIT = [
    Case("wait: pulumi up waits up to a day", {}, {c.TIMEOUT_ANNOTATION: "86400"}),
    Case(
        "wait with a timeout: the timeout and a margin",
        {"timeout_seconds": 600},
        {c.TIMEOUT_ANNOTATION: "720"},
    ),
    Case(
        "no wait: done once created, its delete still awaited",
        {"wait": False},
        {c.WAIT_FOR_ANNOTATION: "jsonpath={.metadata.name}"},
    ),
]


@pytest.mark.parametrize("case", AWAIT, ids=lambda case: case.name)
def test_await_annotations(case: Case) -> None:
    assert await_annotations(resolve_job("hello", {"entrypoint": HELLO, **case.given})) == case.want


# --- the submission id ---------------------------------------------------------------------------------


def submission(name: str = "hello", **args: Any) -> str:
    return resolve_job(name, {"entrypoint": HELLO, **args}).submission_id


def test_the_default_id_is_pinned_across_versions() -> None:
    """Changing how the id is made would resubmit every job of every stack on upgrade."""
    assert (
        default_submission_id(
            "hello", {"entrypoint": HELLO, "runtime_env": {}, "entrypoint_resources": {}, "metadata": {}}
        )
        == submission()
    )
    assert submission() == "hello-c34871db71"


def test_same_job_same_id_and_a_changed_job_a_new_one() -> None:
    assert submission() == submission()
    assert submission(runtime_env={"pip": ["a"], "env_vars": {"X": "1"}}) == submission(
        runtime_env={"env_vars": {"X": "1"}, "pip": ["a"]}
    )
    assert submission(entrypoint_resources={"CPU": 1}) == submission(entrypoint_resources={"CPU": 1.0})
    changed = [
        submission(entrypoint="python other.py"),
        submission(runtime_env={"pip": ["a"]}),
        submission(entrypoint_resources={"CPU": 1}),
        submission(metadata={"k": "v"}),
        submission("other"),
    ]
    assert len({submission(), *changed}) == len(changed) + 1
    # Waiting and its timeout are not the job: changing them keeps the submission.
    assert submission(wait=False, timeout_seconds=60) == submission()


# --- the component under mocks -----------------------------------------------------------------------


def run_with_cluster(
    job: dict[str, Any] | None = None, cluster: RayClusterArgs | None = None, name: str = "hello"
) -> Run:
    def program() -> None:
        ray = RayCluster("ray", cluster or {})
        pulumi.export("token", ray.auth_token)
        RayJob(name, {"cluster": ray, "entrypoint": HELLO, **(job or {})})  # type: ignore[typeddict-item]

    return run_programs(program)


def run_from_outputs(args: dict[str, Any], name: str = "hello") -> Run:
    def program() -> None:
        RayJob(name, args)  # type: ignore[arg-type]

    return run_programs(program)


def submitter(run: Run, name: str = "hello") -> Rendered:
    return find(run.resources, "batch/v1:Job", f"{name}-submitter")


def pod(run: Run) -> dict[str, Any]:
    return submitter(run).inputs["spec"]["template"]


def container(run: Run) -> dict[str, Any]:
    [only] = pod(run)["spec"]["containers"]
    return only


def env(run: Run) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(run)["env"]}


def job_outputs(run: Run, name: str = "hello") -> dict[str, Any]:
    component = find(run.resources, "ray-static:index:RayJob", name)
    return run.outputs[component.urn]


@pytest.fixture(scope="module")
def with_cluster() -> Run:
    return run_with_cluster()


def test_one_job_parented_to_the_component_after_the_cluster(with_cluster: Run) -> None:
    component = find(with_cluster.resources, "ray-static:index:RayJob", "hello")
    job = submitter(with_cluster)
    assert [r.name for r in with_cluster.resources if r.parent == component.urn] == ["hello-submitter"]
    assert job.parent == component.urn
    head = find(with_cluster.resources, "apps/v1:Deployment", "ray-head")
    assert head.urn in job.dependencies  # created once the head is Ready; deleted before it
    # A new submission (a new Job name) deletes the old Job first: that stops the old job if it runs.
    assert job.delete_before_replace


def test_the_job_runs_the_submitter_in_the_clusters_namespace_and_image(with_cluster: Run) -> None:
    job = submitter(with_cluster).inputs
    settings = resolve_job("hello", {"entrypoint": HELLO})
    assert job["metadata"]["name"] == settings.job_name
    assert job["metadata"]["namespace"] == "ray"
    assert container(with_cluster)["command"] == submitter_command(settings)
    assert container(with_cluster)["image"] == c.DEFAULT_IMAGE
    assert env(with_cluster)["RAY_API_SERVER_ADDRESS"]["value"] == f"http://{FQDN}:8265"
    assert job_outputs(with_cluster) == {
        "submission_id": settings.submission_id,
        "job_name": settings.job_name,
    }  # status: unset until Kubernetes reports the Job's end


def test_the_token_comes_from_the_clusters_secret_and_never_appears_in_clear(with_cluster: Run) -> None:
    assert env(with_cluster)["RAY_AUTH_TOKEN_PATH"] == {
        "name": "RAY_AUTH_TOKEN_PATH",
        "value": "/var/run/secrets/ray/token",
    }
    assert "RAY_AUTH_TOKEN" not in env(with_cluster)
    assert env(with_cluster)["RAY_AUTH_MODE"]["value"] == "token"
    pod_spec = submitter(with_cluster).inputs["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod_spec["volumes"]}
    assert volumes["ray-auth"]["secret"]["secretName"] == "ray-auth"
    mounts = {m["mountPath"]: m for m in container(with_cluster)["volumeMounts"]}
    assert mounts["/var/run/secrets/ray"]["readOnly"] is True
    secret = find(with_cluster.resources, "core/v1:Secret", "ray-auth").inputs
    assert secret["metadata"]["namespace"] == submitter(with_cluster).inputs["metadata"]["namespace"]
    token = with_cluster.stack_outputs["token"]
    assert len(token) > 16 and token not in json.dumps(submitter(with_cluster).inputs)


def run_volumes(run: Run) -> dict[str, Any]:
    """The submitter pod's volumes by name."""
    return {v["name"]: v for v in submitter(run).inputs["spec"]["template"]["spec"]["volumes"]}


def admitted_on(policy: dict[str, Any], labels: dict[str, str], port: int) -> bool:
    """Whether a pod with these labels, in the policy's namespace, may reach `port` of the cluster's pods."""
    for rule in policy["spec"]["ingress"]:
        ports = {p["port"] for p in rule["ports"]}
        for peer in rule["from"]:
            selector = peer.get("podSelector", {}).get("matchLabels")
            if "namespaceSelector" in peer or selector is None:
                continue
            if selector.items() <= labels.items() and port in ports:
                return True
    return False


def test_the_clusters_network_policy_admits_the_submitter_on_the_dashboard_port_only(
    with_cluster: Run,
) -> None:
    policy = find(with_cluster.resources, "NetworkPolicy", "ray").inputs
    labels = pod(with_cluster)["metadata"]["labels"]
    assert policy["metadata"]["namespace"] == submitter(with_cluster).inputs["metadata"]["namespace"]
    assert admitted_on(policy, labels, c.DASHBOARD_PORT)
    assert not any(admitted_on(policy, labels, p) for p in (c.GCS_PORT, c.CLIENT_PORT, c.METRICS_PORT))
    # Nor is the submitter one of the cluster's pods (the Service and Deployments select those).
    assert c.LABEL_CLUSTER not in labels


def test_the_submitter_is_restricted_bounded_and_final_on_a_job_failure(with_cluster: Run) -> None:
    spec = submitter(with_cluster).inputs["spec"]
    pod_spec = spec["template"]["spec"]
    assert pod_spec["securityContext"] == RESTRICTED_POD
    assert container(with_cluster)["securityContext"] == RESTRICTED_CONTAINER
    assert pod_spec["automountServiceAccountToken"] is False
    assert pod_spec["restartPolicy"] == "Never"
    assert spec["backoffLimit"] == c.JOB_BACKOFF_LIMIT
    assert spec["ttlSecondsAfterFinished"] == c.JOB_TTL_SECONDS
    assert "activeDeadlineSeconds" not in spec
    # One retry (the submitter waits for the Jobs API itself); a pod lost with its node is replaced.
    assert spec["backoffLimit"] == 1
    assert spec["podFailurePolicy"] == {
        "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
    }
    # pulumi-kubernetes shows a failed pod's termination message: with this policy, its last log lines.
    assert container(with_cluster)["terminationMessagePolicy"] == "FallbackToLogsOnError"
    limits = container(with_cluster)["resources"]
    assert limits["limits"] == limits["requests"] == {"cpu": "250m", "memory": "512Mi"}


def test_timeout_is_the_jobs_deadline_and_no_wait_awaits_only_the_delete() -> None:
    run = run_with_cluster({"timeout_seconds": 3600, "wait": False})
    job = submitter(run).inputs
    assert job["spec"]["activeDeadlineSeconds"] == 3600
    # pulumi-kubernetes skips a Job's delete await too under skipAwait: never used, so removing the
    # RayJob returns only once its submitter stopped the Ray job and the Job is gone.
    assert job["metadata"]["annotations"] == {c.WAIT_FOR_ANNOTATION: "jsonpath={.metadata.name}"}
    assert c.SKIP_AWAIT_ANNOTATION not in json.dumps(job)


def test_a_cluster_without_auth_gives_no_token() -> None:
    run = run_with_cluster(cluster={"auth": False, "image": "rayproject/ray:2.59.0", "namespace": "ml"})
    assert env(run)["RAY_AUTH_MODE"]["value"] == "disabled"
    assert "RAY_AUTH_TOKEN" not in env(run)
    assert container(run)["image"] == "rayproject/ray:2.59.0"
    assert submitter(run).inputs["metadata"]["namespace"] == "ml"


PULL = [{"name": "regcred"}, {"name": "mirror"}]


def test_the_submitter_pulls_the_image_with_the_clusters_pull_secrets() -> None:
    run = run_with_cluster(cluster={"image_pull_secrets": ["regcred", "mirror"]})
    head = find(run.resources, "apps/v1:Deployment", "ray-head").inputs["spec"]["template"]["spec"]
    assert head["imagePullSecrets"] == pod(run)["spec"]["imagePullSecrets"] == PULL
    manifest = {"apiVersion": "batch/v1", "kind": "Job", **submitter(run).inputs}
    kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)


def test_without_pull_secrets_the_pod_has_no_such_field(with_cluster: Run) -> None:
    """Not even an empty list: a Job's pod template is immutable, and Jobs created before the field
    existed would be replaced."""
    assert "imagePullSecrets" not in pod(with_cluster)["spec"]
    run = run_from_outputs({**CLUSTER_OUTPUTS, "entrypoint": HELLO, "image_pull_secrets": []})
    assert "imagePullSecrets" not in pod(run)["spec"]


def test_other_stacks_name_the_pull_secrets_plainly_or_as_outputs() -> None:
    plain = run_from_outputs(
        {**CLUSTER_OUTPUTS, "entrypoint": HELLO, "image_pull_secrets": ["regcred", "mirror"]}
    )
    assert pod(plain)["spec"]["imagePullSecrets"] == PULL

    def program() -> None:
        secrets = pulumi.Output.from_input(["regcred", "mirror"])
        args: dict[str, Any] = {**CLUSTER_OUTPUTS, "entrypoint": HELLO, "image_pull_secrets": secrets}
        RayJob("hello", args)  # type: ignore[arg-type]

    assert pod(run_programs(program))["spec"]["imagePullSecrets"] == PULL
    cluster = run_with_cluster(cluster={"image_pull_secrets": ["regcred", "mirror"]})
    assert submitter(plain).inputs == submitter(cluster).inputs


def test_a_changed_entrypoint_is_a_new_job_name_so_pulumi_replaces_the_job() -> None:
    """Kubernetes Job names are immutable: a new name is a replacement of the one Job resource."""
    before = submitter(run_with_cluster())
    after = submitter(run_with_cluster({"entrypoint": "python other.py"}))
    assert before.urn == after.urn  # the same Pulumi resource ...
    assert before.inputs["metadata"]["name"] != after.inputs["metadata"]["name"]  # ... with a new name
    unchanged = submitter(run_with_cluster())
    assert unchanged.inputs == before.inputs  # the same job: nothing to update


CLUSTER_OUTPUTS = {
    "namespace": "ray",
    "dashboard_url": f"http://{FQDN}:8265",
    "auth_secret": "ray-auth",
    "image": c.DEFAULT_IMAGE,
}


def test_the_clusters_outputs_make_the_same_job_as_the_cluster(with_cluster: Run) -> None:
    """What another stack does with the cluster stack's outputs."""
    run = run_from_outputs({**CLUSTER_OUTPUTS, "entrypoint": HELLO})
    assert submitter(run).inputs == submitter(with_cluster).inputs
    assert submitter(run).dependencies == ()


def test_the_clusters_outputs_may_be_outputs() -> None:
    """A StackReference's outputs: known at deployment only, secret or not."""

    def args() -> RayJobArgs:
        return {
            "namespace": pulumi.Output.from_input("ray"),
            "dashboard_url": pulumi.Output.from_input(f"http://{FQDN}:8265"),
            "auth_secret": pulumi.Output.secret("ray-auth"),
            "image": pulumi.Output.from_input("rayproject/ray:2.60.0"),
            "entrypoint": HELLO,
        }

    def program() -> None:
        RayJob("hello", args())

    run = run_programs(program)
    assert submitter(run).inputs["metadata"]["namespace"] == "ray"
    assert env(run)["RAY_AUTH_TOKEN_PATH"]["value"] == "/var/run/secrets/ray/token"
    volumes = run_volumes(run)
    assert volumes["ray-auth"]["secret"]["secretName"] == "ray-auth"


def test_two_jobs_on_one_cluster_do_not_collide() -> None:
    def program() -> None:
        ray = RayCluster("ray", {})
        RayJob("a", {"cluster": ray, "entrypoint": HELLO})
        RayJob("b", {"cluster": ray, "entrypoint": HELLO})

    jobs = find_all(run_programs(program).resources, "batch/v1:Job")
    assert len({j.urn for j in jobs}) == 2
    assert len({j.inputs["metadata"]["name"] for j in jobs}) == 2


CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything": {
        "runtime_env": {"pip": ["requests"], "env_vars": {"A": "1"}},
        "entrypoint_resources": {"CPU": 1, "GPU": 1, "accel": 0.5},
        "metadata": {"team": "ml"},
        "timeout_seconds": 600,
        "wait": False,
        "submission_id": "raysubmit_Custom.1",
    },
}


@pytest.mark.parametrize("job", CONFIGURATIONS.values(), ids=list(CONFIGURATIONS))
def test_the_job_validates_strictly_against_the_kubernetes_schema(job: dict[str, Any]) -> None:
    manifest = {"apiVersion": "batch/v1", "kind": "Job", **submitter(run_with_cluster(job)).inputs}
    kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)


# --- refusals ------------------------------------------------------------------------------------------

REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    (
        "empty entrypoint",
        {"entrypoint": ""},
        'entrypoint: got ""; expected a command for Ray to run, such as "python train.py".',
    ),
    (
        "blank entrypoint",
        {"entrypoint": "  "},
        'entrypoint: got "  "; expected a command for Ray to run, such as "python train.py".',
    ),
    (
        "no entrypoint",
        {"entrypoint": None},
        'entrypoint: got None; expected a command for Ray to run, such as "python train.py".',
    ),
    (
        "runtime_env not a mapping",
        {"runtime_env": ["pip", "requests"]},
        "runtime_env: got ['pip', 'requests']; expected a mapping of plain JSON values (Ray's runtime_env), "
        'such as {"pip": ["requests"]}.',
    ),
    (
        "runtime_env with a non-JSON value",
        {"runtime_env": {"env_vars": {"A": {1, 2}}}},
        "runtime_env: got a mapping holding values that are not JSON; expected a mapping of plain JSON "
        'values (Ray\'s runtime_env), such as {"pip": ["requests"]}.',
    ),
    (
        "submission id with a slash",
        {"submission_id": "team/job"},
        'submission_id: got "team/job"; expected a Ray submission id: 1 to 128 letters, digits, '
        "'-', '_' or '.', starting with a letter or digit.",
    ),
    (
        "empty submission id",
        {"submission_id": ""},
        "submission_id: got \"\"; expected a Ray submission id: 1 to 128 letters, digits, '-', '_' or '.', "
        "starting with a letter or digit.",
    ),
    (
        "submission id too long",
        {"submission_id": "x" * 129},
        f'submission_id: got "{"x" * 129}"; expected a Ray submission id: 1 to 128 letters, digits, '
        "'-', '_' or '.', starting with a letter or digit.",
    ),
    ("wait as text", {"wait": "yes"}, 'wait: got "yes"; expected true or false.'),
    (
        "no time at all",
        {"timeout_seconds": 0},
        "timeout_seconds: got 0; expected a whole number from 1 to 2592000.",
    ),
    (
        "negative resources",
        {"entrypoint_resources": {"CPU": -1}},
        "entrypoint_resources.CPU: got -1; expected a number of at least 0.",
    ),
    (
        "fractional memory",
        {"entrypoint_resources": {"memory": 1.5}},
        "entrypoint_resources.memory: got 1.5; expected a whole number of bytes.",
    ),
    (
        "metadata not strings",
        {"metadata": {"n": 1}},
        "metadata.n: got 1; expected a string.",
    ),
    (
        "a typo",
        {"entry_point": "python x.py"},
        "entry_point: got an unknown setting; expected one of the 14 known settings "
        '(did you mean "entrypoint"?).',
    ),
    (
        "neither a cluster nor its namespace",
        {"namespace": None},
        "namespace: got no value; expected the cluster's namespace output here, or a RayCluster as cluster.",
    ),
    (
        "a namespace that is no name",
        {"namespace": "Ray NS"},
        "namespace: got \"Ray NS\"; expected a Kubernetes name: lowercase letters, digits and '-', "
        "starting with a letter or digit, ending with a letter or digit, at most 63 characters.",
    ),
    (
        "a dashboard URL that is none",
        {"dashboard_url": "ray-head:8265"},
        'dashboard_url: got "ray-head:8265"; expected the cluster\'s dashboard URL, such as '
        '"http://ray-head.ray.svc.cluster.local:8265".',
    ),
    (
        "pull secrets as one string",
        {"image_pull_secrets": "regcred"},
        'image_pull_secrets: got "regcred"; expected a list of strings.',
    ),
    (
        "a pull secret that is no name",
        {"image_pull_secrets": ["regcred", "Reg Cred"]},
        'image_pull_secrets[1]: got "Reg Cred"; expected a Kubernetes object name (lowercase letters, '
        "digits, '-' and '.').",
    ),
    (
        "a cluster that is no RayCluster",
        {"cluster": "ray", "namespace": None, "dashboard_url": None},
        "cluster: got a str; expected a RayCluster.",
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_bad_input_is_refused_in_one_sentence_before_anything_is_registered(
    case: str, args: dict[str, Any], message: str
) -> None:
    given = {k: v for k, v in {**CLUSTER_OUTPUTS, "entrypoint": HELLO, **args}.items() if v is not None}
    with pytest.raises(RenderError) as failure:
        run_from_outputs(given)
    assert isinstance(failure.value.error, RayStaticConfigError), case
    assert str(failure.value.error) == message
    assert failure.value.run.resources == []


@pytest.mark.parametrize(
    ("output", "value"),
    [("namespace", "ray"), ("image_pull_secrets", ["regcred"])],
    ids=["namespace", "pull"],
)
def test_a_cluster_and_its_outputs_together_are_refused(output: str, value: Any) -> None:
    def program() -> None:
        ray = RayCluster("ray", {})
        RayJob("hello", {"cluster": ray, output: value, "entrypoint": HELLO})  # type: ignore[misc]

    with pytest.raises(RenderError) as failure:
        run_programs(program)
    assert str(failure.value.error) == (
        f"cluster: got a RayCluster together with {output}; expected either the cluster or its outputs, "
        "not both."
    )
    assert not find_all(failure.value.run.resources, "RayJob")


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(RenderError) as failure:
        run_from_outputs({**CLUSTER_OUTPUTS, "entrypoint": HELLO}, name="Hello_Job")
    assert str(failure.value.error).startswith('name: got "Hello_Job"; expected a Kubernetes name')
