"""The dynamic provider of releases before the Stash, at the import path their stack states name.

It stays at `ray_static.token` (not with the token's code in `ray_static.cluster.token`) because the engine
finds it by that module path when it deletes an old token resource.
"""

from pulumi import dynamic


class TokenProvider(dynamic.ResourceProvider):
    """The dynamic provider of releases before the Stash, kept only so their stacks can delete its token.

    The engine deletes a `pulumi-python:dynamic:Resource` by unpickling its provider from the state, which
    names this class; without it, the first `pulumi up` after upgrading fails while removing the old token.
    Deleting it has nothing to clean up (the token lived only in the state); it creates nothing new.
    """
