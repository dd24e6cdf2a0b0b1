"""Unit tests of ray_static/jobs/ modules, one file per module (test_<module>.py)."""
