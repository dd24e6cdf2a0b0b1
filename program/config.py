"""Stack config (the raw `ray-static:*` mapping) -> RayCluster name and args, with the program's checks.

Pure: ``__main__.py`` hands over the raw mapping. The keys, kinds and defaults are the option table's
(ray_static/config/options.py); Pulumi.yaml declares the same keys (a test keeps them equal). List- and
map-valued keys hold JSON, because `pulumi config set` stores strings and Pulumi's project schema cannot
type arrays of objects. Worker groups and tolerations inside that JSON use camelCase field names, derived
here from the component's TypedDicts.
"""

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, cast, get_args, is_typeddict

from program.jobs import JobConfig, parse_jobs
from program.options import PROGRAM_KEYS
from program.serve import ServeConfig, parse_serve
from ray_static import RayClusterArgs
from ray_static.config.checks import MAX_LISTED
from ray_static.config.options import BY_KEY, BY_PATH, OPTIONS, Option
from ray_static.config.settings import Settings, resolve
from ray_static.errors import RayStaticConfigError, invalid
from ray_static.inputs.cluster import (
    DisruptionBudgetArgs,
    HeadArgs,
    ResourcesArgs,
    TolerationArgs,
    WorkerGroupArgs,
)
from ray_static.names import camel, did_you_mean

PROJECT = "ray-static"
_INTEGER = re.compile(r"^[+-]?\d+$")
_INDEXED = re.compile(r"^(?P<field>[a-z_]+)\[(?P<index>\d+)\](?:\.(?P<rest>.*))?$")

EXAMPLES = {
    "list": 'a JSON list of strings such as ["a", "b"], or a comma-separated list',
    "map": 'a JSON object of strings such as {"key": "value"}',
    "groups": 'a JSON list of worker groups such as [{"name": "gpu", "replicas": 1, "gpus": 1}]',
    "tolerations": 'a JSON list of tolerations such as [{"key": "gpu", "operator": "Exists"}]',
    "object": 'a JSON object such as {"nodeAffinity": {...}}',
    "objects": 'a JSON list of Kubernetes objects such as [{"name": "data", "emptyDir": {}}]',
    "numbers": 'a JSON object of numbers such as {"tpu": 4}',
    "secret_env": 'a JSON object such as {"API_KEY": {"secret": "api", "key": "token"}}',
    "record": 'a JSON object with camelCase fields such as {"podMonitor": true}',
    "pod": 'a JSON object with camelCase pod options such as {"rayResources": {"tpu": 4}}',
}
"""What a JSON-valued key of each kind should hold."""


def _pod_fields(args: type) -> dict[str, str]:
    """Fields of a worker group in `workerGroups` or of `head`: its args in camelCase, a group's resources
    flattened in."""
    fields: dict[str, str] = {}
    for name in args.__annotations__:
        if name == "resources":
            fields |= {camel(r): f"resources.{r}" for r in ResourcesArgs.__annotations__}
        else:
            fields[camel(name)] = name
    return fields


GROUP_FIELDS = _pod_fields(WorkerGroupArgs)
"""camelCase JSON field -> WorkerGroupArgs path."""
HEAD_FIELDS = _pod_fields(HeadArgs)
"""camelCase JSON field -> HeadArgs path."""
TOLERATION_FIELDS = {camel(name): name for name in TolerationArgs.__annotations__}
"""camelCase JSON field -> TolerationArgs field."""
BUDGET_FIELDS = {camel(name): name for name in DisruptionBudgetArgs.__annotations__}
"""camelCase JSON field -> DisruptionBudgetArgs field (a worker group's podDisruptionBudget)."""


def record_fields(option: Option) -> dict[str, str]:
    """camelCase JSON field -> field of the TypedDict a record option holds (MetricsArgs, IngressArgs), also
    where it is a `pulumi.Input` of one (EgressArgs)."""
    hint = RayClusterArgs.__annotations__[option.path]
    record = next((t for t in (hint, *get_args(hint)) if is_typeddict(t)), hint)
    return {camel(name): name for name in record.__annotations__}


