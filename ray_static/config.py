"""Stack config (the raw `ray-static:*` mapping) -> RayClusterArgs, with the program-level checks.

Pure: ``__main__.py`` hands over the raw mapping. Keys, types and defaults here mirror the `config:` schema
in Pulumi.yaml (a unit test keeps them equal). List- and map-valued keys are strings holding JSON, because
`pulumi config set` stores strings and Pulumi's project schema cannot type arrays of objects.
"""

import difflib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from ray_static import constants as c
from ray_static.args import RayClusterArgs
from ray_static.errors import RayStaticConfigError, invalid, show
from ray_static.settings import Settings, resolve

PROJECT = "ray-static"
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class ConfigKey:
    """One project config key: its Pulumi.yaml type and default, and the RayClusterArgs path it sets."""

    name: str
    type: str
    """Pulumi.yaml type: "integer", "string" or "boolean"."""
    default: Any
    arg: str
    """Dotted RayClusterArgs path (``head_resources.cpu``), or ``name`` for the instance name."""
    shape: str = "scalar"
    """How a value is parsed: scalar, list (JSON or comma-separated), map, groups, tolerations, object."""


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("clusterName", "string", c.DEFAULT_NAME, "name"),
    ConfigKey("workers", "integer", 3, "workers"),
    ConfigKey("image", "string", c.DEFAULT_IMAGE, "image"),
    ConfigKey("rayVersion", "string", "", "ray_version"),
    ConfigKey("imagePullPolicy", "string", "IfNotPresent", "image_pull_policy"),
    ConfigKey("namespace", "string", c.DEFAULT_NAMESPACE, "namespace"),
    ConfigKey("createNamespace", "boolean", True, "create_namespace"),
    ConfigKey("headCpu", "string", "2", "head_resources.cpu"),
    ConfigKey("headMemory", "string", "4Gi", "head_resources.memory"),
    ConfigKey("headRayCpus", "integer", 0, "head_ray_cpus"),
    ConfigKey("workerCpu", "string", "1", "worker_resources.cpu"),
    ConfigKey("workerMemory", "string", "2Gi", "worker_resources.memory"),
    ConfigKey("workerGpus", "integer", 0, "worker_resources.gpus"),
    ConfigKey("workerGroups", "string", "[]", "worker_groups", "groups"),
    ConfigKey("nodeSelector", "string", "{}", "node_selector", "map"),
    ConfigKey("tolerations", "string", "[]", "tolerations", "tolerations"),
    ConfigKey("affinity", "string", "{}", "affinity", "object"),
    ConfigKey("imagePullSecrets", "string", "[]", "image_pull_secrets", "list"),
    ConfigKey("env", "string", "{}", "env", "map"),
    ConfigKey("podAnnotations", "string", "{}", "pod_annotations", "map"),
    ConfigKey("serviceAccount", "string", "", "service_account"),
    ConfigKey("serviceType", "string", "ClusterIP", "service_type"),
    ConfigKey("auth", "boolean", True, "auth"),
    ConfigKey("authToken", "string", "", "auth_token"),
    ConfigKey("networkPolicy", "boolean", True, "network_policy"),
    ConfigKey("allowedClientNamespaces", "string", "[]", "allowed_client_namespaces", "list"),
    ConfigKey("allowedClientPodLabels", "string", "{}", "allowed_client_pod_labels", "map"),
    ConfigKey("allowUnauthenticatedExposure", "boolean", False, "allow_unauthenticated_exposure"),
)
KEYS_BY_NAME = {k.name: k for k in CONFIG_KEYS}
_KEYS_BY_ARG = {k.arg: k for k in CONFIG_KEYS}

# Worker group objects in `workerGroups` use these (camelCase) keys -> WorkerGroupArgs paths.
_GROUP_FIELDS = {
    "name": "name",
    "replicas": "replicas",
    "cpu": "resources.cpu",
    "memory": "resources.memory",
    "gpus": "resources.gpus",
    "cpuRequest": "resources.cpu_request",
    "memoryRequest": "resources.memory_request",
    "nodeSelector": "node_selector",
    "tolerations": "tolerations",
}
_GROUP_PATHS = {v: k for k, v in _GROUP_FIELDS.items()}
_TOLERATION_FIELDS = {
    "key": "key",
    "operator": "operator",
    "value": "value",
    "effect": "effect",
    "tolerationSeconds": "toleration_seconds",
}
_TOLERATION_PATHS = {v: k for k, v in _TOLERATION_FIELDS.items()}
_INDEXED = re.compile(r"^(?P<field>[a-z_]+)\[(?P<index>\d+)\](?:\.(?P<rest>.*))?$")

