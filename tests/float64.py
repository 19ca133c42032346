"""A fixture for test packages that compare with float64 references (import it in conftest)."""

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def float64():
    """Reference comparisons and gradient checks run in float64; restore the default after."""
    old = cr.get_default_dtype()
    cr.set_default_dtype(np.float64)
    cr.manual_seed(0)
    yield
    cr.set_default_dtype(old)
