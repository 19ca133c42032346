"""cr.nn.utils (gradient clipping, flat parameter vectors) and the L1/L2 penalty helpers."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def _params_with_grads(grads):
    params = []
    for g in grads:
        p = nn.Parameter(cr.zeros(*np.shape(g), dtype=np.float64))
        p.grad = cr.tensor(np.array(g, dtype=np.float64))
        params.append(p)
    return params


def test_clip_grad_norm_scales_to_max_norm():
    params = _params_with_grads([[3.0, 0.0], [[0.0, 4.0]]])  # total 2-norm 5
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.numpy(), [3 * coef, 0])
    np.testing.assert_allclose(params[1].grad.numpy(), [[0, 4 * coef]])
    small = _params_with_grads([[0.3, 0.4]])
    clip_grad_norm_(small, max_norm=1.0)  # below the threshold: unchanged
    np.testing.assert_allclose(small[0].grad.numpy(), [0.3, 0.4])


def test_clip_grad_norm_inf_and_p_norms():
    params = _params_with_grads([[3.0, -6.0], [2.0]])
    assert clip_grad_norm_(params, 10.0, norm_type="inf").item() == pytest.approx(6.0)
    params = _params_with_grads([[3.0, -6.0], [2.0]])
    assert clip_grad_norm_(params, 10.0, norm_type=1).item() == pytest.approx(11.0)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(_params_with_grads([[np.inf]]), 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    grads = [np.random.default_rng(0).normal(size=(3, 4)), np.arange(5.0)]
    ours = _params_with_grads(grads)
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g)
    for norm_type in (2.0, 1.0, float("inf")):
        a = clip_grad_norm_(ours, 0.7, norm_type)
        b = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type)
        assert a.item() == pytest.approx(b.item(), rel=1e-6)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_clip_grad_value():
    params = _params_with_grads([[-3.0, 0.5, 2.0]])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])


def test_parameters_vector_round_trip():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = parameters_to_vector(net.parameters())
    assert vec.shape == (11,)
    np.testing.assert_array_equal(vec.numpy()[:6], net[0].weight.numpy().ravel())
    weight = net[0].weight
    vector_to_parameters(cr.arange(11).astype(np.float32), net.parameters())
    assert net[0].weight is weight
    np.testing.assert_array_equal(net[1].bias.numpy(), [10.0])
    with pytest.raises(ValueError, match=r"1-D with 11 elements .* got shape \(12,\)"):
        vector_to_parameters(cr.zeros(12), net.parameters())


def test_parameters_to_vector_is_differentiable():
    net = nn.Linear(2, 2)
    (parameters_to_vector(net.parameters()) ** 2).sum().backward()
    np.testing.assert_allclose(net.weight.grad.numpy(), 2 * net.weight.numpy())


def test_penalties_and_regularized_objective():
    w = nn.Parameter(cr.tensor([1.0, -2.0, 0.0]))
    b = nn.Parameter(cr.tensor([3.0]))
    assert nn.l1_penalty([w, b]).item() == 6.0
    assert nn.l2_penalty([w, b]).item() == 14.0
    loss = cr.tensor(0.5)
    objective = nn.penalized(loss, [w], l1=0.1, l2=0.01)  # J = L + 0.1 |w|_1 + 0.01 |w|^2
    assert objective.item() == pytest.approx(0.5 + 0.3 + 0.05)
    objective.backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.1 * np.sign([1, -2, 0]) + 0.02 * np.array(
        [1, -2, 0]), rtol=1e-6)
    model = nn.Linear(2, 2)
    assert nn.l2_penalty(model).item() == pytest.approx(
        sum(float((p.numpy() ** 2).sum()) for p in model.parameters()), rel=1e-6)
    with pytest.raises(ValueError, match="non-negative"):
        nn.penalized(loss, [w], l1=-1)


def test_l2_penalty_is_weight_decay():
    """SGD weight decay wd adds wd * theta to the gradient: the gradient of (wd/2) ||theta||^2."""
    w = nn.Parameter(cr.tensor([0.5, -1.5]))
    nn.penalized(cr.tensor(0.0), [w], l2=0.1 / 2).backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.1 * w.numpy(), rtol=1e-6)
