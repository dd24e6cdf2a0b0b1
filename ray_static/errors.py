"""The one error type ray-static raises for bad input, and the one sentence shape every message has."""

import json
from typing import Any


def show(value: Any) -> str:
    """How a given value appears in an error message: strings quoted, everything else as Python shows it."""
    if isinstance(value, str):
        return json.dumps(value)
    if type(value).__name__ == "Output":  # pulumi.Output, without importing pulumi here
        return "an Output (a value known only during the deployment)"
    return repr(value)


class RayStaticConfigError(ValueError):
    """A setting has a value ray-static cannot deploy.

    The message is always one sentence: ``<setting>: got <value>; expected <what is allowed>.``
    """

    def __init__(self, setting: str, got: str, expected: str) -> None:
        self.setting = setting
        self.got = got
        self.expected = expected
        super().__init__(f"{setting}: got {got}; expected {expected}.")


def invalid(setting: str, value: Any, expected: str) -> RayStaticConfigError:
    """The error for ``setting`` holding ``value`` where ``expected`` describes what is allowed."""
    return RayStaticConfigError(setting, show(value), expected)
