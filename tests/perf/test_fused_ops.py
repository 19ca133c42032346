"""The fast paths compute what the plain compositions compute: values, gradients and second
derivatives (float64), so speed is never bought with different math.

  * F.cross_entropy with class labels is one SoftmaxCrossEntropy node, whose backward reads
    the probabilities its forward computed (not the softmax again);
  * F.mse_loss with a mean or sum is one SquaredError node;
  * Linear's vjp writes a weight's gradient straight into the optimizer's buffer (grad_sink);
  * sigmoid is computed in place.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops import nn_ops


def composite_cross_entropy(x, y, reduction):
    picked = x.log_softmax(axis=1)[np.arange(len(y)), y]
    return -(picked.mean() if reduction == "mean" else picked.sum())


def composite_mse(x, t, reduction):
    d = x - t
    return (d * d).mean() if reduction == "mean" else (d * d).sum()


def value_grad_hvp(f, *arrays):
    """f's value, gradient and Hessian-vector product in a fixed direction (all float64)."""
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = f(*xs)
    grads = cr.autograd.grad(out, xs, create_graph=True)
    rng = np.random.default_rng(5)
    vs = [cr.tensor(rng.standard_normal(a.shape)) for a in arrays]
    dot = sum((g * v).sum() for g, v in zip(grads, vs))
    hvps = cr.autograd.grad(dot, xs, allow_unused=True)
    return out.item(), [g.numpy() for g in grads], [h.numpy() for h in hvps]


def assert_same(a, b):
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    for u, v in zip(a[1] + a[2], b[1] + b[2]):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_is_one_node_with_the_composite_derivatives(reduction):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 5)) * 3, rng.integers(0, 5, 7)
    fused = value_grad_hvp(lambda a: F.cross_entropy(a, y, reduction=reduction), x)
    plain = value_grad_hvp(lambda a: composite_cross_entropy(a, y, reduction), x)
    assert_same(fused, plain)
    out = F.cross_entropy(cr.tensor(x, requires_grad=True), y, reduction=reduction)
    assert isinstance(out.grad_fn, nn_ops.SoftmaxCrossEntropy)


def composite_ce_ignoring(x, y, ignore, reduction):
    keep = y != ignore
    logp = x.log_softmax(axis=1)
    picked = logp[np.arange(len(y)), np.where(keep, y, 0)] * cr.tensor(keep.astype(float))
    return -(picked.sum() / keep.sum() if reduction == "mean" else picked.sum())


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_with_ignored_labels_matches_the_composite(reduction):
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((8, 4)) * 2, rng.integers(0, 4, 8)
    y[[1, 5]] = -100
    fused = value_grad_hvp(lambda a: F.cross_entropy(a, y, reduction=reduction), x)
    plain = value_grad_hvp(lambda a: composite_ce_ignoring(a, y, -100, reduction), x)
    assert_same(fused, plain)
    t = cr.tensor(x, requires_grad=True)  # the fused first-order backward: the same bits
    F.cross_entropy(t, y, reduction=reduction).backward()
    np.testing.assert_array_equal(t.grad.numpy(), fused[1][0])


def test_cross_entropy_backward_reuses_the_forward_probabilities(monkeypatch):
    from chainrule.ops import special

    rng = np.random.default_rng(3)
    x = cr.tensor(rng.standard_normal((6, 5)), requires_grad=True)
    y = rng.integers(0, 5, 6)
    calls = []
    real = special.Softmax.forward
    monkeypatch.setattr(special.Softmax, "forward", lambda self, a: calls.append(1) or
                        real(self, a))
    loss = F.cross_entropy(x, y)
    loss.backward()
    assert calls == []  # no softmax computed again in backward
    p = np.exp(x.numpy() - x.numpy().max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(6), y] -= 1
    np.testing.assert_allclose(x.grad.numpy(), p / 6, rtol=1e-12, atol=1e-15)
    # the first-order fused backward gives the bits the differentiable formula gives
    x32 = cr.tensor(rng.standard_normal((7, 10)).astype(np.float32), requires_grad=True)
    y7 = rng.integers(0, 10, 7)
    (g_plain,) = cr.autograd.grad(F.cross_entropy(x32, y7), [x32], create_graph=True)
    F.cross_entropy(x32, y7).backward()
    np.testing.assert_array_equal(x32.grad.numpy(), g_plain.numpy())


def test_cross_entropy_node_alone_computes_the_softmax_again():
    """Called without softmax_cross_entropy, nothing keeps p: the vjp computes it again."""
    rng = np.random.default_rng(4)
    x = cr.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    y = cr.tensor(rng.integers(0, 3, 5))
    loss, _ = nn_ops.SoftmaxCrossEntropy(True)(x, y)
    loss.backward()
    p = np.exp(x.numpy() - x.numpy().max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(5), y.numpy()] -= 1
    np.testing.assert_allclose(x.grad.numpy(), p / 5, rtol=1e-12, atol=1e-15)


def test_cross_entropy_fused_forward_is_stable_in_float32():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4 - 1, 1e4]], dtype=np.float32)
    y = np.array([0, 1])
    out = F.cross_entropy(cr.tensor(x), y)
    np.testing.assert_allclose(out.item(), (0.0 + (1 + np.log1p(np.exp(-1.0)))) / 2, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_is_one_node_with_the_composite_derivatives(reduction):
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    fused = value_grad_hvp(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, t)
    plain = value_grad_hvp(lambda a, b: composite_mse(a, b, reduction), x, t)
    assert_same(fused, plain)
    out = F.mse_loss(cr.tensor(x, requires_grad=True), cr.tensor(t), reduction=reduction)
    assert isinstance(out.grad_fn, nn_ops.SquaredError)


def test_linear_writes_into_the_gradient_buffer_with_the_same_values():
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(6, 5), cr.nn.ReLU(), cr.nn.Linear(5, 2))
    x = cr.randn(4, 6)
    expected = cr.autograd.grad(net(x).sum(), list(net.parameters()))
    cr.optim.SGD(net.parameters(), lr=0.1)
    net(x).sum().backward()
    for p, g in zip(net.parameters(), expected):
        np.testing.assert_allclose(p.grad.numpy(), g.numpy(), rtol=1e-6)
    assert net[0].weight.grad.numpy().base is net[2].weight.grad.numpy().base


