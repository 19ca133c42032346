"""Training-step benchmark: a 784-256-128-10 ReLU MLP, cross-entropy loss, backward, Adam step.

The raw-tensor version of the suite's W1 (``python -m bench`` is the suite; docs/PERFORMANCE.md).

    python bench/train_step.py [--quick] [--batches 32 128 1024] [--threads 1] [--profile N]

Three implementations of the same step on the same random float32 data and initial weights,
timed in the same run, interleaved (chainrule, NumPy, PyTorch, chainrule, ...), median of
several repeats:
  * chainrule: raw tensors W1, b1, ... requiring grad, ``x @ W.mT + b``, relu,
    ``loss = -log_softmax(logits)[arange(N), y].mean()``, ``backward()``, ``cr.optim.Adam``.
  * NumPy: hand-written forward, manual backprop and Adam, every buffer preallocated,
    parameters/gradients/moments in flat float32 buffers (the best plain NumPy can do).
  * PyTorch eager (when installed): the same raw-tensor model, F.cross_entropy, torch.optim.Adam.
BLAS (and torch) use one thread unless --threads says otherwise (set before NumPy loads).
Prints steps/s and the ratios chainrule/NumPy and chainrule/PyTorch (of step times: < 1 is
faster than the reference). ``--profile N`` prints where chainrule's time goes at batch N.
"""

import argparse
import os
import sys

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--quick", action="store_true", help="fewer repeats (CI smoke run)")
_parser.add_argument("--batches", type=int, nargs="+", default=[32, 128, 1024])
_parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
_parser.add_argument("--repeats", type=int, default=None, help="timed repeats per batch size")
_parser.add_argument("--profile", type=int, default=None, metavar="N",
                     help="cProfile chainrule's step at batch N and print the top entries")
ARGS = _parser.parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
import chainrule as cr  # noqa: E402

SIZES = (784, 256, 128, 10)
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8


