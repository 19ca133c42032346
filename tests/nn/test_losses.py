"""Losses: a spec table checked by finite differences (first and second order), by closed forms
written from the formulas, and against PyTorch (value and gradient, 1e-6, float64)."""

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

REDUCTIONS = ("mean", "sum", "none")
C = 4  # classes


# ---- the spec table: (loss, input kind, target kind, options) ----------------------------
def _cases():
    cases = []
    for red in REDUCTIONS:
        cases.append(("mse_loss", "real", "real", {"reduction": red}))
        cases.append(("l1_loss", "real", "real", {"reduction": red}))
        for delta in (1.0, 0.5):
            cases.append(("huber_loss", "real", "real", {"reduction": red, "delta": delta}))
        for beta in (1.0, 0.5, 0.0):
            cases.append(("smooth_l1_loss", "real", "real", {"reduction": red, "beta": beta}))
        for weight in (None, "elem"):
            cases.append(("binary_cross_entropy", "prob", "unit",
                          {"reduction": red, "weight": weight}))
            for pos_weight in (None, "class"):
                cases.append(("binary_cross_entropy_with_logits", "real", "unit",
                              {"reduction": red, "weight": weight, "pos_weight": pos_weight}))
        for weight, ignore, ls in itertools.product((None, "class"), (False, True), (0.0, 0.2)):
            opts = {"reduction": red, "weight": weight, "label_smoothing": ls}
            if ignore:
                opts["ignore_index"] = 2 if weight else -100
            cases.append(("cross_entropy", "real", "labels_ignore" if ignore else "labels",
                          opts))
            if not ignore:
                cases.append(("cross_entropy", "real", "probs", {**opts}))
                cases.append(("cross_entropy", "real3d", "labels3d", {**opts}))
        cases.append(("cross_entropy", "vec", "label0d", {"reduction": red}))
        for weight, ignore in itertools.product((None, "class"), (False, True)):
            opts = {"reduction": red, "weight": weight}
            if ignore:
                opts["ignore_index"] = -100
            cases.append(("nll_loss", "logprob", "labels_ignore" if ignore else "labels", opts))
    for red in REDUCTIONS + ("batchmean",):
        cases.append(("kl_div", "logprob", "probs", {"reduction": red}))
        cases.append(("kl_div", "logprob", "logprob", {"reduction": red, "log_target": True}))
    return cases


CASES = _cases()


def _case_id(case):
    name, xk, tk, opts = case
    extra = ",".join(f"{k}={v}" for k, v in opts.items() if v is not None)
    return f"{name}[{xk},{tk},{extra}]"


def _make(case, seed=0):
    """(input ndarray, target ndarray, options with arrays) in float64."""
    name, xk, tk, opts = case
    rng = np.random.default_rng(seed)
    x = {"real": lambda: rng.normal(size=(5, C)) * 2,
         "real3d": lambda: rng.normal(size=(3, C, 2)),
         "vec": lambda: rng.normal(size=C),
         "prob": lambda: rng.uniform(0.05, 0.95, size=(5, C)),
         "logprob": lambda: np.log(rng.dirichlet(np.ones(C), size=5))}[xk]()
    t = {"real": lambda: rng.normal(size=x.shape),
         "unit": lambda: rng.uniform(0, 1, size=x.shape),
         "labels": lambda: np.array([0, 3, 1, 2, 3]),
         "labels_ignore": lambda: np.array([0, opts.get("ignore_index", 0), 1, 3, 3]),
         "labels3d": lambda: np.array([[0, 1], [3, 3], [2, 0]]),
         "label0d": lambda: np.array(2),
         "probs": lambda: rng.dirichlet(np.ones(C), size=x.shape[0]).reshape(
             x.shape[0], *([1] * (x.ndim - 2)), C).swapaxes(1, -1) * np.ones(x.shape),
         "logprob": lambda: np.log(rng.dirichlet(np.ones(C), size=5))}[tk]()
    resolved = dict(opts)
    for key in ("weight", "pos_weight"):
        if opts.get(key) == "elem":
            resolved[key] = rng.uniform(0.5, 2.0, size=C)
        elif opts.get(key) == "class":
            resolved[key] = rng.uniform(0.5, 2.0, size=C)
    return x, t, resolved