def test_a_weight_used_twice_accumulates_both_uses():
    cr.manual_seed(0)
    W = cr.nn.Parameter(cr.randn(3, 3))
    cr.optim.SGD([W], lr=0.1)
    x = cr.randn(2, 3)
    F.linear(F.linear(x, W).tanh(), W).sum().backward()
    Wr = cr.tensor(W.numpy().copy(), requires_grad=True)
    ((x @ Wr.mT).tanh() @ Wr.mT).sum().backward()
    np.testing.assert_allclose(W.grad.numpy(), Wr.grad.numpy(), rtol=1e-5)


def test_sigmoid_in_float32_and_float64_matches_the_exact_values():
    scipy_special = pytest.importorskip("scipy.special")
    x = np.array([-1e4, -700, -100, -88.5, -20, -3, 0, 3, 20, 1e4])
    for dtype in (np.float32, np.float64):
        y = cr.sigmoid(cr.tensor(x.astype(dtype))).numpy()
        assert y.dtype == dtype
        np.testing.assert_allclose(y, scipy_special.expit(x.astype(dtype)),
                                   rtol=2e-7 if dtype == np.float32 else 1e-15, atol=1e-37)
    assert cr.sigmoid(cr.tensor(np.array(2.0))).shape == ()


def test_linear_bias_gradient_is_a_blas_batch_sum_of_the_right_value():
    from chainrule.ops.reduction import BatchSum, accurate_sum

    rng = np.random.default_rng(6)
    x = cr.tensor(rng.standard_normal((9, 4)), requires_grad=True)
    W = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(3), requires_grad=True)
    g = rng.standard_normal((9, 3))
    F.linear(x, W, b).backward(cr.tensor(g))
    np.testing.assert_allclose(b.grad.numpy(), g.sum(0), rtol=1e-14)
    # second derivatives through it: the bias gradient's own vjp broadcasts back
    fused = value_grad_hvp(lambda a, w, c: (F.linear(a, w, c) ** 2).sum(), x.numpy(),
                           W.numpy(), b.numpy())
    plain = value_grad_hvp(lambda a, w, c: ((a @ w.mT + c) ** 2).sum(), x.numpy(), W.numpy(),
                           b.numpy())
    assert_same(fused, plain)
    # more rows than a BLAS column sum is trusted with (float32): accurate_sum's blocks, bits
    long = rng.standard_normal((5000, 3)).astype(np.float32)
    np.testing.assert_array_equal(BatchSum().forward(long), accurate_sum(long, (0,), False))
    out = np.empty(3, np.float32)
    assert BatchSum().forward_into(out, long) is out
    np.testing.assert_array_equal(out, accurate_sum(long, (0,), False))
    for rows in (100, 600):  # a reduce below 2048 entries, a product of ones from there on
        part = rng.standard_normal((rows, 8)).astype(np.float32)
        np.testing.assert_allclose(BatchSum().forward(part), part.astype(np.float64).sum(0),
                                   rtol=1e-5, atol=1e-5)
    assert BatchSum().forward(np.zeros((0, 3), np.float32)).tolist() == [0.0, 0.0, 0.0]


def test_layer_norm_backward_reads_the_forward_statistics(monkeypatch):
    from chainrule import _numba
    from chainrule.ops import normalization

    # NumPy's passes (tests/perf/test_numba.py counts the numba kernels' own)
    monkeypatch.setattr(_numba, "get", lambda: None)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    w, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    g = rng.standard_normal((4, 5, 6)).astype(np.float32)

    def run():
        ts = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
        F.layer_norm(ts[0], 6, ts[1], ts[2]).backward(cr.tensor(g))
        return [t.grad.numpy() for t in ts]

    calls = []
    real = normalization._stats
    monkeypatch.setattr(normalization, "_stats", lambda *a: calls.append(1) or real(*a))
    saved = run()
    assert calls == [1]  # once, in the forward
    # the statistics computed again (nothing kept them) give the same bits
    ts = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    y, _, _ = normalization.LayerNorm(1, 1e-5, True, True)(*ts)
    y.backward(cr.tensor(g))
    assert calls == [1, 1, 1]  # its forward, then its backward computes them again
    for a, t in zip(saved, ts):
        np.testing.assert_array_equal(a, t.grad.numpy())
    # and both are the differentiable formula's values
    ts = [cr.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b)]
    grads = cr.autograd.grad(F.layer_norm(ts[0], 6, ts[1], ts[2]), ts,
                             grad_outputs=cr.tensor(g.astype(np.float64)), create_graph=True)
    for a, e in zip(saved, grads):
        np.testing.assert_allclose(a, e.numpy(), rtol=2e-4, atol=2e-5)


def test_layer_norm_statistics_are_not_differentiable():
    from chainrule.ops import normalization

    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    _, mean, rstd = normalization.LayerNorm(1, 1e-5, False, False)(x)
    with pytest.raises(RuntimeError, match="statistics .* are not differentiable"):
        (mean.sum() + rstd.sum()).backward()
