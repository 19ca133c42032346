"""Op-table rows of the torch-compatibility ops: indexing (gather, scatter, index_select, ...),
order statistics (sort, topk, median, mode, cummax), products (prod, cumprod, norm, mm, ...),
layout (flip, roll, repeat, chunk, ...) and rounding-based functions (frac, remainder, ...).

Rows whose function jumps (frac, remainder, fmod) are first-order only: finite differences
across a jump are meaningless, so the random-graph fuzz leaves them out."""

import numpy as np

import chainrule as cr
from tests.core.op_table import row


def _torch():
    import torch

    return torch


def _t(a):
    return _torch().as_tensor(a)


# ---- indexing ------------------------------------------------------------------------------
IDX0 = np.array([[0, 2, 1], [2, 2, 0]])  # (2, 3) index into a (3, 4) input along dim 0
IDX1 = np.array([[3, 0], [1, 1], [0, 3]])  # (3, 2) along dim 1: repeats add in the gradient


def _np_gather(x, dim, index):
    mesh = list(np.indices(index.shape, sparse=True))
    mesh[dim] = index
    return x[tuple(mesh)]


def _np_scatter_add(x, dim, index, src):
    y = x.copy()
    mesh = list(np.indices(index.shape, sparse=True))
    mesh[dim] = index
    np.add.at(y, tuple(mesh), src[tuple(slice(0, n) for n in index.shape)])
    return y


def _np_scatter(x, dim, index, src):
    y = x.copy()
    mesh = list(np.indices(index.shape, sparse=True))
    mesh[dim] = index
    y[tuple(mesh)] = src[tuple(slice(0, n) for n in index.shape)]
    return y


row("gather0", lambda x: x.gather(0, cr.tensor(IDX0)), lambda x: _np_gather(x, 0, IDX0),
    ((3, 4),), torch=lambda x: x.gather(0, _t(IDX0)))
row("gather1", lambda x: cr.gather(x, 1, cr.tensor(IDX1)), lambda x: _np_gather(x, 1, IDX1),
    ((3, 4),), torch=lambda x: x.gather(1, _t(IDX1)))
row("gather_neg_dim", lambda x: x.gather(-1, cr.tensor(IDX1)), lambda x: _np_gather(x, 1, IDX1),
    ((3, 4),), torch=lambda x: x.gather(-1, _t(IDX1)))
row("scatter_add0", lambda x, s: x.scatter_add(0, cr.tensor(IDX0), s),
    lambda x, s: _np_scatter_add(x, 0, IDX0, s), ((3, 4), (2, 3)),
    torch=lambda x, s: x.scatter_add(0, _t(IDX0), s))
# (torch's own backward refuses a src larger than index: no torch reference for this row)
row("scatter_add_bigger_src", lambda x, s: x.scatter_add(1, cr.tensor(IDX1), s),
    lambda x, s: _np_scatter_add(x, 1, IDX1, s), ((3, 4), (3, 3)))
UNIQUE1 = np.array([[3, 0], [1, 2], [0, 3]])  # no repeats along a row: scatter is well defined
row("scatter_src", lambda x, s: x.scatter(1, cr.tensor(UNIQUE1), s),
    lambda x, s: _np_scatter(x, 1, UNIQUE1, s), ((3, 4), (3, 2)),
    torch=lambda x, s: x.scatter(1, _t(UNIQUE1), s))
row("scatter_value", lambda x: x.scatter(1, cr.tensor(UNIQUE1), 0.5),
    lambda x: _np_scatter(x, 1, UNIQUE1, np.full((3, 2), 0.5)), ((3, 4),),
    torch=lambda x: x.scatter(1, _t(UNIQUE1), 0.5))
row("index_select0", lambda x: x.index_select(0, cr.tensor([2, 0, 2])),
    lambda x: x[[2, 0, 2]], ((3, 4),), torch=lambda x: x.index_select(0, _t([2, 0, 2])))
row("index_select1", lambda x: cr.index_select(x, 1, cr.tensor([3, 1])),
    lambda x: x[:, [3, 1]], ((3, 4),), torch=lambda x: x.index_select(1, _t([3, 1])))
