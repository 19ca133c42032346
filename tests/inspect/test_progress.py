"""Progress bars on the long instruments (issue 22): tqdm's convention, progress=None shows a bar
only on a terminal, so these tests (stderr captured, not a tty) are silent unless forced."""

import functools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.inspect import hessian_density, hessian_eigs, hessian_trace, loss_landscape
from tests.inspect.helpers import small_problem

pytest.importorskip("tqdm")


@pytest.fixture(scope="module")
def problem():
    model, loss_fn, _ = small_problem(seed=0)
    return model, loss_fn


def _data():
    rng = np.random.default_rng(0)
    return (cr.tensor(rng.standard_normal((16, 3)), dtype=cr.float32),  # (the models are float32)
            cr.tensor(rng.standard_normal((16, 1)), dtype=cr.float32))


def _runs(problem, progress):
    model, loss_fn = problem
    yield "hessian_eigs", lambda: hessian_eigs(loss_fn, model.parameters(), k=2,
                                               progress=progress)
    yield "hessian_trace", lambda: hessian_trace(loss_fn, model.parameters(), num_probes=9,
                                                 progress=progress)
    yield "hessian_density", lambda: hessian_density(loss_fn, model.parameters(), num_probes=2,
                                                     steps=10, progress=progress).density
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    yield "loss_landscape", lambda: loss_landscape(net, nn.functional.mse_loss, _data(),
                                                   steps=5, progress=progress)


def test_bars_appear_when_forced_on(problem, capsys, monkeypatch):
    for name, run in _runs(problem, True):
        run()
        err = capsys.readouterr().err
        assert name in err, (name, err)
    # redraw on every tick (tqdm redraws at most every 0.1 s) to see the counts
    import tqdm
    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", functools.partial(tqdm.tqdm, mininterval=0,
                                                             miniters=1))
    hessian_trace(problem[1], problem[0].parameters(), num_probes=9, progress=True)
    assert "9/9" in capsys.readouterr().err  # one tick per Hessian-vector product
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    loss_landscape(model, nn.functional.mse_loss, _data(), dim=2, steps=3, progress=True)
    assert "9/9" in capsys.readouterr().err  # one tick per grid point


@pytest.mark.parametrize("progress", [None, False])
def test_silent_by_default_and_when_off(problem, capsys, progress):
    results = {}
    for name, run in _runs(problem, progress):
        results[name] = run()
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    # the bar changes nothing in the numbers
    for name, run in _runs(problem, True):
        again = run()
        if name == "loss_landscape":
            np.testing.assert_array_equal(again.losses, results[name].losses)
        else:
            np.testing.assert_array_equal(again, results[name])
