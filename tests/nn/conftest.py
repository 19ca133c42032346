"""Fixtures for the cr.nn tests."""

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def float64():
    """Build tensors, parameters and buffers in float64 for the duration of a test."""
    previous = cr.get_default_dtype()
    cr.set_default_dtype(np.float64)
    yield
    cr.set_default_dtype(previous)

from tests.devices import device  # noqa: E402, F401  (every test runs on each device)
