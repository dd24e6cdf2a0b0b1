"""Unit tests of the program's modules (program/), one file per module (test_<module>.py)."""
