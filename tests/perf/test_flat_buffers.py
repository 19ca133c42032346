"""Optimizers keep parameters, gradients and state in flat buffers without changing semantics.

The flat layout (optim/flat.py) and the engine's GradBuffer must be invisible: values, PyTorch's
gradient semantics (a gradient held across zero_grad keeps its values) and state_dict behave as
before, and the whole-group update equals the per-parameter one bit for bit.
"""

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

OPTIMIZERS = [
    (cr.optim.SGD, {"lr": 0.1}),
    (cr.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (cr.optim.Adam, {"lr": 0.01}),
    (cr.optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    (cr.optim.AdamW, {"lr": 0.01}),
    (cr.optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (cr.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(OPTIMIZERS)]


def model(seed=0):
    cr.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Linear(5, 4), cr.nn.Tanh(), cr.nn.Linear(4, 3))


def data(seed=1):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal((8, 5), dtype=np.float32)), rng.integers(0, 3, 8)


def train(net, opt, steps, hold=None):
    """`steps` training steps; hold (a list) keeps every gradient, forcing fresh gradient
    memory and so the per-parameter update path."""
    x, y = data()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        if hold is not None:
            hold.append([p.grad for p in net.parameters()])
        opt.step()
        losses.append(loss.item())
    return losses


def test_parameters_become_views_of_one_buffer_with_their_values():
    net = model()
    before = [p.numpy().copy() for p in net.parameters()]
    cr.optim.Adam(net.parameters())
    params = list(net.parameters())
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.numpy(), b)
    assert len({id(p.numpy().base) for p in params}) == 1 and params[0].numpy().base is not None


def test_gradients_and_state_live_in_flat_buffers():
    net = model()
    opt = cr.optim.Adam(net.parameters())
    train(net, opt, 2)
    params = list(net.parameters())
    assert len({id(p.grad.numpy().base) for p in params}) == 1
    assert len({id(opt.state[p]["exp_avg"].numpy().base) for p in params}) == 1
    assert all(opt.state[p]["step"] == 2 for p in params)


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS, ids=IDS)
def test_flat_and_per_parameter_updates_agree_bit_for_bit(cls, kwargs):
    net_a, net_b = model(), model()
    opt_a, opt_b = cls(net_a.parameters(), **kwargs), cls(net_b.parameters(), **kwargs)
    losses_a = train(net_a, opt_a, 6)
    losses_b = train(net_b, opt_b, 6, hold=[])
    assert losses_a == losses_b
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_gradient_held_across_zero_grad_keeps_its_values():
    net = model()
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    x, y = data()
    F.cross_entropy(net(x), y).backward()
    w = net[0].weight
    held, held_array, held_slice = w.grad, w.grad.numpy(), w.grad.numpy()[1:3]
    expected = held.numpy().copy()
    opt.zero_grad()
    (net(x) ** 2).sum().backward()  # a different gradient
    np.testing.assert_array_equal(held.numpy(), expected)
    np.testing.assert_array_equal(held_array, expected)
    np.testing.assert_array_equal(held_slice, expected[1:3])
    assert not np.allclose(w.grad.numpy(), expected)
    del held, held_array, held_slice  # the buffer is free again: the next gradient goes there
    opt.zero_grad()
    F.cross_entropy(net(x), y).backward()
    assert w.grad.numpy().base is net[2].bias.grad.numpy().base


def test_autograd_grad_results_are_not_overwritten_by_backward():
    net = model()
    cr.optim.Adam(net.parameters())
    x, y = data()
    params = list(net.parameters())
    grads = cr.autograd.grad(F.cross_entropy(net(x), y), params)
    kept = [g.numpy().copy() for g in grads]
    (net(x) ** 2).sum().backward()
    for g, k in zip(grads, kept):
        np.testing.assert_array_equal(g.numpy(), k)


def test_hooks_and_accumulation_still_apply():
    net = model()
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    x, y = data()
    w = net[0].weight
    F.cross_entropy(net(x), y).backward()
    once = w.grad.numpy().copy()
    opt.zero_grad()
    handle = w.register_hook(lambda g: g * 2)
    F.cross_entropy(net(x), y).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * once, rtol=1e-6)
    handle.remove()
    F.cross_entropy(net(x), y).backward()  # accumulates in place: 2 + 1
    np.testing.assert_allclose(w.grad.numpy(), 3 * once, rtol=1e-6)


def test_load_state_dict_continues_identically_and_is_adopted():
    net_a = model()
    opt_a = cr.optim.Adam(net_a.parameters(), lr=0.01)
    train(net_a, opt_a, 3)
    net_b = copy.deepcopy(net_a)
    opt_b = cr.optim.Adam(net_b.parameters(), lr=0.01)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    assert train(net_a, opt_a, 3) == train(net_b, opt_b, 3)
    params = list(net_b.parameters())
    assert len({id(opt_b.state[p]["exp_avg_sq"].numpy().base) for p in params}) == 1


def test_parameter_data_replaced_after_the_optimizer_is_used():
    net = model()
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    train(net, opt, 1)
    w = net[0].weight
    w.data = np.zeros_like(w.numpy())
    train(net, opt, 1)
    assert not np.allclose(w.numpy(), 0)  # the step updated the new values...
    assert w.numpy().base is net[0].bias.numpy().base  # ...back in the flat buffer


def test_casting_the_model_after_creating_the_optimizer():
    net_a, net_b = model(), model()
    opt_a = cr.optim.Adam(net_a.parameters(), lr=0.01)
    net_a.double()
    net_b.double()
    opt_b = cr.optim.Adam(net_b.parameters(), lr=0.01)
    x, y = data()
    for net, opt in ((net_a, opt_a), (net_b, opt_b)):
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(net(x.double()), y).backward()
            opt.step()
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_create_graph_gradients_take_the_per_parameter_path():
    w = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    (w ** 3).sum().backward(create_graph=True)
    assert w.grad.requires_grad
    opt.step()
    np.testing.assert_allclose(w.numpy(), [1 - 0.3, -2 - 1.2, 3 - 2.7], rtol=1e-6)


def test_groups_of_mixed_dtypes_update_per_parameter():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)  # float64
    opt = cr.optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    (b * b).sum().backward()
    opt.step()
    assert a.dtype == np.float32 and b.dtype == np.float64
    np.testing.assert_allclose(a.numpy(), [0.9, 1.9], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [0.9, 1.9], rtol=1e-8)  # (eps moves it by 5e-10)