def _differentiable_target(case):
    return case[2] in ("real", "unit", "probs") or (case[0] == "kl_div")


# ---- 1. finite differences -----------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_gradcheck(case, float64):
    x, t, opts = _make(case)
    fn = getattr(F, case[0])
    if _differentiable_target(case):
        assert cr.gradcheck(lambda a, b: fn(a, b, **opts), [x, t])
    else:
        assert cr.gradcheck(lambda a: fn(a, t, **opts), [x])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_gradgradcheck(case, float64):
    x, t, opts = _make(case)
    fn = getattr(F, case[0])
    assert cr.gradgradcheck(lambda a: fn(a, t, **opts), [x])


# ---- 2. closed forms written from the formulas (no PyTorch needed) -------------------------
def _softmax_log(x, axis):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


def _reference(case, x, t, opts):
    name, red = case[0], opts["reduction"]
    w, pw = opts.get("weight"), opts.get("pos_weight")
    d = x - t if t.shape == x.shape else None
    if name == "mse_loss":
        loss = d * d
    elif name == "l1_loss":
        loss = np.abs(d)
    elif name == "huber_loss":
        k = opts["delta"]
        loss = np.where(np.abs(d) < k, 0.5 * d * d, k * (np.abs(d) - 0.5 * k))
    elif name == "smooth_l1_loss":
        b = opts["beta"]
        loss = np.abs(d) if b == 0 else np.where(np.abs(d) < b, 0.5 * d * d / b,
                                                  np.abs(d) - 0.5 * b)
    elif name == "binary_cross_entropy":
        loss = -(t * np.log(x) + (1 - t) * np.log(1 - x)) * (1 if w is None else w)
    elif name == "binary_cross_entropy_with_logits":
        s = 1 / (1 + np.exp(-x))
        p = 1 if pw is None else pw
        loss = -(p * t * np.log(s) + (1 - t) * np.log(1 - s)) * (1 if w is None else w)
    elif name == "kl_div":
        if opts.get("log_target"):
            loss = np.exp(t) * (t - x)
        else:
            loss = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x
        if red == "batchmean":
            return loss.sum() / x.shape[0]
    else:  # cross_entropy / nll_loss: l_n = -sum_c w_c q_{n,c} log p_{n,c}
        axis = 0 if x.ndim == 1 else 1
        logp = x if name == "nll_loss" else _softmax_log(x, axis)
        wc = np.ones(C) if w is None else w
        wshape = (C,) + (1,) * (x.ndim - axis - 1)
        eps = opts.get("label_smoothing", 0.0)
        if t.dtype.kind == "f":  # probabilities; 'mean' divides by the number of samples
            q = t * (1 - eps) + eps / C
            loss = -(wc.reshape(wshape) * q * logp).sum(axis)
            return {"mean": loss.sum() / (x.size // C), "sum": loss.sum(), "none": loss}[red]
        ignore = opts.get("ignore_index", -100)
        keep = t != ignore
        onehot = np.moveaxis(np.eye(C)[np.where(keep, t, 0)], -1, axis)
        q = (1 - eps) * onehot + eps / C
        loss = -(wc.reshape(wshape) * q * logp).sum(axis) * keep
        # 'mean' divides by the total weight of the non-ignored targets
        den = (wc[np.where(keep, t, 0)] * keep).sum()
        return {"mean": loss.sum() / den, "sum": loss.sum(), "none": loss}[red]
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[red]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_closed_form(case, float64):
    x, t, opts = _make(case)
    got = getattr(F, case[0])(cr.tensor(x), t, **opts).numpy()
    np.testing.assert_allclose(got, _reference(case, x, t, opts), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES[::4], ids=_case_id)
def test_module_form_matches_functional(case, float64):
    name, _, _, opts = case
    x, t, opts = _make(case)
    cls = {"mse_loss": cr.nn.MSELoss, "l1_loss": cr.nn.L1Loss, "huber_loss": cr.nn.HuberLoss,
           "smooth_l1_loss": cr.nn.SmoothL1Loss, "binary_cross_entropy": cr.nn.BCELoss,
           "binary_cross_entropy_with_logits": cr.nn.BCEWithLogitsLoss,
           "cross_entropy": cr.nn.CrossEntropyLoss, "nll_loss": cr.nn.NLLLoss,
           "kl_div": cr.nn.KLDivLoss}[name]
    module = cls(**opts)
    np.testing.assert_array_equal(module(cr.tensor(x), t).numpy(),
                                  getattr(F, name)(cr.tensor(x), t, **opts).numpy())


# ---- 2. PyTorch parity: value and gradient within 1e-6 -------------------------------------
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_torch_parity(case, float64):
    torch = pytest.importorskip("torch")
    x, t, opts = _make(case)
    name = case[0]
    grad_t = _differentiable_target(case)
    cx, ct = cr.tensor(x, requires_grad=True), cr.tensor(t, requires_grad=grad_t)
    tx = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t, requires_grad=grad_t)
    topts = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in opts.items()}
    cy = getattr(F, name)(cx, ct, **opts)
    ty = getattr(torch.nn.functional, name)(tx, tt, **topts)
    np.testing.assert_allclose(cy.numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    u = np.random.default_rng(1).normal(size=cy.shape)
    cy.backward(cr.tensor(u))
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    if grad_t:
        np.testing.assert_allclose(ct.grad.numpy(), tt.grad.numpy(), rtol=1e-6, atol=1e-6)


# ---- the seed's cross-entropy table: -log(y_hat) for y = 1 ---------------------------------
@pytest.mark.parametrize("p, expected", [(0.99, 0.01), (0.50, 0.69), (0.01, 4.61)])
def test_seed_cross_entropy_table(p, expected):
    loss = F.binary_cross_entropy(cr.tensor([p]), cr.tensor([1.0]))
    assert round(loss.item(), 2) == expected
    logits = np.log([[p, 1 - p]])
    assert round(F.cross_entropy(cr.tensor(logits), [0]).item(), 2) == expected


# ---- 5. stability: float32 logits of magnitude 1e4 -----------------------------------------
def test_cross_entropy_float32_huge_logits_match_float64():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [3e3, 2e3, -1e4]])
    labels = np.array([1, 0, 2])
    for options in ({}, {"label_smoothing": 0.1}, {"weight": np.array([1.0, 2.0, 0.5])}):
        x32 = cr.tensor(logits.astype(np.float32), requires_grad=True)
        y32 = F.cross_entropy(x32, labels, **options)
        y32.backward()
        y64 = F.cross_entropy(cr.tensor(logits), labels, **options)
        assert y32.dtype == np.float32 and np.isfinite(y32.item())
        assert np.isfinite(x32.grad.numpy()).all()
        np.testing.assert_allclose(y32.item(), y64.item(), rtol=1e-6)
    # closed form: the loss of each row is max(x) - x_label when the gap is huge
    assert F.cross_entropy(cr.tensor(logits.astype(np.float32)), labels,
                           reduction="none").numpy().tolist() == [2e4, 2e4, 1.3e4]


