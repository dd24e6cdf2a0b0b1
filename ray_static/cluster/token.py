"""A Ray auth token generated once and kept in the stack state, as a secret, by the engine's built-in Stash.

Every run proposes a fresh random token; the Stash keeps the first one it saw (`ignore_changes` on its
input), so a no-op `pulumi up` or preview changes nothing and the token stays until the Stash is replaced
(renaming the cluster, or deleting it from the state). No provider plugin and no extra process: the Stash
is part of the engine, so the token works the same for programs in every language.
"""

import hashlib
import secrets
from typing import cast

import pulumi

TOKEN_BYTES = 32
"""256 random bits, URL-safe base64 (43 characters)."""


def generated_token(name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The cluster's token, made on the first `pulumi up` and the same on every later one."""
    return pulumi.Output.secret(
        stashed(
            name,
            pulumi.Output.secret(secrets.token_urlsafe(TOKEN_BYTES)),
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["input", "output"])
            ),
        )
    )


def stashed(name: str, proposed: pulumi.Input[str], opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The first value ever proposed under ``name``, kept in the stack state by the engine's Stash.

    The Stash's `output` is what the engine kept. Where a test engine echoes a resource's inputs back as
    its outputs, as Pulumi's documented unit-test mocks do, there is no `output`: the proposal is the
    value then, as on a first deployment.
    """
    stash = pulumi.Stash(
        name,
        input=proposed,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["input"])),
    )
    kept = cast(pulumi.Output[str | None], stash.output)
    return pulumi.Output.all(kept, proposed).apply(
        lambda both: str(both[0] if both[0] is not None else both[1])
    )


def fingerprint(token: pulumi.Output[str], cluster: str) -> pulumi.Output[str]:
    """A short, public mark of the token that changes exactly when the token does.

    Pods carry it as an annotation, so a new token restarts every Ray pod together instead of leaving
    running processes on the old one. scrypt, salted with the cluster's name, keeps even a weak given
    token from being recovered from it; shown in plain (not a secret) so a preview says a roll is coming.
    """
    salt = f"ray-static:{cluster}".encode()
    mark = token.apply(lambda t: hashlib.scrypt(t.encode(), salt=salt, n=2**14, r=8, p=1, dklen=8).hex())
    return pulumi.Output.unsecret(mark)
