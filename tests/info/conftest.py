"""Every test here runs in float64 (tests/float64.py)."""

from tests.float64 import float64  # noqa: F401  (an autouse fixture)
