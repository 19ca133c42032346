"""Data-parallel W1: 2 processes at batch 256 each vs 1 process at batch 512 (one global batch).

    python -m bench.distributed            # a few minutes on 2 cores
    python -m bench.distributed --quick    # a smoke run

W1 is bench/workloads.py's 784-256-128-10 ReLU MLP with softmax cross-entropy and Adam, from the
shared initial weights. Three jobs, run in turn for several rounds: one process with one BLAS
thread, one process with two, and two processes (chainrule's launcher: shared memory only) with
one thread each. Inside a job every variant has its own model, and the variants take turns
block by block (a block runs from a barrier to a barrier: until the slower process is done), so
the drift of a shared machine hits them alike. Reported:
the median steps/s over blocks (min-max), and for DistributedDataParallel the exposed
communication: the time the last gradient's hook waits for the all-reduces, i.e. what
overlapping did not hide (including waiting for the other process to finish its backward).

Variants:
  b512 plain           one process, the global batch (no DDP)
  b512 DDP bookkeeping one process through DDP's hooks and buckets (grad_weight 0.5 arms them),
                       without communication
  b256 no comm         two processes training independently: the compute-only ceiling
  b256 DDP cap C MB    gradient all-reduce in buckets of C MB (25: one bucket, reduced after
                       backward; 0.25: three, the first overlapping layer 1's backward)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
GLOBAL_BATCH = 512
JOBS = {  # job -> (processes, BLAS threads, variants)
    "1p t1": (1, 1, [{"name": "b512 plain"},
                     {"name": "b512 DDP bookkeeping", "ddp": 25, "grad_weight": 0.5},
                     {"name": "b512 plain, compiled", "compile": True}]),
    "1p t2": (1, 2, [{"name": "b512 plain"}]),
    "2p t1": (2, 1, [{"name": "b256 no comm"},
                     {"name": "b256 DDP cap 25 MB", "ddp": 25},
                     {"name": "b256 DDP cap 0.25 MB", "ddp": 0.25},
                     {"name": "b256 DDP cap 0.25 MB, compiled", "ddp": 0.25, "compile": True}]),
}


def _model():
    import chainrule as cr
    from bench.workloads import W1_SIZES, initial_weights, mlp_layers

    model = cr.nn.Sequential(*mlp_layers(cr.nn, W1_SIZES, "relu"))
    for p, w in zip(model.parameters(), initial_weights(W1_SIZES)):
        p.data[...] = w
    return model


def _variant(spec, x, y):
    """(step, exposed seconds [a one-item list], model, ddp or None) of one variant."""
    import chainrule as cr
    import chainrule.distributed as dist
    import chainrule.nn.functional as F
    from bench.workloads import ADAM

    model = _model()
    net, exposed = model, [0.0]
    if spec.get("ddp"):
        net = dist.DistributedDataParallel(model, bucket_cap_mb=spec["ddp"])
        net.grad_weight = spec.get("grad_weight")
        reducer = net._reducer
        finish = reducer._finish

        def timed_finish(current):
            start = time.perf_counter()
            finish(current)
            exposed[0] += time.perf_counter() - start

        reducer._finish = timed_finish
    opt = cr.optim.Adam(net.parameters(), **ADAM)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    return (cr.compile(step) if spec.get("compile") else step), exposed, model, \
        (net if spec.get("ddp") else None)


def worker(job, steps, blocks, out):
    """Time the job's variants in turn in this process (one rank, or alone); rank 0 writes."""
    import chainrule as cr
    import chainrule.distributed as dist
    from bench.workloads import w1_data

    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    x, y = w1_data(GLOBAL_BATCH // world, seed=1 + rank)  # each process its own rows
    x = cr.tensor(x)
    specs = JOBS[job][2]
    variants = [_variant(spec, x, y) for spec in specs]
    for step, *_ in variants:
        for _ in range(max(5, steps // 4)):  # warm up: traces, caches, the bucket re-cut
            step()
    rates = {s["name"]: [] for s in specs}
    waits = {s["name"]: [] for s in specs}
    for b in range(blocks):
        for k in range(len(variants)):
            spec = specs[(k + b) % len(specs)]
            step, exposed, _, _ = variants[(k + b) % len(specs)]
            dist.barrier()
            exposed[0] = 0.0
            start = time.perf_counter()
            for _ in range(steps):
                step()
            dist.barrier()  # a block lasts until the slower process is done
            rates[spec["name"]].append(steps / (time.perf_counter() - start))
            waits[spec["name"]].append(1e3 * exposed[0] / steps)
    comm = []
    if world > 1:  # the all-reduce of all of W1's gradients on its own (0.94 MB)
        flat = cr.zeros(sum(p.numpy().size for p in variants[0][2].parameters()))
        for _ in range(20):
            start = time.perf_counter()
            dist.all_reduce(flat)
            comm.append(1e3 * (time.perf_counter() - start))
    for spec, (_, _, model, ddp) in zip(specs, variants):
        if ddp is not None and world > 1:  # the replicas must still agree
            total = cr.tensor(np.array([sum(float(p.numpy().sum()) for p in
                                            model.parameters())]))
            mine = float(total.item())
            dist.all_reduce(total, op=dist.ReduceOp.MAX)
            assert float(total.item()) == mine, f"{spec['name']}: the replicas diverged"
    if rank == 0:
        buckets = {s["name"]: len(v[3]._reducer.buckets) for s, v in zip(specs, variants)
                   if v[3] is not None}
        with open(out, "w") as f:
            json.dump({"rates": rates, "exposed_ms": waits, "buckets": buckets,
                       "allreduce_ms": comm}, f)


def run(job, steps, blocks):
    """Run one job in fresh processes; rank 0's timings."""
    nproc, threads, _ = JOBS[job]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(ROOT, "src"), ROOT,
                                                    env.get("PYTHONPATH")) if p)
    for var in BLAS_VARS:
        env[var] = str(threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        args = ["-m", "bench.distributed", "--worker", job, "--steps", str(steps), "--blocks",
                str(blocks), "--out", out]
        command = [sys.executable, *args] if nproc == 1 else \
            [sys.executable, "-m", "chainrule.distributed.launch", "--nproc", str(nproc), *args]
        proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"bench.distributed: job {job} failed:\n{proc.stderr[-3000:]}")
        with open(out) as f:
            return json.load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.distributed")
    parser.add_argument("--quick", action="store_true", help="short blocks (a smoke run)")
    parser.add_argument("--steps", type=int, default=None, help="steps per timed block")
    parser.add_argument("--blocks", type=int, default=None, help="blocks per variant and round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds over the jobs")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    steps = ns.steps or (5 if ns.quick else 25)
    blocks = ns.blocks or (2 if ns.quick else 4)
    rounds = ns.rounds or (1 if ns.quick else 3)
    if ns.worker:
        worker(ns.worker, steps, blocks, ns.out)
        return
    got = {job: {"rates": {}, "exposed_ms": {}, "buckets": {}, "allreduce_ms": []}
           for job in JOBS}
    jobs = list(JOBS)
    for r in range(rounds):
        for k in range(len(jobs)):
            job = jobs[(k + r) % len(jobs)]
            new = run(job, steps, blocks)
            for key in ("rates", "exposed_ms"):
                for name, values in new[key].items():
                    got[job][key].setdefault(name, []).extend(values)
            got[job]["buckets"] = new["buckets"]
            got[job]["allreduce_ms"] += new["allreduce_ms"]
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    median = {(job, name): statistics.median(v) for job in JOBS
              for name, v in got[job]["rates"].items()}
    t1, t2 = median[("1p t1", "b512 plain")], median[("1p t2", "b512 plain")]
    t1_compiled = median[("1p t1", "b512 plain, compiled")]
    print(f"W1 (784-256-128-10 ReLU, Adam), global batch {GLOBAL_BATCH}: {steps} steps x "
          f"{blocks} blocks x {rounds} rounds per variant, median (min-max) steps/s; "
          f"{os.cpu_count()} cores\n")
    print("| job | variant | buckets | steps/s | exposed comm (ms/step) | efficiency | "
          "vs 1p t2 |")
    print("|---|---|---|---|---|---|---|")
    for job, (nproc, _, specs) in JOBS.items():
        for spec in specs:
            name = spec["name"]
            rates = got[job]["rates"][name]
            rate = median[(job, name)]
            base = t1_compiled if spec.get("compile") else t1
            exposed = f"{statistics.median(got[job]['exposed_ms'][name]):.2f}" \
                if spec.get("ddp") and nproc > 1 else "-"
            print(f"| {job} | {name} | {got[job]['buckets'].get(name, '-')} | {rate:.1f} "
                  f"({min(rates):.1f}-{max(rates):.1f}) | {exposed} | "
                  f"{rate / (nproc * base):.2f} | {rate / t2:.2f}x |")
    comm = got["2p t1"]["allreduce_ms"]
    print(f"\nall-reduce of all W1 gradients (0.94 MB, 2 processes): median "
          f"{statistics.median(comm):.2f} ms (min {min(comm):.2f})")
    print("efficiency = steps/s / (processes x steps/s of one process, one thread, the global "
          "batch; compiled rows against the compiled one); 1.00 is perfect scaling")


if __name__ == "__main__":
    main()
