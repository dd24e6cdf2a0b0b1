"""An empty Pulumi Python program: what the engine and language host cost with nothing to do."""
