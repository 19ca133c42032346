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


def test_jacobian_histogram_bins_are_shared_so_both_series_show():
    fig = plot.plot_jacobian_spectrum({"narrow": np.full(16, 1e-16) * np.linspace(1, 1.1, 16),
                                       "wide": np.logspace(-1, 1, 64)}, bins=40)
    ax = fig.axes[0]
    widths = {round(p.get_width(), 9) for p in ax.patches}
    assert len(widths) == 1  # one bin width for every bar of both series
    heights = np.array([p.get_height() for p in ax.patches]).reshape(2, 40)
    assert heights[0].sum() == 16 and heights[1].sum() == 64
    assert (heights > 0).sum(axis=1).tolist()[0] >= 1 and (heights[1] > 0).sum() >= 5


def test_flag_markers_do_not_reuse_the_line_colours():
    from matplotlib import rcParams
    from matplotlib.colors import to_hex

    cycle = {to_hex(c) for c in rcParams["axes.prop_cycle"].by_key()["color"]}
    assert not {to_hex(c) for c, _ in plot._FLAGS.values()} & cycle
    assert len({m for _, m in plot._FLAGS.values()}) == 3
