"""Bad stack config ends the program with its one sentence: no traceback, nothing registered."""

import pulumi

from ray_static.errors import RayStaticConfigError

USER_ACTIONABLE_EXIT_CODE = 32
"""The Python language host's code for "the message was shown to the user": the engine then reports the
failure without adding a traceback or "Program exited with non-zero exit code"."""


class ConfigExit(SystemExit):
    """Ends the program after its one-sentence error was logged; carries the error for tests."""

    def __init__(self, error: RayStaticConfigError) -> None:
        super().__init__(USER_ACTIONABLE_EXIT_CODE)
        self.error = error


def fail(error: RayStaticConfigError) -> ConfigExit:
    """Log ``error`` as the deployment's one error line and return the exit to raise.

    A SystemExit passes through the language host's handler for unexpected exceptions (which prints the
    traceback); any other exception, a real bug, still shows its traceback.
    """
    pulumi.log.error(str(error))
    return ConfigExit(error)
