"""Unit tests of ray_static/serve/ modules, one file per module (test_<module>.py)."""
