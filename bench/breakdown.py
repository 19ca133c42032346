"""Where the time of one chainrule step goes: BLAS, elementwise NumPy, optimizer, Python.

    python -m bench.breakdown [--workload W1|W2] [--batch 32 128] [--steps 300] [--compiled]

Method. The step runs with every primitive's ``forward`` wrapped in a timer: the time inside
MatMul/Linear forwards (and their subclasses) is BLAS (the GEMM plus the bias add), inside the
other forwards elementwise NumPy (the vjps run through the same forwards, so backward's NumPy
work is counted too). The engine's gradient copies into the optimizer's buffers and the
optimizer's step are timed too; the optimizer's NumPy share is the hand-written flat Adam (or
SGD) of the same size timed alone. What is left of the instrumented step time, less the
wrappers' own cost, is Python (graph recording, the backward walk, op dispatch and checks)
plus the little NumPy work done outside forwards (relu masks, label checks, one-hots).
The plain (uninstrumented) step time is printed alongside.
Run with BLAS pinned to one thread (python -m bench --profile does).
"""

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

from bench import workloads
from bench.peers import chainrule_peer, compiled_peer, numpy_peer


def _subclasses(cls):
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def _timed(fn, bucket, totals):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[bucket] += time.perf_counter() - t0
            totals["wrapped calls"] += 1

    return wrapper


def _wrapper_cost(calls=20000):
    """Seconds one timing wrapper adds to a call (subtracted from the instrumented step)."""
    totals = {"x": 0.0, "wrapped calls": 0}
    plain, wrapped = (lambda: None), _timed(lambda: None, "x", totals)
    best = []
    for fn in (plain, wrapped):
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            runs.append(time.perf_counter() - t0)
        best.append(min(runs) / calls)
    return best[1] - best[0]


def median_step(step, steps, blocks=7):
    for _ in range(5):
        step()
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - t0) / steps)
    return float(np.median(times))


def _numpy_optimizer(workload):
    """The optimizer's update, hand-written over one flat float32 buffer (the NumPy share)."""
    sizes = workloads.W1_SIZES if workload == "W1" else workloads.W2_SIZES
    n = sum(w.size for w in workloads.initial_weights(sizes))
    grad = np.ones(n, np.float32)
    if workload == "W1":
        adam = numpy_peer._Adam(np.zeros(n, np.float32))
        return lambda: adam.step(grad)
    p, g = np.zeros(n, np.float32), grad.copy()

    def sgd():
        np.multiply(g, -workloads.SGD_LR, out=g)
        np.add(p, g, out=p)

    return sgd


def breakdown(workload="W1", batch=32, steps=300, compiled=False):
    """(plain seconds per step, {part: seconds per step}, primitive calls per step).

    The parts come from one instrumented run: its step time, less the timing wrappers' own
    cost, less the timed NumPy parts, is the Python share. With `compiled`, the step is the
    cr.compile replay (traced after the forwards are wrapped, so its lines call the timers).
    """
    data = workloads.w1_data(batch) if workload == "W1" else workloads.w2_data(batch)
    peer = compiled_peer if compiled else chainrule_peer
    make = peer.w1 if workload == "W1" else peer.w2
    plain = median_step(make(*data)[0], steps)
    if compiled:  # the replay calls the update rule; its scaffold counts as glue
        total, parts = _timed_parts(make, data, steps, "update")
        rows = {
            "BLAS (GEMM + bias)": parts["blas"],
            "elementwise NumPy (replayed forwards)": parts["elementwise"],
            "gradient copies into the flat buffer": parts["grad copies"],
            "optimizer: its update rule (flat passes)": parts["optimizer"],
        }
        rows["Python glue (replay lines, guards, scaffolds)"] = max(
            total - sum(rows.values()), 0.0)
        return plain, rows, {"recorded": 0, "unrecorded": 0}
    optimizer_numpy = median_step(_numpy_optimizer(workload), steps)
    calls = _count_calls(make(*data)[0])
    total, parts = _timed_parts(make, data, steps, "step")
    name = "Adam" if workload == "W1" else "SGD"
    numpy_part = min(optimizer_numpy, parts["optimizer"])
    rows = {
        "BLAS (GEMM + bias)": parts["blas"],
        "elementwise NumPy (forward and backward ops)": parts["elementwise"],
        "gradient copies into the flat buffer": parts["grad copies"],
        f"optimizer: flat {name} passes (as timed alone)": numpy_part,
        "optimizer: the rest (Python, colder caches)": parts["optimizer"] - numpy_part,
    }
    rows["Python (+ NumPy outside forwards: masks, checks)"] = max(total - sum(rows.values()),
                                                                   0.0)
    return plain, rows, calls


