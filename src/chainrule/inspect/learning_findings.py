"""Findings about learning: the learning rate, the loss against chance, overfitting.

The rules read the real optimizer step (||dW||/||W||), the trajectory of diagnose's steps and
its learning-rate sweep, lambda_max against the stability bound, and the loss against the
chance level (log C, or Var(y) for regression). Thresholds are named constants; see
docs/DIAGNOSE.md.
"""

import numpy as np

from chainrule.inspect.findings import Finding, _layer_name, g, pct, recommended_std

# one real optimizer step: ||dW|| / ||W|| (median over the weight layers). Healthy steady
# training moves weights by ~1e-3 of their norm per step, but adaptive optimizers' first steps
# move every weight by ~lr (Adam, Adagrad) or 10 lr (RMSprop): 0.1-0.7 of small initial weights
UPDATE_WARN, UPDATE_ERROR = 1.0, 10.0
UPDATE_TINY = 1e-6
GRAD_TINY = 1e-4  # a tiny step says "lr too low" only if the gradients themselves are not tiny
# trajectories of `steps` steps on one batch
DIVERGE = 1.1  # the loss ended > 10% above where it started
SPIKE = 10.0  # ... or spiked 10x above it and ended with no progress
NO_PROGRESS = 0.01  # the loss fell by < 1% of itself
REAL_GAIN = 0.1  # a larger learning rate lowered the loss by a further 10% of it
# ... and every change that counts is also 5% of the chance level: near a minimum the loss of one
# batch wobbles by more than 10% of itself (measured: +12% in 20 steps of momentum SGD on a
# converged breast-cancer MLP, loss 0.005), which is neither divergence nor a lost opportunity
SIGNIFICANT = 0.05
# the loss against the chance level (log C for C classes, Var(y) for regression)
AT_CHANCE = 0.97
ABOVE_CHANCE = 3.0
LEARNED = 0.8  # "learned, but it does not carry over" needs a training loss below 0.8 chance
AT_CHANCE_MIN_STEPS = 100  # optimizer steps before "still at chance" is news (diagnose)
# during training, where hard tasks leave chance late (spirals, momentum SGD: after ~10 epochs)
AT_CHANCE_MONITOR_STEPS, AT_CHANCE_MONITOR_EPOCHS = 300, 3
# overfitting: validation loss above training loss by a quarter of the chance level
OVERFIT_GAP = 0.5  # healthy but long-trained nets reach 0.3 (breast cancer, 100 epochs: 0.26)
OVERFIT_ACCURACY_GAP = 0.15


# ---- the optimizer's real step ------------------------------------------------------------
def update_findings(layers, lr, optimizer_name, trained, losses=()):
    """learning_rate_too_high/low from ||dW||/||W|| of one real optimizer step. With a
    trajectory (losses of diagnose's steps) it decides: a loss that fell makes a large step a
    warning at most, and a tiny step is left to the trajectory's verdict."""
    ratios = [layer.update_ratio for layer in layers if layer.update_ratio is not None
              and np.isfinite(layer.update_ratio) and layer.weight_norm > 0]
    if not ratios:
        return []
    median = float(np.median(ratios))
    worst = max((layer for layer in layers if layer.update_ratio is not None),
                key=lambda layer: layer.update_ratio)
    first = "" if trained else " (the optimizer's first step)"
    if median > UPDATE_WARN:
        severity = "error" if median > UPDATE_ERROR and not progressed(losses) else "warning"
        return [Finding(
            "learning_rate_too_high", severity, None,
            f"one {optimizer_name} step at lr {g(lr)}{first} changes the weights by "
            f"{g(median)} of their norm (median ||dW||/||W|| over layers; {g(worst.update_ratio)}"
            f" in {_layer_name(worst)}); healthy training moves them by ~1e-3 per step",
            f"lower the learning rate about {g(median / 1e-2)}x, to ~{g(lr * 1e-2 / median)}, "
            f"so that ||dW||/||W|| is ~1e-2 at most")]
    grads = [layer.grad_norm for layer in layers if layer.grad_norm is not None]
    if median < UPDATE_TINY and grads and float(np.median(grads)) > GRAD_TINY \
            and len(losses) < 2:
        return [Finding(
            "learning_rate_too_low", "info", None,
            f"one {optimizer_name} step at lr {g(lr)} changes the weights by {g(median)} of "
            f"their norm (median ||dW||/||W||): training will barely move",
            "run diagnose with steps=20 to see whether the loss makes progress; if it does "
            "not, raise the learning rate")]
    return []


