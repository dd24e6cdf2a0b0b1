"""The component schema Pulumi infers from RayCluster and RayJob and their args, pinned (other languages
rely on it)."""

import json
from typing import Any

from ray_static.config.options import OPTIONS
from tests.unit.test_packaging import load_plugin


def schema() -> dict[str, Any]:
    """The schema the plugin serves (provider/__main__.py): inferred, inherited fields described, secret
    options marked."""
    raw = load_plugin().provider().schema
    assert isinstance(raw, str)
    return json.loads(raw)


def test_component_inputs_and_outputs_are_pinned() -> None:
    s = schema()
    resource = s["resources"]["ray-static:index:RayCluster"]
    assert resource["isComponent"] is True
    inputs = resource["inputProperties"]
    assert {k: v.get("type") or v.get("$ref") for k, v in inputs.items()} == {
        "workers": "integer",
        "image": "string",
        "rayVersion": "string",
        "imagePullPolicy": "string",
        "namespace": "string",
        "createNamespace": "boolean",
        "headResources": "#/types/ray-static:index:ResourcesArgs",
        "headRayCpus": "integer",
        "workerResources": "#/types/ray-static:index:ResourcesArgs",
        "workerGroups": "array",
        "nodeSelector": "object",
        "tolerations": "array",
        "affinity": "object",
        "imagePullSecrets": "array",
        "env": "object",
        "podAnnotations": "object",
        "serviceAccount": "string",
        "serviceType": "string",
        "auth": "boolean",
        "authToken": "string",
        "networkPolicy": "boolean",
        "allowedClientNamespaces": "array",
        "allowedClientPodLabels": "object",
        "allowedClientCidrs": "array",
        "egress": "#/types/ray-static:index:EgressArgs",
        "allowUnauthenticatedExposure": "boolean",
        "readOnlyRootFilesystem": "boolean",
        "usageStats": "boolean",
        "terminationGracePeriodSeconds": "integer",
        "metrics": "#/types/ray-static:index:MetricsArgs",
        "ingress": "#/types/ray-static:index:IngressArgs",
        "serviceAnnotations": "object",
        "loadBalancerSourceRanges": "array",
        "serve": "boolean",
        "servePort": "integer",
        "labels": "object",
        "annotations": "object",
        "secretEnv": "object",
        "envFrom": "array",
        "volumes": "array",
        "volumeMounts": "array",
        "sidecars": "array",
        "initContainers": "array",
        "rayResources": "object",
        "rayLabels": "object",
        "rayStartArgs": "array",
        "topologySpreadConstraints": "array",
        "priorityClassName": "string",
        "schedulerName": "string",
        "runtimeClassName": "string",
        "dnsConfig": "object",
        "resourceClaims": "array",
        "hostNetwork": "boolean",
        "hostIpc": "boolean",
        "capabilities": "array",
        "podSecurity": "string",
        "head": "#/types/ray-static:index:HeadArgs",
        "gcsFaultTolerance": "#/types/ray-static:index:GcsFaultToleranceArgs",
        "podDisruptionBudget": "boolean",
        "maxSurge": "string",
        "maxUnavailable": "string",
        "workerPodDisruptionBudget": "#/types/ray-static:index:DisruptionBudgetArgs",
        "drainTimeoutSeconds": "integer",
        "suspend": "boolean",
    }
    assert resource["requiredInputs"] == []
    assert all(v.get("description") for v in inputs.values())
    assert inputs["workerGroups"]["items"]["$ref"] == "#/types/ray-static:index:WorkerGroupArgs"
    assert inputs["affinity"]["additionalProperties"]["$ref"] == "pulumi.json#/Any"
    # Values that only flow into the objects accept Outputs; those that decide which objects exist are
    # plain, in every language.
    structural = {"createNamespace", "auth", "networkPolicy", "podDisruptionBudget", "workerGroups", "head"}
    structural |= {"metrics", "ingress", "gcsFaultTolerance", "workerPodDisruptionBudget"}
    assert {k for k, v in inputs.items() if v.get("plain")} == structural
    group = s["types"]["ray-static:index:WorkerGroupArgs"]
    assert group["required"] == ["name"] and group["properties"]["name"].get("plain") is True
    assert "plain" not in group["properties"]["replicas"]
    assert group["properties"]["podDisruptionBudget"].get("plain") is True

    assert {k: v["type"] for k, v in resource["properties"].items()} == {
        "namespace": "string",
        "headServiceName": "string",
        "gcsAddress": "string",
        "clientAddress": "string",
        "dashboardUrl": "string",
        "authToken": "string",
        "authSecretName": "string",
        "image": "string",
        "imagePullSecrets": "array",
        "dashboardIngressUrl": "string",
        "servePort": "integer",
    }
    assert sorted(resource["required"]) == [
        "clientAddress",
        "dashboardUrl",
        "gcsAddress",
        "headServiceName",
        "image",
        "imagePullSecrets",
        "namespace",
    ]


def test_the_token_is_secret_as_input_and_as_output() -> None:
    """Marked in the schema, generated SDKs keep a given token and the generated one secret."""
    s = schema()
    resource = s["resources"]["ray-static:index:RayCluster"]
    assert resource["inputProperties"]["authToken"]["secret"] is True
    assert resource["properties"]["authToken"]["secret"] is True
    # Only the secret options: nothing else is hidden from the programs that use the component.
    secret = {k for k, v in resource["inputProperties"].items() if v.get("secret")}
    secret |= {k for k, v in resource["properties"].items() if v.get("secret")}
    assert secret == {"authToken"}
    assert [o.path for o in OPTIONS if o.secret] == ["auth_token"]
    job = s["resources"]["ray-static:index:RayJob"]
    assert not any(v.get("secret") for v in [*job["inputProperties"].values(), *job["properties"].values()])


