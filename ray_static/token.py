"""A Ray auth token generated once and kept in the stack state as a secret (a Pulumi dynamic provider).

The token is made in `create` only: later updates see no diff, so it never changes unless the resource is
replaced (e.g. by deleting it from the state or renaming the cluster).
"""

import secrets
from typing import Any

import pulumi
from pulumi import dynamic

TOKEN_BYTES = 32


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


class GeneratedToken(dynamic.Resource):
    """A secret token output, stable across updates."""

    token: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        parent = opts.parent if opts else None
        provider = ConfiglessPythonProvider(f"{name}-provider", pulumi.ResourceOptions(parent=parent))
        super().__init__(
            TokenProvider(),
            name,
            {"token": None},
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(provider=provider, additional_secret_outputs=["token"])
            ),
        )
