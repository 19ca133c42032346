"""Findings: the rules that turn measured evidence into 'what is wrong' and 'what to do'.

Each rule reads numbers that `evidence` measured and returns Findings with a code, a severity,
where it applies, a message with the numbers, and concrete advice. This module holds the
Finding and the rules about the data and the signal (inputs, targets, activations, gradients,
initialisation, modes, stale gradients); `learning_findings` those about learning (the learning
rate, the loss against chance, overfitting). The thresholds are named constants;
docs/DIAGNOSE.md says why each has its value. The same rules serve `cr.inspect.diagnose` and
the training monitor (`cr.train.TrainingMonitor`).

Severities: 'error' (training fails or its result is wrong), 'warning' (training works worse
than it should), 'info' (worth knowing; not a fault).
"""

import math
from dataclasses import dataclass

import numpy as np

SEVERITIES = ("error", "warning", "info")

# inputs: a feature's RMS. With default init z = Wx has RMS ~ 0.6 RMS(x) per unit, so at RMS 20
# a tanh/sigmoid unit sits at |z| ~ 12, deep in saturation, and the loss's curvature in that
# feature's weights is ~400x that of a standardised one.
INPUT_SCALE_INFO = 5.0
INPUT_SCALE_WARN = 20.0
INPUT_SPREAD_WARN = 1e3  # largest / smallest RMS over the non-constant features
# activations, measured over up to 256 samples
# healthy ReLU nets: < 5% dead after training on digits; up to 35% in the deep layers of a
# 20-layer He-initialised net at initialisation (its inputs collapse onto a narrow cone)
DEAD_INFO, DEAD_WARN, DEAD_ERROR = 0.25, 0.5, 0.9
# at initialisation (healthy: < 5%), and after training, when units of a classifier settle into
# saturation by design (healthy nets: 1-52% on digits after 40 epochs, up to 82% on
# breast-cancer and spirals after 100 epochs of Adagrad)
SATURATED_WARN, SATURATED_ERROR = 0.5, 0.9
SATURATED_TRAINED_WARN, SATURATED_TRAINED_ERROR = 0.9, 0.99
# gradients: ||dL/dW|| of the input-side layer over the output layer's
VANISH_WARN, VANISH_ERROR = 1e-3, 1e-5
EXPLODE_RELATIVE = 1e3
# gradients, absolute, per sample (a sum-reduced loss is divided by the batch size): a healthy
# layer's ||dL/dW|| is 0.01-10 (it is bounded by ||dL/dz|| ||x||, both O(1) when scaled)
EXPLODE_WARN, EXPLODE_ERROR = 1e3, 1e5
# forward signal: the spread over samples of the last layer's output over the input's, when
# some layer's weight std is off the recommended (He / LeCun) by more than INIT_STD_OFF
INIT_GAIN_WARN, INIT_GAIN_ERROR = 1e3, 1e6
INIT_STD_OFF = 3.0
# a held .grad larger than the largest single-sample gradient (of 64) has accumulated: the
# mean over one batch cannot exceed its largest term (measured: healthy loops, batch 1 to 32,
# reach 0.04-0.63 of it; 30 Adam or SGD steps without zero_grad 1.7-2.0)
STALE_GRAD = 1.0


@dataclass
class Finding:
    """One problem: code, severity ('error' | 'warning' | 'info'), where, message, advice."""

    code: str
    severity: str
    where: str | None
    message: str
    advice: str

    def __str__(self):
        at = f" at {self.where}" if self.where else ""
        return f"[{self.severity}] {self.code}{at}: {self.message}\n    advice: {self.advice}"


def g(x):
    """A number in 3 significant digits, the way findings print them."""
    if x is None:
        return "n/a"
    if not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e4 or abs(x) < 1e-3):
        return f"{x:.2e}"
    return f"{x:.3g}"


def pct(x):
    return f"{100 * x:.0f}%" if x >= 0.01 or x == 0 else f"{100 * x:.1g}%"


def _layer_name(layer):
    return f"layer {layer.index} ('{layer.name}', {layer.kind})"


def sort_findings(findings):
    """Errors first, then warnings, then infos; the order within a severity is kept."""
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