POD_FIELDS = [
    "image",
    "imagePullSecrets",
    "labels",
    "annotations",
    "env",
    "secretEnv",
    "envFrom",
    "volumes",
    "volumeMounts",
    "sidecars",
    "initContainers",
    "rayResources",
    "rayLabels",
    "rayStartArgs",
    "nodeSelector",
    "tolerations",
    "affinity",
    "topologySpreadConstraints",
    "priorityClassName",
    "schedulerName",
    "runtimeClassName",
    "dnsConfig",
    "resourceClaims",
    "hostNetwork",
    "hostIpc",
    "capabilities",
    "terminationGracePeriodSeconds",
]
"""PodArgs: the fields the top level, `head` and every worker group share."""


def test_nested_types_are_pinned() -> None:
    types = schema()["types"]
    assert sorted(types) == [
        "ray-static:index:DisruptionBudgetArgs",
        "ray-static:index:EgressArgs",
        "ray-static:index:GcsFaultToleranceArgs",
        "ray-static:index:HeadArgs",
        "ray-static:index:IngressArgs",
        "ray-static:index:MetricsArgs",
        "ray-static:index:ResourcesArgs",
        "ray-static:index:SecretKeyArgs",
        "ray-static:index:ServeApplicationArgs",
        "ray-static:index:TolerationArgs",
        "ray-static:index:WorkerGroupArgs",
    ]
    props = {name: sorted(t["properties"]) for name, t in types.items()}
    assert props == {
        "ray-static:index:ServeApplicationArgs": [
            "args",
            "deployments",
            "importPath",
            "name",
            "routePrefix",
            "runtimeEnv",
        ],
        "ray-static:index:IngressArgs": [
            "annotations",
            "className",
            "controllerNamespaces",
            "host",
            "path",
            "tlsSecret",
        ],
        "ray-static:index:MetricsArgs": [
            "grafanaDashboards",
            "grafanaNamespace",
            "grafanaUrl",
            "podMonitor",
            "podMonitorLabels",
            "prometheusNamespaces",
            "prometheusUrl",
        ],
        "ray-static:index:ResourcesArgs": [
            "cpu",
            "cpuRequest",
            "ephemeralStorage",
            "gpuResource",
            "gpus",
            "memory",
            "memoryRequest",
        ],
        "ray-static:index:TolerationArgs": ["effect", "key", "operator", "tolerationSeconds", "value"],
        "ray-static:index:WorkerGroupArgs": sorted(
            [
                "name",
                "replicas",
                "resources",
                "maxSurge",
                "maxUnavailable",
                "podDisruptionBudget",
                *POD_FIELDS,
            ]
        ),
        "ray-static:index:HeadArgs": sorted(POD_FIELDS),
        "ray-static:index:GcsFaultToleranceArgs": [
            "externalStorageNamespace",
            "redisAddress",
            "redisPasswordKey",
            "redisPasswordSecret",
        ],
        "ray-static:index:SecretKeyArgs": ["key", "secret"],
        "ray-static:index:EgressArgs": ["allowedCidrs", "allowedNamespaces", "dnsCidrs"],
        "ray-static:index:DisruptionBudgetArgs": ["maxUnavailable", "minAvailable"],
    }
    for t in types.values():
        assert all(p.get("description") for p in t["properties"].values())


def test_rayjob_takes_the_cluster_outputs_not_a_cluster_object() -> None:
    """Other languages and other stacks pass the cluster's outputs; `cluster` (a Python object) is not in
    the schema, so no language is offered an input it cannot fill."""
    resource = schema()["resources"]["ray-static:index:RayJob"]
    assert resource["isComponent"] is True
    inputs = resource["inputProperties"]
    assert {k: v.get("type") for k, v in inputs.items()} == {
        "namespace": "string",
        "dashboardUrl": "string",
        "auth": "boolean",
        "authSecret": "string",
        "image": "string",
        "imagePullSecrets": "array",
        "entrypoint": "string",
        "runtimeEnv": "object",
        "submissionId": "string",
        "wait": "boolean",
        "timeoutSeconds": "integer",
        "entrypointResources": "object",
        "metadata": "object",
    }
    assert resource["requiredInputs"] == ["entrypoint"]
    assert all(v.get("description") for v in inputs.values())
    # The cluster's outputs may be outputs of this or another stack; the job itself is plain, since its
    # submission id is a hash of it, made before anything is registered.
    cluster_outputs = ("namespace", "dashboardUrl", "authSecret", "image", "imagePullSecrets")
    assert all("plain" not in inputs[k] for k in cluster_outputs)
    assert inputs["imagePullSecrets"]["items"]["type"] == "string"
    assert all(inputs[k].get("plain") is True for k in ("entrypoint", "runtimeEnv", "submissionId", "wait"))
    assert inputs["runtimeEnv"]["additionalProperties"]["$ref"] == "pulumi.json#/Any"
    assert inputs["entrypointResources"]["additionalProperties"]["type"] == "number"
    assert {k: v["type"] for k, v in resource["properties"].items()} == {
        "submissionId": "string",
        "jobName": "string",
        "status": "string",
    }
    assert sorted(resource["required"]) == ["jobName", "submissionId"]


def test_type_descriptions_leave_the_field_list_to_the_properties() -> None:
    """help() shows a "Fields" section (field_docs.py); the schema describes each property instead."""
    for token, spec in schema()["types"].items():
        assert "Fields:" not in spec.get("description", ""), token
