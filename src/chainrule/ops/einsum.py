"""Tensor contractions: einsum (implicit and explicit output, ellipsis with broadcasting,
repeated indices such as 'ii->i'), tensordot, outer, kron.

One primitive, Einsum: forward is np.einsum; the vjp of each operand is another einsum (of the
output's gradient with the other operands), so derivatives of every order are einsums too.
"""

import string

import numpy as np

from chainrule.core.function import Function
from chainrule.ops.arithmetic import _pair, const, to_tensor
from chainrule.ops.registry import op

_LETTERS = string.ascii_letters


class Einsum(Function):
    """y = einsum(subscripts, x_1, ..., x_n) with explicit labels (no ellipsis);
    gx_i = einsum(g, x_j (j != i) -> labels of x_i), a repeated label put back on a diagonal"""

    __slots__ = ("inputs_subs", "output_subs")

    def __init__(self, inputs_subs, output_subs):
        self.inputs_subs, self.output_subs = tuple(inputs_subs), output_subs

    def forward(self, *xs):
        if len(xs) == 2 and xs[0].size + xs[1].size >= _BLAS_SIZE:
            y = _contract_by_matmul(*self.inputs_subs, self.output_subs, *xs)
            if y is not None:
                return y
        eq = ",".join(self.inputs_subs) + "->" + self.output_subs
        return np.einsum(eq, *xs, optimize=len(xs) > 2)

    def vjp(self, g):
        xs = self.inputs
        grads = []
        for i, x in enumerate(xs):
            if not x.requires_grad:
                grads.append(None)
                continue
            grads.append(_operand_grad(g, self.output_subs, xs, self.inputs_subs, i))
        return tuple(grads)


_BLAS_SIZE = 4096  # operands this large are contracted by one batched matmul (BLAS)


def _contract_by_matmul(sa, sb, out, a, b):
    """einsum 'sa,sb->out' as one batched matmul: a to (batch, kept_a, summed), b to (batch,
    summed, kept_b); None when a label repeats within an operand (np.einsum does those)."""
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb):
        return None
    # a label in one operand only and not in the output is summed out first
    a_only = [c for c in sa if c not in sb and c not in out]
    if a_only:
        a = a.sum(tuple(sa.index(c) for c in a_only))
        sa = "".join(c for c in sa if c not in a_only)
    b_only = [c for c in sb if c not in sa and c not in out]
    if b_only:
        b = b.sum(tuple(sb.index(c) for c in b_only))
        sb = "".join(c for c in sb if c not in b_only)
    size = dict(zip(sa, a.shape)) | dict(zip(sb, b.shape))
    batch = [c for c in out if c in sa and c in sb]
    keep_a = [c for c in out if c in sa and c not in sb]
    keep_b = [c for c in out if c in sb and c not in sa]
    summed = [c for c in sa if c in sb and c not in out]

    def n(labels):
        return int(np.prod([size[c] for c in labels], dtype=np.int64))

    A = a.transpose([sa.index(c) for c in batch + keep_a + summed]).reshape(
        n(batch), n(keep_a), n(summed))
    B = b.transpose([sb.index(c) for c in batch + summed + keep_b]).reshape(
        n(batch), n(summed), n(keep_b))
    y = (A @ B).reshape([size[c] for c in batch + keep_a + keep_b])
    order = batch + keep_a + keep_b
    y = y.transpose([order.index(c) for c in out])
    return y if y.flags.c_contiguous else y.copy()


def _operand_grad(g, out_subs, xs, subs, i):
    """The gradient of operand i: einsum of g with the other operands to x_i's labels."""
    target = subs[i]
    sizes = dict(zip(target, xs[i].shape))
    unique = "".join(dict.fromkeys(target))
    others = [(s, x) for j, (s, x) in enumerate(zip(subs, xs)) if j != i]
    present = set(out_subs).union(*[set(s) for s, _ in others])
    reachable = "".join(c for c in unique if c in present)
    y = Einsum([out_subs] + [s for s, _ in others], reachable)(g, *[x for _, x in others])
    if reachable != unique:  # labels summed out of x_i alone: their gradient is broadcast
        shape = tuple(sizes[c] if c in reachable else 1 for c in unique)
        y = y.reshape(shape).broadcast_to(tuple(sizes[c] for c in unique))
    if unique != target:  # a repeated label: put the gradient back on that diagonal
        used = set(target)
        fresh = iter(c for c in _LETTERS if c not in used and c not in present)
        seen, labels, eyes, eye_subs = set(), "", [], []
        for c in target:
            if c in seen:
                d = next(fresh)
                labels += d
                eyes.append(const(np.eye(sizes[c], dtype=g.dtype), g))
                eye_subs.append(c + d)
            else:
                seen.add(c)
                labels += c
        y = Einsum([unique] + eye_subs, labels)(y, *eyes)
    return y


