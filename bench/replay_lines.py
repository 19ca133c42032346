"""The CPU time of each line of a compiled step's replay (a profile of the generated program).

    python -m bench.replay_lines [--workload W1|W2|W7] [--batch 32] [--steps 3000] [--lines]

(W7 has its own batch, 16 sequences of 32 tokens.)

The replay's source (`compiled.source`) is executed again with a timer around every line
(time.process_time, so time the process waits for a core on a loaded machine is not counted;
the timer's own cost, measured on an empty line, is subtracted). Lines are grouped as BLAS
(Linear, MatMul, attention's p v and its gradients), elementwise NumPy (the other ops), the
gradients' hand-over (grad memory, hand-over, delivery), the optimizer's effects (zero_grad,
step) and the rest (dels, glue).
The call's own overhead (argument key, guards) is outside the replay and not included.
"""

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from bench import workloads  # noqa: E402
from bench.peers import chainrule_peer  # noqa: E402


def _group(line):
    if "Linear()" in line or "MatMul()" in line or "AttentionValues" in line:
        return "BLAS (Linear, MatMul, p v)"
    if "Optimizer." in line:
        return "optimizer effects (zero_grad, step)"
    if line.startswith(("DELIVER", "HANDOVER")) or "= MEMORY" in line or \
            line.split("=")[-1].lstrip().startswith(("DELIVER", "HANDOVER")):
        return "gradient hand-over"
    if "  # " in line and not line.startswith("del"):
        return "elementwise NumPy (other ops)"
    return "glue (del, ...)"


def profile(workload="W2", batch=32, steps=3000):
    """[(line, seconds per replay)] and the timer's cost per line."""
    import chainrule as cr

    if workload == "W7":
        from bench import transformer

        data, make = transformer.w7_data(), chainrule_peer.w7
    else:
        data = workloads.w1_data(batch) if workload == "W1" else workloads.w2_data(batch)
        make = chainrule_peer.w1 if workload == "W1" else chainrule_peer.w2
    compiled = cr.compile(make(*data)[0])
    for _ in range(5):
        compiled()
    prog = next(iter(compiled._entries.values())).programs[0]
    ns = dict(prog.run.__globals__)
    src = prog.source.splitlines()
    out, lines = [src[0]], []
    for line in src[1:]:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        indent = line[:len(line) - len(line.lstrip())]
        if s.startswith("return"):
            out.append(indent + s)
            continue
        out.append(f"{indent}_t = PC(); {s.split('  #')[0]}; TT[{len(lines)}] += PC() - _t")
        lines.append(s)
    ns["PC"], ns["TT"] = time.process_time, [0.0] * len(lines)
    exec("\n".join(out), ns)  # noqa: S102 (the replay's own source, re-timed)
    base = {"PC": time.process_time, "TT": [0.0]}
    exec("def empty():\n    _t = PC(); pass; TT[0] += PC() - _t", base)  # noqa: S102
    run, tt = ns["replay"], ns["TT"]
    for _ in range(100):
        run([])
    tt[:] = [0.0] * len(tt)
    for _ in range(steps):
        run([])
        base["empty"]()
    cost = base["TT"][0] / steps
    return [(s, t / steps - cost) for s, t in zip(lines, tt)], cost


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=["W1", "W2", "W7"], default="W2")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lines", action="store_true", help="print every line, not only groups")
    args = ap.parse_args()
    rows, cost = profile(args.workload, args.batch, args.steps)
    total = sum(t for _, t in rows)
    print(f"replay of one compiled {args.workload} step, batch {args.batch} (1 thread): "
          f"{total * 1e6:.1f} us CPU in its lines (timer cost {cost * 1e6:.2f} us a line, "
          "subtracted)")
    if args.lines:
        for s, t in rows:
            print(f"  {t * 1e6:6.2f} us  {s[:100]}")
    groups = {}
    for s, t in rows:
        groups[_group(s)] = groups.get(_group(s), 0.0) + t
    for name, t in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<40} {t * 1e6:7.1f} us  {100 * t / total:5.1f} %")


if __name__ == "__main__":
    main()
