"""einsum against np.einsum on 20+ equations (matrix products, batched attention scores, trace,
diagonal, outer, '...' broadcasting, implicit output), gradients by gradcheck (and second order
on a few); tensordot, outer, kron; the equation errors."""

import numpy as np
import pytest

import chainrule as cr

EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),                      # matrix product
    ("ij,jk", [(2, 3), (3, 4)]),                          # implicit output
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),             # batched matmul
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),    # attention scores
    ("bhqk,bhkd->bhqd", [(2, 2, 3, 5), (2, 2, 5, 4)]),    # attention-weighted values
    ("ii", [(3, 3)]),                                     # trace (implicit)
    ("ii->", [(4, 4)]),                                   # trace
    ("ii->i", [(3, 3)]),                                  # diagonal
    ("...ii->...i", [(2, 3, 3)]),                         # batched diagonal
    ("i,j->ij", [(3,), (4,)]),                            # outer
    ("i,i->", [(5,), (5,)]),                              # dot
    ("i,i", [(5,), (5,)]),                                # dot, implicit
    ("ij->ji", [(2, 3)]),                                 # transpose
    ("ij", [(2, 3)]),                                     # identity
    ("ba", [(2, 3)]),                                     # implicit: sorted labels transpose
    ("ij->", [(2, 3)]),                                   # sum
    ("ij->j", [(2, 3)]),                                  # column sums
    ("ij,ij->ij", [(2, 3), (2, 3)]),                      # Hadamard
    ("ij,j->i", [(3, 4), (4,)]),                          # matrix-vector
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),    # broadcasting batches with '...'
    ("...i,...i->...", [(2, 3), (3,)]),                   # batched dot, broadcast
    ("i...->...", [(3, 2, 2)]),                           # '...' after a label
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),           # a chain of three
    ("ijk,ikl->ijl", [(2, 3, 2), (2, 2, 4)]),
    ("iij->j", [(3, 3, 2)]),                              # repeated label in a 3-D operand
    ("ijij->ij", [(2, 3, 2, 3)]),                         # two repeated labels
    ("a,b,c->abc", [(2,), (3,), (2,)]),                   # three-way outer
    (",ij->ij", [(), (2, 3)]),                            # a scalar operand
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 3), (2, 3)]),       # bilinear
]


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, s) for s in shapes]


def test_there_are_at_least_twenty_equations():
    assert len(EQUATIONS) >= 20


