"""Plot helpers draw and save without a display (skipped where matplotlib is absent)."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import chainrule as cr  # noqa: E402
from chainrule import inspect as ci  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.inspect import plot  # noqa: E402
from tests.inspect.helpers import small_problem  # noqa: E402


def test_every_plot_saves_a_file(tmp_path):
    model, loss_fn, data = small_problem(seed=0, kind="mse")
    loss_fn().backward()
    figs = {
        "flow.png": plot.plot_gradient_flow({"mlp": ci.gradient_flow(model)}),
        "spectra.png": plot.plot_weight_spectra(ci.weight_spectra(model)),
        "jacobian.png": plot.plot_jacobian_spectrum({"mlp": ci.jacobian_spectrum(model,
                                                                            data[0][:4])}),
        "powers.png": plot.plot_matrix_powers({"rho=1.1": ci.matrix_power_norms(
            1.1 * np.eye(3), 10)}),
        "density.png": plot.plot_hessian_density(
            ci.hessian_density(loss_fn, model.parameters(), num_probes=1, steps=20),
            eigenvalues=np.array([0.0, 1.0])),
        "line.png": plot.plot_landscape(ci.loss_landscape(model, nn.functional.mse_loss, data,
                                                          steps=5)),
        "plane.svg": plot.plot_landscape(ci.loss_landscape(model, nn.functional.mse_loss, data,
                                                           dim=2, steps=4)),
    }
    for name, fig in figs.items():
        path = plot.save(fig, tmp_path / "sub" / name)
        assert (tmp_path / "sub" / name).stat().st_size > 1000, path


def test_draws_on_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert plot.plot_weight_spectra([ci.spectrum(w, "w")], ax=ax) is fig
    assert len(ax.lines) == 1
