"""The fit loop: learning, History, validation, schedulers, interruption, resume bit for bit."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.train import Callback, EarlyStopping, GradientFlowRecorder, ModelCheckpoint, fit

pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def moons():
    X, y = cr.data.make_moons(160, noise=0.15, seed=0)
    return (X[:120], y[:120]), (X[120:], y[120:])


def _setup(dropout=0.0, scheduler="step"):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.ReLU(), cr.nn.Dropout(dropout),
                             cr.nn.Linear(16, 2))
    opt = cr.optim.Adam(model.parameters(), lr=0.02)
    sched = {"step": lambda: cr.optim.lr_scheduler.StepLR(opt, 2, 0.5),
             "cosine": lambda: cr.optim.lr_scheduler.CosineAnnealingLR(opt, 6),
             "plateau": lambda: cr.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0),
             None: lambda: None}[scheduler]()
    return model, opt, sched


def _params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def _same(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


def _history(h):
    return {k: v for k, v in h.history.items() if k != "time"}


def test_fit_learns_and_logs_every_epoch(moons):
    train, val = moons
    model, opt, sched = _setup()
    h = fit(model, F.cross_entropy, opt, train, epochs=6, batch_size=16, val_data=val,
            metrics=["accuracy", "f1"], scheduler=sched, seed=0, progress=False)
    assert h.epoch == [1, 2, 3, 4, 5, 6] and len(h) == 6
    assert set(h.history) == {"loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1",
                              "lr", "time"}
    assert h["loss"][-1] < h["loss"][0] and h["val_accuracy"][-1] > 0.8
    assert h["lr"] == [0.02, 0.02, 0.01, 0.01, 0.005, 0.005]  # the lr each epoch ran with
    assert all(t > 0 for t in h["time"])
    ev = cr.train.evaluate(model, F.cross_entropy, val, metrics=["accuracy"])
    assert ev["loss"] == pytest.approx(h["val_loss"][-1])
    assert ev["accuracy"] == pytest.approx(h["val_accuracy"][-1])
    assert model.training  # evaluate restores the mode
    assert cr.train.predict(model, val[0]).shape == (40, 2)
    assert cr.train.History.from_dict(h.to_dict()).history == h.history


def test_reduce_on_plateau_is_stepped_with_the_validation_loss(moons):
    train, val = moons
    model, opt, sched = _setup(scheduler="plateau")
    sched.threshold = 10.0  # nothing counts as an improvement: the lr drops every epoch
    h = fit(model, F.cross_entropy, opt, train, epochs=3, val_data=val, scheduler=sched,
            seed=0, progress=False)
    assert h["lr"] == pytest.approx([0.02, 0.002, 0.0002])


@pytest.mark.parametrize("seed, dropout, scheduler", [(1, 0.2, "step"), (None, 0.3, "cosine")])
def test_resume_from_checkpoint_equals_the_uninterrupted_run(moons, tmp_path, seed, dropout,
                                                             scheduler):
    train, val = moons

    def run(epochs, callbacks, resume=None):
        model, opt, sched = _setup(dropout, scheduler)
        h = fit(model, F.cross_entropy, opt, train, epochs=epochs, batch_size=16,
                val_data=val, metrics=["accuracy"], scheduler=sched, seed=seed,
                callbacks=callbacks, progress=False, resume=resume)
        return model, opt, h

    full_model, full_opt, full_h = run(6, [EarlyStopping(patience=50), GradientFlowRecorder()])
    path = tmp_path / "ck.safetensors"
    run(3, [EarlyStopping(patience=50), GradientFlowRecorder(), ModelCheckpoint(path)])
    for _ in range(3):
        cr.randn(5)  # the resumed process's generator state differs until the checkpoint loads
    rec = GradientFlowRecorder()
    model, opt, h = run(6, [EarlyStopping(patience=50), rec], resume=path)
    assert _same(_params(full_model), _params(model))
    assert _history(h) == _history(full_h)
    assert len(rec.records) == 6
    a, b = full_opt.state_dict()["state"], opt.state_dict()["state"]
    assert all(np.array_equal(a[i]["exp_avg"].data, b[i]["exp_avg"].data) for i in a)


def test_resume_of_a_batchnorm_model_equals_the_uninterrupted_run(moons, tmp_path):
    """Its num_batches_tracked is a 0-d tensor, which must come back from the file as 0-d."""
    train, val = moons

    def run(epochs, callbacks, resume=None):
        cr.manual_seed(0)
        model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.BatchNorm1d(16), cr.nn.ReLU(),
                                 cr.nn.Linear(16, 2))
        opt = cr.optim.Adam(model.parameters(), lr=0.02)
        h = fit(model, F.cross_entropy, opt, train, epochs=epochs, batch_size=16,
                val_data=val, metrics=["accuracy"], seed=1, callbacks=callbacks,
                progress=False, resume=resume)
        return model, h

    full_model, full_h = run(6, [])
    path = tmp_path / "ck.safetensors"
    run(3, [ModelCheckpoint(path)])
    state = cr.load(path)["model"]
    assert state["1.num_batches_tracked"].shape == () and \
        state["1.num_batches_tracked"].item() == 3 * 8  # 120 rows in batches of 16
    model, h = run(6, [], resume=path)
    assert _same(_params(full_model), _params(model))
    assert model[1].num_batches_tracked.item() == 6 * 8
    assert _history(h) == _history(full_h) and h.epoch == [1, 2, 3, 4, 5, 6]


def test_ctrl_c_keeps_the_state_of_the_last_complete_epoch(moons):
    train, _ = moons
    model, opt, _ = _setup()
    fit(model, F.cross_entropy, opt, train, epochs=2, seed=0, progress=False)
    after_two = _params(model)

    class Interrupt(Callback):
        def on_batch_end(self, state):
            if state.epoch == 3 and state.batch_index == 1:
                raise KeyboardInterrupt

    model, opt, _ = _setup()
    h = fit(model, F.cross_entropy, opt, train, epochs=5, seed=0, callbacks=[Interrupt()],
            progress=False)
    assert h.epoch == [1, 2]
    assert h.stop_reason == "interrupted (Ctrl-C) during epoch 3; kept the state after epoch 2"
    assert _same(after_two, _params(model))


def test_non_finite_loss_stops_and_keeps_the_last_good_state(moons):
    train, _ = moons
    model, opt, _ = _setup()
    calls = []

    def loss_fn(out, y):
        calls.append(1)
        loss = F.cross_entropy(out, y)
        return loss * math.nan if len(calls) > 5 else loss

    h = fit(model, loss_fn, opt, train, epochs=3, batch_size=40, seed=0, progress=False)
    assert h.epoch == [1] and "the loss is nan at epoch 2, batch 3" in h.stop_reason
    model2, opt2, _ = _setup()
    fit(model2, F.cross_entropy, opt2, train, epochs=1, batch_size=40, seed=0, progress=False)
    assert _same(_params(model2), _params(model))


def test_early_stopping_restores_the_best_weights(moons):
    train, val = moons
    model, opt, _ = _setup()
    fit(model, F.cross_entropy, opt, train, epochs=1, seed=0, progress=False)
    best = _params(model)
    model, opt, _ = _setup()
    stop = EarlyStopping(monitor="loss", min_delta=1e9, patience=1, restore_best_weights=True)
    h = fit(model, F.cross_entropy, opt, train, epochs=10, seed=0, callbacks=[stop],
            progress=False)
    assert h.epoch == [1, 2, 3] and stop.stopped_epoch == 3 and stop.best_epoch == 1
    assert "early stopping" in h.stop_reason
    assert _same(best, _params(model))
    with pytest.raises(ValueError, match="'val_loss' is not in the epoch's logs"):
        fit(model, F.cross_entropy, opt, train, epochs=1, callbacks=[EarlyStopping()],
            progress=False)


def test_model_checkpoint_best_only_and_weights_only(moons, tmp_path):
    train, val = moons
    model, opt, _ = _setup()
    ck = ModelCheckpoint(tmp_path / "w-{epoch}.safetensors", monitor="val_accuracy",
                         save_best_only=True, save_weights_only=True)
    h = fit(model, F.cross_entropy, opt, train, epochs=4, val_data=val, seed=0,
            metrics=["accuracy"], callbacks=[ck], progress=False)
    saved = sorted(p.name for p in tmp_path.iterdir())
    best_epoch = 1 + int(np.argmax(h["val_accuracy"]))
    assert f"w-{best_epoch}.safetensors" in saved and "w-1.safetensors" in saved
    assert sorted(cr.train.load(ck.last_path)) == ["0.bias", "0.weight", "3.bias", "3.weight"]


def test_gradient_flow_recorder_records_each_layer(moons):
    train, _ = moons
    model, opt, _ = _setup()
    rec = GradientFlowRecorder()
    fit(model, F.cross_entropy, opt, train, epochs=3, seed=0, callbacks=[rec], progress=False)
    assert [r["epoch"] for r in rec.records] == [1, 2, 3]
    names = [layer["name"] for layer in rec.records[0]["layers"]]
    assert names == [n for n, _ in model.named_parameters()]
    steps, layer_names, values = rec.as_arrays("grad_norm")
    assert values.shape == (3, 4) and np.all(values > 0) and layer_names == names
    every = GradientFlowRecorder(every=2)
    fit(model, F.cross_entropy, opt, train, epochs=1, batch_size=20, callbacks=[every],
        progress=False)
    assert [r["step"] for r in every.records] == [2, 4, 6]


def test_gradient_flow_recorder_ratio_is_the_real_update(moons):
    """||dW||/||W|| of the optimizer's step: Adam's first step moves every weight by lr."""
    train, _ = moons
    cr.manual_seed(0)  # tanh: every weight gets a gradient (no dead ReLU)
    model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.Tanh(), cr.nn.Linear(16, 2))
    opt = cr.optim.Adam(model.parameters(), lr=0.02)
    w0 = model[0].weight.numpy().astype(np.float64).copy()
    rec = GradientFlowRecorder(every=1)
    fit(model, F.cross_entropy, opt, train, epochs=1, batch_size=120, callbacks=[rec],
        progress=False)
    first = rec.records[0]["layers"][0]
    assert first["name"] == "0.weight"
    np.testing.assert_allclose(first["ratio"], 0.02 * np.sqrt(w0.size) / np.linalg.norm(w0),
                               rtol=1e-4)
    assert first["ratio"] > 3 * 0.02 * first["grad_norm"] / first["weight_norm"]


def test_fit_rejects_bad_input(moons):
    model, opt, _ = _setup()
    with pytest.raises(ValueError, match="epochs must be a non-negative integer; got -1"):
        fit(model, F.cross_entropy, opt, moons[0], epochs=-1)
    with pytest.raises(TypeError, match="train_data must be"):
        fit(model, F.cross_entropy, opt, 5, epochs=1)
    with pytest.raises(TypeError, match="callbacks must be Callback instances"):
        fit(model, F.cross_entropy, opt, moons[0], callbacks=[print])
    with pytest.raises(ValueError, match="resume expects a training checkpoint"):
        fit(model, F.cross_entropy, opt, moons[0], resume={"a": 1}, progress=False)


@pytest.mark.parametrize("dropout,scheduler", [(0.0, "step"), (0.3, "plateau")])
def test_compiled_steps_train_exactly_as_eager(moons, dropout, scheduler):
    train, val = moons  # 120 rows in batches of 16: a last batch of 8 gets a trace of its own
    runs = []
    for compile_step in (False, True):
        model, opt, sched = _setup(dropout, scheduler)
        recorder = GradientFlowRecorder()
        h = fit(model, F.cross_entropy, opt, train, epochs=4, batch_size=16, val_data=val,
                metrics=["accuracy"], scheduler=sched, seed=0, progress=False,
                callbacks=[recorder], compile_step=compile_step)
        runs.append((_history(h), _params(model), recorder.records))
    (h1, p1, g1), (h2, p2, g2) = runs
    assert h1 == h2 and _same(p1, p2)
    assert len(g1) == len(g2) > 0 and repr(g1) == repr(g2)
