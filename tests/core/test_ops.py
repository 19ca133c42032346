"""Every row of the op table: forward vs NumPy (float32 and float64), gradcheck, gradgradcheck,
and PyTorch forward/backward where torch is installed."""

import numpy as np
import pytest

import chainrule as cr
from tests.core.op_table import OPS, draw


def _inputs(r, seed=0):
    rng = np.random.default_rng(abs(hash(r.id)) % 2**32 if seed is None else seed)
    doms = r.domain or ("real",) * len(r.shapes)
    return [draw(s, d, rng) for s, d in zip(r.shapes, doms)]


def _as_tuple(y):
    return y if isinstance(y, tuple) else (y,)


@pytest.mark.parametrize("r", OPS, ids=[r.id for r in OPS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_numpy(r, dtype):
    xs = [x.astype(dtype) for x in _inputs(r)]
    got = _as_tuple(r.fn(*[cr.tensor(x) for x in xs]))
    want = _as_tuple(r.ref(*[x.astype(np.float64) for x in xs]))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape
        assert g.dtype == dtype, f"{r.id}: {dtype.__name__} input gave {g.dtype}"
        tol = 1e-12 if dtype == np.float64 else 2e-6
        np.testing.assert_allclose(g.numpy(), w, rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("r", OPS, ids=[r.id for r in OPS])
def test_gradcheck(r):
    xs = [cr.tensor(x, requires_grad=True) for x in _inputs(r)]
    assert cr.gradcheck(r.fn, xs)


@pytest.mark.parametrize("r", [r for r in OPS if r.second_order], ids=lambda r: r.id)
def test_gradgradcheck(r):
    xs = [cr.tensor(x, requires_grad=True) for x in _inputs(r)]
    assert cr.gradgradcheck(r.fn, xs)


@pytest.mark.parametrize("r", [r for r in OPS if r.torch is not None], ids=lambda r: r.id)
def test_matches_pytorch(r):
    torch = pytest.importorskip("torch")
    xs = _inputs(r)
    ours = [cr.tensor(x, requires_grad=True) for x in xs]
    theirs = [torch.tensor(x, requires_grad=True) for x in xs]
    yo, yt = _as_tuple(r.fn(*ours)), _as_tuple(r.torch(*theirs))
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(y.shape) for y in yo]
    for a, b in zip(yo, yt):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum(((a * w).sum() for a, w in zip(yo, weights)), cr.tensor(0.0, dtype=np.float64)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(yt, weights)).backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_table_covers_every_differentiable_op():
    """The issue's op list, each present in the table at least once."""
    names = ["add", "sub", "mul", "div", "pow", "neg", "matmul", "abs", "exp", "log", "log1p",
             "expm1", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "elu",
             "softplus", "gelu", "clip", "maximum", "minimum", "where", "sum", "mean", "var",
             "std", "max", "min", "logsumexp", "softmax", "log_softmax", "reshape", "flatten",
             "transpose", "permute", "squeeze", "unsqueeze", "broadcast_to", "concatenate",
             "stack", "split", "pad", "getitem_int", "getitem_slice", "getitem_none",
             "getitem_ellipsis", "getitem_int_array", "getitem_bool_mask"]
    ids = [r.id for r in OPS]
    missing = [n for n in names if not any(i.startswith(n) for i in ids)]
    assert not missing


def test_rows_gathered_by_an_index_array_get_their_gradients_summed():
    """x[idx]'s backward (an embedding's) groups rows with a sort: repeated, negative
    (-1 and n - 1 are one row), multi-dimensional and empty indices sum as np.add.at does."""
    import chainrule as cr

    rng = np.random.default_rng(0)
    for idx in (np.array([3, 1, 3, -1, 4, 0, 3]), rng.integers(-5, 5, (4, 6)),
                np.zeros(0, dtype=np.int64)):
        x = cr.tensor(rng.standard_normal((5, 3)), requires_grad=True)
        g = rng.standard_normal(idx.shape + (3,))
        (x[cr.tensor(idx)] * cr.tensor(g)).sum().backward()
        want = np.zeros((5, 3))
        np.add.at(want, idx, g)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12, atol=1e-12)
