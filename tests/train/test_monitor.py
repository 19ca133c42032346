"""TrainingMonitor: diagnose's checks during fit, once per problem, invisible to the numbers."""

import doctest
import math
import re
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.train import TrainingMonitor, TrainingWarning, fit
from tests.inspect import planted as P


def _run(model, opt, X, y, monitor=None, compile_step=True, epochs=3, val=None, **kw):
    callbacks = [monitor] if monitor is not None else []
    h = fit(model, F.cross_entropy, opt, (X, y), epochs=epochs, batch_size=32, val_data=val,
            seed=0, progress=False, compile_step=compile_step, callbacks=callbacks,
            metrics=["accuracy"], **kw)
    return h


@pytest.mark.parametrize("compile_step", [True, False])
def test_a_run_with_the_monitor_equals_one_without(compile_step):
    X, X_te, y, y_te, _, _ = P.digits()
    runs = []
    for monitor in (None, TrainingMonitor(every=7, emit="warn")):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(64, 10))
        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("error", TrainingWarning)  # a healthy run warns nothing
            h = _run(model, opt, X, y, monitor, compile_step, val=(X_te, y_te))
        runs.append((model, h, monitor))
    (a, ha, _), (b, hb, monitor) = runs
    sampled = [s for s in range(1, 136) if s <= 2 or s % 7 < 2]  # bursts of 2 steps
    assert monitor.sampled_steps == len(sampled) == 40
    assert {k: v for k, v in ha.history.items() if k != "time"} == \
        {k: v for k, v in hb.history.items() if k != "time"}
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert np.array_equal(p.numpy(), q.numpy()), name
    assert monitor.findings == []


def test_sampled_steps_run_eagerly_under_compile():
    """Saturation is only visible to forward hooks, which a compiled replay does not run."""
    X, _, y, _, _, _ = P.digits()
    model = P.mlp([64, 64, 64, 10], nn.Tanh)
    monitor = TrainingMonitor(every=20, emit=lambda f: None)
    _run(model, cr.optim.Adam(model.parameters(), lr=1e-3), X * 100, y, monitor, epochs=1)
    codes = {f.code: f for _, f in monitor.findings}
    assert codes["saturated_units"].where == "0" and codes["saturated_units"].severity == "error"
    assert codes["unscaled_inputs"].severity == "warning"


def test_each_problem_is_warned_once_with_the_advice():
    X, _, y, _, _, _ = P.digits()
    model = P.mlp([64, 128, 64, 10])
    monitor = TrainingMonitor(every=10)
    with pytest.warns(TrainingWarning) as record:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            _run(model, cr.optim.Adam(model.parameters(), lr=200.0), X, y, monitor)
    messages = [str(w.message) for w in record if w.category is TrainingWarning]
    assert len(messages) == len(monitor.findings)
    seen = {}
    for _, f in monitor.findings:  # once per problem; again only if it got worse
        rank = cr.inspect.findings.SEVERITIES.index(f.severity)
        assert rank < seen.get((f.code, f.where), 3), (f.code, f.where, f.severity)
        seen[(f.code, f.where)] = rank
    keys = list(seen)
    first = monitor.findings[0]
    assert first[0] == 1 and first[1].code == "learning_rate_too_high"
    assert first[1].severity == "error" and "lower the learning rate" in first[1].advice
    assert messages[0].startswith("step 1: [error] learning_rate_too_high")
    assert ("dead_units", "2") in keys


def test_emit_print_goes_through_the_progress_writer(capsys):
    X, _, y, _, _, _ = P.digits()
    model = P.mlp([64, 32, 10])
    monitor = TrainingMonitor(emit="print")
    fit(model, F.cross_entropy, cr.optim.Adam(model.parameters(), lr=1e-3), (X * 1000, y),
        epochs=1, progress=False, callbacks=[monitor])
    out = capsys.readouterr().out
    assert out.count("monitor, step 1: [warning] unscaled_inputs") == 1


def test_state_dict_round_trip_keeps_what_was_reported():
    X, _, y, _, _, _ = P.digits()
    model = P.mlp([64, 32, 10])
    monitor = TrainingMonitor(emit=lambda f: None)
    fit(model, F.cross_entropy, cr.optim.Adam(model.parameters()), (X * 1000, y), epochs=1,
        progress=False, callbacks=[monitor])
    again = TrainingMonitor(emit=lambda f: pytest.fail(f"warned twice: {f}"))
    again.load_state_dict(monitor.state_dict())
    assert again.findings == monitor.findings
    fit(model, F.cross_entropy, cr.optim.Adam(model.parameters()), (X * 1000, y), epochs=1,
        progress=False, callbacks=[again])


def test_overfitting_is_warned_from_eval_mode_measurements():
    X, X_te, y, y_te, _, _ = P.digits()
    model = P.mlp([64, 256, 10])
    monitor = TrainingMonitor(emit=lambda f: None)
    h = fit(model, F.cross_entropy, cr.optim.Adam(model.parameters()), (X[:40], y[:40]),
            epochs=60, val_data=(X_te, y_te), metrics=["accuracy"], progress=False,
            callbacks=[monitor])
    found = [(step, f) for step, f in monitor.findings if f.code == "overfitting"]
    assert len(found) == 1
    step, f = found[0]
    epoch = step // 2  # 40 rows in batches of 32: 2 steps an epoch
    train_acc, val_acc = map(int, re.search(r"accuracy (\d+)% vs (\d+)%", f.message).groups())
    assert train_acc - val_acc > 15 and val_acc == round(100 * h["val_accuracy"][epoch - 1])
    assert epoch >= 2  # seen at two epoch ends in a row
    assert model.training and all(m.training for m in model.modules())  # modes restored


def test_validates_its_arguments():
    with pytest.raises(ValueError, match="every must be a positive integer"):
        TrainingMonitor(every=0)
    with pytest.raises(ValueError, match="level must be one of"):
        TrainingMonitor(level="fatal")
    with pytest.raises(ValueError, match="emit must be"):
        TrainingMonitor(emit="shout")


def test_docstring_example():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert doctest.testmod(sys.modules["chainrule.train.monitor"]).failed == 0
        assert doctest.testmod(sys.modules["chainrule.inspect.diagnose"]).failed == 0


# ---- fit's stop on a non-finite loss --------------------------------------------------------
def test_non_finite_first_forward_blames_the_model_or_data_not_the_lr():
    case = P.log_of_zero()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0), on purpose
        h = fit(case.model, case.loss_fn, cr.optim.Adam(case.model.parameters()), case.data,
                epochs=2, progress=False)
    assert h.epoch == [] and h["loss"] == [] and h["lr"] == []  # no KeyError
    assert "the loss is inf at epoch 1, batch 1" in h.stop_reason
    assert "the forward of Log" in h.stop_reason and "planted.py" in h.stop_reason
    assert "the learning rate is not the cause" in h.stop_reason
    assert "smaller learning rate" not in h.stop_reason


def test_non_finite_later_names_the_lr_and_the_op():
    X, y = cr.data.make_moons(200, seed=0)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        h = fit(model, F.cross_entropy, cr.optim.SGD(model.parameters(), lr=500.0), (X, y),
                epochs=3, progress=False)
    assert h.epoch == [1] and len(h["loss"]) == 1 and math.isfinite(h["loss"][0])
    reason = h.stop_reason
    assert "after 11 optimizer steps" in reason and "learning rate" in reason
    assert "the forward of Linear" in reason and "the largest weight is" in reason