def _parse(name, equation, shapes):
    """(input subscripts with the ellipsis spelled out in letters, output subscripts, the
    ellipsis' broadcast shape)."""
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
        explicit = True
    else:
        lhs, out, explicit = eq, None, False
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise ValueError(f"{name}: the equation {equation!r} names {len(subs)} operands; got "
                         f"{len(shapes)}")
    labels_used = set()
    for s in subs + ([out] if explicit else []):
        rest = s.replace("...", "")
        bad = [c for c in rest if c not in _LETTERS]
        if bad or rest.count(".") or s.count("...") > 1:
            raise ValueError(f"{name}: invalid subscripts {s!r} in {equation!r}; use letters and "
                             "at most one '...'")
        labels_used |= set(rest)
    free = [c for c in _LETTERS if c not in labels_used]
    # the ellipsis: each operand's covered dims, right-aligned, named by free letters
    ell_ndim = 0
    for s, shape in zip(subs, shapes):
        n_named = len(s.replace("...", ""))
        if "..." in s:
            ell_ndim = max(ell_ndim, len(shape) - n_named)
        if len(shape) < n_named or ("..." not in s and len(shape) != n_named):
            raise ValueError(f"{name}: operand {subs.index(s)} has {len(shape)} dims but "
                             f"subscripts {s!r} in {equation!r}")
    ell = "".join(free[:ell_ndim])
    spelled = []
    ell_shape = [1] * ell_ndim
    for s, shape in zip(subs, shapes):
        if "..." in s:
            k = len(shape) - len(s.replace("...", ""))
            head = s.index("...")
            mine = ell[ell_ndim - k:]
            for j, n in enumerate(shape[head:head + k]):
                pos = ell_ndim - k + j
                if ell_shape[pos] != 1 and n != 1 and n != ell_shape[pos]:
                    raise ValueError(f"{name}: the dims under '...' cannot be broadcast "
                                     f"together; got shapes {tuple(shapes)} for {equation!r}")
                ell_shape[pos] = max(ell_shape[pos], n)
            s = s.replace("...", mine)
        spelled.append(s)
    if explicit:
        if "..." in out:
            out = out.replace("...", ell)
        elif ell_ndim and any(n != 1 for n in ell_shape):
            # torch and NumPy sum nothing implicitly: '...' dims must appear in the output
            raise ValueError(f"{name}: the output of {equation!r} must keep '...' when the "
                             "inputs have it")
    else:  # implicit: '...' first, then the labels seen once, in alphabetical order
        counts = {}
        for s in subs:
            for c in s.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: the output subscripts of {equation!r} repeat a label")
    known = set("".join(spelled))
    missing = [c for c in out if c not in known]
    if missing:
        raise ValueError(f"{name}: output label {missing[0]!r} of {equation!r} is in no input")
    return spelled, out, ell, tuple(ell_shape)


@op(classes=(Einsum,))
def einsum(equation, *operands):
    """Einstein summation, torch.einsum / np.einsum's equations ('ij,jk->ik', 'bhqd,bhkd->bhqk',
    'ii->i', '...ij->...ji', implicit 'ij,jk'); d: gx_i = einsum(g, x_j (j != i) -> x_i)."""
    name = "einsum"
    if not isinstance(equation, str):
        raise TypeError(f"{name}: the first argument is the equation string; got "
                        f"{type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError(f"{name}: no operands for {equation!r}")
    xs = [to_tensor(x) for x in operands]
    subs, out, ell, ell_shape = _parse(name, equation, [x.shape for x in xs])
    # sizes per label must agree; a size-1 dim under '...' broadcasts (made explicit here)
    sizes = {}
    for k, (s, x) in enumerate(zip(subs, xs)):
        for c in set(s):  # a label repeated within one operand: its dims must agree
            dims = {x.shape[j] for j, d in enumerate(s) if d == c}
            if len(dims) > 1:
                raise ValueError(f"{name}: subscript {c!r} repeats in operand {k} of "
                                 f"{equation!r} with different sizes {sorted(dims)}")
        for c, n in zip(s, x.shape):
            if c in ell:
                continue
            if sizes.setdefault(c, (n, k))[0] != n:
                raise ValueError(f"{name}: subscript {c!r} of {equation!r} has size "
                                 f"{sizes[c][0]} in operand {sizes[c][1]} but {n} in operand {k}")
    for k, (s, x) in enumerate(zip(subs, xs)):
        if any(c in ell and x.shape[j] != ell_shape[ell.index(c)] for j, c in enumerate(s)):
            xs[k] = x.broadcast_to(tuple(ell_shape[ell.index(c)] if c in ell else n
                                         for c, n in zip(s, x.shape)))
    return Einsum(subs, out)(*xs)


@op(methods=("tensordot",), classes=(Einsum,))
def tensordot(a, b, dims=2):
    """Contraction of a's last `dims` dims with b's first (or the dims listed as ([a dims],
    [b dims])), torch.tensordot; d: einsums."""
    a, b = _pair(a, b)
    if isinstance(dims, (int, np.integer)):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims={dims} for shapes {a.shape} and {b.shape}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
        if len(da) != len(db):
            raise ValueError(f"tensordot: dims lists differ in length: {da} and {db}")
        da, db = [d % a.ndim for d in da], [d % b.ndim for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: a's dim {i} has size {a.shape[i]} but b's dim {j} "
                             f"has {b.shape[j]}; shapes {a.shape} and {b.shape}")
    letters = iter(_LETTERS)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in da] + [c for k, c in enumerate(sb)
                                                           if k not in db]
    return Einsum(["".join(sa), "".join(sb)], "".join(out))(a, b)


@op(methods=("outer", "ger"), also=("ger",))
def outer(input, vec2):
    """Outer product y_ij = a_i b_j of two vectors (torch.outer)."""
    a, b = _pair(input, vec2)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expected two 1-D tensors; got shapes {a.shape} and {b.shape}")
    return Einsum(["i", "j"], "ij")(a, b)


@op(methods=("kron",))
def kron(input, other):
    """Kronecker product: blocks a_ij B (torch.kron; the shorter shape padded with leading 1s)."""
    a, b = _pair(input, other)
    n = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (n - a.ndim) + tuple(a.shape))
    b = b.reshape((1,) * (n - b.ndim) + tuple(b.shape))
    # a's dims at even positions, b's at odd ones: (a0, b0, a1, b1, ...) then merged pairwise
    ya = a.reshape(tuple(v for d in a.shape for v in (d, 1)))
    yb = b.reshape(tuple(v for d in b.shape for v in (1, d)))
    return (ya * yb).reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))