def test_bce_with_logits_float32_huge_logits_match_float64():
    logits = np.array([1e4, -1e4, 1e4, -1e4, 0.5])
    target = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    x32 = cr.tensor(logits.astype(np.float32), requires_grad=True)
    y32 = F.binary_cross_entropy_with_logits(x32, target, reduction="none")
    y32.sum().backward()
    y64 = F.binary_cross_entropy_with_logits(cr.tensor(logits), target, reduction="none")
    assert y32.dtype == np.float32 and np.isfinite(y32.numpy()).all()
    np.testing.assert_allclose(y32.numpy(), y64.numpy(), rtol=1e-6)
    np.testing.assert_allclose(y32.numpy()[:4], [0, 0, 1e4, 1e4])
    np.testing.assert_allclose(x32.grad.numpy(), [0, 0, 1, -1, -1 / (1 + np.exp(0.5))],
                               rtol=1e-6)
    pw = F.binary_cross_entropy_with_logits(x32, target, pos_weight=np.float32(3.0),
                                            reduction="none")
    assert np.isfinite(pw.numpy()).all() and pw.numpy()[3] == pytest.approx(3e4)


def test_bce_saturated_probabilities_are_finite():
    """sigmoid(20) is exactly 1.0 in float32: the clamped log keeps loss and gradient finite."""
    x = cr.tensor(np.array([20.0, -20.0, 0.0], dtype=np.float32), requires_grad=True)
    loss = F.binary_cross_entropy(x.sigmoid(), np.array([0.0, 1.0, 1.0], dtype=np.float32))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()
    assert F.binary_cross_entropy(cr.tensor([0.0, 1.0]), cr.tensor([1.0, 0.0]),
                                  reduction="none").numpy().tolist() == [100.0, 100.0]


