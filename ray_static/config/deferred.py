"""Inputs known only during the deployment: args that hold Outputs, validated once their values are known.

A platform stack passes Outputs (a Namespace's name, an image built in the same program, a worker count
from another stack). The component keeps its order of work for them: validate, then build. The values
arrive together as one Output of the plain args; `resolve` runs on them inside it, and every Kubernetes
object's fields derive from that one Output, so a bad value fails the deployment with its one sentence
before any object that would carry it (or any other object of the cluster) is created.
"""

from collections.abc import Callable, Iterable, Mapping
from inspect import signature
from typing import Any, TypeVar

import pulumi

from ray_static.errors import RayStaticConfigError

T = TypeVar("T")
S = TypeVar("S")

_FIXED_FIELDS = frozenset({"api_version", "kind"})
"""Fields of a pulumi_kubernetes Args class that its resource sets itself."""


class DeferredConfigError(pulumi.RunError):
    """A RayStaticConfigError found once an Output's value was known, during the deployment.

    A `pulumi.RunError`, which Pulumi's Python runtime shows as its message alone, without the traceback
    it prints for a program's bugs; and not a ValueError, which the runtime would wrap in a message about
    serialising the input that carried it.
    """

    def __init__(self, error: RayStaticConfigError) -> None:
        super().__init__(str(error))
        self.error = error


def has_outputs(value: Any) -> bool:
    """Whether an Output (or an awaitable) sits anywhere in a value of mappings and lists."""
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, Mapping):
        return any(has_outputs(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_outputs(v) for v in value)
    return False


def checked(value: pulumi.Input[Any], check: Callable[[Any], T]) -> pulumi.Output[T]:
    """``check`` applied to a value once known; its RayStaticConfigError fails the deployment cleanly."""

    def run(known: Any) -> T:
        try:
            return check(known)
        except DeferredConfigError:
            raise
        except RayStaticConfigError as error:
            raise DeferredConfigError(error) from None

    return pulumi.Output.from_input(value).apply(run)


def derived(
    source: pulumi.Output[S], build: Callable[[S], T], args_type: type[T], only: Iterable[str] | None = None
) -> T:
    """A pulumi_kubernetes Args object whose every field (or those named in ``only``) is an Output of
    ``build``'s result.

    The resource is registered now (a preview lists it), its fields follow ``source``: known at once for
    plain values, during the deployment for Outputs, and unset where ``build`` leaves them unset. ``only``
    is for a resource that wraps a given field as a secret (a Secret's `data`): an Output of nothing made
    secret is a value the engine refuses, so such a field must not be passed at all when unset.
    """
    # Held opaque: an apply unwraps the Outputs inside what it returns, so one secret inside (the token in
    # the Secret's stringData) would make every field secret, and an unset field a secret with no value,
    # which the engine refuses. Each field's own apply unwraps only its own value.
    built = source.apply(lambda s: _Opaque(build(s)))
    parameters = signature(args_type.__init__).parameters.values()
    fields = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in _FIXED_FIELDS]
    fields = [f for f in fields if only is None or f in only]
    return args_type(**{f: built.apply(lambda held, f=f: getattr(held.value, f)) for f in fields})


class _Opaque:
    """A value an apply returns as it is, without looking inside for Outputs."""

    def __init__(self, value: Any) -> None:
        self.value = value
