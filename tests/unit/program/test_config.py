"""The Pulumi program (`__main__.py`) with stack config, and the config schema in Pulumi.yaml."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from program.config import config_name, program_config
from program.options import PROGRAM_KEYS
from program.schema import all_options, config_default, config_type
from ray_static.config.options import BY_KEY, OPTIONS
from ray_static.constants import AUTH_TOKEN_FINGERPRINT_ANNOTATION
from tests.support.manifests import container, deployment, env_of, pod_spec, ray_start
from tests.support.render import REPO_ROOT, Rendered, RenderError, find, find_all, run_program

PULUMI_YAML = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
SCHEMA: dict[str, dict[str, Any]] = PULUMI_YAML["config"]


def cfg(**values: str) -> dict[str, str]:
    return {f"ray-static:{k}": v for k, v in values.items()}


def test_project_settings() -> None:
    assert PULUMI_YAML["name"] == "ray-static"
    assert PULUMI_YAML["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_every_project_key_has_type_default_and_description() -> None:
    for key, spec in SCHEMA.items():
        assert set(spec) == {"type", "default", "description"}, key
        assert spec["type"] in ("string", "integer", "boolean"), key
        assert spec["description"].strip(), key


def test_schema_matches_the_program_keys() -> None:
    assert list(SCHEMA) == [o.key for o in all_options()]
    for option in all_options():
        assert SCHEMA[option.key]["type"] == config_type(option), option.key
        assert SCHEMA[option.key]["default"] == config_default(option), option.key


@pytest.mark.parametrize("stack_file", ["Pulumi.dev.yaml", "Pulumi.node.yaml"])
def test_dev_stack_only_uses_declared_keys_with_valid_values(stack_file: str) -> None:
    stack = yaml.safe_load((REPO_ROOT / stack_file).read_text())["config"]
    for full_key, value in stack.items():
        namespace, _, key = full_key.partition(":")
        assert namespace == "ray-static" and key in SCHEMA
        assert isinstance(value, str)
    program_config(stack)


def _defaults_as_config() -> dict[str, str]:
    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return {f"ray-static:{o.key}": text(config_default(o)) for o in OPTIONS}


def test_schema_defaults_equal_the_component_defaults() -> None:
    """The CLI fills in Pulumi.yaml's defaults; an empty config (mocks, other stacks) must deploy the same."""
    explicit = run_program(_defaults_as_config())
    implicit = run_program({})
    # The generated token differs per run (as it would per stack); everything else must be identical.
    strip = {"pulumi:index:Stash", "kubernetes:core/v1:Secret"}

    def by_key(resources: list[Rendered]) -> dict[tuple[str, str], dict[str, Any]]:
        out = {(r.type, r.name): r.inputs for r in resources if r.type not in strip}
        for inputs in out.values():  # the token's fingerprint differs with the token
            template = inputs.get("spec", {}).get("template", {})
            template.get("metadata", {}).get("annotations", {}).pop(AUTH_TOKEN_FINGERPRINT_ANNOTATION, None)
        return out

    assert by_key(explicit.resources) == by_key(implicit.resources)


def test_default_program_outputs() -> None:
    run = run_program({})
    fqdn = "ray-head.ray.svc.cluster.local"
    outputs = run.stack_outputs
    assert outputs["namespace"] == "ray"
    assert outputs["head_service_name"] == "ray-head"
    assert outputs["gcs_address"] == f"{fqdn}:6379"
    assert outputs["client_address"] == f"ray://{fqdn}:10001"
    assert outputs["dashboard_url"] == f"http://{fqdn}:8265"
    assert outputs["workers"] == 3
    assert outputs["port_forward"] == "kubectl -n ray port-forward svc/ray-head 8265:8265 10001:10001"
    assert outputs["image_pull_secrets"] == []
    # What a RayJob in another stack needs besides namespace and dashboard_url.
    assert outputs["image"] == "rayproject/ray:2.60.0"
    assert outputs["auth_secret_name"] == "ray-auth"
    assert len(outputs["auth_token"]) >= 40
    assert run.stack_secret_outputs == {"auth_token"}