def _timed_parts(make, data, steps, optimizer_method):
    """(seconds per step less the wrappers' cost, {part: seconds per step}) of the block with
    the median time, every primitive's forward (and forward_into), the engine's first-gradient
    copies and the optimizers' `optimizer_method` wrapped in timers."""
    import chainrule as cr
    from chainrule.core import engine
    from chainrule.core.function import Function
    from chainrule.ops.linalg import MatMul
    from chainrule.ops.nn_ops import Linear

    totals = {"blas": 0.0, "elementwise": 0.0, "grad copies": 0.0, "optimizer": 0.0,
              "wrapped calls": 0}
    patched = []
    for cls in _subclasses(Function):
        for name in ("forward", "forward_into"):
            if name in cls.__dict__:
                bucket = "blas" if issubclass(cls, (MatMul, Linear)) else "elementwise"
                patched.append((cls, name, cls.__dict__[name]))
                setattr(cls, name, _timed(cls.__dict__[name], bucket, totals))
        if cls.__dict__.get("into_ufunc") is not None:  # a replay then calls the timed
            patched.append((cls, "into_ufunc", cls.__dict__["into_ufunc"]))  # forward_into
            cls.into_ufunc = None
    patched.append((engine, "_first_grad", engine._first_grad))
    engine._first_grad = _timed(engine._first_grad, "grad copies", totals)
    for cls in (cr.optim.Adam, cr.optim.SGD):
        method = getattr(cls, optimizer_method)
        patched.append((cls, optimizer_method, cls.__dict__.get(optimizer_method)))
        setattr(cls, optimizer_method, _timed(method, "optimizer", totals))
    try:
        step, _ = make(*data)
        blocks = []
        for _ in range(7):
            for k in totals:
                totals[k] = 0
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            blocks.append((time.perf_counter() - t0, dict(totals)))
    finally:
        for owner, name, fn in reversed(patched):
            if fn is None:  # inherited: drop the timer, the base class's method shows again
                delattr(owner, name)
            else:
                setattr(owner, name, fn)
    total, parts = sorted(blocks, key=lambda b: b[0])[len(blocks) // 2]
    total = (total - parts.pop("wrapped calls") * _wrapper_cost()) / steps
    return total, {k: v / steps for k, v in parts.items()}


def _count_calls(step, steps=20):
    """Primitive calls per step: recorded as graph nodes, and run unrecorded (in backward)."""
    from chainrule.core.function import Function

    calls = {"recorded": 0, "unrecorded": 0}
    call = Function.__call__

    def counting_call(self, *inputs):
        out = call(self, *inputs)
        calls["recorded" if getattr(self, "inputs", None) is not None else "unrecorded"] += 1
        return out

    Function.__call__ = counting_call
    try:
        for _ in range(steps):
            step()
    finally:
        Function.__call__ = call
    return {k: v / steps for k, v in calls.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=["W1", "W2"], default="W1")
    ap.add_argument("--batch", type=int, nargs="+", default=None,
                    help="default: 32 128 1024 for W1, 32 for W2")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--compiled", action="store_true", help="the cr.compile replay of the step")
    args = ap.parse_args()
    for batch in args.batch or ([32, 128, 1024] if args.workload == "W1" else [32]):
        steps = args.steps or max(10, int((300 if args.workload == "W1" else 3000) * 32 / batch))
        plain, rows, calls = breakdown(args.workload, batch, steps, args.compiled)
        what = "compiled (replayed)" if args.compiled else "chainrule"
        nodes = "" if args.compiled else (
            f"; {calls['recorded']:.0f} graph nodes recorded, {calls['unrecorded']:.0f} more "
            "primitive calls in backward")
        print(f"\nwhere one {what} {args.workload} step goes, batch {batch} (1 thread): "
              f"{plain * 1e6:.0f} us per step uninstrumented{nodes}")
        for name, sec in rows.items():
            print(f"  {name:<46} {sec * 1e6:8.1f} us  {100 * sec / plain:5.1f} %")


if __name__ == "__main__":
    main()
