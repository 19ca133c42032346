"""diagnose on a catalogue of planted failures: the right code and place, nothing on healthy twins.

Each failure comes with variants (other seeds, widths, depths, scales) so that no threshold is
tuned to one case, and each is built again with healthy=True: the same network with the
failure's knob turned back, which must get no error and no warning of the failure's code.
"""

import copy
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.core import mode
from chainrule.inspect import Diagnosis, Finding, diagnose
from chainrule.inspect import findings as R
from chainrule.nn import functional as F
from tests.inspect import planted as P

# builder, its arguments, the code, where it applies, the severity
CATALOGUE = [
    # the four failures of issue 18's first paragraph, then variants
    (P.vanishing, {}, "vanishing_gradients", "0", "error"),
    (P.vanishing, dict(depth=12, width=32, seed=1), "vanishing_gradients", "0", "error"),
    (P.vanishing, dict(depth=8, width=128, seed=2), "vanishing_gradients", "0", None),
    (P.exploding, {}, "exploding_gradients", "0", "error"),
    (P.exploding, dict(depth=6, width=32, std=2.0, seed=1), "exploding_gradients", "0", None),
    (P.exploding, dict(depth=10, width=128, seed=2), "exploding_gradients", "0", "error"),
    (P.dead_after_large_lr, {}, "dead_units", "0", "error"),
    (P.dead_after_large_lr, dict(seed=1), "dead_units", "0", "error"),
    (P.dead_after_large_lr, dict(sizes=(64, 256, 10), seed=2), "dead_units", "0", "error"),
    (P.large_lr, {}, "learning_rate_too_high", None, "error"),
    (P.large_lr, dict(lr=50.0, seed=1), "learning_rate_too_high", None, "error"),
    (P.large_lr, dict(lr=20.0, seed=2, optimizer="SGD"), "learning_rate_too_high", None, None),
    # the rest of the catalogue
    (P.dead_biases, {}, "dead_units", "0", "error"),
    (P.dead_biases, dict(bias=-3.0, seed=1), "dead_units", "0", None),
    (P.saturation, {}, "saturated_units", "0", "error"),
    (P.saturation, dict(scale=20.0, seed=1), "saturated_units", "0", None),
    (P.unscaled_feature, {}, "unscaled_inputs", "input feature 12", "warning"),
    (P.unscaled_feature, dict(feature=3, scale=300.0, seed=1), "unscaled_inputs",
     "input feature 3", "warning"),
    (P.log_of_zero, {}, "non_finite", "loss", "error"),
    (P.log_of_zero, dict(seed=1), "non_finite", "loss", "error"),
    (P.diverging_lr, {}, "learning_rate_too_high", None, "error"),
    (P.diverging_lr, dict(lr=1.0, optimizer="Adam", seed=1), "learning_rate_too_high", None,
     "error"),
    (P.diverging_lr, dict(lr=20.0, seed=2), "learning_rate_too_high", None, "error"),
    # spikes to 6e4 by step 6, then falls back to the chance level: not a catapult
    (P.diverging_lr, dict(seed=6), "learning_rate_too_high", None, "error"),
    (P.tiny_lr, {}, "learning_rate_too_low", None, "warning"),
    (P.tiny_lr, dict(lr=1e-7, optimizer="Adam", seed=1), "learning_rate_too_low", None,
     "warning"),
    (P.shuffled_labels, {}, "loss_at_chance", None, "warning"),
    (P.shuffled_labels, dict(seed=1), "loss_at_chance", None, "warning"),
    (P.tiny_init, {}, "bad_initialisation", "0", "error"),
    (P.tiny_init, dict(depth=4, std=0.003, seed=1), "bad_initialisation", "0", None),
    (P.exploding, dict(depth=5, seed=3), "bad_initialisation", "0", None),
    (P.target_shape, {}, "target_shape_mismatch", None, "error"),
    (P.target_shape, dict(builtin=True, seed=1), "target_shape_mismatch", None, "error"),
    (P.softmax_output, {}, "probabilities_into_cross_entropy", "3", "error"),
    (P.no_zero_grad, {}, "missing_zero_grad", None, "warning"),
    (P.no_zero_grad, dict(seed=1), "missing_zero_grad", None, "warning"),
    (P.no_zero_grad, dict(optimizer="SGD", seed=2), "missing_zero_grad", None, "warning"),
    (P.eval_mode, {}, "eval_mode_training", "1", "warning"),
    (P.overfit, {}, "overfitting", None, "warning"),
]