# ---- inputs and targets ---------------------------------------------------------------------
def input_findings(scales, constant):
    """unscaled_inputs from the per-feature RMS of the inputs."""
    if scales is None or scales.size == 0:
        return []
    live = scales[~constant] if constant is not None else scales
    if live.size == 0:
        return []
    worst = int(np.flatnonzero(~constant)[np.argmax(live)]) if constant is not None \
        else int(np.argmax(scales))
    top = float(scales[worst])
    spread = float(live.max() / live.min()) if live.min() > 0 else float("inf")
    message = (f"input feature {worst} has RMS {g(top)} (median over features "
               f"{g(float(np.median(live)))}, largest/smallest {g(spread)})")
    advice = (f"standardise the inputs: subtract each feature's mean and divide by its "
              f"standard deviation (cr.data.standardize); feature {worst} has scale {g(top)}")
    if top > INPUT_SCALE_WARN or spread > INPUT_SPREAD_WARN:
        return [Finding("unscaled_inputs", "warning", f"input feature {worst}", message, advice)]
    if top > INPUT_SCALE_INFO:
        return [Finding("unscaled_inputs", "info", f"input feature {worst}", message, advice)]
    return []


def target_findings(out_shape, y_shape, y_kind, loss_error=None):
    """target_shape_mismatch: float targets whose shape broadcasts against the output's."""
    if loss_error is not None:
        return [Finding("target_shape_mismatch", "error", None,
                        f"the loss refused output {out_shape} against targets {y_shape}: "
                        f"{loss_error}",
                        _shape_advice(out_shape, y_shape))]
    if y_kind != "f" or tuple(out_shape) == tuple(y_shape):
        return []
    try:
        joint = np.broadcast_shapes(tuple(out_shape), tuple(y_shape))
    except ValueError:
        return []
    if joint in (tuple(out_shape), tuple(y_shape)) and \
            int(np.prod(joint)) == int(np.prod(out_shape)) == int(np.prod(y_shape)):
        return []
    return [Finding("target_shape_mismatch", "error", None,
                    f"the model's output has shape {tuple(out_shape)} and the targets "
                    f"{tuple(y_shape)}: an elementwise loss broadcasts them to {joint}, "
                    f"comparing every output with every target",
                    _shape_advice(out_shape, y_shape))]


def _shape_advice(out_shape, y_shape):
    if len(out_shape) == len(y_shape) + 1 and out_shape[-1] == 1:
        return "make the targets (N, 1) with y.reshape(-1, 1), or squeeze the output to (N,)"
    return f"make the targets the output's shape {tuple(out_shape)}"


def probability_findings(task, row_sums_one, bounded, loss_is_logit_form, where):
    """probabilities_into_cross_entropy: softmax/sigmoid outputs given to a logits loss."""
    if not loss_is_logit_form or task.kind not in ("classification", "binary"):
        return []
    if task.kind == "classification" and row_sums_one:
        C = task.classes
        floor = math.log(1 + (C - 1) / math.e)
        return [Finding(
            "probabilities_into_cross_entropy", "error", where,
            f"every row of the model's output is a probability distribution (non-negative, "
            f"summing to 1), and the loss treats it as logits: it applies softmax again, so the "
            f"loss can never go below log(1 + (C-1)/e) = {g(floor)} for C = {C} and its "
            f"gradients shrink",
            "remove the final Softmax: cross_entropy takes raw logits and applies log_softmax "
            "itself (or keep the softmax and use nll_loss on its log)")]
    if task.kind == "binary" and bounded:
        return [Finding(
            "probabilities_into_cross_entropy", "error", where,
            "the model's outputs lie in [0, 1] (probabilities) and the loss treats them as "
            "logits: it applies sigmoid again, so predictions can never pass 0.73",
            "remove the final Sigmoid: binary_cross_entropy_with_logits takes raw logits (or "
            "keep it and use binary_cross_entropy)")]
    return []


