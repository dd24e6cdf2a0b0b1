"""Every rendered Kubernetes object validates against the Kubernetes OpenAPI schema, in strict mode."""

from typing import Any

import kubernetes_validate
import pytest

from ray_static import RayClusterArgs
from tests.support.all_options import ALL_OPTIONS
from tests.support.render import RenderError, kubernetes_objects, run_cluster, run_programs
from tests.support.versions import pinned_versions


def kubernetes_version() -> str:
    """The minor version the end-to-end control plane runs (scripts/versions.env)."""
    return ".".join(pinned_versions()["KUBERNETES_VERSION"].split(".")[:2])


CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "every option (the PodMonitor: test_observability.py)": dict(ALL_OPTIONS),
    "older ray, auth off, existing namespace": {
        "image": "rayproject/ray:2.47.1",
        "auth": False,
        "create_namespace": False,
        "namespace": "team",
        "service_account": "runner",
    },
}


@pytest.mark.parametrize("args", CONFIGURATIONS.values(), ids=list(CONFIGURATIONS))
def test_objects_validate_strictly(args: dict[str, Any]) -> None:
    objects = kubernetes_objects(run_cluster(args).resources)  # type: ignore[arg-type]
    assert objects
    version = kubernetes_version()
    for manifest in objects:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_validator_rejects_a_broken_object() -> None:
    manifest = kubernetes_objects(run_cluster().resources)[0]
    broken = {**manifest, "metadata": {**manifest["metadata"], "labelz": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_version(), strict=True)


def _pod_specs(args: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in kubernetes_objects(run_cluster(args).resources)  # type: ignore[arg-type]
        if o["kind"] == "Deployment"
    }


def _names(items: list[dict[str, Any]] | None) -> list[str]:
    return [item["name"] for item in items or []]


def test_the_every_option_configuration_sets_every_option() -> None:
    """A new option joins ALL_OPTIONS, so the schema check above covers it."""
    assert sorted(ALL_OPTIONS) == sorted(RayClusterArgs.__annotations__)


def test_the_every_option_configuration_renders_every_option_it_validates() -> None:
    """The schema check above proves something only if each option reached the manifests: the user's
    objects at each level, and the values derived from the rest."""
    specs = _pod_specs(dict(ALL_OPTIONS))
    assert sorted(specs) == ["ray-head", "ray-worker", "ray-worker-amd", "ray-worker-mig"]
    head, default, amd, mig = (
        specs[n] for n in ("ray-head", "ray-worker", "ray-worker-amd", "ray-worker-mig")
    )

    assert _names(head["containers"]) == ["ray-head", "log-shipper", "dashboard-proxy"]
    assert _names(amd["containers"]) == ["ray-worker", "log-shipper", "gpu-exporter"]
    assert _names(mig["containers"]) == _names(default["containers"]) == ["ray-worker", "log-shipper"]
    assert _names(head["initContainers"]) == ["fetch-model"]
    assert _names(amd["initContainers"]) == ["fetch-model", "wait-gcs-ready"]
    assert {"data", "settings", "scratch", "head-state"} <= set(_names(head["volumes"]))
    assert "models" in _names(amd["volumes"]) and "models" not in _names(default["volumes"])
    assert {"/data", "/etc/ray-settings", "/var/lib/ray-head"} <= {
        m["mountPath"] for m in head["containers"][0]["volumeMounts"]
    }
    assert "/models" in {m["mountPath"] for m in amd["containers"][0]["volumeMounts"]}

    limits = {name: spec["containers"][0]["resources"]["limits"] for name, spec in specs.items()}
    assert limits["ray-head"]["ephemeral-storage"] == "20Gi"
    assert limits["ray-worker"]["ephemeral-storage"] == "10Gi"
    assert limits["ray-worker-amd"]["amd.com/gpu"] == "1" and "nvidia.com/gpu" not in limits["ray-worker-amd"]
    assert limits["ray-worker-mig"]["nvidia.com/mig-1g.5gb"] == "1"

    ray = head["containers"][0]
    assert [sorted(e) for e in ray["envFrom"]] == [["configMapRef"], ["prefix", "secretRef"]]
    assert {e["name"] for e in ray["env"]} >= {"RAY_LOG_TO_STDERR", "RAY_DEDUP_LOGS", "HF_TOKEN"}
    assert len(mig["containers"][0]["envFrom"]) == 3
    assert "NGC_KEY" in {e["name"] for e in mig["containers"][0]["env"]}
    assert '--resources={"head-only":1,"pool-a":1}' in ray["command"][-1]
    assert '--resources={"accelerator-mi300":1,"pool-a":0}' in amd["containers"][0]["command"][-1]

    spread = {name: spec["topologySpreadConstraints"] for name, spec in specs.items()}
    assert [len(spread[n]) for n in sorted(spread)] == [2, 2, 3, 2]
    # A constraint given without a labelSelector counts the pods of its own group.
    assert spread["ray-worker-amd"][0]["labelSelector"]["matchLabels"]["ray.io/group"] == "amd"
    assert spread["ray-worker-amd"][1]["labelSelector"] == {
        "matchExpressions": [{"key": "team", "operator": "In", "values": ["ml"]}]
    }
    assert {n: s["priorityClassName"] for n, s in specs.items()} == {
        "ray-head": "ray-critical",
        "ray-worker": "ray-standard",
        "ray-worker-amd": "ray-gpu",
        "ray-worker-mig": "ray-standard",
    }
    assert (head["terminationGracePeriodSeconds"], default["terminationGracePeriodSeconds"]) == (300, 120)


def _cluster_on_a_claim_made_beside_it() -> None:
    import pulumi_kubernetes.core.v1 as core  # noqa: PLC0415 (inside the mocked run, like the component)

    from ray_static import RayCluster  # noqa: PLC0415

    claim = core.PersistentVolumeClaim(
        "data",
        metadata={"name": "ray-data", "namespace": "ray"},
        spec={"access_modes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    )
    volume = {"name": "data", "persistentVolumeClaim": {"claimName": claim.metadata.name}}
    RayCluster("ray", {"volumes": [volume], "volume_mounts": [{"name": "data", "mountPath": "/data"}]})


def test_a_volume_may_name_a_claim_made_in_the_same_program() -> None:
    try:
        run = run_programs(_cluster_on_a_claim_made_beside_it)
    except RenderError as error:
        raise error.error from None
    deployments = [o for o in kubernetes_objects(run.resources) if o["kind"] == "Deployment"]
    assert len(deployments) == 2
    for manifest in deployments:
        kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)
        volumes = {v["name"]: v for v in manifest["spec"]["template"]["spec"]["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "ray-data"}