def trajectory_findings(ev, optimizer_name):
    """learning_rate_too_high (divergence), learning_rate_too_low (no progress),
    loss_at_chance (the probe batch is learned, held-out samples are not) from `steps` steps."""
    losses, lr = ev.losses, ev.lr
    if len(losses) < 2:
        return []
    out = []
    start, end = losses[0], losses[-1]
    steps = len(losses) - 1
    finite = all(np.isfinite(v) for v in losses)
    sweep_text = _sweep_text(ev.sweep, lr, steps)
    if diverged(losses, ev.task.chance):
        peak = max(v for v in losses if np.isfinite(v)) if any(np.isfinite(losses)) else start
        what = ("became non-finite" if not finite else
                f"went from {g(start)} to {g(end)}, peaking at {g(peak)}")
        best = _best(ev.sweep, below=1.0)
        advice = f"lower the learning rate to {g(lr * best)}" if best else \
            "lower the learning rate 10x or more"
        if ev.sharpness and ev.sharpness_bound and ev.sharpness > ev.sharpness_bound:
            advice += (f"; below {g(lr * ev.sharpness_bound / ev.sharpness)} the sharpest "
                       f"direction is stable (lambda_max = {g(ev.sharpness)} > "
                       f"{_bound_text(ev)})")
        out.append(Finding("learning_rate_too_high", "error", None,
                           f"in {steps} {optimizer_name} steps at lr {g(lr)} on one batch the "
                           f"loss {what}{sweep_text}", advice))
        return out
    if start - end < NO_PROGRESS * abs(start):
        gain = max(REAL_GAIN * abs(start), SIGNIFICANT * (ev.task.chance or 0.0))
        best = _best(ev.sweep, above=1.0, baseline=end, gain=gain)
        if best:
            out.append(Finding(
                "learning_rate_too_low", "warning", None,
                f"in {steps} {optimizer_name} steps at lr {g(lr)} on one batch the loss fell "
                f"only from {g(start)} to {g(end)} ({pct(max(start - end, 0) / abs(start))})"
                f"{sweep_text}",
                f"raise the learning rate to ~{g(lr * best)}"))
    if ev.heldout is not None and ev.task.chance:
        before, after = ev.heldout
        learned = start - end
        if learned > 0.05 * abs(start) and (before - after) < 0.1 * learned \
                and after > 0.9 * ev.task.chance:
            out.append(Finding(
                "loss_at_chance", "warning", None,
                f"in {steps} steps the loss on the batch being trained fell from {g(start)} "
                f"to {g(end)}, but on held-out samples it went from {g(before)} to "
                f"{g(after)}, at chance level ({ev.task.chance_text}): what the model learns "
                f"does not carry over, so the targets look unrelated to the inputs",
                "check that the targets line up with the inputs (shuffled or misaligned "
                "labels, a wrong label column, a transform applied to one but not the other)"))
    return out


def diverged(losses, chance=None):
    """Non-finite, ended > 10% up, or spiked 10x and made no progress (units died on the way):
    a fall of < 1%, or an end at the chance level with a fall of < 5% of it (a spike to 6e4
    that drops back to chance is no catapult); a rise counts only if it is also 5% of the
    chance level (when known)."""
    start, end = losses[0], losses[-1]
    if not all(np.isfinite(v) for v in losses):
        return True
    floor = SIGNIFICANT * chance if chance else 0.0
    peak = max(losses)
    no_progress = end > (1 - NO_PROGRESS) * start or \
        (chance is not None and end > AT_CHANCE * chance and start - end < floor)
    return (end > DIVERGE * start and end - start > floor) or \
        (peak > SPIKE * start and peak - start > floor and no_progress)


def progressed(losses, chance=None):
    """The loss fell by more than NO_PROGRESS over the trajectory, without diverging."""
    return len(losses) > 1 and not diverged(losses, chance) and \
        losses[0] - losses[-1] > NO_PROGRESS * abs(losses[0])


def _best(sweep, below=None, above=None, baseline=None, gain=0.0):
    """The lr multiplier of the sweep with the lowest final loss on the asked side of 1."""
    cands = {m: v for m, v in sweep.items() if np.isfinite(v)
             and (below is None or m < below) and (above is None or m > above)}
    if not cands:
        return None
    m = min(cands, key=cands.get)
    if baseline is not None and not cands[m] < baseline - gain:
        return None
    return m


def _sweep_text(sweep, lr, steps):
    if not sweep:
        return ""
    parts = [f"lr {g(lr * m)}: {g(v)}" for m, v in sorted(sweep.items())]
    return f"; the same {steps} steps ended at " + ", ".join(parts)


def _bound_text(ev):
    return f"the stability bound {g(ev.sharpness_bound)}"