@dataclass(frozen=True)
class ProgramConfig:
    """What the program needs from the stack config."""

    name: str
    args: RayClusterArgs
    settings: Settings
    warnings: list[str] = field(default_factory=list)
    jobs: tuple[JobConfig, ...] = ()
    """Ray jobs to run on the cluster (the `jobs` key)."""
    serve: ServeConfig | None = None
    """Ray Serve applications on the cluster (the `serveConfig` key), or None."""


def config_name(path: str) -> str:
    """The config key a user types for a RayClusterArgs path (``head_resources.cpu`` -> ``headCpu``)."""
    if path in BY_PATH:
        return BY_PATH[path].key
    match = _INDEXED.match(path)
    if match is not None and match["field"] in BY_PATH:
        base = f"{BY_PATH[match['field']].key}[{match['index']}]"
        rest = match["rest"]
        if rest is None:
            return base
        if match["field"] == "worker_groups":
            return f"{base}.{_pod_field_name(rest, GROUP_FIELDS)}"
        if match["field"] == "tolerations":
            return f"{base}.{camel(rest)}"
        return f"{base}.{rest}"
    head, _, tail = path.partition(".")
    if head in BY_PATH and tail and BY_PATH[head].kind == "pod":
        return f"{BY_PATH[head].key}.{_pod_field_name(tail, HEAD_FIELDS)}"
    if head in BY_PATH and tail and BY_PATH[head].kind == "record":
        field_name, dot, rest = tail.partition(".")
        return f"{BY_PATH[head].key}.{camel(field_name)}{dot}{rest}"
    if head in BY_PATH and tail:
        return f"{BY_PATH[head].key}.{tail}"
    return path


def _pod_field_name(rest: str, fields: Mapping[str, str]) -> str:
    """A path inside one worker group or `head` (``resources.gpus``, ``tolerations[1].effect``)."""
    for key, arg_path in sorted(fields.items(), key=lambda kv: -len(kv[1])):
        if rest == arg_path or rest.startswith((arg_path + ".", arg_path + "[")):
            tail = rest[len(arg_path) :]
            toleration = re.match(r"^\[(\d+)\]\.(.*)$", tail)
            if toleration:
                return f"{key}[{toleration[1]}].{camel(toleration[2])}"
            return f"{key}{tail}"
    return rest


def _json(value: Any, option: Option) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise invalid(option.key, value, EXAMPLES[option.kind]) from None


def _scalar(value: Any, option: Option) -> Any:
    """Coerce a config string to the option's kind; a value that does not fit is passed on for validation,
    which names what is allowed in the same words as for component users."""
    if not isinstance(value, str):
        return value
    if option.kind == "integer":
        return int(value) if _INTEGER.match(value.strip()) else value
    if option.kind == "boolean":
        return {"true": True, "false": False}.get(value.strip().lower(), value)
    return value


def _list(value: Any, option: Option) -> list[Any]:
    if isinstance(value, str) and not value.strip().startswith("["):
        return [part.strip() for part in value.split(",") if part.strip()]
    parsed = _json(value, option)
    if not isinstance(parsed, list):
        raise invalid(option.key, value, EXAMPLES[option.kind])
    return cast(list[Any], parsed)


def _object(value: Any, option: Option) -> dict[str, Any]:
    parsed = _json(value, option)
    if not isinstance(parsed, dict):
        raise invalid(option.key, value, EXAMPLES[option.kind])
    return cast(dict[str, Any], parsed)


def _rename(item: Any, fields: Mapping[str, str], where: str, example: str) -> dict[str, Any]:
    """A camelCase JSON object -> nested snake_case args, refusing unknown fields with a suggestion."""
    if not isinstance(item, dict):
        raise invalid(where, item, example)
    out: dict[str, Any] = {}
    for k, v in cast(dict[str, Any], item).items():
        if k not in fields:
            hint = did_you_mean(k, fields)
            known = f"one of {', '.join(fields)}" if len(fields) <= MAX_LISTED else "a known field"
            raise RayStaticConfigError(f"{where}.{k}", "an unknown field", f"{known}{hint}")
        _set(out, fields[k], v)
    return out


def _tolerations(items: list[Any], where: str) -> list[dict[str, Any]]:
    return [
        _rename(t, TOLERATION_FIELDS, f"{where}[{i}]", EXAMPLES["tolerations"]) for i, t in enumerate(items)
    ]


