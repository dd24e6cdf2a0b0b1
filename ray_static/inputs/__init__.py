"""The component's input types: the Args TypedDicts Pulumi infers the plugin schema from."""
