"""The version of ray-static, stated once.

This is the one place to change it: pyproject.toml reads it for the wheel's metadata, the component
plugin (provider/) reports it in its schema, and CHANGELOG.md names its newest release after it;
tests/unit/test_packaging.py holds the three equal.
"""

__version__ = "0.2.0"
