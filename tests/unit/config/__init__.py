"""Unit tests of ray_static/config/ modules, one file per module (test_<module>.py)."""