def test_config_maps_onto_the_cluster() -> None:
    rendered = run_program(
        cfg(
            clusterName="analytics",
            workers="4",
            namespace="ml",
            image="rayproject/ray:2.60.0-py311-cpu",
            headCpu="4",
            headMemory="8Gi",
            headRayCpus="1",
            workerCpu="2",
            workerMemory="6Gi",
            workerGpus="1",
            serviceType="LoadBalancer",
            allowedClientNamespaces='["ml-clients"]',
            allowedClientPodLabels='{"ray-client": "true"}',
            nodeSelector='{"pool": "ray"}',
            tolerations='[{"key": "ray", "operator": "Exists", "tolerationSeconds": 30, "effect": "NoExecute"}]',
            imagePullSecrets="regcred, other",
            env='{"RAY_LOG_TO_STDERR": "1"}',
            podAnnotations='{"example.com/team": "ml"}',
            terminationGracePeriodSeconds="90",
            workerCpuRequest="500m",
            headMemoryRequest="6Gi",
            workerGroups='[{"name": "gpu", "replicas": 2, "cpu": "8", "memory": "32Gi", "gpus": 4,'
            ' "nodeSelector": {"gpu": "a100"}, "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}]',
        )
    ).resources
    assert deployment(rendered, "analytics-worker")["spec"]["replicas"] == 4
    assert deployment(rendered, "analytics-worker")["metadata"]["namespace"] == "ml"
    head = container(rendered, "analytics-head")
    assert head["resources"]["limits"] == {"cpu": "4", "memory": "8Gi"}
    assert "--num-cpus=1" in ray_start(head["command"])
    worker = container(rendered, "analytics-worker")
    assert worker["resources"]["limits"] == {"cpu": "2", "memory": "6Gi", "nvidia.com/gpu": "1"}
    gpu = pod_spec(rendered, "analytics-worker-gpu")
    assert deployment(rendered, "analytics-worker-gpu")["spec"]["replicas"] == 2
    assert gpu["nodeSelector"] == {"pool": "ray", "gpu": "a100"}
    assert gpu["tolerations"][-1] == {"key": "nvidia.com/gpu", "operator": "Exists"}
    assert gpu["tolerations"][0] == {
        "key": "ray",
        "operator": "Exists",
        "tolerationSeconds": 30,
        "effect": "NoExecute",
    }
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert gpu["imagePullSecrets"] == [{"name": "regcred"}, {"name": "other"}]
    assert gpu["terminationGracePeriodSeconds"] == 90
    assert worker["resources"]["requests"]["cpu"] == "500m"
    assert head["resources"]["requests"] == {"cpu": "4", "memory": "6Gi"}
    assert env_of(gpu["containers"][0])["RAY_LOG_TO_STDERR"]["value"] == "1"
    assert find(rendered, "core/v1:Service", "analytics-head").inputs["spec"]["type"] == "LoadBalancer"
    policy = find(rendered, "NetworkPolicy").inputs["spec"]["ingress"][1]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ml-clients"}}} in policy


def test_given_token_is_a_secret_everywhere() -> None:
    token = "a-token-given-with-pulumi-config-set-secret"
    run = run_program(cfg(authToken=token))
    assert run.stack_outputs["auth_token"] == token
    assert run.stack_secret_outputs == {"auth_token"}
    secret = find(run.resources, "core/v1:Secret")
    assert secret.inputs["stringData"] == {"token": token} and secret.secret_paths
    assert not find_all(run.resources, "pulumi:index:Stash")


def test_auth_off_exports_no_token() -> None:
    run = run_program(cfg(auth="false"))
    assert "auth_token" not in run.stack_outputs


def test_existing_namespace() -> None:
    rendered = run_program(cfg(namespace="team", createNamespace="false"))
    assert not find_all(rendered.resources, "core/v1:Namespace")


def test_provider_keys_are_not_project_keys() -> None:
    run_program({"kubernetes:context": "kind-ray", "ray-static:workers": "1"})


