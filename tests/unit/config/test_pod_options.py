"""Pod options (PodArgs): given at the top level, in `head` and in worker groups, merged by kind, rendered
into the pod templates, and refused in one sentence when they would fail or clash with ray-static's own."""

import subprocess
from typing import Any

import pytest

from program.config import program_config
from ray_static import RayStaticConfigError
from ray_static import constants as c
from ray_static.cluster.commands import raise_nofile_script
from ray_static.config.pod_options import FIELDS, POD_OPTIONS
from ray_static.config.settings import resolve
from tests.support.manifests import container, deployment, pod_spec, ray_start
from tests.support.render import Rendered, refusal, run_cluster

PVC = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
MOUNT = {"name": "data", "mountPath": "/data"}
SIDECAR = {
    "name": "logs",
    "image": "busybox:1.36",
    "args": ["tail", "-F", "/tmp/ray/session_latest/logs/raylet.out"],
}


def render(args: dict[str, Any]) -> list[Rendered]:
    return run_cluster(args).resources  # type: ignore[arg-type]


def test_every_pod_option_is_a_field_of_the_resolved_pod() -> None:
    assert sorted(o.path for o in POD_OPTIONS) == sorted(FIELDS)


# --- merging ---------------------------------------------------------------------------------------


def test_groups_and_head_add_to_lists_and_maps_and_replace_single_values() -> None:
    settings = resolve(
        "ray",
        {
            "env": {"A": "top", "B": "top"},
            "volumes": [PVC],
            "tolerations": [{"key": "ray", "operator": "Exists"}],
            "priority_class_name": "batch",
            "termination_grace_period_seconds": 60,
            "head": {"env": {"B": "head"}, "priority_class_name": "critical"},
            "worker_groups": [
                {
                    "name": "gpu",
                    "volumes": [{"name": "models", "emptyDir": {}}],
                    "tolerations": [{"key": "gpu", "operator": "Exists"}],
                    "termination_grace_period_seconds": 5,
                }
            ],
        },
    )
    default, gpu = settings.groups
    assert settings.head_pod.env == {"A": "top", "B": "head"}
    assert settings.head_pod.priority_class_name == "critical"
    assert default.pod.priority_class_name == "batch" and default.pod.env == {"A": "top", "B": "top"}
    assert [v["name"] for v in gpu.pod.volumes] == ["data", "models"]
    assert [t["key"] for t in gpu.pod.tolerations] == ["ray", "gpu"]
    assert (gpu.pod.termination_grace_period_seconds, default.pod.termination_grace_period_seconds) == (5, 60)
    assert settings.head_pod.termination_grace_period_seconds == 60


def test_pod_annotations_is_the_same_as_annotations() -> None:
    settings = resolve("ray", {"pod_annotations": {"a": "1", "b": "1"}, "annotations": {"b": "2"}})
    assert settings.head_pod.annotations == {"a": "1", "b": "2"}


# --- rendering -------------------------------------------------------------------------------------


def test_volumes_and_mounts_follow_ray_static_own_in_every_ray_pod() -> None:
    rendered = render({"volumes": [PVC], "volume_mounts": [MOUNT]})
    for name, container_name in (("ray-head", "ray-head"), ("ray-worker", "ray-worker")):
        spec = pod_spec(rendered, name)
        assert spec["volumes"][-1] == PVC
        assert spec["volumes"][0]["name"] == c.SHM_VOLUME
        assert container(rendered, name, container_name)["volumeMounts"][-1] == MOUNT
    # The GCS wait needs no user volume.
    wait = container(rendered, "ray-worker", c.WAIT_CONTAINER)
    assert MOUNT not in wait["volumeMounts"]


def test_sidecars_run_beside_ray_and_init_containers_before_the_gcs_wait() -> None:
    init = {"name": "fetch", "image": "busybox:1.36", "command": ["true"]}
    rendered = render({"sidecars": [SIDECAR], "init_containers": [init]})
    head = pod_spec(rendered, "ray-head")
    assert [x["name"] for x in head["containers"]] == ["ray-head", "logs"]
    assert [x["name"] for x in head["initContainers"]] == ["fetch"]
    worker = pod_spec(rendered, "ray-worker")
    assert [x["name"] for x in worker["containers"]] == ["ray-worker", "logs"]
    assert [x["name"] for x in worker["initContainers"]] == ["fetch", c.WAIT_CONTAINER]
    assert worker["containers"][1] == SIDECAR


