"""A Ray auth token generated once and kept in the stack state as a secret (a Pulumi dynamic provider).

The token is made in `create` only: later updates see no diff, so it never changes unless the resource is
replaced (e.g. by deleting it from the state or renaming the cluster).
"""

import secrets
import weakref
from typing import Any

import pulumi
from pulumi import dynamic
from pulumi.runtime.settings import get_root_resource

TOKEN_BYTES = 32

_generation_unavailable: str | None = None


def disable_generation(reason: str) -> None:
    """Marks this process as one where the token cannot be generated, with the reason to show.

    The component plugin (provider/__main__.py) calls this: when RayCluster serves a YAML or TypeScript
    program, the engine starts Python dynamic providers with that program's runtime, which has no
    `pulumi` package (pulumi/pulumi#5455), so a generated token would fail mid-deployment.
    """
    global _generation_unavailable  # noqa: PLW0603  # one process-wide fact, set once at start-up
    _generation_unavailable = reason


def generation_unavailable() -> str | None:
    """Why a token cannot be generated in this process, or None when it can."""
    return _generation_unavailable


class TokenProvider(dynamic.ResourceProvider):
    """Creates a random URL-safe token; nothing to delete remotely."""

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(
            id_=secrets.token_hex(8), outs={"token": secrets.token_urlsafe(TOKEN_BYTES)}
        )

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> dynamic.DiffResult:
        return dynamic.DiffResult(changes=False)


class ConfiglessPythonProvider(pulumi.ProviderResource):
    """An explicit `pulumi-python` provider that is given no configuration.

    The engine configures the default `pulumi-python` provider with the whole stack config (so dynamic
    providers can read it), so every `pulumi config set workers N` would show that provider as an update
    beside the one real change. The token provider reads no config, so it gets a provider that never changes.
    """

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pulumi-python", name, {}, opts)


# The token provider of each running program (keyed by its root Stack resource, so runs under mocks never
# share one): every provider resource is a plugin process of its own, a Python interpreter importing the
# Pulumi SDK (~75 MB, ~0.3 s of CPU), and one serves every token alike.
_PROVIDERS: "weakref.WeakKeyDictionary[pulumi.Resource, ConfiglessPythonProvider]" = (
    weakref.WeakKeyDictionary()
)


TOKEN_PROVIDER_NAME = "ray-static-token-provider"
"""One per program, at the stack's top level: its URN never depends on which clusters the program has, so
adding or removing a cluster never moves another cluster's token to a new provider (which would replace
that token, and with it the Secret every running Ray pod authenticates with)."""


def _token_provider() -> ConfiglessPythonProvider:
    """The program's shared token provider, made for the first token that needs one."""
    root = get_root_resource()
    provider = _PROVIDERS.get(root) if root is not None else None
    if provider is None:
        provider = ConfiglessPythonProvider(TOKEN_PROVIDER_NAME)
        if root is not None:
            _PROVIDERS[root] = provider
    return provider


class GeneratedToken(dynamic.Resource):
    """A secret token output, stable across updates."""

    token: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        provider = _token_provider()
        super().__init__(
            TokenProvider(),
            name,
            {"token": None},
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(provider=provider, additional_secret_outputs=["token"])
            ),
        )