@pytest.mark.parametrize("eq,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_einsum_matches_numpy(eq, shapes, dtype):
    xs = [x.astype(dtype) for x in _inputs(shapes)]
    got = cr.einsum(eq, *[cr.tensor(x) for x in xs])
    want = np.einsum(eq, *xs)
    assert got.shape == want.shape and got.dtype == dtype
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("eq,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_gradients_match_finite_differences(eq, shapes):
    xs = [cr.tensor(x, requires_grad=True) for x in _inputs(shapes, 1)]
    assert cr.gradcheck(lambda *a: cr.einsum(eq, *a), xs)


@pytest.mark.parametrize("eq,shapes", [EQUATIONS[i] for i in (3, 7, 19, 24, 22)],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_einsum_second_derivatives(eq, shapes):
    xs = [cr.tensor(x, requires_grad=True) for x in _inputs(shapes, 2)]
    assert cr.gradgradcheck(lambda *a: cr.einsum(eq, *a) ** 2, xs)


def test_einsum_takes_a_list_of_operands_as_torch():
    a, b = _inputs([(2, 3), (3, 2)])
    np.testing.assert_allclose(cr.einsum("ij,jk", [cr.tensor(a), cr.tensor(b)]).numpy(), a @ b)


def test_einsum_matches_torch():
    torch = pytest.importorskip("torch")
    for eq, shapes in EQUATIONS:
        xs = _inputs(shapes, 3)
        ours = [cr.tensor(x, requires_grad=True) for x in xs]
        theirs = [torch.tensor(x, requires_grad=True) for x in xs]
        yo, yt = cr.einsum(eq, *ours), torch.einsum(eq, *theirs)
        np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
        (yo * yo).sum().backward()
        (yt * yt).sum().backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("eq,shapes,message", [
    ("ij,jk->ik", [(2, 3), (4, 2)], "subscript 'j' of 'ij,jk->ik' has size 3 in operand 0 but 4 "
                                     "in operand 1"),
    ("ij,jk", [(2, 3)], "the equation 'ij,jk' names 2 operands; got 1"),
    ("ijk", [(2, 3)], "operand 0 has 2 dims but subscripts 'ijk'"),
    ("ij->ik", [(2, 3)], "output label 'k' of 'ij->ik' is in no input"),
    ("ij->ii", [(2, 2)], "the output subscripts of 'ij->ii' repeat a label"),
    ("i1", [(2, 3)], "invalid subscripts 'i1'"),
    ("ii->i", [(2, 3)], "subscript 'i' repeats in operand 0 of 'ii->i' with different sizes"),
    ("...i,...i->...", [(2, 3), (4, 3)], "the dims under '...' cannot be broadcast"),
])
def test_einsum_errors_name_the_problem(eq, shapes, message):
    with pytest.raises(ValueError, match="einsum: " + __import__("re").escape(message)):
        cr.einsum(eq, *[cr.tensor(x) for x in _inputs(shapes)])


def test_tensordot_outer_kron_match_numpy_and_differentiate():
    a, b = _inputs([(2, 3, 4), (3, 4, 5)])
    np.testing.assert_allclose(cr.tensordot(cr.tensor(a), cr.tensor(b)).numpy(),
                               np.tensordot(a, b), rtol=1e-12)
    np.testing.assert_allclose(cr.tensordot(cr.tensor(a), cr.tensor(b), dims=0).numpy(),
                               np.tensordot(a, b, 0), rtol=1e-12)
    np.testing.assert_allclose(cr.tensordot(cr.tensor(a), cr.tensor(b), ([1], [0])).numpy(),
                               np.tensordot(a, b, ([1], [0])), rtol=1e-12)
    u, v = _inputs([(3,), (4,)])
    np.testing.assert_allclose(cr.outer(cr.tensor(u), cr.tensor(v)).numpy(), np.outer(u, v))
    for sa, sb in [((2, 3), (3, 2)), ((3,), (2, 2)), ((2, 1, 3), (2, 2))]:
        x, y = _inputs([sa, sb])
        np.testing.assert_allclose(cr.kron(cr.tensor(x), cr.tensor(y)).numpy(), np.kron(x, y))
        assert cr.gradgradcheck(cr.kron, [cr.tensor(x, requires_grad=True),
                                          cr.tensor(y, requires_grad=True)])
    with pytest.raises(ValueError, match="tensordot: a's dim 2 has size 4 but b's dim 0 has 3"):
        cr.tensordot(cr.tensor(a), cr.tensor(b), ([2], [0]))
    with pytest.raises(ValueError, match="outer: expected two 1-D tensors"):
        cr.outer(cr.tensor(a), cr.tensor(u))


@pytest.mark.parametrize("eq,shapes", [
    ("bhqd,bhkd->bhqk", [(2, 4, 16, 32), (2, 4, 16, 32)]), ("ij,jk->ik", [(50, 60), (60, 70)]),
    ("ijx,jky->ik", [(20, 30, 3), (30, 40, 2)]), ("i,j->ij", [(3000,), (2000,)]),
    ("abc,cb->a", [(10, 20, 30), (30, 20)]), (",ij->ij", [(), (64, 65)]),
    ("ij,ij->", [(64, 64), (64, 64)]), ("ij,jk->ki", [(40, 70), (70, 60)]),
    ("ii,ij->j", [(70, 70), (70, 5)]),  # (a repeated label: np.einsum's own loop)
])
def test_large_two_operand_einsums_take_the_matmul_path_and_agree(eq, shapes):
    xs = [cr.tensor(x, requires_grad=True) for x in _inputs(shapes, 4)]
    y = cr.einsum(eq, *xs)
    want = np.einsum(eq, *[x.numpy() for x in xs])
    assert y.shape == want.shape
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-11)
    w = np.random.default_rng(5).standard_normal(want.shape)
    grads = cr.autograd.grad((y * cr.tensor(w)).sum(), xs)
    for k, g in enumerate(grads):  # d <w, y> / d x_k: an einsum of w with the other operands
        subs, out = eq.split("->")
        subs = subs.split(",")
        others = [x.numpy() for j, x in enumerate(xs) if j != k]
        other_subs = [s for j, s in enumerate(subs) if j != k]
        if len(set(subs[k])) == len(subs[k]) and set(subs[k]) <= set(out).union(*other_subs):
            ref = np.einsum(",".join([out] + other_subs) + "->" + subs[k], w, *others)
            np.testing.assert_allclose(g.numpy(), ref, rtol=1e-10, atol=1e-10)