row("index_add", lambda x, s: x.index_add(0, cr.tensor([2, 0, 2]), s, alpha=2.0),
    lambda x, s: x + 2 * np.stack([s[1], 0 * s[0], s[0] + s[2]]), ((3, 4), (3, 4)),
    torch=lambda x, s: x.index_add(0, _t([2, 0, 2]), s, alpha=2.0))
row("index_fill", lambda x: x.index_fill(1, cr.tensor([0, 2]), -1.0),
    lambda x: np.where(np.isin(np.arange(4), [0, 2]), -1.0, x), ((3, 4),),
    torch=lambda x: x.index_fill(1, _t([0, 2]), -1.0))
row("index_copy", lambda x, s: x.index_copy(0, cr.tensor([2, 0]), s),
    lambda x, s: np.stack([s[1], x[1], s[0]]), ((3, 4), (2, 4)),
    torch=lambda x, s: x.index_copy(0, _t([2, 0]), s))
MASK = np.array([[True, False, True, False], [False, False, True, True],
                 [True, True, False, False]])
row("masked_fill", lambda x: x.masked_fill(cr.tensor(MASK), -1.5),
    lambda x: np.where(MASK, -1.5, x), ((3, 4),), torch=lambda x: x.masked_fill(_t(MASK), -1.5))
row("masked_fill_broadcast", lambda x: x.masked_fill(cr.tensor(MASK[0]), 0.0),
    lambda x: np.where(MASK[0], 0.0, x), ((3, 4),),
    torch=lambda x: x.masked_fill(_t(MASK[0]), 0.0))
row("masked_select", lambda x: x.masked_select(cr.tensor(MASK)), lambda x: x[MASK], ((3, 4),),
    torch=lambda x: x.masked_select(_t(MASK)))
row("take", lambda x: cr.take(x, cr.tensor([[0, 11], [5, 5]])),
    lambda x: x.reshape(-1)[[[0, 11], [5, 5]]], ((3, 4),),
    torch=lambda x: _torch().take(x, _t([[0, 11], [5, 5]])))
row("where_method", lambda x, y: x.where(x > y, y), lambda x, y: np.where(x > y, x, y),
    ((3, 4), (4,)), torch=lambda x, y: x.where(x > y, y))

# ---- order statistics ----------------------------------------------------------------------
row("sort", lambda x: x.sort(dim=1).values, lambda x: np.sort(x, 1), ((3, 5),),
    torch=lambda x: x.sort(dim=1).values)
row("sort_descending0", lambda x: cr.sort(x, 0, descending=True).values,
    lambda x: -np.sort(-x, 0), ((4, 3),), torch=lambda x: x.sort(0, descending=True).values)
row("argsort_gather", lambda x: x.gather(1, x.argsort(1, descending=True)),
    lambda x: -np.sort(-x, 1), ((3, 4),),
    torch=lambda x: x.gather(1, x.argsort(1, descending=True)))
row("topk", lambda x: x.topk(2).values, lambda x: -np.sort(-x, -1)[..., :2], ((3, 5),),
    torch=lambda x: x.topk(2).values)
row("topk_smallest_dim0", lambda x: cr.topk(x, 3, dim=0, largest=False).values,
    lambda x: np.sort(x, 0)[:3], ((4, 2),), torch=lambda x: x.topk(3, 0, largest=False).values)
row("kthvalue", lambda x: x.kthvalue(2, 1).values, lambda x: np.sort(x, 1)[:, 1], ((3, 4),),
    torch=lambda x: x.kthvalue(2, 1).values)