def test_a_group_sidecar_is_in_that_group_only() -> None:
    rendered = render({"worker_groups": [{"name": "logs", "sidecars": [SIDECAR]}]})
    assert len(pod_spec(rendered, "ray-worker-logs")["containers"]) == 2
    assert len(pod_spec(rendered, "ray-worker")["containers"]) == 1
    assert len(pod_spec(rendered, "ray-head")["containers"]) == 1


def test_env_from_and_secret_env_reach_every_ray_container() -> None:
    source = {"configMapRef": {"name": "settings"}}
    rendered = render({"env_from": [source], "secret_env": {"API_KEY": {"secret": "api", "key": "token"}}})
    for name, container_name in (("ray-head", None), ("ray-worker", None), ("ray-worker", c.WAIT_CONTAINER)):
        found = container(rendered, name, container_name)
        assert found["envFrom"] == [source]
        assert {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}} in found[
            "env"
        ]


def test_labels_and_annotations_on_the_pods_never_on_the_selectors() -> None:
    rendered = render(
        {"labels": {"team": "ml"}, "annotations": {"owner": "ml"}, "head": {"labels": {"h": "1"}}}
    )
    head = deployment(rendered, "ray-head")["spec"]
    assert head["template"]["metadata"]["labels"]["team"] == "ml"
    assert head["template"]["metadata"]["labels"]["h"] == "1"
    assert "team" not in head["selector"]["matchLabels"]
    assert head["template"]["metadata"]["annotations"]["owner"] == "ml"
    worker = deployment(rendered, "ray-worker")["spec"]["template"]["metadata"]
    assert "h" not in worker["labels"] and worker["labels"]["team"] == "ml"


def test_spread_constraints_without_a_selector_spread_their_own_group() -> None:
    zone = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
    own = {**zone, "labelSelector": {"matchLabels": {"x": "y"}}}
    rendered = render({"topology_spread_constraints": [zone, own], "worker_groups": [{"name": "b"}]})
    constraints = pod_spec(rendered, "ray-worker-b")["topologySpreadConstraints"]
    assert constraints[0]["labelSelector"]["matchLabels"] == {
        "ray.io/cluster": "ray",
        "ray.io/node-type": "worker",
        "ray.io/group": "b",
    }
    assert constraints[1] == own
    head = pod_spec(rendered, "ray-head")["topologySpreadConstraints"][0]
    assert head["labelSelector"]["matchLabels"]["ray.io/node-type"] == "head"


def test_priority_class_and_grace_period_per_group() -> None:
    rendered = render(
        {
            "priority_class_name": "batch",
            "worker_groups": [{"name": "b", "termination_grace_period_seconds": 5}],
        }
    )
    assert pod_spec(rendered, "ray-head")["priorityClassName"] == "batch"
    assert pod_spec(rendered, "ray-worker-b")["terminationGracePeriodSeconds"] == 5
    assert pod_spec(rendered, "ray-worker")["terminationGracePeriodSeconds"] == 60


