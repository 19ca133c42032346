"""The numba kernels against the NumPy code they replace, op by op, in one process and sitting.

    python -m bench.numba_loops [--repeats 7]

Each op runs on W7's shapes (bench/transformer.py: batch 16, sequence 32, d_model 64, 4 heads)
with the kernels and without them (chainrule/_numba.get patched to None), alternating, best
of `repeats` blocks; the outputs are checked equal bit for bit first. Adam runs over W7's
parameter count and W1's, the sigmoid on W2's hidden layer, SGD with and without momentum
over LeNet's (W3's) parameter count (W2's 65 parameters are below plain SGD's floor).
Needs numba (the [fast] extra).
"""

import argparse
import os
import timeit

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from chainrule import _numba  # noqa: E402


def cases():
    """[(name, make)]: make() returns (run, result), fresh inputs for each mode"""
    from chainrule.ops.attention import AttentionWeights, AttentionWeightsGrad
    from chainrule.ops.elementwise import Relu, ReluGrad
    from chainrule.ops.nn_ops import SoftmaxCrossEntropy, SoftmaxCrossEntropyGrad
    from chainrule.ops.normalization import LayerNorm, LayerNormGrad
    from chainrule.ops.shape import _rows_add
    from chainrule.ops.special import Sigmoid

    rng = np.random.default_rng(0)
    f32 = np.float32
    q, k = (rng.standard_normal((16, 4, 32, 16)).astype(f32) for _ in range(2))
    mask = np.where(np.tril(np.ones((32, 32), bool)), 0.0, -np.inf).astype(f32)[None, None]
    p = AttentionWeights(0.25, False).forward(q, k, mask)
    gp = rng.standard_normal(p.shape).astype(f32)
    x, g = (rng.standard_normal((16, 32, 64)).astype(f32) for _ in range(2))
    w, b = rng.standard_normal(64).astype(f32), rng.standard_normal(64).astype(f32)
    _, mean, rstd = LayerNorm(1, 1e-5, True, True).forward(x, w, b)
    tokens = rng.integers(0, 64, (16, 32))
    hidden = rng.standard_normal((512, 256)).astype(f32)
    hidden_grad = rng.standard_normal((512, 256)).astype(f32)
    active = np.maximum(hidden, 0)
    logits = rng.standard_normal((512, 64)).astype(f32)
    labels = tokens.reshape(-1)
    _, probs = SoftmaxCrossEntropy(True).forward(logits, labels)
    one = np.ones((), f32)

    def rows_add():
        out = np.zeros((64, 64), f32)
        _rows_add(out, tokens, g.reshape(512, 64))
        return out

    def optimizer(n, name, **options):
        """make() for `name`'s step over n float32 parameters, after one first step (which
        creates SGD's momentum buffer)"""
        import chainrule as cr
        from chainrule import optim

        def make():
            state = np.random.default_rng(1)
            w = cr.tensor(state.standard_normal(n).astype(f32), requires_grad=True)
            opt = getattr(optim, name)([w], **options)
            w.grad = cr.tensor(state.standard_normal(n).astype(f32))
            opt.step()

            def run():
                opt.step()
                return w.numpy()
            return run
        return make

    w2_hidden = rng.standard_normal((32, 16)).astype(f32)

    return [
        ("attention weights, forward (16, 4, 32, 32)",
         lambda: lambda: AttentionWeights(0.25, False).forward(q, k, mask)),
        ("attention weights, backward",
         lambda: lambda: AttentionWeightsGrad(0.25, False).forward(q, k, p, gp)),
        ("layer_norm forward (16, 32, 64)",
         lambda: lambda: LayerNorm(1, 1e-5, True, True).forward(x, w, b)),
        ("layer_norm backward",
         lambda: lambda: LayerNormGrad(1, 1e-5, True, True, True).forward(x, mean, rstd, w, b, g)),
        ("ReLU (512, 256)", lambda: lambda: Relu().forward(hidden)),
        ("ReLU's gradient", lambda: lambda: ReluGrad().forward(hidden_grad, active)),
        ("cross-entropy (512, 64)", lambda: lambda: SoftmaxCrossEntropy(True).forward(
            logits, labels)),
        ("cross-entropy's gradient", lambda: lambda: SoftmaxCrossEntropyGrad(True, -100).forward(
            probs, labels, one)),
        ("embedding backward (512 rows into 64)", lambda: rows_add),
        ("Adam step, W7's 108,224 parameters", optimizer(108_224, "Adam", lr=1e-3)),
        ("Adam step, W1's 235,146 parameters", optimizer(235_146, "Adam", lr=1e-3)),
        ("sigmoid (32, 16), W2's hidden layer", lambda: lambda: Sigmoid().forward(w2_hidden)),
        ("SGD step, LeNet's 61,706 parameters", optimizer(61_706, "SGD", lr=0.1)),
        ("SGD momentum 0.9, LeNet's 61,706 parameters",
         optimizer(61_706, "SGD", lr=0.01, momentum=0.9)),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.numba_loops",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    if _numba.get() is None:
        raise SystemExit("bench.numba_loops: numba is not installed (pip install -e '.[fast]') or "
                         "CHAINRULE_NUMBA=0 is set")
    real = _numba.get
    modes = {"numba": real, "numpy": lambda: None}
    print(f"{'op (float32, 1 thread)':<44}{'NumPy us':>10}{'numba us':>10}{'speed-up':>10}")
    for name, make in cases():
        best = {}
        runs = {}
        for mode, get in modes.items():
            _numba.get = get
            runs[mode] = make()
            first = runs[mode]()
            runs[mode + " result"] = [np.copy(a) for a in (first if isinstance(first, tuple)
                                                           else (first,))]
        _numba.get = real
        same = all(np.array_equal(a, b, equal_nan=True) for a, b in
                   zip(runs["numba result"], runs["numpy result"]))
        if not same:
            raise SystemExit(f"bench.numba_loops: {name}: the kernels' result differs from NumPy's")
        for _ in range(args.repeats):
            for mode, get in modes.items():
                _numba.get = get
                t = min(timeit.repeat(runs[mode], number=50, repeat=1)) / 50
                best[mode] = min(best.get(mode, 1e9), t)
        _numba.get = real
        print(f"{name:<44}{best['numpy'] * 1e6:>10.1f}{best['numba'] * 1e6:>10.1f}"
              f"{best['numpy'] / best['numba']:>9.2f}x")
    print("(the same bits: each op's outputs compared with np.array_equal before timing)")


if __name__ == "__main__":
    main()
