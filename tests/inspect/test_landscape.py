"""Loss landscapes: filter-normalised directions, 1-D and 2-D slices, interpolation."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.inspect import interpolate, loss_landscape, random_directions
from tests.inspect.helpers import small_problem


@pytest.fixture
def trained():
    model, loss_fn, data = small_problem(seed=0, train_steps=60, kind="mse")
    return model, data


def _loss(model, data):
    X, y = data
    with cr.no_grad():
        return nn.functional.mse_loss(model(X), y).item()


def test_filter_normalised_directions(trained):
    model, _ = trained
    dirs = random_directions(model, seed=3)
    for d, p in zip(dirs, model.parameters()):
        theta = p.numpy()
        if p.ndim == 1:
            assert not d.any()  # biases are left out, as in Li et al.'s code
        else:
            np.testing.assert_allclose(np.linalg.norm(d, axis=1), np.linalg.norm(theta, axis=1))
    layer = random_directions(model, normalize="layer")
    for d, p in zip(layer, model.parameters()):
        np.testing.assert_allclose(np.linalg.norm(d), np.linalg.norm(p.numpy()))


def test_1d_and_2d_slices(trained):
    model, data = trained
    before = [p.numpy().copy() for p in model.parameters()]
    centre = _loss(model, data)
    one = loss_landscape(model, nn.functional.mse_loss, data, dim=1, steps=11, span=1.0)
    assert one.losses.shape == (11,) and one.betas is None
    assert one.losses[5] == pytest.approx(centre, rel=1e-12)
    assert one.losses.argmin() in (4, 5, 6)  # a trained model sits near the bottom
    two = loss_landscape(model, nn.functional.mse_loss, [data], dim=2, steps=7, span=(-0.5, 0.5))
    assert two.losses.shape == (7, 7) and two.betas is not None
    assert two.losses[3, 3] == pytest.approx(centre, rel=1e-12)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), b)  # restored


def test_given_direction_is_exact():
    model = nn.Linear(1, 1, bias=False).double()
    with cr.no_grad():
        model.weight.data[...] = 0.0
    X, y = cr.tensor([[1.0]], dtype=np.float64), cr.tensor([[0.0]], dtype=np.float64)
    land = loss_landscape(model, nn.functional.mse_loss, (X, y), steps=5, span=2.0,
                          directions=[[np.ones((1, 1))]])
    np.testing.assert_allclose(land.losses, land.alphas ** 2)


def test_interpolation_between_two_parameter_vectors(trained):
    model, data = trained
    start = nn.utils.parameters_to_vector(model.parameters()).numpy() * 0.0
    end = nn.utils.parameters_to_vector(model.parameters()).numpy().copy()
    line = interpolate(model, nn.functional.mse_loss, data, start, end, steps=13, margin=0.25)
    i0, i1 = np.argmin(np.abs(line.alphas)), np.argmin(np.abs(line.alphas - 1))
    assert line.losses[i1] == pytest.approx(_loss(model, data), rel=1e-12)
    assert line.losses[i1] < line.losses[i0]
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(model.parameters()).numpy(),
                                  end)


def test_errors(trained):
    model, data = trained
    with pytest.raises(ValueError, match="loss_landscape: dim must be 1 or 2"):
        loss_landscape(model, nn.functional.mse_loss, data, dim=3)
    with pytest.raises(ValueError, match="loss_landscape: steps must be an integer >= 2"):
        loss_landscape(model, nn.functional.mse_loss, data, steps=1)
    with pytest.raises(ValueError, match="interpolate: a parameter vector must have shape"):
        interpolate(model, nn.functional.mse_loss, data, np.zeros(3), np.zeros(3))