def test_scheduler_runtime_class_and_dns_per_group() -> None:
    dns = {"nameservers": ["10.0.0.10"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}
    rendered = render(
        {
            "scheduler_name": "volcano",
            "dns_config": dns,
            "worker_groups": [{"name": "gpu", "runtime_class_name": "nvidia", "scheduler_name": "yunikorn"}],
        }
    )
    head, gpu = pod_spec(rendered, "ray-head"), pod_spec(rendered, "ray-worker-gpu")
    assert (head["schedulerName"], gpu["schedulerName"]) == ("volcano", "yunikorn")
    assert gpu["runtimeClassName"] == "nvidia" and "runtimeClassName" not in head
    assert head["dnsConfig"] == gpu["dnsConfig"] == dns
    assert "dnsPolicy" not in head  # ClusterFirst: Kubernetes' default, the user's config merged into it


def test_a_resource_claim_is_written_once_and_lands_in_the_pod_and_the_ray_container() -> None:
    shared = {"name": "nic", "resourceClaimName": "rdma-nic"}
    own = {"name": "gpu", "resourceClaimTemplateName": "single-gpu"}
    rendered = render(
        {"resource_claims": [shared], "worker_groups": [{"name": "gpu", "resource_claims": [own]}]}
    )
    assert pod_spec(rendered, "ray-worker-gpu")["resourceClaims"] == [shared, own]
    ray = container(rendered, "ray-worker-gpu")
    assert ray["resources"]["claims"] == [{"name": "nic"}, {"name": "gpu"}]
    assert ray["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
    assert "claims" not in container(rendered, "ray-worker-gpu", c.WAIT_CONTAINER)["resources"]
    assert pod_spec(rendered, "ray-head")["resourceClaims"] == [shared]


def test_ray_resources_labels_and_flags_reach_ray_start() -> None:
    rendered = render(
        {
            "ray_start_args": ["--object-store-memory=500000000"],
            "worker_groups": [
                {
                    "name": "tpu",
                    "ray_resources": {"tpu": 4, "frac": 0.5},
                    "ray_labels": {"zone": "a", "kind": "tpu"},
                }
            ],
        }
    )
    tpu = ray_start(container(rendered, "ray-worker-tpu")["command"])
    assert '--resources={"frac":0.5,"tpu":4}' in tpu
    assert "--labels=kind=tpu,zone=a" in tpu
    assert "--object-store-memory=500000000" in tpu and tpu[-1] == "--block"
    default = ray_start(container(rendered, "ray-worker")["command"])
    assert not any(a.startswith(("--resources", "--labels")) for a in default)
    assert "--object-store-memory=500000000" in ray_start(container(rendered, "ray-head")["command"])


def test_ray_accepts_the_rendered_resources_and_labels() -> None:
    """What `ray start` parses them with, in the installed Ray."""
    import json  # noqa: PLC0415

    from ray._private.label_utils import parse_node_labels_string  # noqa: PLC0415

    args = ray_start(
        container(
            render({"ray_resources": {"tpu": 4}, "ray_labels": {"example.com/zone": "a", "k": "v"}}),
            "ray-worker",
        )["command"]
    )
    resources = next(a for a in args if a.startswith("--resources=")).split("=", 1)[1]
    labels = next(a for a in args if a.startswith("--labels=")).split("=", 1)[1]
    assert json.loads(resources) == {"tpu": 4}
    assert parse_node_labels_string(labels) == {"example.com/zone": "a", "k": "v"}


def test_ephemeral_storage_and_another_gpu_resource() -> None:
    rendered = render(
        {
            "worker_resources": {"ephemeral_storage": "20Gi"},
            "worker_groups": [{"name": "amd", "resources": {"gpus": 2, "gpu_resource": "amd.com/gpu"}}],
        }
    )
    default = container(rendered, "ray-worker")["resources"]
    assert default["limits"]["ephemeral-storage"] == default["requests"]["ephemeral-storage"] == "20Gi"
    amd = container(rendered, "ray-worker-amd")
    assert (
        amd["resources"]["limits"]["amd.com/gpu"] == "2"
        and "nvidia.com/gpu" not in amd["resources"]["limits"]
    )
    assert amd["resources"]["limits"]["ephemeral-storage"] == "20Gi"  # inherited from the default group
    assert "--num-gpus=2" in ray_start(amd["command"])


def test_a_group_image_of_the_same_ray_version() -> None:
    rendered = render({"worker_groups": [{"name": "gpu", "image": "rayproject/ray:2.60.0-gpu"}]})
    assert container(rendered, "ray-worker-gpu")["image"] == "rayproject/ray:2.60.0-gpu"
    assert container(rendered, "ray-worker-gpu", c.WAIT_CONTAINER)["image"] == "rayproject/ray:2.60.0-gpu"
    assert container(rendered, "ray-head")["image"] == c.DEFAULT_IMAGE


def test_the_open_files_raise_never_fails_the_container() -> None:
    """Below a hard limit of 65536 the soft limit goes to the hard one; the script always succeeds."""
    script = raise_nofile_script()
    machine = int(
        subprocess.run(["bash", "-c", "ulimit -H -n"], capture_output=True, text=True, check=True).stdout
    )
    for hard in (4096, machine):
        out = subprocess.run(
            ["bash", "-c", f"ulimit -S -n 1024; ulimit -H -n {hard}; {script}; ulimit -S -n"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == str(min(hard, c.NOFILE_LIMIT)), out
        assert out.stderr == ""


# --- refusals --------------------------------------------------------------------------------------

REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    (
        "mount of an unknown volume",
        {"volume_mounts": [MOUNT]},
        'volume_mounts[0].name: got "data"; expected the name of one of the pod\'s volumes (dshm, '
        "home-cache, ray-auth, tmp).",
    ),
    (
        "mount over /dev/shm",
        {"volumes": [PVC], "volume_mounts": [{"name": "data", "mountPath": "/dev/shm"}]},
        'volume_mounts[0].mountPath: got "/dev/shm"; expected a path other than /dev/shm, '
        "/var/run/secrets/ray, /tmp, /home/ray/.cache (mounted by ray-static).",
    ),
    (
        "mount over the token",
        {"volumes": [PVC], "volume_mounts": [{"name": "data", "mountPath": "/var/run/secrets/ray/x"}]},
        'volume_mounts[0].mountPath: got "/var/run/secrets/ray/x"; expected a path other than /dev/shm, '
        "/var/run/secrets/ray, /tmp, /home/ray/.cache (mounted by ray-static).",
    ),
    (
        "relative mount path",
        {"volumes": [PVC], "volume_mounts": [{"name": "data", "mountPath": "data"}]},
        'volume_mounts[0].mountPath: got "data"; expected an absolute, normalised path such as "/data".',
    ),
    (
        "a volume named like ray-static's",
        {"volumes": [{"name": "dshm", "emptyDir": {}}]},
        'volumes[0].name: got "dshm"; expected a volume name other than dshm, home-cache, ray-auth, tmp '
        "(ray-static's).",
    ),
    (
        "a volume without a source",
        {"volumes": [{"name": "data"}]},
        "volumes[0]: got {'name': 'data'}; expected a volume with a source, e.g. {\"name\": \"data\", "
        '"persistentVolumeClaim": {"claimName": "data"}}.',
    ),
    (
        "a group mount of a volume only another group has",
        {"worker_groups": [{"name": "a", "volumes": [PVC]}, {"name": "b", "volume_mounts": [MOUNT]}]},
        'worker_groups[1].volume_mounts[0].name: got "data"; expected the name of one of the pod\'s volumes '
        "(dshm, home-cache, ray-auth, tmp).",
    ),
    (
        "a sidecar named like Ray's container",
        {"sidecars": [{"name": "ray-worker", "image": "busybox"}]},
        'sidecars[0].name: got "ray-worker"; expected a container name other than ray-head, ray-worker, '
        "wait-gcs-ready (ray-static's).",
    ),
    (
        "a sidecar without an image",
        {"head": {"sidecars": [{"name": "logs"}]}},
        "head.sidecars[0].image: got None; expected a container image reference such as "
        '"rayproject/ray:2.60.0".',
    ),
    (
        "a sidecar mounting a volume the pod lacks",
        {
            "sidecars": [
                {"name": "logs", "image": "busybox", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}
            ]
        },
        'sidecars[0].volumeMounts[0].name: got "nope"; expected the name of one of the pod\'s volumes (dshm, '
        "home-cache, ray-auth, tmp).",
    ),
    (
        "env_from with both sources",
        {"env_from": [{"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}]},
        "env_from[0]: got {'configMapRef': {'name': 'a'}, 'secretRef': {'name': 'b'}}; expected exactly one "
        'of "configMapRef" or "secretRef", and a "prefix".',
    ),
    (
        "secret_env of a managed variable",
        {"secret_env": {"RAY_ADDRESS": {"secret": "s", "key": "k"}}},
        'secret_env.RAY_ADDRESS: got "RAY_ADDRESS"; expected a variable ray-static does not manage '
        "(RAY_AUTH_MODE, RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, RAY_CLUSTER_NAME, RAY_ADDRESS, "
        "RAY_USAGE_STATS_ENABLED, RAY_STATIC_POD_IP, DASHBOARD_METRIC_PORT, RAY_REDIS_ADDRESS, "
        "REDIS_PASSWORD, RAY_external_storage_namespace, "
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S).",
    ),
    (
        "secret_env without a key",
        {"secret_env": {"API_KEY": {"secret": "s"}}},
        "secret_env.API_KEY.key: got None; expected a Secret key (letters, digits, '-', '_' and '.').",
    ),
    (
        "a variable both plain and from a Secret",
        {"env": {"API_KEY": "x"}, "secret_env": {"API_KEY": {"secret": "s", "key": "k"}}},
        'secret_env.API_KEY: got "API_KEY"; expected a variable not also in env.',
    ),
    (
        "a label ray-static sets",
        {"worker_groups": [{"name": "a", "labels": {"ray.io/group": "x"}}]},
        'worker_groups[0].labels.ray.io/group: got "ray.io/group"; expected a label ray-static does not set '
        "(app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/component, "
        "app.kubernetes.io/managed-by, app.kubernetes.io/part-of, app.kubernetes.io/version, "
        "ray.io/cluster, ray.io/node-type, ray.io/group).",
    ),
    (
        "an annotation under ray-static's prefix",
        {"annotations": {"ray-static/head-template-hash": "x"}},
        'annotations.ray-static/head-template-hash: got "ray-static/head-template-hash"; expected an '
        'annotation key not starting with "ray-static/".',
    ),
    (
        "a Ray resource Ray counts itself",
        {"ray_resources": {"GPU": 1}},
        'ray_resources.GPU: got "GPU"; expected a custom resource name other than CPU, GPU, memory, '
        "object_store_memory.",
    ),
    (
        "a negative Ray resource",
        {"head": {"ray_resources": {"tpu": -1}}},
        "head.ray_resources.tpu: got -1; expected a number of at least 0.",
    ),
    (
        "a Ray label under ray.io/",
        {"ray_labels": {"ray.io/zone": "a"}},
        'ray_labels.ray.io/zone: got "ray.io/zone"; expected a label key not starting with "ray.io/" (Ray\'s '
        "own).",
    ),
    (
        "a ray start flag ray-static sets",
        {"worker_groups": [{"name": "a", "ray_start_args": ["--num-cpus=8"]}]},
        'worker_groups[0].ray_start_args[0]: got "--num-cpus=8"; expected a flag ray-static does not set '
        "itself (not --head, --address, --port, --node-ip-address, --num-cpus, --num-gpus, --memory, "
        "--resources, --labels, --labels-file, --block, --dashboard-host, --dashboard-port, "
        "--ray-client-server-port, --metrics-export-port, --node-manager-port, --object-manager-port, "
        "--dashboard-agent-grpc-port, --dashboard-agent-listen-port, --runtime-env-agent-port, "
        "--min-worker-port, --max-worker-port, --redis-password).",
    ),
    (
        "a ray start argument that is not a flag",
        {"ray_start_args": ["object-store-memory=1"]},
        'ray_start_args[0]: got "object-store-memory=1"; expected a flag such as '
        '"--object-store-memory=2000000000".',
    ),
    (
        "a spread constraint without a topology key",
        {"topology_spread_constraints": [{"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}]},
        "topology_spread_constraints[0].topologyKey: got None; expected a node label key such as "
        '"topology.kubernetes.io/zone".',
    ),
    (
        "an invalid priority class",
        {"priority_class_name": "High Priority"},
        'priority_class_name: got "High Priority"; expected a Kubernetes object name (lowercase letters, '
        "digits, '-' and '.').",
    ),
    (
        "a scheduler name with capitals",
        {"scheduler_name": "Volcano"},
        "scheduler_name: got \"Volcano\"; expected a Kubernetes object name (lowercase letters, digits, '-' "
        "and '.').",
    ),
    (
        "a DNS nameserver that is no IP",
        {"head": {"dns_config": {"nameservers": ["dns.example.com"]}}},
        'head.dns_config.nameservers[0]: got "dns.example.com"; expected an IP address.',
    ),
    (
        "four DNS nameservers",
        {"dns_config": {"nameservers": ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]}},
        "dns_config.nameservers: got ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']; expected at most 3 IP "
        "addresses.",
    ),
    (
        "a DNS option without a name",
        {"dns_config": {"options": [{"value": "2"}]}},
        'dns_config.options[0].name: got None; expected a resolver option such as "ndots".',
    ),
    (
        "a DNS field Kubernetes does not have",
        {"dns_config": {"nameserver": ["10.0.0.1"]}},
        "dns_config.nameserver: got an unknown setting; expected one of dns_config.nameservers, "
        'dns_config.options, dns_config.searches (did you mean "dns_config.nameservers"?).',
    ),
    (
        "a claim with both sources",
        {"resource_claims": [{"name": "gpu", "resourceClaimName": "a", "resourceClaimTemplateName": "b"}]},
        "resource_claims[0]: got {'name': 'gpu', 'resourceClaimName': 'a', "
        "'resourceClaimTemplateName': 'b'}; expected a name and exactly one of \"resourceClaimName\" or "
        '"resourceClaimTemplateName".',
    ),
    (
        "a group claim named like a top-level one",
        {
            "resource_claims": [{"name": "gpu", "resourceClaimName": "a"}],
            "worker_groups": [{"name": "g", "resource_claims": [{"name": "gpu", "resourceClaimName": "b"}]}],
        },
        'worker_groups[0].resource_claims[0].name: got "gpu"; expected a claim name not also in '
        "resource_claims.",
    ),
    (
        "a group image of another Ray version",
        {"worker_groups": [{"name": "old", "image": "rayproject/ray:2.52.0"}]},
        'worker_groups[0].image: got "rayproject/ray:2.52.0"; expected an image of Ray 2.60.0, the '
        "cluster's version.",
    ),
    (
        "an unknown head option",
        {"head": {"replicas": 2}},
        "head.replicas: got an unknown setting; expected one of head.affinity, head.annotations, "
        "head.capabilities, head.dns_config, head.env, head.env_from, head.host_ipc, head.host_network, "
        "head.image, head.image_pull_secrets, head.init_containers, head.labels, head.node_selector, "
        "head.priority_class_name, head.ray_labels, head.ray_resources, head.ray_start_args, "
        "head.resource_claims, head.runtime_class_name, head.scheduler_name, head.secret_env, head.sidecars, "
        "head.termination_grace_period_seconds, head.tolerations, head.topology_spread_constraints, "
        "head.volume_mounts, head.volumes.",
    ),
    (
        "an invalid ephemeral storage",
        {"head_resources": {"ephemeral_storage": "lots"}},
        'head_resources.ephemeral_storage: got "lots"; expected a Kubernetes quantity greater than 0, such '
        'as "20Gi".',
    ),
    (
        "a GPU resource without a domain",
        {"worker_resources": {"gpu_resource": "gpu"}},
        'worker_resources.gpu_resource: got "gpu"; expected an extended resource name such as '
        '"nvidia.com/gpu", "amd.com/gpu" or "nvidia.com/mig-1g.5gb".',
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_in_one_sentence_before_anything_is_registered(
    case: str, args: dict[str, Any], message: str
) -> None:
    assert refusal(args) == message, case


# --- the program's stack config ---------------------------------------------------------------------


def test_stack_config_takes_pod_options_as_camel_case_json() -> None:
    config = program_config(
        {
            "ray-static:volumes": '[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]',
            "ray-static:volumeMounts": '[{"name": "data", "mountPath": "/data"}]',
            "ray-static:head": '{"rayResources": {"head-only": 1}, "tolerations": [{"key": "a", '
            '"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]}',
            "ray-static:workerGroups": '[{"name": "gpu", "gpus": 1, "gpuResource": "amd.com/gpu", '
            '"rayResources": {"tpu": 2}, "secretEnv": {"K": {"secret": "s", "key": "k"}}}]',
            "ray-static:workerEphemeralStorage": "10Gi",
        }
    )
    settings = config.settings
    assert settings.head_pod.ray_resources == {"head-only": 1}
    assert settings.head_pod.tolerations[0]["tolerationSeconds"] == 5
    gpu = settings.groups[1]
    assert gpu.pod.ray_resources == {"tpu": 2} and gpu.resources.gpu_resource == "amd.com/gpu"
    assert gpu.pod.volume_mounts == [MOUNT]
    assert gpu.resources.ephemeral_storage == "10Gi"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"ray-static:volumeMounts": '[{"name": "x", "mountPath": "/dev/shm"}]'},
            'volumeMounts[0].mountPath: got "/dev/shm"; expected a path other than /dev/shm, '
            "/var/run/secrets/ray, /tmp, /home/ray/.cache (mounted by ray-static).",
        ),
        (
            {"ray-static:head": '{"rayStartArgs": ["--port=1"]}'},
            None,
        ),
        (
            {"ray-static:workerGroups": '[{"name": "g", "rayLabels": {"ray.io/x": "y"}}]'},
            'workerGroups[0].rayLabels.ray.io/x: got "ray.io/x"; expected a label key not starting with '
            '"ray.io/" (Ray\'s own).',
        ),
        (
            {"ray-static:sidecars": '{"name": "x"}'},
            'sidecars: got "{\\"name\\": \\"x\\"}"; expected a JSON list of Kubernetes objects such as '
            '[{"name": "data", "emptyDir": {}}].',
        ),
    ],
)
def test_stack_config_refusals_name_the_config_key(config: dict[str, str], message: str | None) -> None:
    with pytest.raises(RayStaticConfigError) as failure:
        program_config(config)
    if message is None:
        assert str(failure.value).startswith(
            'head.rayStartArgs[0]: got "--port=1"; expected a flag ray-static'
        )
    else:
        assert str(failure.value) == message
