"""What the plugin's schema says that Pulumi's inference cannot see: descriptions of inherited fields, and
which properties are secret.

The pod options are declared once, in PodArgs, and inherited by RayClusterArgs, HeadArgs and
WorkerGroupArgs. Pulumi's schema inference reads a field's description from the docstring under it in the
class that is being analysed, so inherited fields would reach other languages undocumented; this fills
each one in from the class that declares it.

Inference has no way to mark a property secret either; the option table does (``Option.secret``).
"""

import json
from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer

from ray_static.config.options import OPTIONS
from ray_static.inputs import cluster as cluster_args
from ray_static.inputs import job as job_args
from ray_static.inputs import serve as serve_args
from ray_static.inputs.field_docs import FIELDS_HEADING
from ray_static.names import camel

_ARGS = {
    name: value
    for module in (cluster_args, job_args, serve_args)
    for name, value in vars(module).items()
    if isinstance(value, type) and hasattr(value, "__annotations__") and name.endswith("Args")
}
_COMPONENT_ARGS = {"RayCluster": "RayClusterArgs", "RayJob": "RayJobArgs", "RayServe": "RayServeArgs"}


def _bases(cls: type) -> list[type]:
    """The args classes ``cls`` may inherit from: a TypedDict keeps no bases at runtime (Python 3.11), so
    those whose every field ``cls`` has too."""
    own = set(cls.__annotations__)
    return [b for b in _ARGS.values() if b is not cls and set(b.__annotations__) <= own]


def _fill(properties: dict[str, Any], cls: type, analyzer: Analyzer) -> None:
    names = {camel(k): k for k in cls.__annotations__}
    for prop_name, prop in properties.items():
        if prop.get("description") or prop_name not in names:
            continue
        for base in _bases(cls):
            description = analyzer.get_docstring(base, names[prop_name])
            if description:
                prop["description"] = description
                break


def with_inherited_descriptions(schema: str, package: str) -> str:
    """``schema`` (JSON) with every inherited input field described as where it is declared."""
    parsed = json.loads(schema)
    analyzer = Analyzer(package)
    for token, type_spec in parsed.get("types", {}).items():
        cls = _ARGS.get(token.rsplit(":", 1)[-1])
        if cls is not None:
            _fill(type_spec.get("properties", {}), cls, analyzer)
        # The "Fields" section of the class's docstring is for help(); the schema describes each property.
        if "description" in type_spec:
            type_spec["description"] = type_spec["description"].split(f"\n\n{FIELDS_HEADING}")[0]
    for token, resource in parsed.get("resources", {}).items():
        cls = _ARGS.get(_COMPONENT_ARGS.get(token.rsplit(":", 1)[-1], ""))
        if cls is not None:
            _fill(resource.get("inputProperties", {}), cls, analyzer)
    return json.dumps(parsed)


def with_secrets(schema: str) -> str:
    """``schema`` (JSON) with RayCluster's secret options marked ``"secret": true``, as inputs and as the
    outputs of the same name: SDKs generated from it then handle them as secrets even when a program passes
    a plain string, so they are never shown or stored in plaintext."""
    parsed = json.loads(schema)
    secret = [camel(o.path) for o in OPTIONS if o.secret]  # top-level fields: no nested option is secret
    for token, resource in parsed.get("resources", {}).items():
        if token.rsplit(":", 1)[-1] == "RayCluster":
            for name in secret:
                resource["inputProperties"][name]["secret"] = True
                if name in resource.get("properties", {}):
                    resource["properties"][name]["secret"] = True
    return json.dumps(parsed)
