"""Random graphs composed of the op table's rows, within each row's declared input domains:
first and second derivatives against finite differences, and cr.compile's replay against eager,
bit for bit. A fixed seed and number of graphs: every op family added to the table is fuzzed
the day its rows are added."""

import numpy as np
import pytest

import chainrule as cr
from tests.core.op_table import OPS

GRAPHS = 300
SEED = 20261202


def _to_domain(a, domain, sign):
    """A smooth, bounded map of a onto an op's input domain."""
    if domain == "pos":
        return 0.3 + 2.0 * a.sigmoid()
    if domain == "away":
        return sign * (0.2 + 1.8 * a.sigmoid())
    if domain == "unit":
        return 0.9 * a.tanh()
    if domain == "prob":
        return 0.05 + 0.9 * a.sigmoid()
    return 2.0 * a.tanh()


class Plan:
    """One random graph: rows applied in order, each input read from an earlier value."""

    def __init__(self, rng, rows, depth=4):
        self.leaf_shapes = [(5,), (2, 3)]
        self.steps = []
        n_values = len(self.leaf_shapes)
        for _ in range(depth):
            row = rows[rng.integers(len(rows))]
            reads = []
            for shape, domain in zip(row.shapes, row.domain or ("real",) * len(row.shapes)):
                src = int(rng.integers(n_values))
                k = int(np.prod(shape, dtype=np.int64))
                reads.append((src, rng.integers(0, 2**30, k), shape, domain,
                              rng.uniform(0.5, 1.5), rng.uniform(-1.0, 1.0, shape),
                              np.where(rng.random(shape) < 0.5, -1.0, 1.0)))
            self.steps.append((row, reads))
            n_values += 1
        self.weights_seed = int(rng.integers(2**31))

    def __call__(self, *leaves):
        values = list(leaves)
        flat = [v.reshape(-1) for v in values]
        for row, reads in self.steps:
            args = []
            for src, idx, shape, domain, scale, shift, sign in reads:
                source = flat[src]
                # a distinct shift per element: no ties even when every element reads one value
                a = source[cr.tensor(idx % source.numel())].reshape(shape) * scale \
                    + cr.tensor(shift)
                args.append(_to_domain(a, domain, cr.tensor(sign)))
            out = row.fn(*args)
            outs = [o for o in (out if isinstance(out, tuple) else (out,))
                    if o.dtype.kind == "f"]
            y = sum(o.reshape(-1).sum() * 0.1 for o in outs[1:]) + outs[0].reshape(-1) \
                if len(outs) > 1 else outs[0].reshape(-1)
            if y.numel() == 0:
                y = values[-1].reshape(-1)
            values.append(y)
            flat.append(y.reshape(-1))
        rng = np.random.default_rng(self.weights_seed)
        return sum((v.reshape(-1) * cr.tensor(rng.uniform(-1, 1, v.numel()))).sum()
                   for v in values[-2:])

    def describe(self):
        return " -> ".join(row.id for row, _ in self.steps)


def _plans():
    rng = np.random.default_rng(SEED)
    rows = [r for r in OPS if r.second_order]
    return [Plan(rng, rows) for _ in range(GRAPHS)]


PLANS = _plans()


def _leaves(plan, seed):
    rng = np.random.default_rng(seed)
    return [cr.tensor(rng.uniform(-1.5, 1.5, s), requires_grad=True) for s in plan.leaf_shapes]


@pytest.mark.parametrize("i", range(GRAPHS))
def test_random_graph_derivatives_match_finite_differences(i):
    plan = PLANS[i]
    leaves = _leaves(plan, i)
    try:
        assert cr.gradcheck(plan, leaves)
        assert cr.gradgradcheck(plan, leaves)
    except cr.autograd.GradcheckError as e:
        raise AssertionError(f"graph {plan.describe()}: {e}") from None


@pytest.mark.parametrize("i", range(0, GRAPHS, 2))
def test_random_graph_replays_its_gradients_bit_for_bit(i):
    plan = PLANS[i]

    def step(u, v):
        loss = plan(u, v)
        return (loss,) + cr.autograd.grad(loss, [u, v], allow_unused=True)

    compiled = cr.compile(step)
    for call in range(4):  # two traced calls, then two replays, each on new leaves
        eager = step(*_leaves(plan, 1000 + call))
        replay = compiled(*_leaves(plan, 1000 + call))
        for a, b in zip(eager, replay):
            assert (a is None) == (b is None), plan.describe()
            if a is not None:
                np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=plan.describe())
    assert any(e.programs for e in compiled._entries.values()), plan.describe()
