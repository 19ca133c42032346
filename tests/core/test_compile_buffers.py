"""The replay planner's buffer reuse, in-place chains and dead-code elimination: a replay writes
intermediates into preallocated arrays and skips ops nobody reads, and still computes eager's
floats bit for bit (values checked against eager on inputs the trace never saw)."""

import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.compile.planner import into_method, makes_fresh
from chainrule.ops.arithmetic import Mul
from chainrule.ops.nn_ops import Linear, MatMulInto, SoftmaxCrossEntropy

rng = np.random.default_rng(20)


def _x(shape=(5, 4)):
    return cr.tensor(rng.standard_normal(shape).astype(np.float32))


def _buffers(source):
    return set(re.findall(r"into (B\d+)", source))


def _same(a, b):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == b.dtype and a.shape == b.shape


def test_returned_values_are_new_arrays_at_every_call_and_equal_eager():
    def f(x):
        h = (x * 2.0).exp()
        out = h + 1.0
        return out, (h * 3.0 - x).sum(0)

    g = cr.compile(f)
    xs = [_x() for _ in range(6)]
    results = [g(x) for x in xs]  # all held: a replay must not write over an earlier result
    assert _buffers(g.source)  # the intermediates went into buffers
    for x, (out, s) in zip(xs, results):
        e_out, e_s = f(x)
        _same(out, e_out)
        _same(s, e_s)
    assert len({id(r[0]._data) for r in results}) == len(results)  # (the arrays themselves)


def test_a_view_keeps_its_base_buffer_alive_until_its_last_reader():
    def f(x):
        a = x * 2.0
        v = a.T  # a view of a's buffer: read after a's last direct reader
        b = a + 1.0  # must not be computed over a's buffer
        w = v * 3.0
        return b.sum() + w.sum()

    g = cr.compile(f)
    for _ in range(2):
        g(_x())
    for _ in range(3):
        x = _x()
        _same(g(x), f(x))
    add = next(line for line in g.source.splitlines() if "Add()" in line)
    mul = next(line for line in g.source.splitlines() if "Mul()" in line)
    assert re.search(r"into (B\d+)", add).group(1) != re.search(r"into (B\d+)", mul).group(1)


def test_elementwise_chains_run_in_place_on_one_buffer():
    def f(x):
        y = (((x * 2.0) + 1.0).exp() - 3.0).tanh().neg()
        return y.sum()

    g = cr.compile(f)
    for _ in range(2):
        g(_x())
    assert len(_buffers(g.source)) == 1, g.source  # mul, add, exp, sub, tanh, neg: one array
    for _ in range(3):
        x = _x()
        _same(g(x), f(x))


def test_training_step_with_buffers_matches_eager_bit_for_bit():
    def make():
        cr.manual_seed(3)
        model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Sigmoid(), cr.nn.Linear(8, 8),
                                 cr.nn.ReLU(), cr.nn.Linear(8, 3))
        return model, cr.optim.Adam(model.parameters(), lr=1e-2)

    def stepper(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    (m1, o1), (m2, o2) = make(), make()
    eager, compiled = stepper(m1, o1), cr.compile(stepper(m2, o2))
    for _ in range(8):
        x, y = _x((6, 4)), cr.tensor(rng.integers(0, 3, 6))
        _same(eager(x, y), compiled(x, y))
    assert _buffers(compiled.source)
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_dead_ops_are_skipped_but_value_checks_are_kept():
    def f(x, y):
        (x * 3.0).exp()  # nobody reads it: dead
        F.cross_entropy(x, y)  # nobody reads it either, but it checks the labels
        return (x * 2.0).sum()

    g = cr.compile(f)
    labels = cr.tensor(np.array([0, 1, 2, 3, 0]))
    for _ in range(2):
        g(_x(), labels)
    lines = g.source.splitlines()
    assert any("Exp()" in line and "dead (nobody reads it)" in line for line in lines)
    assert any("SoftmaxCrossEntropy" in line and "dead" not in line for line in lines)
    x = _x()
    _same(g(x, labels), f(x, labels))
    bad = cr.tensor(np.array([0, 1, 9, 3, 0]))
    # (on a device the label check is deferred to the next read of a value: .item())
    with pytest.raises(ValueError, match="out of range"):
        f(x, bad).item()
    with pytest.raises(ValueError, match="out of range"):
        g(x, bad).item()


def test_dead_random_draws_still_advance_the_generator():
    def f(x):
        cr.rand(3)  # unread, but a draw: the next one must be eager's
        return x * cr.rand(*x.shape)

    g = cr.compile(f)
    x = _x()
    for _ in range(2):
        g(x)
    cr.manual_seed(7)
    got = g(x)
    cr.manual_seed(7)
    _same(got, f(x))


def test_forward_into_is_only_used_where_it_matches_forward():
    class Doubled(Mul):  # changes forward: must not inherit Mul's forward_into
        __slots__ = ()

        def forward(self, a, b):
            return 2 * a * b

    assert into_method(Mul) is not None and into_method(Doubled) is None
    assert into_method(MatMulInto) is None  # writes into its own parameter
    assert into_method(Linear) is not None and makes_fresh(SoftmaxCrossEntropy)
    assert SoftmaxCrossEntropy.checks_values


@pytest.mark.parametrize("op, args", [
    ("add", 2), ("sub", 2), ("mul", 2), ("div", 2), ("neg", 1), ("exp", 1), ("tanh", 1),
    ("relu", 1), ("sigmoid", 1)])
def test_forward_into_equals_forward_bit_for_bit(op, args):
    import chainrule.ops.arithmetic as ar
    import chainrule.ops.elementwise as el
    import chainrule.ops.special as sp

    cls = {"add": ar.Add, "sub": ar.Sub, "mul": ar.Mul, "div": ar.Div, "neg": ar.Neg,
           "exp": el.Exp, "tanh": el.Tanh, "relu": el.Relu, "sigmoid": sp.Sigmoid}[op]
    for dtype in (np.float32, np.float64):
        xs = [rng.standard_normal((7, 5)).astype(dtype) * 30 for _ in range(args)]
        want = cls().forward(*xs)
        out = np.empty_like(want)
        np.testing.assert_array_equal(cls().forward_into(out, *xs), want)
        inplace = xs[0].copy()  # written over its first input, as an in-place chain does
        np.testing.assert_array_equal(cls().forward_into(inplace, inplace, *xs[1:]), want)


def test_an_argument_of_other_strides_gets_its_own_trace():
    def f(x):
        return ((x * 2.0).exp() - 1.0).sum(0)  # the sum reads the buffer's layout

    g = cr.compile(f)
    for _ in range(3):
        g(_x((5, 4)))
    t = cr.tensor(rng.standard_normal((4, 5)).astype(np.float32).T)  # (5, 4), F order
    for _ in range(3):
        _same(g(t), f(t))
    assert g.source.count("def replay") == 2