def _id(entry):
    builder, kwargs, code = entry[:3]
    return builder.__name__ + "".join(f"-{k}={v}" for k, v in kwargs.items())


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in the broken nets' numpy
        yield


@pytest.mark.parametrize("entry", CATALOGUE, ids=_id)
def test_planted_failure_is_found_where_it_is(entry):
    builder, kwargs, code, where, severity = entry
    d = builder(**kwargs).diagnose()
    found = [f for f in d.findings if f.code == code]
    assert found, f"{code} not found; got {[(f.code, f.severity, f.where) for f in d.findings]}"
    f = found[0]
    assert f.where == where
    assert f.severity == severity if severity else f.severity in ("error", "warning")
    assert any(ch.isdigit() for ch in f.message), f.message  # the numbers measured
    assert f.advice and f.advice != f.message


@pytest.mark.parametrize("entry", CATALOGUE, ids=_id)
def test_healthy_twin_has_no_error(entry):
    builder, kwargs, code = entry[:3]
    d = builder(**kwargs, healthy=True).diagnose()
    assert not d.by_severity("error"), str(d)
    assert not [f for f in d.findings if f.code == code and f.severity != "info"], str(d)


def test_healthy_default_networks_get_no_warning():
    """ReLU with default or He init, standardised inputs, Adam 1e-3: at init and trained."""
    X, X_te, y, y_te, _, _ = P.digits()
    for init in (None, P.he):
        for seed in (0, 1):
            model = P.mlp([64, 128, 64, 10], init=init, seed=seed)
            opt = cr.optim.Adam(model.parameters(), lr=1e-3)
            d = diagnose(model, F.cross_entropy, (X, y), opt, steps=10, val_data=(X_te, y_te))
            assert not d.by_severity("error") and not d.by_severity("warning"), str(d)
            P._fit(model, opt, X, y, epochs=5, seed=seed)
            d = diagnose(model, F.cross_entropy, (X, y), opt, steps=10, val_data=(X_te, y_te))
            assert not d.by_severity("error") and not d.by_severity("warning"), str(d)


# ---- the numbers in the findings are the measured ones ------------------------------------
def test_dead_fraction_is_the_measured_one():
    case = P.dead_after_large_lr()
    X, y = case.data
    rows = np.sort(np.random.default_rng(0).permutation(len(X))[:256])  # diagnose's probe
    seen = {}
    handle = case.model[1].register_forward_hook(lambda m, a, out: seen.update(a=out.numpy()))
    with cr.no_grad():
        case.model(cr.tensor(X[rows]))
    handle.remove()
    dead = float((seen["a"] == 0).all(axis=0).mean())
    f = next(f for f in case.diagnose().findings if f.code == "dead_units")
    assert dead > 0.9
    assert f"{round(100 * dead)}% of layer 1 ('0', Linear(64 -> 128))'s 128 units" in f.message
    assert "LeakyReLU" in f.advice and f"{round(100 * dead)}% of layer 1's units" in f.advice


def test_exploding_net_every_layer_flagged_none_vanishing():
    d = P.exploding().diagnose()
    assert "vanishing_gradients" not in d.codes
    f = next(f for f in d.findings if f.code == "exploding_gradients")
    assert f.message.startswith("8 of 8 weight layers")
    top = max(layer.grad_norm for layer in d.evidence.layers)
    assert top > 1e8 and R.g(top) in f.message
    init = next(f for f in d.findings if f.code == "bad_initialisation")
    assert "He" in init.advice and "0.177" in init.advice  # sqrt(2/64)


def test_unscaled_feature_scale_is_reported():
    case = P.unscaled_feature()
    X, _ = case.data
    f = next(f for f in case.diagnose().findings if f.code == "unscaled_inputs")
    rms = float(np.sqrt(np.mean(X[:, 12].astype(np.float64) ** 2)))
    reported = float(f.message.split("RMS ")[1].split(" ")[0])
    assert reported == pytest.approx(rms, rel=0.1)
    assert "feature 12 has scale" in f.advice


