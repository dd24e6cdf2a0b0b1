"""`pod_security`: the namespace's Pod Security level, and the pod options that need more than
`restricted` (host namespaces, added capabilities), refused in one sentence at every level they are given."""

from typing import Any

import pytest

from program.config import program_config
from ray_static import RayClusterArgs, RayStaticConfigError
from ray_static import constants as c
from ray_static.config.pod_security import allowed_capabilities, capability_level
from tests.support.manifests import RESTRICTED_CONTAINER, RESTRICTED_POD, container, pod_spec
from tests.support.render import find, refusal, run_cluster

RDMA: RayClusterArgs = {"host_network": True, "capabilities": ["IPC_LOCK"], "pod_security": "privileged"}


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("NET_BIND_SERVICE", "restricted"),
        ("CHOWN", "baseline"),
        ("SYS_CHROOT", "baseline"),
        ("NET_RAW", "privileged"),
        ("IPC_LOCK", "privileged"),
        ("SYS_ADMIN", "privileged"),
    ],
)
def test_the_lowest_level_that_admits_a_capability(name: str, level: str) -> None:
    assert capability_level(name) == level


def test_the_levels_allow_what_the_pod_security_admission_checks_allow() -> None:
    """k8s.io/pod-security-admission/policy: check_capabilities_restricted.go and _baseline.go."""
    assert allowed_capabilities("restricted") == {"NET_BIND_SERVICE"}
    assert len(c.BASELINE_CAPABILITIES) == 13 and "NET_RAW" not in c.BASELINE_CAPABILITIES
    assert allowed_capabilities("privileged") is None
    assert c.BASELINE_CAPABILITIES < c.LINUX_CAPABILITIES and len(c.LINUX_CAPABILITIES) == 41


@pytest.mark.parametrize("level", c.POD_SECURITY_LEVELS)
def test_the_namespace_enforces_and_warns_at_the_level(level: str) -> None:
    namespace = find(run_cluster({"pod_security": level}).resources, "core/v1:Namespace")
    labels = namespace.inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == labels["pod-security.kubernetes.io/warn"] == level


def test_an_existing_namespace_keeps_its_labels() -> None:
    """ray-static does not own them: the user's namespace must allow the level (documented, not refused)."""
    run = run_cluster({**RDMA, "namespace": "gpu", "create_namespace": False})
    assert [r for r in run.resources if r.type.endswith("core/v1:Namespace")] == []
    assert pod_spec(run.resources, "ray-worker")["hostNetwork"] is True


def test_only_the_added_capabilities_change_under_a_higher_level() -> None:
    rendered = run_cluster({**RDMA, "host_ipc": True}).resources
    for name in ("ray-head", "ray-worker"):
        context = container(rendered, name)["securityContext"]
        assert context == {**RESTRICTED_CONTAINER, "capabilities": {"add": ["IPC_LOCK"], "drop": ["ALL"]}}
        spec = pod_spec(rendered, name)
        assert spec["securityContext"] == RESTRICTED_POD
        assert (spec["hostNetwork"], spec["hostIPC"]) == (True, True)
        assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"  # the head's Service name still resolves
    # The GCS wait adds nothing.
    assert container(rendered, "ray-worker", c.WAIT_CONTAINER)["securityContext"] == RESTRICTED_CONTAINER


def test_net_bind_service_passes_restricted_and_a_group_may_differ() -> None:
    rendered = run_cluster(
        {
            "capabilities": ["NET_BIND_SERVICE"],
            "pod_security": "baseline",
            "worker_groups": [{"name": "fs", "capabilities": ["CHOWN"]}],
        }
    ).resources
    assert container(rendered, "ray-head")["securityContext"]["capabilities"]["add"] == ["NET_BIND_SERVICE"]
    assert container(rendered, "ray-worker-fs")["securityContext"]["capabilities"]["add"] == [
        "NET_BIND_SERVICE",
        "CHOWN",
    ]
    assert "hostNetwork" not in pod_spec(rendered, "ray-head")
    assert "dnsPolicy" not in pod_spec(rendered, "ray-head")


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    (
        "host network under restricted",
        {"host_network": True},
        'host_network: got True; expected false while pod_security is "restricted" (the Pod Security '
        'Standards forbid sharing the node\'s namespaces below "privileged"), or pod_security "privileged".',
    ),
    (
        "host IPC of a group under baseline",
        {"pod_security": "baseline", "worker_groups": [{"name": "shm", "host_ipc": True}]},
        'worker_groups[0].host_ipc: got True; expected false while pod_security is "baseline" (the Pod '
        'Security Standards forbid sharing the node\'s namespaces below "privileged"), or pod_security '
        '"privileged".',
    ),
    (
        "a capability restricted does not allow",
        {"head": {"capabilities": ["NET_BIND_SERVICE", "CHOWN"]}},
        'head.capabilities[1]: got "CHOWN"; expected one of the capabilities pod_security "restricted" lets '
        'a container add (NET_BIND_SERVICE), or pod_security "baseline".',
    ),
    (
        "a capability beyond baseline",
        {"pod_security": "baseline", "worker_groups": [{"name": "rdma", "capabilities": ["IPC_LOCK"]}]},
        'worker_groups[0].capabilities[0]: got "IPC_LOCK"; expected one of the capabilities pod_security '
        '"baseline" lets a container add (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, '
        'NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT), or pod_security "privileged".',
    ),
    (
        "a capability spelled with CAP_",
        {"capabilities": ["CAP_IPC_LOCK"]},
        'capabilities[0]: got "CAP_IPC_LOCK"; expected a Linux capability name without "CAP_", e.g. '
        '"IPC_LOCK".',
    ),
    (
        "an unknown level",
        {"pod_security": "strict"},
        'pod_security: got "strict"; expected "restricted", "baseline" or "privileged".',
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_in_one_sentence_before_anything_is_registered(
    case: str, args: dict[str, Any], message: str
) -> None:
    assert refusal(args) == message, case


def test_stack_config_refusals_name_the_config_keys() -> None:
    with pytest.raises(RayStaticConfigError) as failure:
        program_config({"ray-static:workerGroups": '[{"name": "rdma", "hostNetwork": true}]'})
    assert str(failure.value) == (
        'workerGroups[0].hostNetwork: got True; expected false while podSecurity is "restricted" (the Pod '
        'Security Standards forbid sharing the node\'s namespaces below "privileged"), or podSecurity '
        '"privileged".'
    )
