"""Defects found by the fault and fuzz campaign (issue 21), each a test that failed before."""

import datetime

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


@pytest.mark.parametrize("op", [cr.maximum, cr.minimum])
def test_maximum_and_minimum_of_two_0d_tensors_differentiate(op):
    a = cr.tensor(2.0, requires_grad=True)
    b = cr.tensor(2.0, requires_grad=True)
    op(a, b).backward()  # a tie: half each, as torch
    assert a.grad.item() == 0.5 and b.grad.item() == 0.5
    c, d = cr.tensor(1.0, requires_grad=True), cr.tensor(3.0, requires_grad=True)
    op(c, d).backward()
    assert (c.grad.item(), d.grad.item()) == ((0.0, 1.0) if op is cr.maximum else (1.0, 0.0))


def _strided_data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((1_000_000, 10)) + 1e3).astype(np.float32)


def test_float32_mean_and_var_along_a_long_strided_axis_are_accurate():
    x = _strided_data()
    ref_mean, ref_var = x.astype(np.float64).mean(0), x.astype(np.float64).var(0, ddof=1)
    t = cr.tensor(x)
    np.testing.assert_allclose(t.mean(0).numpy(), ref_mean, rtol=1e-6)
    np.testing.assert_allclose(t.var(0).numpy(), ref_var, rtol=1e-4)  # was 80.2 for 0.998
    np.testing.assert_allclose(t.std(0).numpy(), np.sqrt(ref_var), rtol=1e-4)
    np.testing.assert_allclose(t.sum(0).numpy(), x.astype(np.float64).sum(0), rtol=1e-6)


@pytest.mark.parametrize("shape, dim", [((20, 20_000, 10), 1), ((64, 4096, 16), (0, 1)),
                                        ((300_001, 3), 0)])
def test_float32_sums_along_middle_and_several_strided_dims_are_accurate(shape, dim):
    x = (np.random.default_rng(1).standard_normal(shape) + 1e3).astype(np.float32)
    got = cr.tensor(x).sum(dim).numpy()
    np.testing.assert_allclose(got, x.astype(np.float64).sum(dim), rtol=1e-6)


def _blocked_reference(x, a, block=128):
    """The strided sum as specified: blocks of 128 by np.add.reduce, their sums alike."""
    n = x.shape[a]
    if n <= 2 * block or (a == x.ndim - 1 and x.strides[a] == x.itemsize):
        return np.add.reduce(x, a, keepdims=True)
    k, lead = n - n % block, (slice(None),) * a
    head = x[lead + (slice(0, k),)].reshape(x.shape[:a] + (k // block, block) + x.shape[a + 1:])
    s = _blocked_reference(np.add.reduce(head, a + 1), a, block)
    return s + np.add.reduce(x[lead + (slice(k, None),)], a, keepdims=True) if k < n else s


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_the_blocked_sum_is_bit_identical_to_block_by_block_add_reduce(dtype):
    from chainrule.ops.reduction import accurate_sum

    rng = np.random.default_rng(2)
    for shape, a in [((100_003, 10), 0), ((4096, 256), 0), ((7, 5000, 3), 1)]:
        x = rng.standard_normal(shape).astype(dtype)
        assert np.array_equal(accurate_sum(x, (a,), True), _blocked_reference(x, a)), shape


def test_batch_norm_of_offset_data_has_unit_spread():
    x = cr.tensor(_strided_data()[:200_000])
    bn = cr.nn.BatchNorm1d(10)
    y = bn(x).numpy().astype(np.float64)
    np.testing.assert_allclose(y.std(0), 1.0, rtol=1e-3)  # was 0.11
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-3)


@pytest.mark.parametrize("data", [np.array([1, "a"], dtype=object), np.array(["x", "y"]),
                                  np.array([datetime.datetime(2026, 1, 1)], dtype=object),
                                  np.array(["2026-01-01"], dtype="datetime64[D]")])
def test_non_numeric_arrays_are_refused(data):
    with pytest.raises(TypeError, match="tensor: cannot build a numeric tensor"):
        cr.tensor(data)


def test_numpy_scalars_keep_their_dtype_and_stay_weak_in_arithmetic():
    assert cr.tensor(np.float64(2.7)).dtype == np.float64
    assert cr.tensor(np.int32(3)).dtype == np.int32
    assert cr.tensor(np.float16(1.5)).dtype == np.float16
    assert cr.tensor(2.7).dtype == np.float32  # Python floats take the default dtype
    x = cr.ones(3)
    assert (x * np.float64(2.0)).dtype == np.float32  # a scalar is weak, as in torch
    assert (x + np.int64(1)).dtype == np.float32


@pytest.mark.parametrize("fn", [lambda x: x.softmax(1), lambda x: x.log_softmax(1),
                                lambda x: F.softmax(x, dim=1)])
def test_softmax_over_an_empty_dim_is_empty_as_torch(fn):
    y = fn(cr.zeros(3, 0))
    assert y.shape == (3, 0)


def test_logsumexp_over_an_empty_dim_is_minus_infinity_as_torch():
    assert cr.zeros(2, 0).logsumexp(1).tolist() == [-np.inf, -np.inf]


def test_sgd_on_a_read_only_parameter_says_what_to_do():
    w = np.broadcast_to(np.ones(3, np.float32), (2, 3))  # read-only view
    p = cr.tensor(w, requires_grad=True)
    p2 = cr.tensor(np.ones(2, np.float64), requires_grad=True)  # two dtypes: per-parameter path
    opt = cr.optim.SGD([p, p2], lr=0.1)
    (p.sum() + p2.sum()).backward()
    with pytest.raises(ValueError, match="SGD.step: a parameter of shape \\(2, 3\\) holds a "
                                         "read-only array"):
        opt.step()


def test_a_read_only_parameter_in_a_flat_group_gets_a_writable_buffer():
    p = cr.tensor(np.broadcast_to(np.ones(3, np.float32), (2, 3)), requires_grad=True)
    opt = cr.optim.SGD([p], lr=0.5)
    p.sum().backward()
    opt.step()
    np.testing.assert_array_equal(p.numpy(), np.full((2, 3), 0.5, np.float32))
