"""JAX-style transforms: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp, and composition."""

import numpy as np
import pytest

import chainrule as cr


def rosenbrock(v):
    return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2


def smooth(x):
    return (x.sin() * x).sum() + (x @ x).exp() * 0.01 + x.tanh().sum() ** 2


RNG = np.random.default_rng(0)


def test_hessian_quadratic_and_rosenbrock():
    f = lambda v: v[0] ** 2 + 3 * v[0] * v[1] + v[1] ** 2
    np.testing.assert_array_equal(cr.hessian(f)(np.array([0.3, -1.2])).numpy(), [[2, 3], [3, 2]])
    np.testing.assert_array_equal(cr.hessian(rosenbrock)(np.array([1.0, 1.0])).numpy(),
                                  [[802, -400], [-400, 200]])


@pytest.mark.parametrize("seed", range(5))
def test_hvp_equals_hessian_times_v(seed):
    rng = np.random.default_rng(seed)
    x, v = rng.normal(size=4), rng.normal(size=4)
    H = cr.hessian(smooth)(x).numpy()
    np.testing.assert_allclose(cr.hvp(smooth, x, v).numpy(), H @ v, rtol=1e-10, atol=1e-12)


def test_hessian_is_symmetric_and_matches_finite_differences_of_grad():
    x = RNG.normal(size=3)
    H = cr.hessian(smooth)(x).numpy()
    g = lambda z: cr.grad(smooth)(z).numpy()
    eps = 1e-6
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-7)


def test_softmax_jacobian():
    x = RNG.normal(size=5)
    s = cr.softmax(cr.tensor(x, dtype=np.float64)).numpy()
    J = cr.jacobian(cr.softmax)(x).numpy()
    np.testing.assert_allclose(J, np.diag(s) - np.outer(s, s), atol=1e-15)


@pytest.mark.parametrize("f", [cr.softmax, lambda x: (x[:, None] * x).tanh(),
                               lambda x: x.exp() @ x])
def test_jvp_equals_jacobian_times_v(f):
    x, v = RNG.normal(size=4), RNG.normal(size=4)
    out, tangent = cr.jvp(f, (x,), (v,))
    J = cr.jacobian(f)(x).numpy()
    np.testing.assert_allclose(tangent.numpy(), np.tensordot(J, v, axes=1), rtol=1e-12,
                               atol=1e-13)
    np.testing.assert_allclose(out.numpy(), f(cr.tensor(x)).numpy())


def test_vjp_equals_cotangent_times_jacobian():
    f = lambda a, b: (a[:, None] * b).sin()
    a, b = RNG.normal(size=3), RNG.normal(size=2)
    out, vjp_fn = cr.vjp(f, a, b)
    u = RNG.normal(size=out.shape)
    ga, gb = vjp_fn(u)
    Ja, Jb = cr.jacobian(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga.numpy(), np.tensordot(u, Ja.numpy(), axes=2), atol=1e-13)
    np.testing.assert_allclose(gb.numpy(), np.tensordot(u, Jb.numpy(), axes=2), atol=1e-13)
    np.testing.assert_allclose(vjp_fn(2 * u)[0].numpy(), 2 * ga.numpy(), atol=1e-13)


def test_grad_composes_to_any_order():
    f = lambda x: x ** 5
    d = f
    want = [5 * 16, 20 * 8, 60 * 4, 120 * 2, 120]
    for w in want:
        d = cr.grad(d)
        assert d(2.0).item() == w
    assert cr.grad(cr.grad(cr.sin))(0.7).item() == pytest.approx(-np.sin(0.7), abs=1e-7)


def test_jacobian_of_grad_is_hessian():
    x = RNG.normal(size=3)
    np.testing.assert_allclose(cr.jacobian(cr.grad(smooth))(x).numpy(),
                               cr.hessian(smooth)(x).numpy(), atol=1e-12)


def test_hessian_of_hessian_order_three():
    f = lambda x: (x ** 3).sum()  # third derivative tensor: 6 on the diagonal
    T = cr.jacobian(cr.hessian(f))(np.array([1.0, 2.0])).numpy()
    want = np.zeros((2, 2, 2))
    want[0, 0, 0] = want[1, 1, 1] = 6
    np.testing.assert_array_equal(T, want)


def test_value_and_grad_has_aux_and_argnums():
    f = lambda a, b: ((a * b).sum(), a.shape)
    (value, aux), (ga, gb) = cr.value_and_grad(f, argnums=(0, 1), has_aux=True)(
        np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert value.item() == 11.0 and aux == (2,)
    np.testing.assert_array_equal(ga.numpy(), [3, 4])
    np.testing.assert_array_equal(gb.numpy(), [1, 2])
    g, aux = cr.grad(f, has_aux=True)(np.array([1.0]), np.array([5.0]))
    assert g.item() == 5.0


def test_inputs_may_be_floats_arrays_or_tensors():
    f = lambda x: (x * x).sum()
    assert cr.grad(f)(3.0).item() == 6.0
    np.testing.assert_array_equal(cr.grad(f)(np.array([1.0, 2.0])).numpy(), [2, 4])
    t = cr.tensor([1.0, 2.0])
    np.testing.assert_array_equal(cr.grad(f)(t).numpy(), [2, 4])
    assert t.grad is None and not t.requires_grad


def test_transform_of_constant_function_gives_zeros():
    assert cr.grad(lambda x: cr.tensor(1.0))(2.0).item() == 0.0
    np.testing.assert_array_equal(cr.jacobian(lambda x: cr.zeros(2))(np.ones(3)).numpy(),
                                  np.zeros((2, 3)))


def test_transforms_work_under_no_grad():
    with cr.no_grad():
        assert cr.grad(lambda x: x ** 2)(3.0).item() == 6.0


def test_grad_rejects_non_scalar_output():
    with pytest.raises(ValueError, match=r"grad: f must return a scalar, got shape \(3,\); "
                                         r"reduce it with .sum\(\) or use cr.jacobian"):
        cr.grad(lambda x: x * 2)(np.ones(3))
