"""PyTorch parity of the convolution family without torch: every conv/pool/fold/pad/interpolate
row with a torch function against tests/golden/conv.npz (written by tools/golden/conv.py with
torch 2.13), values and gradients in float64; and torch's max-pool indices."""

import numpy as np
import pytest
from tools.golden.conv import INDEX_CASES, index_input, weights

import chainrule as cr
import chainrule.nn.functional as F
from tests import golden
from tests.core.test_ops import _as_tuple, _inputs
from tests.op_rows.conv import ROWS

GOLDEN = golden.load("conv")
IDS = list(GOLDEN["ids"])
TORCH_ROWS = [r for r in ROWS if r.torch is not None]


def test_the_golden_file_covers_every_row_with_a_torch_function():
    assert IDS == [r.id for r in TORCH_ROWS], "run PYTHONPATH=src python tools/golden/conv.py"
    assert str(GOLDEN["torch_version"]).startswith("2.13")


@pytest.mark.parametrize("r", TORCH_ROWS, ids=lambda r: r.id)
def test_values_and_gradients_equal_pytorchs(r):
    n = IDS.index(r.id)
    xs = [cr.tensor(x, requires_grad=True) for x in _inputs(r)]
    ys = _as_tuple(r.fn(*xs))
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y.numpy(), GOLDEN[f"r{n}_y{i}"], rtol=1e-10, atol=1e-12)
    sum((y * cr.tensor(w)).sum() for y, w in zip(ys, weights(ys))).backward()
    for j, x in enumerate(xs):
        np.testing.assert_allclose(x.grad.numpy(), GOLDEN[f"r{n}_g{j}"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("i", range(len(INDEX_CASES)))
def test_max_pool_indices_equal_pytorchs(i):
    shape, kw = INDEX_CASES[i]
    pool = F.max_pool1d if len(shape) == 3 else F.max_pool2d
    values, index = pool(cr.tensor(index_input(i, shape)), return_indices=True, **kw)
    assert index.dtype == np.int64
    np.testing.assert_array_equal(index.numpy(), GOLDEN[f"index{i}"])
    # the values are the input at the indices
    x = index_input(i, shape).reshape(shape[0], shape[1], -1)
    picked = np.take_along_axis(x, index.numpy().reshape(shape[0], shape[1], -1), 2)
    np.testing.assert_array_equal(values.numpy().reshape(picked.shape), picked)


def test_live_indices_when_torch_is_installed():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 8))
    _, ours = F.max_pool2d(cr.tensor(x), (3, 2), (2, 2), 1, (2, 1), True, True)
    _, theirs = torch.nn.functional.max_pool2d(torch.tensor(x), (3, 2), (2, 2), 1, (2, 1),
                                               True, True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