def test_non_finite_names_the_op_and_the_line():
    f = next(f for f in P.log_of_zero().diagnose().findings if f.code == "non_finite")
    assert "the forward of Log" in f.message and "planted.py" in f.message
    assert "not the cause" in f.advice  # the first forward: not the learning rate
    assert "log" in f.advice


def test_non_finite_inside_a_module_names_the_module():
    class Bad(nn.Module):
        def forward(self, x):
            return cr.sqrt(x - 10.0)

    model = nn.Sequential(nn.Linear(3, 3), Bad(), nn.Linear(3, 2))
    X, y = np.ones((8, 3), np.float32) * 0.1, np.zeros(8, np.int64)
    f = next(f for f in diagnose(model, F.cross_entropy, (X, y)).findings
             if f.code == "non_finite")
    assert f.where == "1" and "Sqrt" in f.message


def test_non_finite_inputs():
    X, _, y, _, _, _ = P.digits()
    X = X.copy()
    X[5, 7] = np.nan
    d = diagnose(P.mlp([64, 10]), F.cross_entropy, (X, y))
    assert d.codes == ["non_finite"] and d.findings[0].where == "inputs"
    assert "feature 7" in d.findings[0].message


def test_divergence_advice_is_a_measured_learning_rate():
    d = P.diverging_lr().diagnose()
    f = next(f for f in d.findings if f.code == "learning_rate_too_high")
    best = [m for m, v in d.evidence.sweep.items() if np.isfinite(v) and v < d.evidence.losses[0]]
    assert best and f"lower the learning rate to {R.g(5.0 * max(best))}" in f.advice
    # SGD: lambda_max against 2/lr, and the bound in the advice
    assert d.evidence.sharpness_bound == pytest.approx(2 / 5.0)
    assert d.evidence.sharpness > d.evidence.sharpness_bound
    assert R.g(5.0 * d.evidence.sharpness_bound / d.evidence.sharpness) in f.advice


def test_sharpness_is_lambda_max_of_the_hessian():
    case = P.diverging_lr(lr=0.1, healthy=True)
    d = case.diagnose(steps=0)
    X, y = case.data
    rows = np.sort(np.random.default_rng(0).permutation(len(X))[:256])
    Xb, yb = cr.tensor(X[rows]), cr.tensor(y[rows])
    (lam,) = cr.inspect.hessian_eigs(lambda: F.cross_entropy(case.model(Xb), yb),
                                     list(case.model.parameters()), k=1)
    assert d.evidence.sharpness == pytest.approx(lam, rel=0.05)


def test_update_ratio_is_the_real_step_of_adam():
    """Adam's first step moves every weight by lr: ||dW|| = lr sqrt(n), not lr ||g||."""
    rng = np.random.default_rng(0)  # no constant features: every weight gets a gradient
    X, y = rng.standard_normal((256, 64)).astype(np.float32), rng.integers(0, 10, 256)
    model = P.mlp([64, 32, 10])
    d = diagnose(model, F.cross_entropy, (X, y), cr.optim.Adam(model.parameters(), lr=1e-3))
    W = model[0].weight.numpy()
    layer = d.evidence.layers[0]
    expected = 1e-3 * math.sqrt(W.size) / np.linalg.norm(W.astype(np.float64))
    assert layer.update_ratio == pytest.approx(expected, rel=1e-3)
    sgd_ratio = 1e-3 * layer.grad_norm / layer.weight_norm
    assert layer.update_ratio > 10 * sgd_ratio


# ---- nothing the user holds changes ---------------------------------------------------------
def _state(model, optimizer, loader):
    return (copy.deepcopy({k: v.numpy().copy() for k, v in model.state_dict().items()}),
            {n: None if p.grad is None else p.grad.numpy().copy()
             for n, p in model.named_parameters()},
            copy.deepcopy(optimizer.state_dict()),
            copy.deepcopy(mode.default_generator().bit_generator.state),
            copy.deepcopy(loader.state_dict()),
            [m.training for m in model.modules()])


