"""The ray-static component plugin: serves `ray-static:index:RayCluster` to programs in any Pulumi language.

The engine starts it through the Python language host (PulumiPlugin.yaml) and reads the port it listens on
from stdout, so nothing may print before the provider server does. The schema is inferred from RayCluster
and RayClusterArgs (tests/unit/test_schema.py pins it).
"""

import os
import sys
from importlib.metadata import version
from typing import Any

from pulumi.provider import main
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider

from ray_static import RayCluster
from ray_static.token import disable_generation

NAME = "ray-static"


class RayStaticProvider(ComponentProvider):
    """The inferred component provider, with integer inputs delivered as `int`.

    Numbers cross the wire as floats. pulumi 3.272's ComponentProvider converts integer properties to `int`
    and then overwrites the result with the raw float (a missing `continue` in `map_input_properties`), so
    `workers: 2` would reach RayCluster as `2.0` and fail its whole-number validation.
    """

    def map_input_properties(
        self,
        inputs: Any,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Any:
        mapped = super().map_input_properties(inputs, properties, mapping, component_name, property_path)
        fixed = dict(mapped)
        for schema_name, prop in properties.items():
            py_name = mapping.get(schema_name, schema_name)
            value = fixed.get(py_name)
            if prop.type == PropertyType.INTEGER and isinstance(value, float) and value.is_integer():
                fixed[py_name] = int(value)
        return fixed


def provider() -> RayStaticProvider:
    """The provider this plugin serves, versioned like the installed ray-static package."""
    return RayStaticProvider([RayCluster], NAME, version=version(NAME))


if __name__ == "__main__":
    # Programs in other languages cannot run the Python dynamic provider that generates the token: the
    # engine starts it with the program's runtime (pulumi/pulumi#5455). PULUMI_PYTHON_CMD, which the plugin
    # inherits from the engine, points that provider at a Python that has pulumi and ray_static.
    if not os.environ.get("PULUMI_PYTHON_CMD"):
        disable_generation(
            "a program in another language cannot run the Python dynamic provider that generates one; "
            "pass authToken as a secret, set PULUMI_PYTHON_CMD to the plugin's venv python, "
            "or set auth to false"
        )
    main(provider(), sys.argv[1:])
