"""Optimizer base: closed-form first steps, errors, groups, zero_grad, state_dict, versions."""

import copy
import math
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adagrad, Adam, AdamW, RMSprop

ALL = [SGD, Adagrad, RMSprop, Adam, AdamW]


def quadratic_step(opt_cls, w0, steps=1, **kwargs):
    """Minimize sum(c * w^2 / 2) (gradient c * w) and return w after `steps` steps."""
    w = cr.tensor(np.array(w0, dtype=np.float64), requires_grad=True)
    c = cr.tensor(np.array([1.0, 4.0, 0.25])[: len(w0)])
    opt = opt_cls([w], **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        (c * w * w * 0.5).sum().backward()
        opt.step()
    return w.numpy()


# ---- closed forms (these hold with or without PyTorch) -------------------------------------
def test_adam_first_step_is_lr_times_sign_of_gradient():
    # m̂ = g and v̂ = g², so the first step is lr · g / (|g| + eps) ≈ lr · sign(g)
    w = quadratic_step(Adam, [3.0, -2.0, 0.5], lr=0.1)
    np.testing.assert_allclose(w, [2.9, -1.9, 0.4], atol=1e-7)


def test_adagrad_and_rmsprop_first_steps():
    g = np.array([3.0, -8.0, 0.125])  # c * w0
    w = quadratic_step(Adagrad, [3.0, -2.0, 0.5], lr=0.1)
    np.testing.assert_allclose(w, [3.0, -2.0, 0.5] - 0.1 * g / (np.abs(g) + 1e-10))
    w = quadratic_step(RMSprop, [3.0, -2.0, 0.5], lr=0.01, alpha=0.9)
    np.testing.assert_allclose(w, [3.0, -2.0, 0.5] - 0.01 * g / (np.sqrt(0.1) * np.abs(g) + 1e-8))


def test_sgd_momentum_recurrence_by_hand():
    # one coordinate, f = w²/2: g = w;  b1 = g1, b_t = μ b_{t-1} + g_t;  w ← w - lr b
    lr, mu, w, b = 0.1, 0.9, 2.0, None
    for _ in range(5):
        b = w if b is None else mu * b + w
        w = w - lr * b
    assert quadratic_step(SGD, [2.0], steps=5, lr=lr, momentum=mu)[0] == pytest.approx(w, 1e-14)


def test_plain_sgd_halves_a_quadratic():
    np.testing.assert_allclose(quadratic_step(SGD, [8.0], steps=3, lr=0.5), [1.0])


def test_adamw_decay_is_decoupled_from_the_gradient():
    # zero gradient: m = v = 0, so the only change is θ ← θ (1 - lr λ)
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        w.grad = cr.zeros(2)
        opt.step()
    np.testing.assert_allclose(w.numpy(), np.array([1.0, -2.0]) * 0.95 ** 3, rtol=1e-6)
    assert AdamW([cr.zeros(1, requires_grad=True)]).defaults["weight_decay"] == 1e-2


@pytest.mark.parametrize("cls", ALL)
def test_defaults_match_pytorch(cls):
    lr = {SGD: 1e-3, Adagrad: 1e-2, RMSprop: 1e-2, Adam: 1e-3, AdamW: 1e-3}[cls]
    assert cls([cr.zeros(1, requires_grad=True)]).defaults["lr"] == lr


# ---- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_no_parameters_is_a_clear_error(cls):
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([])
    gen = (p for p in [cr.zeros(2, requires_grad=True)])
    list(gen)  # a consumed generator, the usual way to get here
    with pytest.raises(ValueError, match=f"{cls.__name__}: optimizer got an empty parameter"):
        cls(gen)
    with pytest.raises(ValueError, match="no parameters"):
        cls([{"params": []}])


def test_params_must_be_an_iterable_of_leaf_tensors():
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor of shape \\(3,\\)"):
        SGD(w)
    with pytest.raises(TypeError, match="parameter 1 is a ndarray"):
        SGD([w, np.zeros(3)])
    with pytest.raises(ValueError, match="non-leaf Tensor; parameter 0 .* created by"):
        SGD([w * 2])
    with pytest.raises(TypeError, match="not a set"):
        SGD({w})
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [w]}, {"params": [w]}])
    with pytest.raises(ValueError, match="same parameter twice"):
        SGD([w, w])


