"""Tensor construction, dtypes, attributes, repr, non-differentiable ops and in-place rules."""

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr


def test_default_dtypes():
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(1.5).dtype == np.float32
    assert cr.tensor([1, 2]).dtype == np.int64  # integers stay integers (labels, indices)
    assert cr.tensor(np.ones(2)).dtype == np.float64  # NumPy arrays keep theirs
    cr.set_default_dtype("float64")
    try:
        assert cr.tensor([1.0]).dtype == np.float64 and cr.zeros(2).dtype == np.float64
    finally:
        cr.set_default_dtype(np.float32)
    with pytest.raises(TypeError, match="only floating dtypes"):
        cr.set_default_dtype(np.int32)


def test_factories():
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros((2, 3)).numpy().sum() == 0
    assert cr.ones(4).numpy().sum() == 4
    np.testing.assert_array_equal(cr.full((2,), 7.0).numpy(), [7, 7])
    assert cr.arange(5).dtype == np.int64 and cr.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_allclose(cr.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(cr.eye(2).numpy(), np.eye(2))
    assert cr.zeros_like(cr.ones(2, dtype=np.float64)).dtype == np.float64
    assert cr.ones_like(np.zeros(3)).shape == (3,)
    x = cr.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.dtype == np.float32


def test_manual_seed_reproduces_random_tensors():
    cr.manual_seed(123)
    a, b = cr.randn(5).numpy(), cr.rand(3).numpy()
    cr.manual_seed(123)
    np.testing.assert_array_equal(a, cr.randn(5).numpy())
    np.testing.assert_array_equal(b, cr.rand(3).numpy())
    assert ((b >= 0) & (b < 1)).all()


def test_attributes_and_conversions():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert (x.shape, x.ndim, x.size, x.numel()) == ((2, 3), 2, 6, 6)
    assert x.T.shape == (3, 2) and x[0, 1].item() == 2.0
    assert x.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert isinstance(x.numpy(), np.ndarray) and float(x[1, 2]) == 6.0
    with pytest.raises(ValueError, match=r"item: only a tensor with one element .* \(2, 3\)"):
        x.item()


def test_repr_shows_values_and_creating_op():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<Mul>)"
    assert "dtype=float64" in repr(cr.tensor(np.ones(1)))


def test_detach_shares_data_and_cuts_the_graph():
    x = cr.tensor([1.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        cr.tensor([1, 2], requires_grad=True)


def test_comparisons_argmax_sign_are_not_differentiable():
    x = cr.tensor([3.0, -1.0, 2.0], requires_grad=True)
    assert (x > 0).tolist() == [True, False, True] and not (x > 0).requires_grad
    assert (x == 2.0).tolist() == [False, False, True]
    assert x.argmax().item() == 0 and x.argmin().item() == 1
    assert x.sign().tolist() == [1, -1, 1] and not x.sign().requires_grad
    assert {x: 1}[x] == 1  # hashable by identity despite elementwise ==


def test_python_scalars_keep_float32():
    x = cr.tensor([1.0], requires_grad=True)
    for y in (x * 2.5, 2.5 * x, x / 3, x + 1, x ** 2, 1 - x, np.float64(2.0) * x):
        assert y.dtype == np.float32


def test_ndarray_on_the_left_defers_to_tensor():
    y = np.ones(2) * cr.tensor([1.0, 2.0], requires_grad=True)
    assert isinstance(y, cr.Tensor) and y.requires_grad


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"add_: in-place operation on a leaf that requires "
                                           r"grad \(shape \(2,\)\).*cr.no_grad\(\)"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        w += 1
    with pytest.raises(RuntimeError, match="in-place"):
        w[0] = 5.0
    with cr.no_grad():
        w -= 0.5
    np.testing.assert_array_equal(w.numpy(), [0.5, 1.5])
    assert w.requires_grad


def test_inplace_on_saved_tensor_is_detected_at_backward():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([3.0, 4.0])
    y = (w * x).sum()
    x.mul_(2)  # the gradient of w would be 2x, silently wrong
    with pytest.raises(RuntimeError, match="input 1 of Mul .* was modified in place"):
        y.backward()


def test_inplace_through_a_view_is_detected():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([[3.0, 4.0]])
    y = (w * x).sum()
    x[0].fill_(0.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_parameter_update_between_forward_and_backward_is_detected():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with cr.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_inplace_on_output_that_backward_reads_is_detected():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = y.sum()
    with cr.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="output of Exp .* modified in place"):
        z.backward()


def test_inplace_that_backward_does_not_need_is_fine():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([5.0, 5.0])
    y = (x + c).sum()
    c.add_(1)  # add's gradient does not depend on c
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1])


def test_setting_data_invalidates_old_graphs():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.data = np.array([5.0, 5.0], dtype=np.float32)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_import_pulls_in_numpy_only():
    code = ("import sys, chainrule; heavy = [m for m in ('scipy', 'matplotlib', 'sklearn', "
            "'torch', 'jax', 'tqdm', 'safetensors') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
