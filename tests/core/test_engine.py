"""The backward engine: accumulation, graph release, hooks, create_graph, deep graphs, memory."""

import tracemalloc
import weakref

import numpy as np
import pytest

import chainrule as cr


def test_leaf_gradients_accumulate_like_pytorch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3 + 2, 3 + 4])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 3])


def test_shared_gradient_is_not_aliased_between_leaves():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.item() == 1.0


def test_diamond_graph_sums_both_paths():
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x
    z = y + y.exp() + y * 2
    z.backward()
    assert x.grad.item() == pytest.approx(2 * 3 * (1 + np.exp(9) + 2), rel=1e-6)


def test_graph_is_released_after_backward():
    x = cr.tensor(2.0, requires_grad=True)
    y = x.exp() * x
    y.backward()
    with pytest.raises(RuntimeError, match="already been released.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = cr.tensor(2.0, requires_grad=True)
    y = x ** 3
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 2 * 12.0


def test_backward_of_non_scalar_needs_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"only for a scalar output; got shape \(2,\)"):
        y.backward()
    y.backward(gradient=cr.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2, 20])


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()


def test_no_grad_records_nothing_and_works_as_decorator():
    x = cr.tensor(1.0, requires_grad=True)
    with cr.no_grad():
        y = x * 2
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            z = x * 2
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad

    @cr.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_hooks_see_and_replace_gradients():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    h.register_hook(lambda g: g * 10)
    handle = x.register_hook(lambda g: g + 1)
    h.sum().backward()
    np.testing.assert_array_equal(seen[0], [1, 1])
    np.testing.assert_array_equal(x.grad.numpy(), [21, 21])
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1])


def test_retain_grad_on_intermediate():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    (h * 3).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [3, 3])


def test_autograd_grad_does_not_touch_dot_grad_and_reaches_intermediates():
    x = cr.tensor(2.0, requires_grad=True)
    h = x * 3
    y = h * h
    gh, gx = cr.autograd.grad(y, [h, x])
    assert gh.item() == 2 * 6.0 and gx.item() == 36.0
    assert x.grad is None


def test_autograd_grad_unused_input():
    x = cr.tensor(1.0, requires_grad=True)
    w = cr.tensor(1.0, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="input 1 .* was not used"):
        cr.autograd.grad(y, [x, w], retain_graph=True)
    gx, gw = cr.autograd.grad(y, [x, w], allow_unused=True)
    assert gx.item() == 2.0 and gw is None


def test_backward_inputs_accumulates_only_there():
    a = cr.tensor(1.0, requires_grad=True)
    b = cr.tensor(1.0, requires_grad=True)
    (a * b * 3).backward(inputs=[a])
    assert a.grad.item() == 3.0 and b.grad is None


def test_create_graph_makes_dot_grad_differentiable():
    x = cr.tensor(3.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.item() == 27.0
    (gg,) = cr.autograd.grad(g, x)
    assert gg.item() == 18.0


def test_chain_of_100000_ops_has_no_recursion_limit():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def _mlp_step(params, x):
    W1, b1, W2, b2 = params
    h = (x @ W1.mT + b1).relu()
    loss = (h @ W2.mT + b2).log_softmax(-1)[np.arange(8), np.arange(8) % 3].mean()
    loss.backward()
    for p in params:
        p.grad = None
    return loss


def test_no_memory_growth_over_1000_iterations():
    rng = np.random.default_rng(0)
    params = [cr.tensor(rng.normal(size=s).astype(np.float32), requires_grad=True)
              for s in [(16, 4), (16,), (3, 16), (3,)]]
    x = cr.tensor(rng.normal(size=(8, 4)).astype(np.float32))
    tracemalloc.start()
    for _ in range(1000):  # warm-up: NumPy and the interpreter fill their caches once
        _mlp_step(params, x)
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(1000):
        _mlp_step(params, x)
    now, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert now - base < 50_000, f"memory grew by {now - base} bytes over 1000 iterations"


def test_graph_is_freed_by_reference_counting():
    x = cr.tensor(np.ones(1000), requires_grad=True)
    y = (x * 2).exp()
    node = weakref.ref(y.grad_fn)
    saved = weakref.ref(y.grad_fn.inputs[0])
    y.sum().backward()
    del y
    assert node() is None and saved() is None  # no cycles: freed without the gc


def test_vjp_returning_wrong_shape_is_named():
    class Bad(cr.Function):
        __slots__ = ()

        def forward(self, x):
            return x * 2

        def vjp(self, g):
            return cr.ones(3, 1)

    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"Bad.vjp returned shape \(3, 1\) for input 0 of "
                                         r"shape \(3,\)"):
        Bad()(x).sum().backward()


def test_gradient_takes_the_input_dtype():
    a = cr.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = cr.tensor(np.ones(2, dtype=np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_a_leaf_used_several_times_gets_the_sum_once_as_pytorch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    hooked, accumulated = [], []
    x.register_hook(lambda g: hooked.append(g.tolist()))
    x.register_post_accumulate_grad_hook(lambda t: accumulated.append(t.grad.tolist()))
    (x * 3 + x * 5 + (x * x).sum()).sum().backward()
    # 3 + 5, plus 2 * 2x from the sum of squares broadcast to both elements
    assert hooked == [[12.0, 16.0]] and accumulated == [[12.0, 16.0]]
    assert x.grad.tolist() == [12.0, 16.0]


def test_post_accumulate_hooks_run_after_each_backward_and_only_on_leaves():
    w = cr.tensor([1.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.item()))
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    assert calls == [2.0, 5.0]
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