def test_kl_div_zero_targets_contribute_zero():
    logq = cr.tensor(np.log([[0.5, 0.5, 1e-30]]), requires_grad=True)
    loss = F.kl_div(logq, np.array([[0.5, 0.5, 0.0]]), reduction="batchmean")
    loss.backward()
    assert loss.item() == pytest.approx(0.0) and np.isfinite(logq.grad.numpy()).all()


def test_targets_may_be_numpy_arrays_lists_or_tensors():
    x = cr.tensor([[1.0, 2.0, 0.5]])
    expected = F.cross_entropy(x, cr.tensor(np.array([1]))).item()
    assert F.cross_entropy(x, np.array([1])).item() == expected
    assert F.cross_entropy(x, [1]).item() == expected
    assert F.mse_loss(x, np.zeros((1, 3))).dtype == np.float32  # float targets take x's dtype


# ---- 6. errors -----------------------------------------------------------------------------
def test_cross_entropy_label_out_of_range_names_label_and_classes(device):
    # on the CPU the call raises naming the label; on a device the check is deferred to the
    # next read (.item()), and names the op and the classes (finding the label is another read)
    def label(v):
        return f"{v} " if device.type == "cpu" else ""

    with pytest.raises(ValueError, match=rf"class label {label(7)}is out of range for 3 classes"):
        F.cross_entropy(cr.zeros(2, 3), np.array([0, 7])).item()
    with pytest.raises(ValueError, match=rf"class label {label(-1)}is out of range for 3 classes"):
        cr.nn.CrossEntropyLoss()(cr.zeros(2, 3), np.array([-1, 0])).item()
    with pytest.raises(ValueError, match=rf"class label {label(3)}.*3 classes"):
        F.nll_loss(cr.zeros(2, 3), np.array([3, 0])).item()


def test_cross_entropy_float_labels_name_dtype_label_and_classes():
    with pytest.raises(TypeError, match=r"integers; got dtype float32 \(e.g. 1.0\) for 3 classes"):
        F.cross_entropy(cr.zeros(2, 3), np.array([1.0, 2.0], dtype=np.float32))


@pytest.mark.parametrize("call, message", [
    (lambda: F.cross_entropy(cr.zeros(2, 3), np.array([0, 1, 2])), "target shape"),
    (lambda: F.cross_entropy(cr.zeros(2, 3), [0, 1], weight=np.ones(2)), "one entry per class"),
    (lambda: F.cross_entropy(cr.zeros(2, 3), [0, 1], label_smoothing=1.5), "label_smoothing"),
    (lambda: F.mse_loss(cr.zeros(4, 1), cr.zeros(4)), "target shape"),
    (lambda: F.mse_loss(cr.zeros(4), cr.zeros(4), reduction="avg"), "reduction"),
    (lambda: F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0])), "probabilities"),
    (lambda: F.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([2.0])), "target"),
    (lambda: F.huber_loss(cr.zeros(2), cr.zeros(2), delta=0), "delta"),
    (lambda: F.kl_div(cr.zeros(2), cr.zeros(2), reduction="batch"), "batchmean"),
])
def test_loss_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