def _equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, z) for x, z in zip(a, b))
    if isinstance(a, cr.Tensor):
        a, b = a.numpy(), b.numpy()
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    return a == b


@pytest.mark.parametrize("shuffle_seed", [None, 3])
def test_diagnose_leaves_model_optimizer_generator_and_loader_bit_identical(shuffle_seed):
    X, X_te, y, y_te, _, _ = P.digits()

    def build():
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(32, 10))
        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
        loader = cr.data.DataLoader((X, y), batch_size=64, shuffle=True, seed=shuffle_seed)
        return model, opt, loader

    def train(model, opt, loader, batches):
        for i, (xb, yb) in enumerate(loader):
            if i == batches:
                break
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()

    model, opt, loader = build()
    train(model, opt, loader, 5)
    before = _state(model, opt, loader)
    assert model[1].num_batches_tracked.numpy() == 5
    d = diagnose(model, F.cross_entropy, loader, opt, steps=5, val_data=(X_te, y_te))
    assert isinstance(d, Diagnosis) and d.evidence.losses
    assert _equal(_state(model, opt, loader), before)
    # and training goes on exactly as in a run that was never diagnosed
    train(model, opt, loader, 5)
    twin, twin_opt, twin_loader = build()
    train(twin, twin_opt, twin_loader, 5)
    train(twin, twin_opt, twin_loader, 5)
    for (k, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), k


# ---- the report -------------------------------------------------------------------------
def test_str_is_ordered_by_severity_and_markdown_has_every_finding():
    d = P.dead_after_large_lr().diagnose()
    severities = [f.severity for f in d.findings]
    assert severities == sorted(severities, key=R.SEVERITIES.index)
    assert {"error", "warning", "info"} <= set(severities)
    text = str(d)
    assert text.splitlines()[0].startswith("diagnose: 1 error, 1 warning, 1 info")
    positions = [text.index(f"[{f.severity}] {f.code}") for f in d.findings]
    assert positions == sorted(positions)
    md = d.to_markdown()
    for f in d.findings:
        assert f"| {f.severity} | `{f.code}` |" in md
    assert md.count("\n| ") >= len(d.findings) + len(d.evidence.layers)


def test_healthy_report_says_so():
    X, _, y, _, _, _ = P.digits()
    d = diagnose(P.mlp([64, 32, 10]), F.cross_entropy, (X, y))
    assert "no problems found" in str(d) and "No problems found." in d.to_markdown()
    assert d.evidence.task.chance == pytest.approx(math.log(10))


def test_finding_str_and_validation():
    f = Finding("dead_units", "error", "0", "94% dead", "use LeakyReLU")
    assert str(f) == "[error] dead_units at 0: 94% dead\n    advice: use LeakyReLU"
    model = P.mlp([64, 10])
    X, _, y, _, _, _ = P.digits()
    with pytest.raises(ValueError, match="diagnose: steps=5 needs the optimizer"):
        diagnose(model, F.cross_entropy, (X, y), steps=5)
    with pytest.raises(TypeError, match="diagnose: model must be a cr.nn.Module"):
        diagnose(lambda x: x, F.cross_entropy, (X, y))
    with pytest.raises(ValueError, match="diagnose: data must be a pair"):
        diagnose(model, F.cross_entropy, (X, y, y))
    with pytest.raises(ValueError, match="the same number of rows"):
        diagnose(model, F.cross_entropy, (X, y[:10]))


def test_dataset_and_loader_inputs_agree_with_arrays():
    X, _, y, _, _, _ = P.digits()
    model = P.mlp([64, 32, 10])
    a = diagnose(model, F.cross_entropy, (X, y))
    b = diagnose(model, F.cross_entropy, cr.data.TensorDataset(X, y))
    c = diagnose(model, F.cross_entropy, cr.data.DataLoader((X, y), batch_size=8, shuffle=True))

    class Rows(cr.data.Dataset):
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return X[i], y[i]

    e = diagnose(model, F.cross_entropy, Rows())
    assert a.evidence.loss == b.evidence.loss == c.evidence.loss == e.evidence.loss
