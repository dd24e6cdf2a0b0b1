"""Unit tests of ray_static/cluster/ modules, one file per module (test_<module>.py)."""
