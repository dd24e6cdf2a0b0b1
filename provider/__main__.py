"""The ray-static component plugin: serves `ray-static:index:RayCluster`, `ray-static:index:RayJob` and
`ray-static:index:RayServe` to
programs in any Pulumi language.

The engine starts it through the Python language host (PulumiPlugin.yaml) and reads the port it listens on
from stdout, so nothing may print before the provider server does. The schema is inferred from the
components and their args (tests/unit/test_schema.py pins it).
"""

import sys
from typing import Any, cast

from pulumi import InputPropertyError, Inputs, Output, ResourceOptions
from pulumi.provider import ConstructResult, main
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider

from ray_static import RayCluster, RayJob, RayServe, RayStaticConfigError
from ray_static.config.settings import resolve
from ray_static.jobs.settings import resolve_job, resolve_target
from ray_static.names import camel_path
from ray_static.schema_docs import with_inherited_descriptions, with_secrets
from ray_static.serve.settings import resolve_serve, resolve_serve_target
from ray_static.version import __version__

NAME = "ray-static"


class RayStaticProvider(ComponentProvider):
    """The inferred component provider, with integer inputs delivered as `int`, the fields the args
    inherit from PodArgs described like the others, and the secret options marked secret.

    Numbers cross the wire as floats. pulumi 3.272's ComponentProvider converts integer properties to `int`
    and then overwrites the result with the raw float (a missing `continue` in `map_input_properties`), so
    `workers: 2` would reach RayCluster as `2.0` and fail its whole-number validation.
    """

    def __init__(self, components: list[type[Any]], name: str, version: str = __version__) -> None:
        super().__init__(components, name, version=version)
        # The one place the served schema is made: inference, plus what it cannot see (the docstrings of
        # the pod options inherited from PodArgs, and which options are secrets).
        self.schema = with_secrets(with_inherited_descriptions(cast(str, self.schema), name))

    def map_input_properties(
        self,
        inputs: Any,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Any:
        # The SDK's int() cannot take an Output (another resource's output, e.g. `${ray.servePort}`): it
        # raises TypeError. Such a value skips the SDK's mapping and becomes an int once known.
        deferred: dict[str, Any] = {}
        if isinstance(inputs, dict):
            inputs = dict(inputs)
            for schema_name, prop in properties.items():
                value = inputs.get(schema_name)
                if prop.type == PropertyType.INTEGER and isinstance(value, Output):
                    deferred[mapping.get(schema_name, schema_name)] = value.apply(whole_numbers)
                    inputs[schema_name] = 0
        mapped = super().map_input_properties(inputs, properties, mapping, component_name, property_path)
        fixed = {**mapped, **deferred}
        for schema_name, prop in properties.items():
            py_name = mapping.get(schema_name, schema_name)
            value = fixed.get(py_name)
            if prop.type == PropertyType.INTEGER and isinstance(value, float) and value.is_integer():
                fixed[py_name] = int(value)
            elif py_name in fixed and holds_any(prop):
                fixed[py_name] = whole_numbers(value)
        return fixed

    def construct(
        self, name: str, resource_type: str, inputs: Inputs, options: ResourceOptions | None = None
    ) -> ConstructResult:
        """Bad inputs are refused up front, in one sentence naming the property as the program spells it
        (``workerResources.cpu``), not as a Python traceback from inside the component."""
        component = self._component_defs[resource_type.rsplit(":", maxsplit=1)[-1]]
        try:
            args = self.map_inputs(inputs, component)
            if component.name == "RayJob":
                resolve_job(name, args, schema_name)
                resolve_target(args, schema_name)
            elif component.name == "RayServe":
                resolve_serve(name, args, schema_name)
                resolve_serve_target(args, schema_name)
            else:
                resolve(name, args, schema_name)
        except RayStaticConfigError as error:
            raise InputPropertyError(error.setting, str(error)) from None
        return super().construct(name, resource_type, inputs, options)


ANY = "pulumi.json#/Any"


def holds_any(prop: PropertyDefinition) -> bool:
    """Whether a property is free-form somewhere inside (a dict[str, Any], a list of them): a Serve
    deployment override, a runtime_env, a toleration, passed on as the program wrote it."""
    if prop.ref == ANY:
        return True
    inner = [p for p in (prop.items, prop.additional_properties) if p is not None]
    return any(holds_any(p) for p in inner)


def whole_numbers(value: Any) -> Any:
    """Integral floats as ints, all the way down (inside an Output once known). Every number crosses the
    wire as a float, so a YAML `num_replicas: 2` or `tolerationSeconds: 300` would reach Serve or Kubernetes
    as 2.0 or 300.0, which an integer field refuses (and `range(2.0)` in a Serve builder fails)."""
    if isinstance(value, Output):
        return value.apply(whole_numbers)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def schema_name(path: str) -> str:
    """An argument path in the schema's camelCase (``worker_groups[0].node_selector`` ->
    ``workerGroups[0].nodeSelector``); the instance name is the resource's name."""
    if path == "name":
        return "resource name"
    return camel_path(path)


def provider() -> RayStaticProvider:
    """The provider this plugin serves, with ray-static's version (ray_static/version.py)."""
    return RayStaticProvider([RayCluster, RayJob, RayServe], NAME, version=__version__)


if __name__ == "__main__":
    main(provider(), sys.argv[1:])
