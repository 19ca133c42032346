"""gradcheck / gradgradcheck themselves: they pass correct ops and catch wrong derivatives."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import GradcheckError


class WrongCube(cr.Function):
    """y = x^3 with a deliberately wrong derivative 3x^2 + 0.01 at one element."""

    __slots__ = ()

    def forward(self, x):
        return x ** 3

    def vjp(self, g):
        x = self.inputs[0]
        bump = np.zeros(x.shape)
        bump[1] = 0.01
        return g * (3 * x * x + cr.tensor(bump))


class DetachedCube(cr.Function):
    """Right first derivative, but written on raw values: second order is lost."""

    __slots__ = ()

    def forward(self, x):
        return x ** 3

    def vjp(self, g):
        return g * cr.tensor(3 * self.inputs[0].numpy() ** 2)


def test_gradcheck_passes_correct_op_and_returns_true():
    x = cr.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    assert cr.gradcheck(lambda t: t ** 3, [x]) is True
    assert cr.gradgradcheck(lambda t: t ** 3, [x]) is True


def test_gradcheck_reports_the_worst_element_and_both_values():
    x = cr.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    with pytest.raises(GradcheckError) as err:
        cr.gradcheck(lambda t: WrongCube()(t), [x])
    msg = str(err.value)
    assert "input 0 (shape (3,)) of WrongCube" in msg
    assert "output element 1, input element (1,)" in msg
    assert "analytical 3.01, numerical 3 (" in msg
    assert cr.gradcheck(lambda t: WrongCube()(t), [x], raise_exception=False) is False


def test_gradgradcheck_catches_a_vjp_that_is_not_differentiable():
    x = cr.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    assert cr.gradcheck(lambda t: DetachedCube()(t), [x])
    with pytest.raises(GradcheckError):
        cr.gradgradcheck(lambda t: DetachedCube()(t), [x])


def test_gradcheck_requires_float64():
    with pytest.raises(TypeError, match="finite differences need float64 inputs"):
        cr.gradcheck(lambda t: t * 2, [cr.tensor([1.0], requires_grad=True)])
