"""The repository's own Pulumi program around the ray_static component: stack config in, outputs out.

Not part of the installable package (the wheel holds only ray_static): a platform stack that imports the
component keeps its own config namespace and needs none of this.
"""