row("median_all", lambda x: x.median(), lambda x: np.sort(x.reshape(-1))[(x.size - 1) // 2],
    ((3, 4),), torch=lambda x: x.median())
row("median_dim", lambda x: cr.median(x, dim=1, keepdim=True).values,
    lambda x: np.sort(x, 1)[:, 1:2], ((3, 4),), torch=lambda x: x.median(1, keepdim=True).values)
row("msort", lambda x: cr.msort(x), lambda x: np.sort(x, 0), ((4, 3),),
    torch=lambda x: _torch().msort(x))
row("mode", lambda x: x.mode(1).values, lambda x: np.min(x, 1), ((3, 4),),
    torch=lambda x: x.mode(1).values)
row("cummax", lambda x: x.cummax(1).values, lambda x: np.maximum.accumulate(x, 1), ((3, 5),),
    torch=lambda x: x.cummax(1).values)
row("cummin", lambda x: cr.cummin(x, 0).values, lambda x: np.minimum.accumulate(x, 0),
    ((4, 3),), torch=lambda x: x.cummin(0).values)

# ---- products and norms --------------------------------------------------------------------
row("prod_all", lambda x: x.prod(), np.prod, ((2, 3),), ("away",), torch=lambda x: x.prod())
row("prod_dim", lambda x: x.prod(1, keepdim=True), lambda x: np.prod(x, 1, keepdims=True),
    ((3, 4),), ("away",), torch=lambda x: x.prod(1, keepdim=True))
row("cumprod", lambda x: x.cumprod(1), lambda x: np.cumprod(x, 1), ((2, 4),), ("away",),
    torch=lambda x: x.cumprod(1))
row("norm_fro", lambda x: x.norm(), np.linalg.norm, ((3, 4),), torch=lambda x: x.norm())
row("norm_p1_dim", lambda x: x.norm(1, dim=1), lambda x: np.abs(x).sum(1), ((3, 4),),
    ("away",), torch=lambda x: x.norm(1, dim=1))
row("norm_p3", lambda x: cr.norm(x, 3, dim=0, keepdim=True),
    lambda x: (np.abs(x) ** 3).sum(0, keepdims=True) ** (1 / 3), ((3, 4),), ("away",),
    torch=lambda x: x.norm(3, dim=0, keepdim=True))
row("norm_inf", lambda x: x.norm(float("inf"), dim=1), lambda x: np.abs(x).max(1), ((3, 4),),
    ("away",), torch=lambda x: x.norm(float("inf"), dim=1))
row("dist", lambda a, b: cr.dist(a, b), lambda a, b: np.linalg.norm(a - b), ((3,), (3,)),
    torch=lambda a, b: _torch().dist(a, b))
row("mm", lambda a, b: a.mm(b), np.matmul, ((2, 3), (3, 4)), torch=lambda a, b: a.mm(b))
row("bmm", lambda a, b: cr.bmm(a, b), np.matmul, ((2, 2, 3), (2, 3, 4)),
    torch=lambda a, b: a.bmm(b))
row("mv", lambda a, v: a.mv(v), np.matmul, ((2, 3), (3,)), torch=lambda a, v: a.mv(v))
row("dot", lambda a, b: a.dot(b), np.dot, ((4,), (4,)), torch=lambda a, b: a.dot(b))
row("addmm", lambda c, a, b: cr.addmm(c, a, b, beta=0.5, alpha=2.0),
    lambda c, a, b: 0.5 * c + 2 * a @ b, ((4,), (2, 3), (3, 4)),
    torch=lambda c, a, b: _torch().addmm(c, a, b, beta=0.5, alpha=2.0))
row("baddbmm", lambda c, a, b: c.baddbmm(a, b), lambda c, a, b: c + a @ b,
    ((2, 2, 4), (2, 2, 3), (2, 3, 4)), torch=lambda c, a, b: c.baddbmm(a, b))
row("addcmul", lambda x, a, b: x.addcmul(a, b, value=0.5), lambda x, a, b: x + 0.5 * a * b,
    ((3,), (3,), (2, 3)), torch=lambda x, a, b: _torch().addcmul(x, a, b, value=0.5))
row("addcdiv", lambda x, a, b: cr.addcdiv(x, a, b, value=-2.0), lambda x, a, b: x - 2 * a / b,
    ((3,), (3,), (3,)), ("real", "real", "away"),
    torch=lambda x, a, b: _torch().addcdiv(x, a, b, value=-2.0))
row("tril", lambda x: x.tril(), np.tril, ((3, 4),), torch=lambda x: x.tril())
row("triu_k1_batched", lambda x: cr.triu(x, 1), lambda x: np.triu(x, 1), ((2, 3, 3),),
    torch=lambda x: x.triu(1))
row("diag_vector", lambda x: cr.diag(x, 1), lambda x: np.diag(x, 1), ((3,),),
    torch=lambda x: _torch().diag(x, 1))
row("diag_matrix", lambda x: x.diag(-1), lambda x: np.diag(x, -1), ((3, 4),),
    torch=lambda x: x.diag(-1))
row("diag_embed", lambda x: x.diag_embed(), lambda x: x[..., None] * np.eye(3), ((2, 3),),
    torch=lambda x: x.diag_embed())
row("lerp", lambda a, b: a.lerp(b, 0.3), lambda a, b: a + 0.3 * (b - a), ((2, 3), (3,)),
    torch=lambda a, b: a.lerp(b.expand(2, 3), 0.3))
row("log2", cr.log2, np.log2, ((2, 3),), ("pos",), torch=lambda x: x.log2())
row("log10", lambda x: x.log10(), np.log10, ((2, 3),), ("pos",), torch=lambda x: x.log10())
row("tan", lambda x: x.tan(), np.tan, ((2, 3),), ("unit",), torch=lambda x: x.tan())
row("reciprocal", lambda x: x.reciprocal(), np.reciprocal, ((2, 3),), ("away",),
    torch=lambda x: x.reciprocal())
row("nan_to_num", lambda x: cr.where(x > 0, x, float("nan")).nan_to_num(-3.0),
    lambda x: np.where(x > 0, x, -3.0), ((2, 3),), ("away",),
    torch=lambda x: _torch().where(x > 0, x, float("nan")).nan_to_num(-3.0))
row("var_mean", lambda x: cr.var_mean(x, 1), lambda x: (np.var(x, 1, ddof=1), np.mean(x, 1)),
    ((3, 4),), torch=lambda x: _torch().var_mean(x, 1))
row("std_mean", lambda x: cr.std_mean(x, dim=0, correction=0),
    lambda x: (np.std(x, 0), np.mean(x, 0)), ((3, 4),),
    torch=lambda x: _torch().std_mean(x, dim=0, correction=0))

# ---- rounding (piecewise: first order only) ------------------------------------------------
row("frac", lambda x: x.frac(), lambda x: x - np.trunc(x), ((2, 3),), torch=lambda x: x.frac(),
    second_order=False)
row("remainder", lambda a, b: a.remainder(b), np.remainder, ((2, 3), (3,)), ("real", "away"),
    torch=lambda a, b: a.remainder(b), second_order=False)
row("mod_operator", lambda a: a % 0.7, lambda a: np.remainder(a, 0.7), ((2, 3),),
    torch=lambda a: a % 0.7, second_order=False)
row("fmod", lambda a, b: cr.fmod(a, b), np.fmod, ((2, 3), (2, 3)), ("real", "away"),
    torch=lambda a, b: _torch().fmod(a, b), second_order=False)

# ---- layout --------------------------------------------------------------------------------
row("t", lambda x: x.t(), np.transpose, ((2, 3),), torch=lambda x: x.t())
row("movedim", lambda x: x.movedim(0, -1), lambda x: np.moveaxis(x, 0, -1), ((2, 3, 4),),
    torch=lambda x: x.movedim(0, -1))
row("movedim_pairs", lambda x: cr.movedim(x, (0, 1), (2, 0)),
    lambda x: np.moveaxis(x, (0, 1), (2, 0)), ((2, 3, 4),),
    torch=lambda x: x.movedim((0, 1), (2, 0)))
row("narrow", lambda x: x.narrow(1, 1, 2), lambda x: x[:, 1:3], ((2, 4),),
    torch=lambda x: x.narrow(1, 1, 2))
row("chunk", lambda x: x.chunk(3, 1), lambda x: (x[:, :2], x[:, 2:4], x[:, 4:]), ((2, 5),),
    torch=lambda x: x.chunk(3, 1))
row("tensor_split", lambda x: cr.tensor_split(x, 3), lambda x: tuple(np.array_split(x, 3)),
    ((5, 2),), torch=lambda x: _torch().tensor_split(x, 3))
row("unbind", lambda x: x.unbind(1), lambda x: tuple(x[:, i] for i in range(3)), ((2, 3),),
    torch=lambda x: x.unbind(1))
row("hstack", lambda a, b: cr.hstack([a, b]), lambda a, b: np.hstack([a, b]),
    ((2, 3), (2, 1)), torch=lambda a, b: _torch().hstack([a, b]))
row("vstack", lambda a, b: cr.vstack([a, b]), lambda a, b: np.vstack([a, b]), ((3,), (2, 3)),
    torch=lambda a, b: _torch().vstack([a, b]))
row("dstack", lambda a, b: cr.dstack([a, b]), lambda a, b: np.dstack([a, b]), ((2, 3), (2, 3)),
    torch=lambda a, b: _torch().dstack([a, b]))
row("column_stack", lambda a, b: cr.column_stack([a, b]), lambda a, b: np.column_stack([a, b]),
    ((3,), (3, 2)), torch=lambda a, b: _torch().column_stack([a, b]))
row("flip", lambda x: x.flip((0, 1)), lambda x: x[::-1, ::-1],
    ((2, 3),), torch=lambda x: x.flip((0, 1)))
row("fliplr", lambda x: x.fliplr(), np.fliplr, ((2, 3),), torch=lambda x: x.fliplr())
row("roll", lambda x: x.roll(1, 1), lambda x: np.roll(x, 1, 1), ((2, 4),),
    torch=lambda x: x.roll(1, 1))
row("roll_flat_neg", lambda x: cr.roll(x, -2), lambda x: np.roll(x, -2), ((2, 3),),
    torch=lambda x: x.roll(-2))
row("roll_two_dims", lambda x: x.roll((1, -1), (0, 1)), lambda x: np.roll(x, (1, -1), (0, 1)),
    ((3, 4),), torch=lambda x: x.roll((1, -1), (0, 1)))
for k in (1, 2, 3):
    row(f"rot90_{k}", lambda x, k=k: x.rot90(k), lambda x, k=k: np.rot90(x, k), ((2, 3),),
        torch=lambda x, k=k: x.rot90(k))
row("repeat", lambda x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3)), ((2, 3),),
    torch=lambda x: x.repeat(2, 1, 3))