# ---- activations --------------------------------------------------------------------------
def activation_findings(layers, samples, trained=False):
    """dead_units (ReLU units at 0 for every sample), saturated_units (sigmoid/tanh): one
    finding each, at the worst severity reached, where = the first layer at that severity."""
    sat_warn, sat_error = (SATURATED_TRAINED_WARN, SATURATED_TRAINED_ERROR) if trained else \
        (SATURATED_WARN, SATURATED_ERROR)
    dead = [(layer, layer.dead_fraction) for layer in layers
            if layer.dead_fraction is not None and layer.dead_fraction >= DEAD_INFO]
    sat = [(layer, layer.saturated_fraction) for layer in layers
           if layer.saturated_fraction is not None and layer.saturated_fraction >= sat_warn]
    out = []
    if dead:
        severity = _severity(max(d for _, d in dead), DEAD_ERROR, DEAD_WARN)
        layer, d = next(ld for ld in dead if _severity(ld[1], DEAD_ERROR, DEAD_WARN)
                         == severity)
        out.append(Finding(
            "dead_units", severity, layer.name,
            f"{pct(d)} of {_layer_name(layer)}'s {layer.units} units are dead: the "
            f"{layer.activation} after it outputs 0 for all {samples} samples, so they pass no "
            f"gradient and never recover{_others(dead, layer)}",
            f"use LeakyReLU (or ELU/GELU) or lower the learning rate: {pct(d)} of layer "
            f"{layer.index}'s units are dead; if its biases are very negative, initialise them "
            f"at 0 (nn.init.zeros_)"))
    if sat:
        severity = _severity(max(s for _, s in sat), sat_error, sat_warn)
        layer, s = next(ls for ls in sat if _severity(ls[1], sat_error, sat_warn) == severity)
        slope = "sigma'(z) < 0.0125" if layer.activation == "Sigmoid" else "tanh'(z) < 0.05"
        out.append(Finding(
            "saturated_units", severity, layer.name,
            f"{pct(s)} of the {layer.activation} values after {_layer_name(layer)} are "
            f"saturated ({slope}, 5% of the peak slope): its pre-activations have RMS "
            f"{g(layer.output_rms)}, so little gradient passes{_others(sat, layer)}",
            "standardise the inputs and scale the initialisation (Xavier: "
            "nn.init.xavier_uniform_) so pre-activations stay around 1; add LayerNorm or "
            "BatchNorm before the activation"))
    return out


def _severity(x, error, warning):
    return "error" if x >= error else "warning" if x >= warning else "info"


def _others(pairs, shown):
    rest = [f"layer {layer.index} {pct(x)}" for layer, x in pairs if layer is not shown]
    return f"; also {', '.join(rest)}" if rest else ""


# ---- gradients ----------------------------------------------------------------------------
def gradient_findings(layers, per_sample=1.0, saturating=False):
    """vanishing_gradients (relative to the output layer), exploding_gradients (absolute and
    relative). per_sample divides the norms of a sum-reduced loss by the batch size."""
    graded = [layer for layer in layers if layer.grad_norm is not None]
    if not graded:
        return []
    out = []
    norms = np.array([layer.grad_norm * per_sample for layer in graded])
    big = [layer for layer, n in zip(graded, norms) if n > EXPLODE_WARN]
    if big:
        first = big[0]
        top = float(norms.max())
        severity = "error" if top > EXPLODE_ERROR else "warning"
        out.append(Finding(
            "exploding_gradients", severity, first.name,
            f"{len(big)} of {len(graded)} weight layers have ||dL/dW|| above {g(EXPLODE_WARN)} "
            f"(per sample), from {_layer_name(first)} ({g(first.grad_norm * per_sample)}); the "
            f"largest is {g(top)}",
            "fix the scale at its source: initialise with He (nn.init.kaiming_normal_) for ReLU "
            "or Xavier for tanh, standardise inputs and targets; clip gradients "
            "(nn.utils.clip_grad_norm_) only as a stopgap"))
    if len(graded) < 2:
        return out
    ref = graded[-1]
    ref_norm = ref.grad_norm * per_sample
    if not (np.isfinite(ref_norm) and 0 < ref_norm <= EXPLODE_WARN):
        return out
    first = graded[0]
    ratio = first.grad_norm * per_sample / ref_norm
    if any((layer.dead_fraction or 0) >= DEAD_ERROR for layer in graded):
        return out  # dead units pass no gradient: dead_units says so, with its cause
    if ratio < VANISH_WARN:
        low = [layer for layer in graded[:-1] if layer.grad_norm * per_sample
               < VANISH_WARN * ref_norm]
        severity = "error" if ratio < VANISH_ERROR else "warning"
        cause = ("each sigmoid/tanh multiplies the backward signal by its slope (sigma' <= "
                 "1/4)" if saturating else "each layer shrinks the backward signal")
        out.append(Finding(
            "vanishing_gradients", severity, first.name,
            f"||dL/dW|| of {_layer_name(first)} is {g(first.grad_norm * per_sample)}, "
            f"{g(ratio)} of the output layer's ({g(ref_norm)}); {len(low)} of "
            f"{len(graded)} weight layers get less than {g(VANISH_WARN)} of it: {cause}",
            "use ReLU (or GELU) with He initialisation (nn.init.kaiming_normal_), add "
            "normalisation (BatchNorm/LayerNorm) or residual connections, or use fewer layers"
            if saturating else
            "use He initialisation (nn.init.kaiming_normal_) so each layer keeps the signal's "
            "scale, add normalisation or residual connections, or use fewer layers"))
    elif ratio > EXPLODE_RELATIVE and not big:
        out.append(Finding(
            "exploding_gradients", "warning", first.name,
            f"||dL/dW|| grows towards the input: {_layer_name(first)} gets "
            f"{g(first.grad_norm * per_sample)}, {g(ratio)}x the output layer's "
            f"({g(ref_norm)})",
            "scale the initialisation down (He: std sqrt(2/fan_in) for ReLU, Xavier for tanh), "
            "add normalisation, or clip gradients (nn.utils.clip_grad_norm_)"))
    return out


