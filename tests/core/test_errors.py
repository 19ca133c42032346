"""Bad input gets a clear error naming the op, the shapes and what to do."""

import numpy as np
import pytest

import chainrule as cr


def test_matmul_inner_dimension_mismatch():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: a is \(3, 4\), "
                                         r"b is \(5, 2\)"):
        cr.ones(3, 4) @ cr.ones(5, 2)


def test_matmul_scalar_operand():
    with pytest.raises(ValueError, match="matmul: both operands need at least one dimension"):
        cr.matmul(cr.tensor(2.0), cr.ones(2))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
def test_broadcast_mismatch_names_op_and_shapes(op):
    with pytest.raises(ValueError, match=rf"{op}: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        getattr(cr.ops, op)(cr.ones(2, 3), cr.ones(4))


def test_other_shape_errors():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) "
                                         r"\(6 elements\) into \(4,\)"):
        cr.ones(2, 3).reshape(4)
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(3,\) to "
                                         r"\(2, 4\)"):
        cr.ones(3).broadcast_to((2, 4))
    with pytest.raises(ValueError, match=r"concatenate: shapes \(2, 3\), \(2, 4\) do not match"):
        cr.concatenate([cr.ones(2, 3), cr.ones(2, 4)])
    with pytest.raises(ValueError, match=r"stack: all tensors must have the same shape"):
        cr.stack([cr.ones(2), cr.ones(3)])
    with pytest.raises(ValueError, match=r"sum: dim 3 is out of range for a tensor of 2 dim"):
        cr.ones(2, 3).sum(3)
    with pytest.raises(ValueError, match=r"where: shapes of condition \(2,\), input \(3,\)"):
        cr.where(np.array([True, False]), cr.ones(3), 0.0)
    with pytest.raises(TypeError, match="where: condition must be boolean"):
        cr.where(np.array([1, 0]), cr.ones(2), 0.0)
    with pytest.raises(IndexError, match=r"getitem: index 5 is invalid for a tensor of shape "
                                         r"\(3,\)"):
        cr.ones(3)[5]
    with pytest.raises(ValueError, match=r"split: sizes \[1, 1\] add up to 2 but dim 0 has "
                                         r"length 3"):
        cr.ones(3).split([1, 1])


def test_backward_through_released_graph():
    x = cr.tensor(1.0, requires_grad=True)
    y = x.exp()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward: the graph through Exp has already been "
                                           r"released .* retain_graph=True"):
        y.backward()


def test_backward_of_non_scalar_without_gradient():
    y = cr.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"backward: gradient can be implicitly created only "
                                           r"for a scalar output; got shape \(3,\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\) but the output has shape "
                                           r"\(3,\)"):
        y.backward(cr.ones(2))


def test_inplace_errors():
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"mul_: in-place operation on a leaf that requires "
                                           r"grad \(shape \(2,\)\)"):
        w.mul_(2)
    h = w * 2
    with pytest.raises(RuntimeError, match="in-place operation on the output of Mul"):
        h.add_(1)


def test_grad_transform_errors():
    with pytest.raises(TypeError, match="grad: f must return a Tensor; got float"):
        cr.grad(lambda x: 1.0)(2.0)
    with pytest.raises(ValueError, match="grad: argnums 2 is out of range for 1 positional"):
        cr.grad(lambda x: x, argnums=2)(1.0)
    with pytest.raises(ValueError, match=r"hvp: v has shape \(3,\) but x has shape \(2,\)"):
        cr.hvp(lambda x: (x * x).sum(), np.ones(2), np.ones(3))


def test_manual_seed_rejects_bad_seed():
    with pytest.raises(ValueError, match="manual_seed: seed must be a non-negative integer"):
        cr.manual_seed(-1)


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="clamp: at least one of min and max must be given"):
        cr.clip(cr.ones(2))
