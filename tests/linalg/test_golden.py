"""PyTorch parity of every cr.linalg / einsum op-table row, in CI without torch: values and
gradients against tests/golden/linalg.npz (written by tools/golden/linalg.py with torch 2.13),
and, where torch is installed, the committed file against torch itself (so it cannot go stale)."""

import numpy as np
import pytest

import chainrule as cr
from tests import golden
from tests.core.op_table import draw
from tests.op_rows.linalg import ROWS

TORCH_ROWS = [r for r in ROWS if r.torch is not None]


def golden_inputs(r):
    """The row's float64 inputs (the same draw as tests/core/test_ops.py)."""
    rng = np.random.default_rng(0)
    return [draw(s, d, rng) for s, d in zip(r.shapes, r.domain or ("real",) * len(r.shapes))]


def golden_weights(shapes):
    """Random cotangents, one per output: the gradient checked is of sum_k <w_k, y_k>."""
    rng = np.random.default_rng(1)
    return [rng.standard_normal(s) for s in shapes]


@pytest.fixture(scope="module")
def stored():
    return golden.load("linalg")


def test_the_golden_file_covers_every_row_with_a_torch_function(stored):
    ids = {k.split("|")[0] for k in stored if "|" in k}
    assert ids == {r.id for r in TORCH_ROWS}, "run: PYTHONPATH=src python tools/golden/linalg.py"
    assert str(stored["torch_version"]).startswith("2.13")


@pytest.mark.parametrize("r", TORCH_ROWS, ids=lambda r: r.id)
def test_values_and_gradients_match_pytorch_golden(r, stored):
    xs = [cr.tensor(x, requires_grad=True) for x in golden_inputs(r)]
    ys = r.fn(*xs)
    ys = ys if isinstance(ys, tuple) else (ys,)
    weights = golden_weights([y.shape for y in ys])
    for i, y in enumerate(ys):
        want = stored[f"{r.id}|out{i}"]
        assert y.shape == want.shape, (r.id, i)
        np.testing.assert_allclose(y.numpy(), want, rtol=1e-10, atol=1e-12, err_msg=r.id)
    total = sum((y * cr.tensor(w)).sum() for y, w in zip(ys, weights) if y.requires_grad)
    grads = cr.autograd.grad(total, xs, allow_unused=True)
    for i, g in enumerate(grads):
        got = np.zeros(xs[i].shape) if g is None else g.numpy()
        np.testing.assert_allclose(got, stored[f"{r.id}|grad{i}"], rtol=1e-9, atol=1e-11,
                                   err_msg=f"{r.id}: gradient of input {i}")


@pytest.mark.parametrize("r", TORCH_ROWS, ids=lambda r: r.id)
def test_the_golden_file_is_what_torch_computes(r, stored):
    torch = pytest.importorskip("torch")
    xs = [torch.tensor(x, requires_grad=True) for x in golden_inputs(r)]
    ys = r.torch(*xs)
    ys = ys if isinstance(ys, tuple) else (ys,)
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y.detach().numpy(), stored[f"{r.id}|out{i}"], rtol=1e-12,
                                   atol=1e-14, err_msg=r.id)