row("tile", lambda x: x.tile((2,)), lambda x: np.tile(x, (1, 2)), ((2, 3),),
    torch=lambda x: x.tile((2,)))
row("repeat_interleave", lambda x: x.repeat_interleave(2, dim=0),
    lambda x: np.repeat(x, 2, 0), ((2, 3),), torch=lambda x: x.repeat_interleave(2, dim=0))
row("repeat_interleave_counts", lambda x: cr.repeat_interleave(x, cr.tensor([1, 0, 3]), 1),
    lambda x: np.repeat(x, [1, 0, 3], 1), ((2, 3),),
    torch=lambda x: x.repeat_interleave(_t([1, 0, 3]), 1))
row("broadcast_tensors", lambda a, b: cr.broadcast_tensors(a, b),
    lambda a, b: tuple(np.broadcast_arrays(a, b)), ((2, 1), (3,)),
    torch=lambda a, b: _torch().broadcast_tensors(a, b))
row("meshgrid_ij", lambda a, b: cr.meshgrid(a, b, indexing="ij"),
    lambda a, b: tuple(np.meshgrid(a, b, indexing="ij")), ((2,), (3,)),
    torch=lambda a, b: _torch().meshgrid(a, b, indexing="ij"))
row("meshgrid_xy", lambda a, b: cr.meshgrid(a, b, indexing="xy"),
    lambda a, b: tuple(np.meshgrid(a, b, indexing="xy")), ((2,), (3,)),
    torch=lambda a, b: _torch().meshgrid(a, b, indexing="xy"))
row("cartesian_prod", lambda a, b: cr.cartesian_prod(a, b),
    lambda a, b: np.stack([g.reshape(-1) for g in np.meshgrid(a, b, indexing="ij")], 1),
    ((2,), (3,)), torch=lambda a, b: _torch().cartesian_prod(a, b))
row("diff", lambda x: x.diff(dim=1), lambda x: np.diff(x, axis=1), ((2, 4),),
    torch=lambda x: x.diff(dim=1))
row("diff_n2_prepend", lambda x, p: cr.diff(x, 2, 0, prepend=p),
    lambda x, p: np.diff(x, 2, 0, prepend=p), ((3, 2), (1, 2)),
    torch=lambda x, p: _torch().diff(x, 2, 0, prepend=p))
row("view_as", lambda x, y: x.view_as(y).sum() * y, lambda x, y: x.sum() * y, ((2, 3), (3, 2)))
row("atleast_2d", lambda x: cr.atleast_2d(x), np.atleast_2d, ((3,),),
    torch=lambda x: _torch().atleast_2d(x))
row("atleast_3d", lambda x: cr.atleast_3d(x), np.atleast_3d, ((2, 3),),
    torch=lambda x: _torch().atleast_3d(x))