def _pod(item: Any, fields: Mapping[str, str], where: str, example: str) -> dict[str, Any]:
    """A worker group or `head` from JSON: camelCase fields renamed, its tolerations' too."""
    pod = _rename(item, fields, where, example)
    if isinstance(pod.get("tolerations"), list):
        pod["tolerations"] = _tolerations(pod["tolerations"], f"{where}.tolerations")
    if isinstance(pod.get("pod_disruption_budget"), dict):
        where = f"{where}.podDisruptionBudget"
        pod["pod_disruption_budget"] = _rename(pod["pod_disruption_budget"], BUDGET_FIELDS, where, example)
    return pod


def _groups(items: list[Any], where: str) -> list[dict[str, Any]]:
    return [_pod(item, GROUP_FIELDS, f"{where}[{i}]", EXAMPLES["groups"]) for i, item in enumerate(items)]


def _objects(value: Any, option: Option) -> list[Any]:
    parsed = _json(value, option)
    if not isinstance(parsed, list):
        raise invalid(option.key, value, EXAMPLES[option.kind])
    return cast(list[Any], parsed)


def parse_value(value: Any, option: Option) -> Any:
    """One stack-config value as the component's argument, by the option's kind."""
    if option.kind in ("integer", "boolean", "string"):
        return _scalar(value, option)
    if option.kind == "list":
        return _list(value, option)
    if option.kind in ("map", "object", "numbers", "secret_env"):
        return _object(value, option)
    if option.kind == "objects":
        return _objects(value, option)
    if option.kind == "pod":
        return _pod(_object(value, option), HEAD_FIELDS, option.key, EXAMPLES["pod"])
    if option.kind == "tolerations":
        return _tolerations(_list(value, option), option.key)
    if option.kind == "record":
        return _rename(_object(value, option), record_fields(option), option.key, EXAMPLES["record"])
    return _groups(_list(value, option), option.key)


def _set(args: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for parent in parents:
        args = args.setdefault(parent, {})
    args[leaf] = value


def unknown_key_error(key: str) -> RayStaticConfigError:
    hint = did_you_mean(key, [*BY_KEY, *PROGRAM_KEYS])
    return RayStaticConfigError(
        key, "an unknown config key", f"one of the keys declared in Pulumi.yaml{hint}"
    )


def project_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    """This project's keys (``ray-static:workers`` -> ``workers``), refusing undeclared ones."""
    prefix = f"{PROJECT}:"
    values: dict[str, Any] = {}
    for full_key, value in raw.items():
        if full_key.startswith(prefix):
            key = full_key.removeprefix(prefix)
            if key not in BY_KEY and key not in PROGRAM_KEYS:
                raise unknown_key_error(key)
            values[key] = value
    return values


def program_config(raw: Mapping[str, Any], secret_keys: Collection[str] = ()) -> ProgramConfig:
    """Validate the stack config and build the RayCluster name and args from it.

    ``raw`` is the whole config mapping (``{"ray-static:workers": "4", "kubernetes:context": ...}``);
    keys of other namespaces are ignored. Raises RayStaticConfigError naming the key as the user typed it.
    """
    values = project_values(raw)
    name = BY_PATH["name"].default
    args: dict[str, Any] = {}
    warnings: list[str] = []
    for option in OPTIONS:
        if option.key not in values:
            continue
        if values[option.key] == "" and option.default is None:
            continue  # empty means "not set" for these
        value = parse_value(values[option.key], option)
        if option.path == "name":
            name = value
            continue
        if option.secret and f"{PROJECT}:{option.key}" not in secret_keys:
            warnings.append(
                f"{option.key} is stored in plaintext in the stack config; set it with "
                f"`pulumi config set --secret {option.key} ...`."
            )
        _set(args, option.path, value)

    serve_config = parse_serve(values.get("serveConfig"), name)
    if serve_config is not None:
        args["serve"] = True  # see program/serve.py
    # The component validates again; doing it here names the errors after the config keys.
    # The component keeps auth_token a secret (pulumi.Output.secret) from here on.
    settings = resolve(name, args, config_name)
    jobs = parse_jobs(values.get("jobs", PROGRAM_KEYS["jobs"].default))
    return ProgramConfig(
        name=name,
        args=cast(RayClusterArgs, args),
        settings=settings,
        warnings=warnings,
        jobs=jobs,
        serve=serve_config,
    )
