"""One peer in its own process: builds workloads and times them on request from bench.run.

    python -m bench.worker PEER THREADS      # JSON commands on stdin, one JSON reply per line

BLAS threads are fixed by the environment bench.run starts this process with (set before NumPy
loads). Commands: setup (build a workload and warm it up), time (run `number` steps), check
(fresh model: the losses of the first steps, or the Hessian-vector product, for the agreement
check), quit. A separate entry point, ``--rss PEER``, runs 50 W1 steps and prints the peak RSS.
"""

import importlib
import json
import resource
import sys
import time

import numpy as np

from bench import workloads

PEERS = ("chainrule", "compiled", "numpy", "torch", "jax")


def load_peer(name, threads):
    """The peer's module, configured for the thread setting (before its library is imported)."""
    peer = importlib.import_module(f"bench.peers.{name}_peer")
    if hasattr(peer, "configure"):
        peer.configure(threads)
    return peer


def build(peer, workload, batch):
    """(step, result) for one workload on that peer's data."""
    if workload == "W1":
        return peer.w1(*workloads.w1_data(batch))
    if workload == "W2":
        return peer.w2(*workloads.w2_data(batch))
    if workload == "W4":
        return peer.w4(*workloads.w1_data(batch))
    if workload == "W3":
        from bench import lenet

        return peer.w3(*lenet.w3_data(batch))
    if workload == "W7":
        from bench import transformer

        return peer.w7(*transformer.w7_data(batch))
    raise ValueError(f"unknown workload {workload!r}")


def check(peer, workload, batch, steps, path):
    """Losses of the first `steps` steps from the shared initial weights (W4: H v, saved)."""
    step, result = build(peer, workload, batch)
    if workload == "W4":
        step()
        np.save(path, result())
        return {"saved": path}
    losses = []
    for _ in range(steps):
        step()
        losses.append(result())
    return {"losses": losses}


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def serve(peer):
    steps = {}
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "quit":
            break
        try:
            if cmd == "setup":
                step, _ = build(peer, msg["workload"], msg["batch"])
                for _ in range(3):  # warm-up: first-step allocations, caches, jit compilation
                    step()
                t0 = time.perf_counter()
                step()
                steps[msg["key"]] = step
                reply = {"per_step": time.perf_counter() - t0}
            elif cmd == "time":
                step, number = steps[msg["key"]], msg["number"]
                f0 = minor_faults()
                t0 = time.perf_counter()
                for _ in range(number):
                    step()
                seconds = time.perf_counter() - t0
                reply = {"seconds": seconds / number,
                         "faults": (minor_faults() - f0) / number}
            elif cmd == "drop":
                steps.pop(msg["key"], None)
                reply = {}
            elif cmd == "check":
                reply = check(peer, msg["workload"], msg["batch"], msg["steps"], msg["path"])
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as e:  # report, do not hang the orchestrator
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


def peak_rss(peer_name, steps=50, batch=128):
    """Peak resident memory (MiB) of a fresh process that runs `steps` W1 steps."""
    peer = load_peer(peer_name, 1)
    step, _ = build(peer, "W1", batch)
    for _ in range(steps):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv):
    if argv[0] == "--rss":
        print(json.dumps({"rss_mib": peak_rss(argv[1])}), flush=True)
        return
    name, threads = argv[0], int(argv[1])
    try:
        peer = load_peer(name, threads)
        print(json.dumps({"version": peer.version()}), flush=True)
    except ImportError as e:
        print(json.dumps({"unavailable": str(e)}), flush=True)
        return
    serve(peer)


if __name__ == "__main__":
    main(sys.argv[1:])