@pytest.mark.parametrize(("cls", "kwargs", "message"), [
    (SGD, {"lr": -0.1}, "SGD: invalid lr value .*; got -0.1"),
    (SGD, {"lr": float("nan")}, "invalid lr"),
    (SGD, {"momentum": -0.5}, "invalid momentum"),
    (SGD, {"weight_decay": -1}, "invalid weight_decay"),
    (SGD, {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "zero dampening"),
    (Adam, {"lr": -1e-3}, "Adam: invalid lr"),
    (Adam, {"betas": (1.0, 0.999)}, r"Adam: invalid betas\[0\] value .*< 1.0.*; got 1.0"),
    (Adam, {"betas": (0.9, -0.1)}, r"invalid betas\[1\]"),
    (Adam, {"eps": -1e-8}, "Adam: invalid eps"),
    (Adam, {"weight_decay": -0.1}, "invalid weight_decay"),
    (AdamW, {"betas": (0.9, 1.5)}, r"AdamW: invalid betas\[1\]"),
    (Adagrad, {"lr_decay": -1}, "invalid lr_decay"),
    (Adagrad, {"initial_accumulator_value": -1}, "invalid initial_accumulator_value"),
    (Adagrad, {"eps": -1}, "invalid eps"),
    (RMSprop, {"alpha": -0.1}, "invalid alpha"),
    (RMSprop, {"eps": -1}, "invalid eps"),
])
def test_bad_hyperparameters_are_value_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([cr.zeros(2, requires_grad=True)], **kwargs)


def test_bad_hyperparameter_types_are_type_errors():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="lr must be a real number; got str"):
        SGD([w], lr="0.1")
    with pytest.raises(TypeError, match="betas must be a pair"):
        Adam([w], betas=0.9)
    with pytest.raises(ValueError, match="invalid lr"):  # groups are checked too
        SGD([{"params": [w], "lr": -1.0}])


def test_gradient_of_the_wrong_shape_is_named():
    w = cr.zeros(3, requires_grad=True)
    w.grad = cr.zeros(4)
    with pytest.raises(ValueError, match=r"parameter of shape \(3,\) has shape \(4,\)"):
        Adam([w]).step()


# ---- behaviour -----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_parameters_without_gradients_are_skipped(cls):
    a, b = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    opt = cls([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert not np.allclose(a.numpy(), 1.0)
    np.testing.assert_array_equal(b.numpy(), 1.0)


@pytest.mark.parametrize("cls", ALL)
def test_float32_stays_float32(cls):
    w = cr.randn(5, 3, requires_grad=True)
    opt = cls([w], lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert w.dtype == np.float32
    for value in opt.state[w].values():
        assert not isinstance(value, cr.Tensor) or value.dtype == np.float32


def test_step_updates_in_place_and_old_graphs_refuse_to_backprop():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    data = w.numpy()
    opt = SGD([w], lr=0.1)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    opt.step()
    assert w.numpy() is data  # same buffer, updated in place
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_zero_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w])
    (w * w).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and np.all(grad.numpy() == 0)
    opt.zero_grad()
    assert w.grad is None


def test_closure_is_evaluated_with_grad_enabled():
    w = cr.tensor([3.0], requires_grad=True)
    opt = SGD([w], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0 and w.item() == 0.0


def test_add_param_group_and_named_parameters():
    a, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
    opt = Adam([("a", a)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a"]
    opt.add_param_group({"params": b, "betas": (0.5, 0.9)})
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["betas"] == (0.5, 0.9)
    assert "Parameter Group 1" in repr(opt) and "betas: (0.5, 0.9)" in repr(opt)


@pytest.mark.parametrize("cls", ALL)
def test_state_dict_round_trip_continues_identically(cls):
    rng = np.random.default_rng(1)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    kwargs = {"lr": 0.05, "momentum": 0.9} if cls in (SGD, RMSprop) else {"lr": 0.05}

    def train(params, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((params[0] @ params[1]) ** 2).sum().backward()
            opt.step()

    p1 = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    opt1 = cls(p1, **kwargs)
    train(p1, opt1, 3)
    saved = pickle.loads(pickle.dumps(opt1.state_dict()))
    p2 = [cr.tensor(p.numpy().copy(), requires_grad=True) for p in p1]
    opt2 = cls(p2, lr=123.0)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == 0.05 and opt2.param_groups[0]["params"][0] is p2[0]
    train(p1, opt1, 3)
    train(p2, opt2, 3)
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    sd = opt1.state_dict()
    assert set(sd) == {"state", "param_groups"} and sd["param_groups"][0]["params"] == [0, 1]


def test_load_state_dict_errors_name_the_mismatch():
    a, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
    opt = Adam([a, b])
    (a.sum() + b.sum()).backward()
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match="number of parameter groups; got 1, .* has 2"):
        Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 2 parameters .* and 1 in the optimizer"):
        Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(2,\) but the "
                                         r"parameter has shape \(3,\)"):
        Adam([b, a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="keys 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_optimizer_pickles():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    clone = pickle.loads(pickle.dumps(opt))
    assert clone.param_groups[0]["lr"] == 0.1 and len(clone.state) == 1
    assert math.isclose(next(iter(clone.state.values()))["step"], 1)


def test_works_with_nn_module_parameters():
    nn = pytest.importorskip("chainrule.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("chainrule.nn.Linear not available")
    cr.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = cr.randn(16, 3), cr.randn(16, 1)
    opt = Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0]
    assert all(isinstance(p, nn.Parameter) for p in opt.param_groups[0]["params"])