BAD_CONFIG = [
    (
        cfg(worker="4"),
        'worker: got an unknown config key; expected one of the keys declared in Pulumi.yaml (did you mean "workers"?).',
    ),
    (
        cfg(headcpu="4"),
        'headcpu: got an unknown config key; expected one of the keys declared in Pulumi.yaml (did you mean "headCpu"?).',
    ),
    (cfg(workers="-1"), "workers: got -1; expected a whole number from 0 to 1000."),
    (cfg(workers="2.5"), 'workers: got "2.5"; expected a whole number from 0 to 1000.'),
    (cfg(workers="lots"), 'workers: got "lots"; expected a whole number from 0 to 1000.'),
    (cfg(workers="5000"), "workers: got 5000; expected a whole number from 0 to 1000."),
    (
        cfg(workerCpu="1500m"),
        'workerCpu: got "1500m"; expected a whole number of CPUs such as "2" or "2000m" (Ray schedules whole CPUs).',
    ),
    (
        cfg(headMemory="2 GB"),
        'headMemory: got "2 GB"; expected a Kubernetes memory quantity of at least 512Mi, such as "4Gi".',
    ),
    (
        cfg(clusterName="My_Ray"),
        "clusterName: got \"My_Ray\"; expected a Kubernetes name: lowercase letters, digits and '-', starting with a "
        "letter, ending with a letter or digit, at most 40 characters.",
    ),
    (cfg(image=""), 'image: got ""; expected a container image reference such as "rayproject/ray:2.60.0".'),
    (
        cfg(serviceType="Public"),
        'serviceType: got "Public"; expected "ClusterIP", "NodePort" or "LoadBalancer".',
    ),
    (
        cfg(serviceType="NodePort", auth="false"),
        'serviceType: got "NodePort"; expected "ClusterIP" while auth is false (anyone reaching the port could run '
        "code), unless allowUnauthenticatedExposure is true.",
    ),
    (cfg(createNamespace="yes"), 'createNamespace: got "yes"; expected true or false.'),
    (
        cfg(nodeSelector='{"pool": '),
        'nodeSelector: got "{\\"pool\\": "; expected a JSON object of strings such as {"key": "value"}.',
    ),
    (
        cfg(workerGroups='[{"name": "gpu", "gpu": 1}]'),
        'workerGroups[0].gpu: got an unknown field; expected a known field (did you mean "gpus"?).',
    ),
    (
        cfg(workerGroups='[{"name": "gpu", "cpu": "0.5"}]'),
        'workerGroups[0].cpu: got "0.5"; expected a whole number of CPUs such as "2" or "2000m" (Ray schedules whole '
        "CPUs).",
    ),
    (
        cfg(tolerations='[{"key": "a", "tolerationSeconds": "soon"}]'),
        'tolerations[0].tolerationSeconds: got "soon"; expected a whole number of seconds.',
    ),
    (cfg(authToken="short"), "authToken: got a 5-character value; expected at least 16 characters."),
    (
        cfg(terminationGracePeriodSeconds="1m"),
        'terminationGracePeriodSeconds: got "1m"; expected a whole number from 0 to 86400.',
    ),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIG, ids=[next(iter(c)) for c, _ in BAD_CONFIG])
def test_bad_config_fails_with_the_key_named_and_registers_nothing(
    config: dict[str, str], message: str
) -> None:
    with pytest.raises(RenderError) as failure:
        run_program(config)
    assert str(failure.value.error) == message
    assert failure.value.run.resources == []


def test_plaintext_token_warns() -> None:
    config = program_config(cfg(authToken="x" * 20), secret_keys=())
    assert config.warnings and "--secret" in config.warnings[0]
    assert not program_config(cfg(authToken="x" * 20), secret_keys={"ray-static:authToken"}).warnings


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("workers", "workers"),
        ("head_resources.cpu", "headCpu"),
        ("worker_resources.memory", "workerMemory"),
        ("worker_groups[2].resources.gpus", "workerGroups[2].gpus"),
        ("worker_groups[0].node_selector.pool", "workerGroups[0].nodeSelector.pool"),
        (
            "worker_groups[0].tolerations[1].toleration_seconds",
            "workerGroups[0].tolerations[1].tolerationSeconds",
        ),
        ("tolerations[0].toleration_seconds", "tolerations[0].tolerationSeconds"),
        ("allowed_client_namespaces[1]", "allowedClientNamespaces[1]"),
        ("node_selector.kubernetes.io/arch", "nodeSelector.kubernetes.io/arch"),
        ("name", "clusterName"),
    ],
)
def test_errors_name_config_keys(path: str, key: str) -> None:
    assert config_name(path) == key


def test_every_config_key_is_reachable() -> None:
    assert {*BY_KEY, *PROGRAM_KEYS} == set(SCHEMA)
    main = Path(REPO_ROOT / "__main__.py").read_text()
    assert "program_config(" in main and "RayCluster(" in main