EXAMPLES = {
    "list": 'a JSON list of strings such as ["a", "b"], or a comma-separated list',
    "map": 'a JSON object of strings such as {"key": "value"}',
    "groups": 'a JSON list of worker groups such as [{"name": "gpu", "replicas": 1, "gpus": 1}]',
    "tolerations": 'a JSON list of tolerations such as [{"key": "gpu", "operator": "Exists"}]',
    "object": 'a JSON object such as {"nodeAffinity": {...}}',
}


@dataclass(frozen=True)
class ProgramConfig:
    """What the program needs from the stack config."""

    name: str
    args: RayClusterArgs
    settings: Settings
    warnings: list[str] = field(default_factory=list)


def config_name(path: str) -> str:
    """The config key a user types for a RayClusterArgs path (``head_resources.cpu`` -> ``headCpu``)."""
    if path in _KEYS_BY_ARG:
        return _KEYS_BY_ARG[path].name
    match = _INDEXED.match(path)
    if match is not None:
        index, rest = match["index"], match["rest"]
        if match["field"] == "worker_groups":
            base = f"workerGroups[{index}]"
            if rest is None:
                return base
            for arg_path, key in sorted(_GROUP_PATHS.items(), key=lambda kv: -len(kv[0])):
                if rest == arg_path or rest.startswith((arg_path + ".", arg_path + "[")):
                    tail = rest[len(arg_path) :]
                    return f"{base}.{key}{config_name_tail(tail)}"
            return f"{base}.{rest}"
        if match["field"] == "tolerations":
            base = f"tolerations[{index}]"
            return f"{base}.{_TOLERATION_PATHS.get(rest, rest)}" if rest else base
        if match["field"] in _KEYS_BY_ARG:
            return f"{_KEYS_BY_ARG[match['field']].name}[{index}]" + (f".{rest}" if rest else "")
    head, _, tail = path.partition(".")
    if head in _KEYS_BY_ARG and tail:
        return f"{_KEYS_BY_ARG[head].name}.{tail}"
    return path


def config_name_tail(tail: str) -> str:
    """Tolerations inside a worker group keep their Kubernetes (camelCase) field names."""
    match = re.match(r"^\[(\d+)\]\.(.*)$", tail)
    if match:
        return f"[{match[1]}].{_TOLERATION_PATHS.get(match[2], match[2])}"
    return tail


def _json(value: Any, key: ConfigKey) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise invalid(key.name, value, EXAMPLES[key.shape]) from None


def _scalar(value: Any, key: ConfigKey) -> Any:
    """Coerce a config string to the key's type; a value that does not fit is passed on for validation,
    which names what is allowed in the same words as for component users."""
    if not isinstance(value, str):
        return value
    if key.type == "integer":
        return int(value) if _INTEGER.match(value.strip()) else value
    if key.type == "boolean":
        lowered = value.strip().lower()
        return {"true": True, "false": False}.get(lowered, value)
    return value


def _list(value: Any, key: ConfigKey) -> list[Any]:
    if isinstance(value, str) and not value.strip().startswith("["):
        return [part.strip() for part in value.split(",") if part.strip()]
    parsed = _json(value, key)
    if not isinstance(parsed, list):
        raise invalid(key.name, value, EXAMPLES[key.shape])
    return cast(list[Any], parsed)


def _object(value: Any, key: ConfigKey) -> dict[str, Any]:
    parsed = _json(value, key)
    if not isinstance(parsed, dict):
        raise invalid(key.name, value, EXAMPLES[key.shape])
    return cast(dict[str, Any], parsed)