def initial_weights(seed=0):
    """[W1, b1, W2, b2, W3, b3] with PyTorch Linear's U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        out.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        out.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return out


def batch(n, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, SIZES[0]), dtype=np.float32),
            rng.integers(0, SIZES[-1], n))


# ---- chainrule -------------------------------------------------------------------------------
def chainrule_step(x_np, y_np):
    W1, b1, W2, b2, W3, b3 = params = [cr.tensor(w, requires_grad=True)
                                       for w in initial_weights()]
    opt = cr.optim.Adam(params, lr=LR, betas=BETAS, eps=EPS)
    x, rows = cr.tensor(x_np), np.arange(len(y_np))

    def step():
        opt.zero_grad()
        h = (x @ W1.mT + b1).relu()
        h = (h @ W2.mT + b2).relu()
        logits = h @ W3.mT + b3
        loss = -logits.log_softmax(axis=-1)[rows, y_np].mean()
        loss.backward()
        opt.step()
        return loss

    return step, lambda: [p.numpy() for p in params]


# ---- NumPy, by hand --------------------------------------------------------------------------
def numpy_step(x, y):
    n, f32 = len(y), np.float32
    init = initial_weights()
    sizes = [w.size for w in init]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    flat = {k: np.zeros(offsets[-1], f32) for k in ("p", "g", "m", "v", "t")}

    def views(buf):
        return [buf[a:b].reshape(w.shape) for a, b, w in zip(offsets[:-1], offsets[1:], init)]

    P, G = views(flat["p"]), views(flat["g"])
    for p, w in zip(P, init):
        p[...] = w
    W1, b1, W2, b2, W3, b3 = P
    gW1, gb1, gW2, gb2, gW3, gb3 = G
    z1, z2 = np.empty((n, SIZES[1]), f32), np.empty((n, SIZES[2]), f32)
    h1, h2 = np.empty_like(z1), np.empty_like(z2)
    logits = np.empty((n, SIZES[3]), f32)
    mx, lse = np.empty((n, 1), f32), np.empty((n, 1), f32)
    rows = np.arange(n)
    state = {"t": 0}

    def step():
        # forward: z = x W^T + b (transposed views, no copies), relu, stable log-softmax
        np.matmul(x, W1.T, out=z1)
        np.add(z1, b1, out=z1)
        np.maximum(z1, 0, out=h1)
        np.matmul(h1, W2.T, out=z2)
        np.add(z2, b2, out=z2)
        np.maximum(z2, 0, out=h2)
        np.matmul(h2, W3.T, out=logits)
        np.add(logits, b3, out=logits)
        np.max(logits, axis=1, keepdims=True, out=mx)
        np.subtract(logits, mx, out=logits)
        np.exp(logits, out=logits)  # logits now holds e^(z - max)
        np.sum(logits, axis=1, keepdims=True, out=lse)
        loss = float(np.mean(np.log(lse[:, 0]) - np.log(logits[rows, y])))
        # backward: dL/dz3 = (softmax - onehot) / N
        np.divide(logits, lse, out=logits)
        logits[rows, y] -= 1.0
        np.multiply(logits, 1.0 / n, out=logits)
        np.matmul(logits.T, h2, out=gW3)
        np.sum(logits, axis=0, out=gb3)
        np.matmul(logits, W3, out=h2)  # dL/dh2, overwriting h2 (no longer needed)
        h2[z2 <= 0] = 0.0
        np.matmul(h2.T, h1, out=gW2)
        np.sum(h2, axis=0, out=gb2)
        np.matmul(h2, W2, out=h1)
        h1[z1 <= 0] = 0.0
        np.matmul(h1.T, x, out=gW1)
        np.sum(h1, axis=0, out=gb1)
        # Adam on the flat buffers: the same passes as cr.optim.Adam
        state["t"] += 1
        b1_, b2_ = BETAS
        bc1, bc2_sqrt = 1.0 - b1_ ** state["t"], (1.0 - b2_ ** state["t"]) ** 0.5
        p, g, m, v, t = flat["p"], flat["g"], flat["m"], flat["v"], flat["t"]
        np.subtract(g, m, out=t)
        t *= 1.0 - b1_
        m += t
        v *= b2_
        np.multiply(g, g, out=t)
        t *= 1.0 - b2_
        v += t
        np.sqrt(v, out=t)
        t += EPS * bc2_sqrt
        np.divide(m, t, out=t)
        t *= -LR * bc2_sqrt / bc1
        p += t
        return loss

    return step, lambda: P


# ---- PyTorch eager ---------------------------------------------------------------------------
def torch_step(torch, x_np, y_np):
    W1, b1, W2, b2, W3, b3 = params = [torch.tensor(w, requires_grad=True)
                                       for w in initial_weights()]
    opt = torch.optim.Adam(params, lr=LR, betas=BETAS, eps=EPS)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    cross_entropy = torch.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        h = torch.relu(x @ W1.mT + b1)
        h = torch.relu(h @ W2.mT + b2)
        loss = cross_entropy(h @ W3.mT + b3, y)
        loss.backward()
        opt.step()
        return loss.detach()

    return step, lambda: [p.detach().numpy() for p in params]


def check_agreement(impls, steps=3):
    """The implementations compute the same thing: same losses and weights after a few steps.

    Adam's first steps are ~lr·sign(g), so a gradient entry within float32 rounding of zero can
    move a weight by ~lr in one implementation and not in another; hence the 99.9% criterion.
    """
    x, y = batch(64, seed=7)
    ref = None
    for name, make in impls.items():
        step, weights = make(x, y)
        losses = [float(step()) for _ in range(steps)]
        w = np.concatenate([np.ravel(a) for a in weights()])
        if ref is None:
            ref = losses, w
            continue
        close = np.abs(w - ref[1]) <= 1e-5
        if not np.allclose(losses, ref[0], rtol=1e-4) or close.mean() < 0.999 \
                or np.max(np.abs(w - ref[1])) > 2 * steps * LR:
            raise SystemExit(f"train_step: {name} disagrees with chainrule: losses {losses} vs "
                             f"{ref[0]}; {100 * (1 - close.mean()):.3f}% of weights differ")


def time_interleaved(steps, repeats, number):
    """Median seconds per step of each function, timed round-robin so drift hits all alike."""
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - t0) / number)
    return {name: float(np.median(t)) for name, t in times.items()}


def main():
    try:
        import torch

        torch.set_num_threads(ARGS.threads)
    except ImportError:
        torch = None
    impls = {"chainrule": lambda x, y: chainrule_step(x, y),
             "numpy": lambda x, y: numpy_step(x, y)}
    if torch is not None:
        impls["torch"] = lambda x, y: torch_step(torch, x, y)
    check_agreement(impls)

    if ARGS.profile:
        import cProfile
        import pstats

        step, _ = chainrule_step(*batch(ARGS.profile))
        for _ in range(5):
            step()
        prof = cProfile.Profile()
        prof.runcall(lambda: [step() for _ in range(50)])
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        return

    repeats = ARGS.repeats or (3 if ARGS.quick else 7)
    print(f"train step: 784-256-128-10 ReLU MLP, cross-entropy, Adam; float32; "
          f"{ARGS.threads} thread(s); median of {repeats} interleaved repeats")
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else
                                       ", torch not installed"))
    head = f"{'batch':>6} {'chainrule/s':>12} {'numpy/s':>10} {'cr/numpy':>9}"
    if torch:
        head += f" {'torch/s':>10} {'cr/torch':>9}"
    print(head)
    for n in ARGS.batches:
        x, y = batch(n)
        steps = {name: make(x, y)[0] for name, make in impls.items()}
        # ~0.2 s (quick: ~0.05 s) of chainrule steps per repeat
        t0 = time.perf_counter()
        for _ in range(3):
            for fn in steps.values():
                fn()
        per = (time.perf_counter() - t0) / (3 * len(steps))
        number = max(1, int((0.05 if ARGS.quick else 0.2) / per))
        t = time_interleaved(steps, repeats, number)
        line = (f"{n:>6} {1 / t['chainrule']:>12.1f} {1 / t['numpy']:>10.1f} "
                f"{t['chainrule'] / t['numpy']:>9.2f}")
        if torch:
            line += f" {1 / t['torch']:>10.1f} {t['chainrule'] / t['torch']:>9.2f}"
        print(line, flush=True)
    print("cr/numpy, cr/torch: ratio of step times (chainrule time / reference time; "
          "1.00 = equal, > 1 = chainrule slower)")


if __name__ == "__main__":
    main()