def sharpness_findings(ev):
    """learning_rate_too_high (warning) or edge of stability (info) from lambda_max vs 2/lr."""
    if ev.sharpness is None or ev.sharpness_bound is None or not ev.lr:
        return []
    lam, bound = ev.sharpness, ev.sharpness_bound
    if lam <= bound:
        return []
    safe = ev.lr * bound / lam
    if len(ev.losses) > 1 and diverged(ev.losses, ev.task.chance):
        return []  # the trajectory finding already says it, with this bound in its advice
    if len(ev.losses) > 1:
        return [Finding(
            "learning_rate_too_high", "info", None,
            f"lambda_max = {g(lam)} of the loss Hessian exceeds the stability bound "
            f"{g(bound)} of gradient descent at lr {g(ev.lr)}, yet the loss fell in "
            f"{len(ev.losses) - 1} steps: training at the edge of stability (the loss spikes "
            f"and the sharpness drops, a catapult)",
            f"nothing to do if the loss keeps falling; below lr {g(safe)} the step is stable "
            f"along the sharpest direction")]
    return [Finding(
        "learning_rate_too_high", "warning", None,
        f"lambda_max = {g(lam)} of the loss Hessian exceeds gradient descent's stability bound "
        f"{g(bound)} at lr {g(ev.lr)}: along the sharpest direction each step overshoots",
        f"lower the learning rate below {g(safe)} (= lr x bound / lambda_max), or run diagnose "
        f"with steps=20 to see whether the loss still falls (edge of stability)")]


# ---- the state of a trained model -----------------------------------------------------------
def trained_state_findings(ev):
    """loss_at_chance / learning_rate_too_high for a model the optimizer has already trained."""
    task, loss = ev.task, ev.loss
    if ev.trained_steps == 0 or task.chance is None or loss is None or not np.isfinite(loss):
        return []
    after = "after training" if ev.trained_steps is None else \
        f"after {ev.trained_steps} optimizer steps"
    if task.kind in ("classification", "binary") and loss > ABOVE_CHANCE * task.chance:
        growth = max((layer.weight_std / recommended_std(layer) for layer in ev.layers),
                     default=float("nan"))
        return [Finding(
            "learning_rate_too_high", "error", None,
            f"{after} the loss is {g(loss)}, {g(loss / task.chance)}x the chance level "
            f"({task.chance_text}): the model is confidently wrong; the largest weight std is "
            f"{g(growth)}x a fresh initialisation's",
            "the weights diverged: lower the learning rate (10x or more) and retrain from a "
            "fresh initialisation or an earlier checkpoint")]
    enough = ev.trained_steps is None or ev.trained_steps >= AT_CHANCE_MIN_STEPS
    if enough and loss >= AT_CHANCE * task.chance:
        return [Finding(
            "loss_at_chance", "warning", None,
            f"{after} the loss is {g(loss)}, at the chance "
            f"level ({task.chance_text}): the model predicts no better than knowing nothing",
            "check the labels against the inputs (shuffled or misaligned?); then look at the "
            "other findings: dead units, vanishing gradients or a wrong learning rate")]
    return []


def chance_findings_from_history(task, losses, steps, where="training"):
    """loss_at_chance for the monitor: the epoch loss is still at chance after `steps` steps."""
    if task.chance is None or not losses or steps < AT_CHANCE_MIN_STEPS:
        return []
    loss = losses[-1]
    if loss is None or not np.isfinite(loss) or not \
            AT_CHANCE * task.chance <= loss <= ABOVE_CHANCE * task.chance:
        return []
    return [Finding(
        "loss_at_chance", "warning", None,
        f"after {steps} steps the {where} loss is {g(loss)}, at the chance level "
        f"({task.chance_text}): the model predicts no better than knowing nothing",
        "check the labels against the inputs (shuffled or misaligned?); then look at the other "
        "findings: dead units, vanishing gradients or a wrong learning rate")]


def overfitting_findings(task, train_loss, val_loss, train_acc=None, val_acc=None):
    """overfitting: the validation loss (or accuracy) trails the training one by a wide gap."""
    if task.chance is None or train_loss is None or val_loss is None:
        return []
    out = []
    if train_loss >= AT_CHANCE * task.chance:
        return []  # the model does not fit its training data either: no gap to speak of
    if val_loss >= AT_CHANCE * task.chance and train_loss < LEARNED * task.chance:
        out.append(Finding(
            "loss_at_chance", "warning", None,
            f"the validation loss is {g(val_loss)}, at the chance level ({task.chance_text}), "
            f"while the training loss is {g(train_loss)}: nothing learned carries over",
            "check the labels against the inputs (shuffled or misaligned?), and that "
            "validation data is preprocessed exactly as the training data"))
    gap = val_loss - train_loss
    acc_gap = (train_acc - val_acc) if train_acc is not None and val_acc is not None else None
    if gap <= OVERFIT_GAP * task.chance and not (acc_gap is not None
                                                 and acc_gap > OVERFIT_ACCURACY_GAP):
        return out
    acc = f"; accuracy {pct(train_acc)} vs {pct(val_acc)}" if acc_gap is not None else ""
    return out + [Finding(
        "overfitting", "warning", None,
        f"validation loss {g(val_loss)} vs training loss {g(train_loss)}: a gap of {g(gap)}, "
        f"{pct(gap / task.chance)} of the chance level ({task.chance_text}){acc}",
        "regularise: more data or augmentation, weight decay (AdamW), dropout, a smaller "
        "model, or early stopping (cr.train.EarlyStopping on val_loss)")]
