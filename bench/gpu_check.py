"""The device check, in one go: python -m bench.gpu_check [--device cuda|fake] [--json PATH].

On a lent GPU (CuPy, PyTorch and JAX installed; nothing to download) it fits 15 minutes:
  1. agreement: 10 W1 steps (batch 128) on the device agree with the CPU and with PyTorch on the
     same device within 1e-4 (losses and final weights);
  2. speed: W1 steps/s at batch 1024 and 8192, chainrule eager, cr.compile, PyTorch eager,
     timed with the device's events (CUDA events; perf_counter on the fake device);
  3. costs per step: ops recorded, values read back, copies each way (and kernel launches on
     the fake device, which counts them);
  4. the test suite on the device (CHAINRULE_TEST_DEVICES=<device>), in the time left.
It writes a JSON summary (default: $OUT/gpu_check.json when $OUT is set, else gpu_check.json).
`--device fake` is the dry run on a CPU (tests/test_gpu_check.py runs it with small sizes).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np

from bench.workloads import ADAM, W1_SIZES, initial_weights, mlp_layers, w1_data

START = time.perf_counter()


def _elapsed():
    return time.perf_counter() - START


# ---- chainrule and PyTorch W1 -----------------------------------------------------------
def w1(lib, tensor, device, batch):
    """(step, model, x, y): the W1 training step on `device`, from the shared initial weights,
    in chainrule or PyTorch (`lib`; `tensor` makes its tensor from a NumPy array)."""
    model = lib.nn.Sequential(*mlp_layers(lib.nn, W1_SIZES, "relu"))
    with lib.no_grad():
        for p, w in zip(model.parameters(), initial_weights(W1_SIZES)):
            p.copy_(tensor(w))
    model.to(device)
    opt = lib.optim.Adam(model.parameters(), **ADAM)
    xs, ys = w1_data(batch)
    x, y = tensor(xs).to(device), tensor(ys).to(device)

    def step(x, y):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, model, x, y


def cr_w1(cr, device, batch, compiled=False):
    """w1 in chainrule, its step through cr.compile when `compiled`."""
    step, model, x, y = w1(cr, cr.tensor, device, batch)
    return (cr.compile(step) if compiled else step), model, x, y


def torch_w1(torch, device, batch):
    """w1 in PyTorch."""
    return w1(torch, torch.from_numpy, device, batch)


def agreement(cr, torch, device, torch_device, steps, batch):
    """Max relative differences of the losses and final weights: device vs CPU, vs PyTorch."""
    runs = {}
    for name, dev in (("cpu", "cpu"), ("device", device)):
        step, model, x, y = cr_w1(cr, dev, batch)
        losses = [step(x, y).item() for _ in range(steps)]
        runs[name] = (np.array(losses), [p.cpu().numpy() for p in model.parameters()])
    if torch is not None:
        step, model, x, y = torch_w1(torch, torch_device, batch)
        losses = [step(x, y).item() for _ in range(steps)]
        runs["torch"] = (np.array(losses),
                         [p.detach().cpu().numpy() for p in model.parameters()])

    def diff(a, b):
        (la, wa), (lb, wb) = runs[a], runs[b]
        losses = float(np.max(np.abs(la - lb) / np.maximum(np.abs(lb), 1e-6)))
        weights = max(float(np.max(np.abs(p - q)) / max(float(np.max(np.abs(q))), 1e-6))
                      for p, q in zip(wa, wb))
        return losses, weights

    out = {"steps": steps, "batch": batch, "losses_device": runs["device"][0].tolist()}
    for other in ("cpu", "torch"):
        if other in runs:
            out[f"losses_vs_{other}"], out[f"weights_vs_{other}"] = diff("device", other)
    # the losses must agree within 1e-4; the weights are reported (Adam's first steps move
    # each weight by ~lr whatever the gradient's size, so rounding can flip tiny gradients)
    out["ok"] = all(v <= 1e-4 for k, v in out.items() if k.startswith("losses_vs"))
    return out


# ---- timing --------------------------------------------------------------------------------
class Clock:
    """Elapsed device time of a block: CUDA events (CuPy's or PyTorch's), else perf_counter."""

    def __init__(self, kind):
        self.kind = kind

    def time(self, fn, n):
        if self.kind == "cupy":
            import cupy

            a, b = cupy.cuda.Event(), cupy.cuda.Event()
            a.record()
            for _ in range(n):
                fn()
            b.record()
            b.synchronize()
            return cupy.cuda.get_elapsed_time(a, b) / 1e3
        if self.kind == "torch":
            import torch

            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(n):
                fn()
            b.record()
            b.synchronize()
            return a.elapsed_time(b) / 1e3
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - t


def steps_per_second(clock, fn, warmup, steps, repeats):
    for _ in range(warmup):
        fn()
    best = min(clock.time(fn, steps) for _ in range(repeats))
    return steps / best


def speed(cr, torch, device, torch_device, batches, steps, repeats):
    cr_clock = Clock("cupy" if device.startswith("cuda") else "host")
    out = {}
    for batch in batches:
        row = {}
        for name, compiled in (("eager", False), ("compiled", True)):
            step, _, x, y = cr_w1(cr, device, batch, compiled)
            row[name] = steps_per_second(cr_clock, lambda s=step, x=x, y=y: s(x, y), 3, steps,
                                         repeats)
        if torch is not None:
            tclock = Clock("torch" if torch_device.startswith("cuda") else "host")
            step, _, x, y = torch_w1(torch, torch_device, batch)
            row["torch_eager"] = steps_per_second(tclock, lambda s=step, x=x, y=y: s(x, y), 3,
                                                  steps, repeats)
        out[str(batch)] = row
    return out


# ---- costs per step ------------------------------------------------------------------------
def costs(cr, device, batch):
    """Per W1 step (and one read of its loss): ops, value reads and copies each way, for eager
    and compiled; the fake device also counts its kernel launches."""
    from chainrule import _device
    from chainrule.core import backend, mode

    b = _device.backend(cr.device(device))
    counts = {"h2d": 0, "d2h": 0}
    to_host, from_host = b.to_host, b.from_host

    def counted_to_host(a):
        counts["d2h"] += 1
        return to_host(a)

    def counted_from_host(a, index):
        counts["h2d"] += 1
        return from_host(a, index)

    class Reads(mode.Interceptor):
        def read(self, t, what):
            counts["reads"] = counts.get("reads", 0) + 1

    out = {}
    b.to_host, b.from_host = counted_to_host, counted_from_host
    try:
        for name, compiled in (("eager", False), ("compiled", True)):
            step, _, x, y = cr_w1(cr, device, batch, compiled)
            for _ in range(3):
                step(x, y)
            counts.clear()
            counts.update(h2d=0, d2h=0, reads=0)
            fake = None
            if device == "fake":
                from chainrule import _fake

                _fake.counters.reset()
                fake = _fake.counters
            ops = OpCount() if not compiled else None
            with mode.intercept(ops) if ops is not None else _null():
                loss = step(x, y)
            with mode.intercept(Reads()):
                loss.item()
            row = dict(counts)
            if ops is not None:
                row["ops"] = ops.n
            if fake is not None:
                row.update(launches=fake.launches, fake_reads=fake.reads)
            out[name] = row
    finally:
        b.to_host, b.from_host = to_host, from_host
        backend.PENDING.clear()
    return out


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _op_counter():
    from chainrule.core import mode

    class Ops(mode.Interceptor):
        def __init__(self):
            self.n = 0

        def forward(self, fn, inputs, arrays, raw, many):
            self.n += 1

        def vjp(self, node, grads, upstream):
            self.n += 1

    return Ops()


def OpCount():  # noqa: N802 (a factory named as the object it makes)
    return _op_counter()


# ---- the test suite on the device ---------------------------------------------------------
def test_suite(device, seconds, paths):
    """Run the core/nn/optim tests on the device only, for at most `seconds`."""
    out_dir = os.environ.get("OUT", ".")
    junit = os.path.join(out_dir, "gpu_check_junit.xml")
    env = dict(os.environ, CHAINRULE_TEST_DEVICES=device)
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider",
           f"--junitxml={junit}", "-x" if False else "--maxfail=50"]
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds)
        rc, tail = p.returncode, (p.stdout + p.stderr)[-3000:]
    except subprocess.TimeoutExpired as e:
        rc, tail = "timeout", ((e.stdout or b"").decode(errors="replace")
                               if isinstance(e.stdout, bytes) else (e.stdout or ""))[-3000:]
    summary = {"rc": rc, "seconds": round(time.perf_counter() - t, 1), "paths": paths,
               "tail": tail}
    if os.path.exists(junit):
        root = ET.parse(junit).getroot()
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        for k in ("tests", "failures", "errors", "skipped"):
            summary[k] = int(suite.get(k, 0))
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or fake (the dry run)")
    ap.add_argument("--json", default=None, help="where the summary goes")
    ap.add_argument("--batches", type=int, nargs="+", default=[1024, 8192])
    ap.add_argument("--steps", type=int, default=50, help="timed steps per block")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--agree-steps", type=int, default=10)
    ap.add_argument("--agree-batch", type=int, default=128)
    ap.add_argument("--budget", type=float, default=480.0,
                    help="seconds for everything; the test suite gets what is left")
    ap.add_argument("--tests", nargs="*", default=["tests/core", "tests/nn", "tests/optim"],
                    help="test paths to run on the device (none: skip)")
    args = ap.parse_args(argv)

    import chainrule as cr

    device = args.device
    summary = {"device": device, "python": sys.version.split()[0], "numpy": np.__version__}
    if device.startswith("cuda") and not cr.cuda.is_available():
        from chainrule import cuda

        cuda._load()
        summary["error"] = "CUDA is not available: " + str(cuda._state["error"])
        return _write(summary, args.json, 1)
    if device.startswith("cuda"):
        import cupy

        summary["cupy"] = cupy.__version__
        summary["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    try:
        import torch
    except ImportError:
        torch = None
    torch_device = device if device.startswith("cuda") and torch is not None \
        and torch.cuda.is_available() else "cpu"
    summary["torch"] = None if torch is None else torch.__version__
    summary["torch_device"] = torch_device
    cr.manual_seed(0)
    summary["agreement"] = agreement(cr, torch, device, torch_device, args.agree_steps,
                                     args.agree_batch)
    summary["seconds_agreement"] = round(_elapsed(), 1)
    summary["costs"] = costs(cr, device, args.agree_batch)
    summary["steps_per_second"] = speed(cr, torch, device, torch_device, args.batches,
                                        args.steps, args.repeats)
    summary["seconds_speed"] = round(_elapsed(), 1)
    if args.tests:
        left = args.budget - _elapsed() - 20
        summary["tests"] = test_suite(device, max(left, 10), args.tests)
    summary["seconds"] = round(_elapsed(), 1)
    ok = summary["agreement"]["ok"] and (not args.tests or summary["tests"]["rc"] == 0)
    summary["ok"] = ok
    return _write(summary, args.json, 0 if ok else 1)


def _write(summary, path, rc):
    if path is None:
        out = os.environ.get("OUT")
        path = os.path.join(out, "gpu_check.json") if out else "gpu_check.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    brief = {k: v for k, v in summary.items() if k not in ("tests",)}
    print(json.dumps(brief, indent=2))
    if "tests" in summary:
        t = summary["tests"]
        print("tests:", {k: t.get(k) for k in ("rc", "seconds", "tests", "failures", "errors",
                                                "skipped")})
    print("wrote", path)
    return rc


if __name__ == "__main__":
    sys.exit(main())
