"""Validation: the inputs and stack config become frozen settings, or one sentence per bad value.

Nothing here imports pulumi_kubernetes (an architecture test checks).
"""
