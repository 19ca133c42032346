"""Memory of chainrule steps, eager and compiled: peak RSS of 50 W1 steps, and RSS growth.

    python -m bench.memory                  # both peers, 10,000 steps each (W1 batch 32)
    python -m bench.memory --steps 2000 --workload W2

Peak RSS: a fresh process per peer runs 50 W1 steps, batch 128 (bench/worker.py --rss, as
`python -m bench` reports it). Growth: a fresh process runs 200 warm-up steps, reads its
resident set (/proc/self/statm), runs `steps` more and reads it again; a leak of a few bytes
per step shows as MiB over 10,000 steps. Neither is a timing, so a loaded machine does not
change them (acceptance: peak <= 46 MiB, growth < 1 MiB over 10,000 steps). With numba
installed the chainrule peers run its kernels, whose LLVM adds ~120 MiB to the peak (the
first line says which ran; CHAINRULE_NUMBA=0 measures NumPy only).
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_mib():
    """This process's resident set now, in MiB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def growth(peer_name, workload, batch, steps, warmup=200):
    """(RSS after the warm-up, RSS after `steps` more steps), MiB, in this process."""
    from bench.worker import build, load_peer

    step, _ = build(load_peer(peer_name, 1), workload, batch)
    for _ in range(warmup):
        step()
    before = rss_mib()
    for _ in range(steps):
        step()
    return before, rss_mib()


def _fresh(args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--workload", choices=["W1", "W2"], default="W1")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--peers", nargs="+", default=["chainrule", "compiled"])
    ap.add_argument("--growth-only", metavar="PEER", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.growth_only:  # the child process
        before, after = growth(args.growth_only, args.workload, args.batch, args.steps)
        print(json.dumps({"before": before, "after": after}))
        return
    from bench.run import numba_on

    print("chainrule with numba's kernels (numba's LLVM: ~120 MiB of the peak; "
          "CHAINRULE_NUMBA=0 for NumPy only)" if numba_on() else "chainrule, NumPy only")
    for peer in args.peers:
        peak = _fresh(["-m", "bench.worker", "--rss", peer])["rss_mib"]
        g = _fresh(["-m", __spec__.name, "--growth-only", peer, "--steps", str(args.steps),
                    "--workload", args.workload, "--batch", str(args.batch)])
        print(f"{peer:>10}: peak RSS of 50 W1 steps (batch 128) {peak:6.1f} MiB;  "
              f"{args.workload} b{args.batch}: RSS {g['before']:6.1f} -> {g['after']:6.1f} MiB "
              f"over {args.steps} steps (growth {g['after'] - g['before']:+.2f} MiB)")


if __name__ == "__main__":
    main()