def non_finite_gradient_finding(params):
    bad = [p for p in params if not p.finite]
    if not bad:
        return []
    return [Finding("non_finite", "error", bad[0].name,
                    f"{len(bad)} parameters or their gradients hold NaN or inf, first "
                    f"{bad[0].name}",
                    "rerun the step under cr.inspect.detect_anomaly() to name the op; if the "
                    "weights themselves are non-finite, training diverged: lower the learning "
                    "rate and restart from a checkpoint")]


# ---- initialisation -------------------------------------------------------------------------
def recommended_std(layer):
    """He std sqrt(2/fan_in) after ReLU-like activations, else LeCun/Xavier sqrt(1/fan_in)."""
    relu_like = layer.activation in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU")
    return math.sqrt((2.0 if relu_like else 1.0) / max(layer.fan_in, 1))


def init_findings(layers, input_spread, trained):
    """bad_initialisation: weights far from the recommended scale, and the forward signal (the
    outputs' spread over the samples) grows or shrinks by orders of magnitude through them."""
    if trained or len(layers) < 2 or not (input_spread and np.isfinite(input_spread)):
        return []
    last = layers[-1]
    gain = last.output_spread / input_spread if input_spread > 0 else float("nan")
    if not np.isfinite(gain) or (1 / INIT_GAIN_WARN <= gain <= INIT_GAIN_WARN):
        return []
    off = [abs(math.log(max(layer.weight_std, 1e-300) / recommended_std(layer)))
           for layer in layers]
    if max(off) < math.log(INIT_STD_OFF):
        return []  # the weights are well scaled: the activations, not the init, shrink it
    worst = next(layer for layer, o in zip(layers, off) if o >= max(math.log(INIT_STD_OFF),
                                                                    0.5 * max(off)))
    grows = gain > 1
    per_layer = gain ** (1 / len(layers))
    std = recommended_std(worst)
    severity = "error" if (gain > INIT_GAIN_ERROR or gain < 1 / INIT_GAIN_ERROR) else "warning"
    relu_like = std > math.sqrt(1.5 / max(worst.fan_in, 1))
    how = ("He: nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')" if relu_like
           else "Xavier: nn.init.xavier_uniform_(layer.weight)")
    return [Finding(
        "bad_initialisation", severity, worst.name,
        f"the forward signal (the outputs' spread over the samples) "
        f"{'grows' if grows else 'shrinks'} {g(gain if grows else 1 / gain)}x from the input "
        f"({g(input_spread)}) to the output of {_layer_name(last)} ({g(last.output_spread)}), "
        f"~{g(per_layer)}x per layer; {_layer_name(worst)} has weight std "
        f"{g(worst.weight_std)}, {g(worst.weight_std / std)}x the recommended {g(std)}",
        f"initialise the weights with {how}: std {g(std)} for fan_in {worst.fan_in}; biases at "
        f"0")]


# ---- modes and stale gradients ------------------------------------------------------
def mode_findings(modules_in_eval, training_intended):
    """eval_mode_training: Dropout/BatchNorm in eval mode while training."""
    if not modules_in_eval:
        return []
    names = ", ".join(f"'{n}' ({c})" for n, c in modules_in_eval[:4])
    more = f" and {len(modules_in_eval) - 4} more" if len(modules_in_eval) > 4 else ""
    return [Finding(
        "eval_mode_training", "warning" if training_intended else "info",
        modules_in_eval[0][0],
        f"{names}{more} are in eval mode: dropout is off and batch norm normalises with its "
        f"running statistics, which training does not update",
        "call model.train() before training (and model.eval() only to evaluate)")]


def stale_grad_findings(ratio, grad_norm, sample_norm):
    """missing_zero_grad: the gradients held in .grad exceed what one batch can produce."""
    if ratio is None or ratio <= STALE_GRAD:
        return []
    return [Finding(
        "missing_zero_grad", "warning", None,
        f"the gradients held in the parameters' .grad have norm {g(grad_norm)}, {g(ratio)}x the "
        f"largest gradient of a single sample ({g(sample_norm)}): a mean over one batch "
        f"cannot exceed that, so gradients have been accumulating across steps",
        "call optimizer.zero_grad() (or model.zero_grad()) before each loss.backward(); if "
        "you accumulate gradients on purpose, zero them after each optimizer.step()")]
