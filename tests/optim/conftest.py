"""Every test here runs on each test device (tests/devices.py)."""

from tests.devices import device  # noqa: F401