def _rename(item: Any, fields: Mapping[str, str], where: str, example: str) -> dict[str, Any]:
    """A camelCase JSON object -> nested snake_case args, refusing unknown fields with a suggestion."""
    if not isinstance(item, dict):
        raise invalid(where, item, example)
    out: dict[str, Any] = {}
    for k, v in cast(dict[str, Any], item).items():
        if k not in fields:
            close = difflib.get_close_matches(k, list(fields), n=1)
            hint = f" (did you mean {show(close[0])}?)" if close else ""
            raise RayStaticConfigError(
                f"{where}.{k}", "an unknown field", f"one of {', '.join(fields)}{hint}"
            )
        target = out
        *parents, leaf = fields[k].split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = v
    return out


def _tolerations(items: list[Any], where: str) -> list[dict[str, Any]]:
    return [
        _rename(t, _TOLERATION_FIELDS, f"{where}[{i}]", EXAMPLES["tolerations"]) for i, t in enumerate(items)
    ]


def _groups(items: list[Any]) -> list[dict[str, Any]]:
    groups = []
    for i, item in enumerate(items):
        where = f"workerGroups[{i}]"
        group = _rename(item, _GROUP_FIELDS, where, EXAMPLES["groups"])
        if isinstance(group.get("tolerations"), list):
            group["tolerations"] = _tolerations(group["tolerations"], f"{where}.tolerations")
        groups.append(group)
    return groups


def _set(args: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for parent in parents:
        args = args.setdefault(parent, {})
    args[leaf] = value


def unknown_key_error(key: str) -> RayStaticConfigError:
    close = difflib.get_close_matches(key, list(KEYS_BY_NAME), n=1, cutoff=0.6)
    hint = f" (did you mean {show(close[0])}?)" if close else ""
    return RayStaticConfigError(
        key, "an unknown config key", f"one of the keys declared in Pulumi.yaml{hint}"
    )


def program_config(raw: Mapping[str, Any], secret_keys: Collection[str] = ()) -> ProgramConfig:
    """Validate the stack config and build the RayCluster name and args from it.

    ``raw`` is the whole config mapping (``{"ray-static:workers": "4", "kubernetes:context": ...}``);
    keys of other namespaces are ignored. Raises RayStaticConfigError naming the key as the user typed it.
    """
    prefix = f"{PROJECT}:"
    values: dict[str, Any] = {}
    for full_key, value in raw.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key not in KEYS_BY_NAME:
            raise unknown_key_error(key)
        values[key] = value

    name = c.DEFAULT_NAME
    args: dict[str, Any] = {}
    warnings: list[str] = []
    for key in CONFIG_KEYS:
        if key.name not in values:
            continue
        value = values[key.name]
        if key.shape == "scalar":
            coerced = _scalar(value, key)
            if (
                coerced == ""
                and key.type == "string"
                and key.arg in {"ray_version", "service_account", "auth_token"}
            ):
                continue  # empty means "not set" for these
            if key.arg == "name":
                name = coerced
                continue
            if key.arg == "auth_token" and f"{prefix}{key.name}" not in secret_keys:
                warnings.append(
                    "authToken is stored in plaintext in the stack config; set it with "
                    "`pulumi config set --secret authToken ...`."
                )
            _set(args, key.arg, coerced)
        elif key.shape == "list":
            _set(args, key.arg, _list(value, key))
        elif key.shape in ("map", "object"):
            _set(args, key.arg, _object(value, key))
        elif key.shape == "tolerations":
            _set(args, key.arg, _tolerations(_list(value, key), key.name))
        elif key.shape == "groups":
            _set(args, key.arg, _groups(_list(value, key)))

    # The component validates again; doing it here names the errors after the config keys.
    # The component keeps auth_token a secret (pulumi.Output.secret) from here on.
    settings = resolve(name, args, config_name)
    return ProgramConfig(name=name, args=cast(RayClusterArgs, args), settings=settings, warnings=warnings)


def port_forward_command(settings: Settings) -> str:
    """A ready-to-paste command that forwards the dashboard and Ray Client ports to localhost."""
    return (
        f"kubectl -n {settings.namespace} port-forward svc/{settings.head_name} "
        f"{c.DASHBOARD_PORT}:{c.DASHBOARD_PORT} {c.CLIENT_PORT}:{c.CLIENT_PORT}"
    )
