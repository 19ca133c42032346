"""Everyday PyTorch idioms, each a function of the module it runs on: `idiom(torch)` is the
same code whether `torch` is PyTorch or chainrule (`import chainrule as torch`). Each returns
values (tensors, numbers, shapes, dtypes, tuples of them) that tests/compat/test_idioms.py
compares with PyTorch: live when torch is installed, else with the committed golden file
tests/golden/compat.npz (written by tools/golden/compat.py).

Random draws differ between the libraries (different generators), so the random idioms
return what must agree: shapes, dtypes, ranges and reproducibility under manual_seed."""

IDIOMS = {}


def idiom(fn):
    if fn.__name__ in IDIOMS:
        raise ValueError(f"idiom {fn.__name__} is defined twice")
    IDIOMS[fn.__name__] = fn
    return fn


def _x(torch):
    return torch.tensor([[1.0, -2.0, 3.0, 0.5], [0.0, 4.0, -1.0, 2.5], [2.0, 1.5, -0.5, -3.0]])


# ---- creation ------------------------------------------------------------------------------
@idiom
def create_from_lists(torch):
    return torch.tensor([[1, 2], [3, 4]]), torch.tensor([1.5, 2.5]), torch.tensor(True)


@idiom
def create_factories(torch):
    return (torch.zeros(2, 3), torch.ones((2,)), torch.full((2, 2), 7.0), torch.eye(3),
            torch.empty(2, 3).shape)


@idiom
def create_ranges(torch):
    return (torch.arange(5), torch.arange(1, 4, 0.5), torch.linspace(0, 1, 5),
            torch.logspace(0, 2, 3))


@idiom
def create_like(torch):
    x = _x(torch)
    return (torch.zeros_like(x), torch.ones_like(x), torch.full_like(x, 2.0),
            torch.empty_like(x).shape, x.new_zeros(2), x.new_ones((1, 2)), x.new_full((2,), 3.0),
            x.new_tensor([1, 2]))


@idiom
def create_dtype_arguments(torch):
    return (torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.long),
            torch.arange(3, dtype=torch.float32), torch.tensor([1, 0], dtype=torch.bool))


@idiom
def from_numpy_shares_memory(torch):
    import numpy as np

    a = np.arange(4.0)
    t = torch.from_numpy(a)
    a[0] = 10.0
    return t, t.dtype, torch.as_tensor([1, 2]).dtype


@idiom
def numpy_round_trip(torch):
    x = _x(torch)
    return x.numpy().sum(), x.tolist(), x[0, 1].item(), type(x.sum().item()).__name__


@idiom
def default_dtype(torch):
    return torch.get_default_dtype(), torch.tensor(1.0).dtype, torch.tensor(1).dtype


# ---- shapes --------------------------------------------------------------------------------
@idiom
def shape_and_size(torch):
    x = _x(torch)
    return tuple(x.shape), tuple(x.size()), x.size(0), x.size(-1), x.dim(), x.ndim, x.numel()


@idiom
def shape_is_a_size(torch):
    x = _x(torch)
    return (type(x.shape).__name__, x.shape == torch.Size([3, 4]), x.shape.numel(),
            x.shape[1:], x.size() == x.shape, list(x.shape))


@idiom
def view_reshape(torch):
    x = torch.arange(12)
    return x.view(3, 4), x.view(-1, 6), x.reshape(2, 2, 3), x.reshape(-1), x.view(3, 4).view_as(
        torch.zeros(4, 3))


@idiom
def squeeze_unsqueeze(torch):
    x = torch.zeros(2, 1, 3, 1)
    return (x.squeeze().shape, x.squeeze(1).shape, x.unsqueeze(0).shape, x.unsqueeze(-1).shape,
            torch.unsqueeze(torch.ones(3), 1).shape)


@idiom
def transpose_permute(torch):
    x = torch.arange(24.0).reshape(2, 3, 4)
    return x.transpose(0, 2), x.permute(2, 0, 1), x.mT.shape, _x(torch).t(), _x(torch).T


@idiom
def flatten_unflatten(torch):
    x = torch.arange(24).reshape(2, 3, 4)
    return x.flatten(), x.flatten(1), torch.flatten(x, 0, 1).shape


@idiom
def cat_stack(torch):
    a, b = torch.ones(2, 3), torch.zeros(2, 3)
    return (torch.cat([a, b]), torch.cat((a, b), dim=1), torch.stack([a, b]),
            torch.stack([a, b], dim=2).shape, torch.hstack([a, b]).shape,
            torch.vstack([a, b]).shape)


@idiom
def split_chunk_unbind(torch):
    x = torch.arange(10.0).reshape(5, 2)
    return x.split(2), x.chunk(3), torch.unbind(x, dim=1), torch.split(x, [1, 4])


@idiom
def expand_repeat(torch):
    x = torch.tensor([[1.0], [2.0]])
    return x.expand(2, 3), x.expand(-1, 4), x.repeat(2, 3), x.expand_as(torch.zeros(2, 5)), \
        torch.tile(x, (2,))


@idiom
def flip_roll(torch):
    x = torch.arange(6).reshape(2, 3)
    return x.flip(0), torch.flip(x, [0, 1]), x.roll(1, 1), torch.roll(x, -1), x.fliplr()


@idiom
def narrow_select(torch):
    x = torch.arange(12).reshape(3, 4)
    return x.narrow(1, 1, 2), x.index_select(0, torch.tensor([2, 0])), x.movedim(0, 1)


@idiom
def triangular(torch):
    x = torch.ones(3, 3)
    return x.tril(), torch.triu(x, 1), torch.diag(torch.tensor([1.0, 2.0])), x.diagonal(), \
        torch.diag(torch.arange(9.0).reshape(3, 3))


# ---- indexing ------------------------------------------------------------------------------
@idiom
def basic_indexing(torch):
    x = _x(torch)
    return x[0], x[:, 1], x[1:, ::2], x[..., -1], x[None, 0].shape, x[-1, -1]


@idiom
def advanced_indexing(torch):
    x = _x(torch)
    return x[[0, 2]], x[torch.tensor([1, 1, 0])], x[x > 1], x[:, [3, 0]], \
        x[torch.tensor([0, 2]), torch.tensor([1, 3])]


@idiom
def index_assignment(torch):
    x = torch.zeros(3, 4)
    x[0] = 1.0
    x[:, 1] = torch.tensor([5.0, 6.0, 7.0])
    x[x > 5] = -1.0
    x[2, 3] += 2.0
    return x


@idiom
def gather_scatter(torch):
    x = _x(torch)
    idx = torch.tensor([[0, 2], [1, 1], [3, 0]])
    src = torch.ones(3, 2)
    return (x.gather(1, idx), torch.gather(x, 0, torch.tensor([[2, 0, 1, 0]])),
            torch.zeros(3, 4).scatter(1, idx[:, :1], src[:, :1]),
            torch.zeros(3, 4).scatter_add(1, idx, src), torch.zeros(2, 3).scatter(1,
            torch.tensor([[0], [2]]), 9.0))


@idiom
def scatter_in_place(torch):
    x = torch.zeros(2, 4)
    x.scatter_(1, torch.tensor([[1], [3]]), 1.0)
    y = torch.zeros(5)
    y.scatter_add_(0, torch.tensor([0, 1, 1, 4]), torch.tensor([1.0, 2.0, 3.0, 4.0]))
    z = torch.zeros(3, 2)
    z.index_add_(0, torch.tensor([0, 2, 0]), torch.ones(3, 2))
    w = torch.zeros(2, 3)
    w.index_fill_(1, torch.tensor([0, 2]), 7.0)
    v = torch.zeros(3, 2).index_copy(0, torch.tensor([2, 0]), torch.tensor([[1.0, 2], [3, 4]]))
    return x, y, z, w, v


@idiom
def masked_ops(torch):
    x = _x(torch)
    m = x < 0
    y = x.clone()
    y.masked_fill_(m, 0.0)
    return x.masked_fill(m, -9.0), torch.masked_select(x, m), y, m.sum(), m.any(), m.all()


@idiom
def where_nonzero(torch):
    x = _x(torch)
    return (torch.where(x > 0, x, torch.zeros_like(x)), torch.where(x > 0, x, 0.0),
            torch.nonzero(x > 2), torch.nonzero(x > 2, as_tuple=True), x.where(x < 1, -x),
            torch.argwhere(x == 0))


@idiom
def one_hot_labels(torch):
    F = torch.nn.functional
    return F.one_hot(torch.tensor([0, 2, 1]), 3), F.one_hot(torch.tensor([1, 0]))


# ---- reductions ----------------------------------------------------------------------------
@idiom
def reductions_dim(torch):
    x = _x(torch)
    return (x.sum(), x.sum(dim=1), x.sum(0, keepdim=True), x.mean(dim=-1), x.prod(1),
            x.sum(dim=(0, 1)), torch.mean(x, 0))


@idiom
def reductions_axis_alias(torch):
    x = _x(torch)
    return x.sum(axis=1), x.mean(axis=0, keepdims=True), x.amax(axis=1)


@idiom
def var_std(torch):
    x = _x(torch)
    return (x.var(), x.std(dim=0), x.var(1, unbiased=False), x.std(correction=0),
            torch.var_mean(x, 1), torch.std_mean(x))


@idiom
def max_min_named(torch):
    x = _x(torch)
    values, indices = x.max(dim=1)
    m = torch.min(x, 0)
    return values, indices, m.values, m.indices, x.max(), torch.max(x, 1, keepdim=True)[0]


@idiom
def classification_accuracy(torch):
    out = _x(torch)
    labels = torch.tensor([2, 1, 0])
    _, pred = torch.max(out, 1)
    correct = (pred == labels).sum().item()
    return pred, correct, (out.argmax(dim=1) == labels).float().mean()


@idiom
def argmax_argmin(torch):
    x = _x(torch)
    return x.argmax(), x.argmax(dim=1), x.argmin(0), torch.argmax(x, dim=1, keepdim=True)


@idiom
def maximum_pairwise(torch):
    a, b = _x(torch), torch.zeros(4)
    return torch.max(a, b), torch.maximum(a, b), torch.minimum(a, b), torch.amax(a, dim=(0, 1))


@idiom
def cumulative(torch):
    x = _x(torch)
    return x.cumsum(dim=1), torch.cumsum(x, 0), x.cumprod(1), x.cummax(1), torch.cummin(x, 0)


@idiom
def logsumexp_softmax(torch):
    x = _x(torch)
    return (torch.logsumexp(x, dim=1), x.softmax(dim=1), torch.log_softmax(x, 1),
            torch.softmax(x, dim=0).sum(0))


@idiom
def norms(torch):
    x = _x(torch)
    return (x.norm(), x.norm(dim=1), torch.norm(x, p=1), x.norm(p=float("inf"), dim=0),
            torch.dist(x[0], x[1]), x.norm(2, dim=1, keepdim=True))


@idiom
def any_all_count(torch):
    x = _x(torch)
    return (x > 0).any(), (x > -5).all(), (x > 0).any(dim=1), torch.count_nonzero(x), \
        torch.count_nonzero(x, dim=0)


@idiom
def median_mode(torch):
    x = torch.tensor([[3.0, 1.0, 2.0, 2.0], [5.0, 5.0, 4.0, 1.0]])
    y = torch.tensor([[3.0, 1.0, 2.0, 0.0], [5.0, 6.0, 4.0, 1.0]])  # (no ties: indices defined)
    return x.median(), x.median(dim=1).values, torch.mode(x, 1), y.kthvalue(2, dim=1), \
        y.median(dim=1)


@idiom
def sort_topk(torch):
    x = _x(torch)
    s = torch.sort(x, dim=1, descending=True)
    return (s.values, s.indices, x.sort()[0], x.argsort(dim=0), torch.topk(x, 2).values,
            x.topk(2, dim=0, largest=False).indices, torch.msort(x))


@idiom
def unique_counts(torch):
    x = torch.tensor([3, 1, 3, 2, 1, 3])
    u, inv, cnt = torch.unique(x, return_inverse=True, return_counts=True)
    return torch.unique(x), u, inv, cnt, torch.bincount(x), torch.bincount(x, minlength=6)


@idiom
def search_bucket(torch):
    edges = torch.tensor([1.0, 2.0, 3.0])
    v = torch.tensor([0.5, 1.0, 2.5, 3.5])
    return (torch.searchsorted(edges, v), torch.searchsorted(edges, v, right=True),
            torch.bucketize(v, edges), torch.histc(torch.tensor([1.0, 2.0, 1.0, 4.0]), bins=4,
                                                   min=0, max=4))


# ---- elementwise ---------------------------------------------------------------------------
@idiom
def arithmetic_broadcasting(torch):
    x, v = _x(torch), torch.tensor([1.0, 2.0, 3.0, 4.0])
    return x + v, x - 1, 2 * x, x / v, x ** 2, 2 ** v, -x, x @ v, x.add(v, alpha=2), \
        x.sub(1.5), x.mul(v), x.div(2)


@idiom
def math_functions(torch):
    x = torch.tensor([0.5, 1.0, 2.0])
    return (x.exp(), torch.log(x), x.sqrt(), x.rsqrt(), torch.sin(x), x.cos(), x.tan(),
            x.tanh(), x.sigmoid(), torch.log2(x), torch.log10(x), x.log1p(), x.expm1(),
            x.reciprocal(), x.square(), torch.abs(-x), x.pow(3), torch.erf(x))


@idiom
def rounding(torch):
    x = torch.tensor([-1.5, -0.5, 0.4, 0.5, 1.5, 2.7])
    return (x.floor(), x.ceil(), x.round(), torch.trunc(x), x.frac(), x.sign(),
            torch.round(x * 10, decimals=-1), x.clamp(-1, 1), x.clamp(min=0), x.clip(max=0.5))


@idiom
def modulo(torch):
    a, b = torch.tensor([5.0, -5.0, 7.5, -7.5]), torch.tensor([3.0, 3.0, -2.0, -2.0])
    return a % b, torch.remainder(a, b), torch.fmod(a, b), a // b, torch.floor_divide(a, b), \
        torch.tensor([7, -7]) % 3


@idiom
def comparisons(torch):
    x = _x(torch)
    return (x > 0, x == 0.5, x.eq(2.0), x.ne(0), x.lt(1), x.le(1), x.gt(1), x.ge(1),
            torch.eq(x, x), x != 4)


@idiom
def logical(torch):
    a, b = torch.tensor([True, False, True]), torch.tensor([True, True, False])
    return (a & b, a | b, a ^ b, ~a, torch.logical_and(a, b), torch.logical_not(a),
            torch.logical_or(a, b), torch.logical_xor(a, b))


@idiom
def nan_inf(torch):
    x = torch.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    return (torch.isnan(x), torch.isinf(x), torch.isfinite(x), torch.nan_to_num(x),
            torch.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), x.isnan().any())


@idiom
def closeness(torch):
    a = torch.tensor([1.0, 2.0, 3.0])
    b = a + 1e-7
    return (torch.allclose(a, b), torch.isclose(a, b), torch.equal(a, a.clone()),
            torch.equal(a, b), a.allclose(b, atol=1e-9, rtol=0))


@idiom
def lerp_addcmul(torch):
    a, b = torch.zeros(3), torch.tensor([1.0, 2.0, 3.0])
    return (torch.lerp(a, b, 0.25), a.lerp(b, 0.5), torch.addcmul(a, b, b, value=0.5),
            torch.addcdiv(a, b, b + 1, value=2), torch.addmm(torch.ones(2, 2), torch.ones(2, 3),
                                                             torch.ones(3, 2), beta=0.5))


@idiom
def matrix_products(torch):
    A = torch.arange(6.0).reshape(2, 3)
    B = torch.arange(12.0).reshape(3, 4)
    v = torch.tensor([1.0, 0.0, -1.0])
    Ab = torch.arange(12.0).reshape(2, 2, 3)
    return (A @ B, A.mm(B), torch.matmul(A, v), A.mv(v), torch.dot(v, v), v.dot(v),
            torch.bmm(Ab, Ab.transpose(1, 2)), torch.baddbmm(torch.zeros(2, 2, 2), Ab,
                                                             Ab.mT))


@idiom
def meshgrid_broadcast(torch):
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0, 30.0])
    x, y = torch.meshgrid(a, b, indexing="ij")
    p, q = torch.meshgrid(a, b, indexing="xy")
    s, t = torch.broadcast_tensors(a[:, None], b)
    return x, y, p, q, s, t, torch.cartesian_prod(a, b), torch.broadcast_to(a, (3, 2))


@idiom
def diff_repeat_interleave(torch):
    x = torch.tensor([1.0, 4.0, 9.0, 16.0])
    return x.diff(), torch.diff(x, n=2), x.repeat_interleave(2), \
        torch.repeat_interleave(torch.tensor([[1, 2], [3, 4]]), 2, dim=0)


# ---- dtypes --------------------------------------------------------------------------------
@idiom
def dtype_casts(torch):
    x = torch.tensor([1.7, -2.2, 0.0])
    return (x.long(), x.int(), x.bool(), x.double(), x.float(), x.half().dtype,
            x.to(torch.float64), x.to(torch.int64), x.type(torch.float64), x.type_as(
                torch.tensor([1])), x.to(torch.zeros(1, dtype=torch.float64)).dtype)


@idiom
def dtype_queries(torch):
    x = torch.tensor([1.0])
    return (x.dtype == torch.float32, x.is_floating_point(), torch.tensor([1]).is_floating_point(),
            x.element_size(), torch.tensor([1]).dtype == torch.long, torch.float == torch.float32,
            torch.double == torch.float64, torch.long == torch.int64, x.type(),
            torch.tensor([1]).type(), isinstance(x.dtype, torch.dtype))


@idiom
def dtype_promotion(torch):
    i, f = torch.tensor([1, 2]), torch.tensor([0.5, 1.5])
    d = torch.tensor([1.0], dtype=torch.float64)
    return (i + f).dtype, (i * 2).dtype, (f * 2).dtype, (f + d).dtype, (i / 2).dtype, \
        (i + 0.5).dtype, torch.tensor([True]).sum().dtype


@idiom
def finfo_iinfo(torch):
    return (torch.finfo(torch.float32).eps, torch.finfo(torch.float64).max,
            torch.iinfo(torch.int32).max, torch.finfo(torch.float32).tiny)


@idiom
def device_cpu(torch):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x = torch.ones(2, device=device)
    y = torch.zeros(2, 2).to(device)
    return (str(device), x.cpu(), y, torch.cuda.is_available(), torch.cuda.device_count(),
            x.to("cpu"), torch.arange(3, device="cpu"), torch.randn(2, device=device).shape)


@idiom
def format_and_print(torch):
    loss = torch.tensor(0.123456)
    return f"{loss:.4f}", f"{loss.item():.3f}", f"{torch.tensor(2.5):.2f}", \
        f"{torch.tensor(3):d}"


# ---- in-place ------------------------------------------------------------------------------
@idiom
def in_place_arithmetic(torch):
    x = torch.ones(3)
    x.add_(2)
    x.mul_(torch.tensor([1.0, 2.0, 3.0]))
    x.sub_(1, alpha=0.5)
    x.div_(2)
    x += 1
    x *= 2
    x -= 0.5
    x /= 4
    return x


@idiom
def in_place_fill_clamp(torch):
    x = torch.arange(6.0)
    x.clamp_(1, 4)
    y = torch.empty(3).fill_(2.5)
    z = torch.ones(2, 2)
    z.zero_()
    w = torch.zeros(3)
    w.copy_(torch.tensor([1.0, 2.0, 3.0]))
    return x, y, z, w


@idiom
def in_place_unary(torch):
    x = torch.tensor([0.25, 1.0, 4.0])
    a = x.clone().sqrt_()
    b = x.clone().exp_()
    c = x.clone().neg_().abs_()
    d = (x - 1).relu_()
    e = x.clone().pow_(2)
    f = x.clone().log_()
    return a, b, c, d, e, f, x.clone().sigmoid_(), x.clone().tanh_()


@idiom
def data_manual_update(torch):
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    loss = (w ** 2).sum()
    loss.backward()
    w.data -= 0.1 * w.grad
    w.data.add_(w.grad, alpha=-0.1)
    g = w.grad.clone()
    w.grad.zero_()
    return w, g, w.grad, w.requires_grad, w.data.requires_grad, w.is_leaf


@idiom
def no_grad_update(torch):
    w = torch.tensor([3.0, 1.0], requires_grad=True)
    for _ in range(3):
        loss = ((w - 1) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            w -= 0.25 * w.grad
            w.grad.zero_()
    return w, loss


@idiom
def data_shares_storage(torch):
    w = torch.ones(3, requires_grad=True)
    d = w.data
    d[0] = 5.0
    return w, type(w.data).__name__, w.data.requires_grad, w.detach().requires_grad


# ---- autograd ------------------------------------------------------------------------------
@idiom
def backward_basic(torch):
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    return x.grad, y, y.requires_grad, x.is_leaf, y.is_leaf


@idiom
def backward_accumulates(torch):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x ** 2).sum().backward()
    (3 * x).sum().backward()
    return x.grad


@idiom
def backward_non_scalar(torch):
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * torch.tensor([2.0, 3.0, 4.0])
    y.backward(torch.tensor([1.0, 0.5, 0.25]))
    return x.grad


@idiom
def autograd_grad_create_graph(torch):
    x = torch.tensor(1.5, requires_grad=True)
    y = x ** 3
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    (h,) = torch.autograd.grad(g, x)
    return g, h


@idiom
def retain_grad_and_hooks(torch):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()))
    (y ** 2).sum().backward()
    return y.grad, x.grad, seen[0]


@idiom
def detach_requires_grad(torch):
    x = torch.ones(2, requires_grad=True)
    y = (x * 2).detach()
    z = torch.zeros(2).requires_grad_()
    with torch.no_grad():
        w = x * 2
    return y.requires_grad, z.requires_grad, w.requires_grad, torch.is_grad_enabled()


@idiom
def grad_modes(torch):
    x = torch.ones(2, requires_grad=True)
    with torch.enable_grad():
        a = (x * 2).requires_grad
    with torch.set_grad_enabled(False):
        b = (x * 2).requires_grad
    with torch.inference_mode():
        c = (x * 2).requires_grad

    @torch.no_grad()
    def f(t):
        return t * 2

    return a, b, c, f(x).requires_grad


@idiom
def gradients_of_indexing(torch):
    x = torch.arange(12.0).reshape(3, 4).requires_grad_()
    y = x[[0, 0, 2], 1:3].sum() + x.gather(1, torch.tensor([[0], [0], [3]])).sum() \
        + x.index_select(1, torch.tensor([3, 3])).sum()
    y.backward()
    return x.grad


@idiom
def gradients_of_reductions(torch):
    x = torch.tensor([[1.0, 5.0, 2.0], [4.0, 0.5, 3.0]], requires_grad=True)
    y = x.max(dim=1).values.sum() + x.norm() + x.prod() + x.std() + torch.logsumexp(x, 1).sum()
    y.backward()
    return x.grad


@idiom
def gradients_of_sort_topk(torch):
    x = torch.tensor([[0.3, -1.0, 2.0, 0.7], [1.5, 0.2, -0.4, 0.9]], requires_grad=True)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    y = (x.sort(dim=1).values * w).sum() + (x.topk(2).values ** 2).sum() \
        + x.median(dim=1).values.sum() + x.cumsum(1).sum()
    y.backward()
    return x.grad


@idiom
def gradients_of_shapes(torch):
    x = torch.arange(6.0).reshape(2, 3).requires_grad_()
    w = torch.arange(24.0).reshape(4, 6)
    y = torch.cat([x.flip(0), x.roll(1, 1)], 1).repeat(2, 1) * w
    y = y.sum() + (x.t() @ x).sum() + torch.stack(x.chunk(3, 1)).pow(2).sum()
    y.backward()
    return x.grad


@idiom
def gradients_of_masking(torch):
    x = torch.tensor([[1.0, -2.0], [3.0, -4.0]], requires_grad=True)
    y = x.masked_fill(x < 0, 0.0).pow(2).sum() + torch.where(x > 2, x, -x).sum() \
        + x.clamp(-3, 2).sum() + x.abs().sum() + x.relu().sum()
    y.backward()
    return x.grad


@idiom
def gradients_of_scatter(torch):
    src = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    base = torch.ones(2, 3, requires_grad=True)
    out = base.scatter_add(1, torch.tensor([[0, 0], [2, 1]]), src) * torch.tensor(
        [1.0, 2.0, 3.0])
    out.sum().backward()
    return src.grad, base.grad, out


@idiom
def gradients_of_products(torch):
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = torch.tensor([[0.5, -1.0], [2.0, 1.0]], requires_grad=True)
    y = torch.addmm(a, a, b).sum() + a.mm(b).diagonal().sum()
    y = y + a.cumprod(1).sum() + torch.dot(a[0], b[1])
    y.backward()
    return a.grad, b.grad


@idiom
def functional_losses(torch):
    F = torch.nn.functional
    logits = _x(torch)
    labels = torch.tensor([2, 1, 0])
    p = torch.tensor([0.2, 0.7, 0.9])
    t = torch.tensor([0.0, 1.0, 1.0])
    return (F.cross_entropy(logits, labels), F.nll_loss(F.log_softmax(logits, dim=1), labels),
            F.mse_loss(logits[0], logits[1]), F.l1_loss(logits[0], logits[1]),
            F.binary_cross_entropy(p, t), F.binary_cross_entropy_with_logits(logits[:, 0], t),
            F.cross_entropy(logits, labels, reduction="sum"),
            F.smooth_l1_loss(logits[0], logits[1]))


@idiom
def functional_activations(torch):
    F = torch.nn.functional
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])
    return (F.relu(x), F.leaky_relu(x, 0.1), F.gelu(x), F.silu(x), F.elu(x), F.softplus(x),
            torch.sigmoid(x), F.softmax(x, dim=0), torch.tanh(x))


# ---- nn ------------------------------------------------------------------------------------
def _mlp(torch):
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.linspace(-1, 1, p.numel()).reshape(p.shape) * (0.5 + 0.1 * i))
    return model


@idiom
def module_forward_backward(torch):
    model = _mlp(torch)
    x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    out = model(x)
    loss = torch.nn.functional.cross_entropy(out, torch.tensor([1, 0]))
    loss.backward()
    return out, loss, [p.grad for p in model.parameters()]


@idiom
def module_state_dict(torch):
    model = _mlp(torch)
    sd = model.state_dict()
    keys = list(sd.keys())
    other = _mlp(torch)
    with torch.no_grad():
        for p in other.parameters():
            p.zero_()
    other.load_state_dict(sd)
    x = torch.ones(1, 3)
    return keys, [tuple(v.shape) for v in sd.values()], other(x), model(x)


@idiom
def module_parameters(torch):
    model = _mlp(torch)
    n = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    names = [name for name, _ in model.named_parameters()]
    return n, trainable, names, len(list(model.children())), len(list(model.modules()))


@idiom
def module_train_eval(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.eval()
    a = model.training
    model.train()
    return a, model.training, model[1].training


@idiom
def custom_module(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 3)
            self.fc2 = nn.Linear(3, 1)

        def forward(self, x):
            return self.fc2(torch.tanh(self.fc1(x)))

    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(0.5)
    y = net(torch.tensor([[1.0, -1.0]]))
    y.sum().backward()
    return y, net.fc1.weight.grad, [n for n, _ in net.named_parameters()]


@idiom
def module_to_double(torch):
    model = _mlp(torch).double()
    x = torch.ones(2, 3, dtype=torch.float64)
    return model(x).dtype, model[0].weight.dtype


@idiom
def linear_dtype_mismatch_raises(torch):
    model = torch.nn.Linear(2, 1)
    try:
        model(torch.ones(1, 2, dtype=torch.float64))
    except (RuntimeError, TypeError):
        return "raised"
    return "no error"


@idiom
def zero_grad_set_to_none(torch):
    model = _mlp(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    opt.zero_grad()
    return [p.grad is None for p in model.parameters()]


@idiom
def clip_grad_norm(torch):
    model = _mlp(torch)
    (model(torch.ones(2, 3) * 5) ** 2).sum().backward()
    total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    return total, sum(p.grad.norm() ** 2 for p in model.parameters()) ** 0.5


@idiom
def parameters_to_vector(torch):
    model = _mlp(torch)
    v = torch.nn.utils.parameters_to_vector(model.parameters())
    torch.nn.utils.vector_to_parameters(v * 2, model.parameters())
    return v, model[0].bias


# ---- optimizers and schedulers -------------------------------------------------------------
def _train(torch, make_opt, steps=15, closure_opt=False):
    model = _mlp(torch)
    x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0], [0.2, -0.3, 1.0]])
    y = torch.tensor([1, 0, 1])
    opt = make_opt(model.parameters())
    losses = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            return loss

        if closure_opt:
            losses.append(opt.step(closure).item())
        else:
            loss = closure()
            opt.step()
            losses.append(loss.item())
    return losses, list(model.parameters())


@idiom
def optim_sgd_momentum(torch):
    return _train(torch, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True))


@idiom
def optim_adam_adamw(torch):
    return (_train(torch, lambda p: torch.optim.Adam(p, lr=0.01))[0],
            _train(torch, lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1))[0])


@idiom
def optim_adamax_nadam_radam(torch):
    return (_train(torch, lambda p: torch.optim.Adamax(p, lr=0.05))[0],
            _train(torch, lambda p: torch.optim.NAdam(p, lr=0.05))[0],
            _train(torch, lambda p: torch.optim.RAdam(p, lr=0.05))[0])


@idiom
def optim_adadelta_rmsprop_adagrad(torch):
    return (_train(torch, lambda p: torch.optim.Adadelta(p, lr=1.0))[0],
            _train(torch, lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5))[0],
            _train(torch, lambda p: torch.optim.Adagrad(p, lr=0.1))[0])


@idiom
def optim_lbfgs(torch):
    return _train(torch, lambda p: torch.optim.LBFGS(p, lr=1, max_iter=5), steps=3,
                  closure_opt=True)


@idiom
def optim_lbfgs_strong_wolfe(torch):
    return _train(torch, lambda p: torch.optim.LBFGS(p, history_size=5, max_iter=10,
                                                     line_search_fn="strong_wolfe"),
                  steps=3, closure_opt=True)


@idiom
def optim_param_groups(torch):
    model = _mlp(torch)
    opt = torch.optim.SGD([{"params": model[0].parameters()},
                           {"params": model[2].parameters(), "lr": 0.01}], lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    for g in opt.param_groups:
        g["lr"] *= 0.5
    return [g["lr"] for g in opt.param_groups], list(model.parameters())


@idiom
def optim_state_dict(torch):
    model = _mlp(torch)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    return (sorted(sd.keys()), sorted(sd["state"][0].keys()), sd["param_groups"][0]["lr"],
            sd["state"][0]["exp_avg"])


def _lrs(torch, make, steps=12, opt="SGD"):
    p = torch.zeros(1, requires_grad=True)
    o = getattr(torch.optim, opt)([p], lr=0.1, **({"momentum": 0.9} if opt == "SGD" else {}))
    s = make(torch.optim.lr_scheduler, o)
    out = []
    for _ in range(steps):
        o.step()
        s.step()
        out.append(s.get_last_lr()[0])
    return out


@idiom
def sched_step_multistep_exponential(torch):
    return (_lrs(torch, lambda L, o: L.StepLR(o, step_size=3, gamma=0.5)),
            _lrs(torch, lambda L, o: L.MultiStepLR(o, milestones=[2, 5], gamma=0.1)),
            _lrs(torch, lambda L, o: L.ExponentialLR(o, gamma=0.9)))


@idiom
def sched_lambda_multiplicative(torch):
    return (_lrs(torch, lambda L, o: L.LambdaLR(o, lambda epoch: 0.95 ** epoch)),
            _lrs(torch, lambda L, o: L.MultiplicativeLR(o, lambda epoch: 0.9)))


@idiom
def sched_constant_linear_polynomial(torch):
    return (_lrs(torch, lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4)),
            _lrs(torch, lambda L, o: L.LinearLR(o, start_factor=0.25, total_iters=4)),
            _lrs(torch, lambda L, o: L.PolynomialLR(o, total_iters=8, power=2.0)))


@idiom
def sched_cosine_restarts(torch):
    return (_lrs(torch, lambda L, o: L.CosineAnnealingLR(o, T_max=6)),
            _lrs(torch, lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                   eta_min=0.001)))


@idiom
def sched_warmup_sequential(torch):
    def make(L, o):
        warm = L.LinearLR(o, start_factor=0.1, total_iters=4)
        decay = L.CosineAnnealingLR(o, T_max=8)
        return L.SequentialLR(o, [warm, decay], milestones=[4])

    return _lrs(torch, make), _lrs(torch, lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, 0.5, 3), L.ExponentialLR(o, 0.9)]))


@idiom
def sched_one_cycle(torch):
    return (_lrs(torch, lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=12)),
            _lrs(torch, lambda L, o: L.OneCycleLR(o, max_lr=0.5, epochs=3, steps_per_epoch=4,
                                                  anneal_strategy="linear"), opt="Adam"))


@idiom
def sched_cyclic(torch):
    return (_lrs(torch, lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3)),
            _lrs(torch, lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=2, step_size_down=4,
                                                mode="triangular2"), steps=20),
            _lrs(torch, lambda L, o: L.CyclicLR(o, 0.01, 0.1, 3, mode="exp_range", gamma=0.9,
                                                cycle_momentum=False), opt="Adam"))


@idiom
def sched_reduce_on_plateau(torch):
    p = torch.zeros(1, requires_grad=True)
    o = torch.optim.SGD([p], lr=1.0)
    s = torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.5)
    out = []
    for loss in [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]:
        s.step(loss)
        out.append(o.param_groups[0]["lr"])
    return out


# ---- data ----------------------------------------------------------------------------------
@idiom
def tensor_dataset_loader(torch):
    from_data = torch.utils.data
    X = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10)
    ds = from_data.TensorDataset(X, y)
    batches = [(xb.shape[0], yb.tolist()) for xb, yb in from_data.DataLoader(ds, batch_size=4)]
    xi, yi = ds[3]
    return len(ds), xi, yi, batches, len(from_data.DataLoader(ds, batch_size=4, drop_last=True))


@idiom
def loader_shuffle_covers_everything(torch):
    D = torch.utils.data
    ds = D.TensorDataset(torch.arange(10))
    g = torch.Generator().manual_seed(0)
    seen = sorted(int(v) for (b,) in D.DataLoader(ds, batch_size=3, shuffle=True, generator=g)
                  for v in b)
    return seen, len(D.DataLoader(ds, batch_size=3, shuffle=True))


@idiom
def random_split_subset(torch):
    D = torch.utils.data
    ds = D.TensorDataset(torch.arange(10.0), torch.arange(10))
    train, val = D.random_split(ds, [7, 3], generator=torch.Generator().manual_seed(42))
    a, b, c = D.random_split(ds, [0.5, 0.3, 0.2])
    rows = sorted([int(train[i][1]) for i in range(len(train))]
                  + [int(val[i][1]) for i in range(len(val))])  # (the split differs by RNG)
    sub = D.Subset(ds, [4, 1])
    return len(train), len(val), (len(a), len(b), len(c)), rows, sub[0][1], len(sub)


@idiom
def concat_dataset(torch):
    D = torch.utils.data
    a = D.TensorDataset(torch.arange(3))
    b = D.TensorDataset(torch.arange(10, 15))
    c = D.ConcatDataset([a, b])
    return len(c), c[2][0], c[3][0], c[-1][0], [xb.tolist() for (xb,) in D.DataLoader(c, 4)]


@idiom
def custom_dataset(torch):
    D = torch.utils.data

    class Squares(D.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return torch.tensor([float(i)]), i * i

    batches = list(D.DataLoader(Squares(), batch_size=2))
    return [b[0] for b in batches], [b[1] for b in batches]


@idiom
def samplers(torch):
    D = torch.utils.data
    ds = list(range(7))
    g = torch.Generator().manual_seed(1)
    return (list(D.SequentialSampler(ds)), sorted(D.RandomSampler(ds, generator=g)),
            list(D.BatchSampler(D.SequentialSampler(ds), batch_size=3, drop_last=False)),
            list(D.BatchSampler(range(7), 3, True)), len(D.WeightedRandomSampler([0.1, 0.9], 5)),
            sorted(D.SubsetRandomSampler([5, 2, 9])))


@idiom
def loader_with_sampler_and_collate(torch):
    D = torch.utils.data
    ds = D.TensorDataset(torch.arange(6.0))
    bs = D.BatchSampler(D.SequentialSampler(ds), batch_size=4, drop_last=False)
    a = [b[0].tolist() for b in D.DataLoader(ds, batch_sampler=bs)]
    b = list(D.DataLoader(ds, batch_size=3, collate_fn=lambda items: len(items)))
    return a, b, D.default_collate([torch.tensor([1, 2]), torch.tensor([3, 4])])


# ---- random (what must agree: shapes, dtypes, ranges, reproducibility) ---------------------
@idiom
def random_shapes_dtypes(torch):
    a = torch.rand(2, 3)
    b = torch.randn(4)
    c = torch.randint(0, 10, (3, 2))
    d = torch.randint(5, (4,))
    e = torch.randperm(6)
    f = torch.normal(0.0, 1.0, size=(2, 2))
    return (a.shape, a.dtype, b.dtype, c.dtype, c.shape, d.shape, e.dtype, sorted(e.tolist()),
            f.shape, bool(((a >= 0) & (a < 1)).all()), bool(((c >= 0) & (c < 10)).all()))


@idiom
def random_reproducible(torch):
    torch.manual_seed(123)
    a = torch.randn(5)
    b = torch.rand(2)
    torch.manual_seed(123)
    a2 = torch.randn(5)
    b2 = torch.rand(2)
    g = torch.Generator().manual_seed(7)
    c = torch.rand(3, generator=g)
    g.manual_seed(7)
    c2 = torch.rand(3, generator=g)
    return torch.equal(a, a2), torch.equal(b, b2), torch.equal(c, c2), g.initial_seed()


@idiom
def random_like_and_fill(torch):
    x = torch.zeros(3, 2, dtype=torch.float64)
    a = torch.rand_like(x)
    b = torch.randn_like(x)
    c = torch.randint_like(x, 3)
    w = torch.empty(4, 5)
    w.uniform_(-0.1, 0.1)
    v = torch.empty(100).normal_(mean=2.0, std=0.01)
    return (a.dtype, b.shape, c.dtype, bool((w.abs() <= 0.1).all()),
            bool(((v - 2).abs() < 0.1).all()), torch.empty(3).bernoulli_(1.0))


@idiom
def random_distributions(torch):
    torch.manual_seed(0)
    p = torch.tensor([0.0, 1.0, 1.0])
    s = torch.bernoulli(p)
    m = torch.multinomial(torch.tensor([0.0, 0.0, 1.0]), 2, replacement=True)
    n = torch.multinomial(torch.tensor([[1.0, 0.0, 1.0]]), 2)
    z = torch.normal(torch.zeros(3), torch.ones(3) * 1e-9)
    return s, m, sorted(n[0].tolist()), n.dtype, z.shape, bool((z.abs() < 1e-6).all())


@idiom
def init_functions(torch):
    init = torch.nn.init
    w = torch.empty(3, 4)
    init.zeros_(w)
    a = w.clone()
    init.ones_(w)
    b = w.clone()
    init.constant_(w, 0.3)
    c = w.clone()
    init.eye_(w)
    return a, b, c, w


# ---- saving --------------------------------------------------------------------------------
@idiom
def save_load_state_dict(torch):
    import os
    import tempfile

    model = _mlp(torch)
    path = os.path.join(tempfile.mkdtemp(), "model.safetensors" if torch.__name__ ==
                        "chainrule" else "model.pt")
    torch.save(model.state_dict(), path)
    other = _mlp(torch)
    with torch.no_grad():
        for p in other.parameters():
            p.zero_()
    other.load_state_dict(torch.load(path))
    return [(k, v) for k, v in other.state_dict().items()]


@idiom
def variable_alias(torch):
    v = torch.autograd.Variable(torch.tensor([1.0, 2.0]), requires_grad=True)
    (v * v).sum().backward()
    return v.grad, type(v).__name__ == "Tensor"


@idiom
def is_tensor_and_numel(torch):
    x = torch.ones(2, 3)
    return torch.is_tensor(x), torch.is_tensor([1]), torch.numel(x), x.nelement(), x.stride(), \
        x.contiguous().is_contiguous(), x.t().is_contiguous()


@idiom
def atleast_column_stack(torch):
    a = torch.tensor([1.0, 2.0])
    return (torch.atleast_2d(a).shape, torch.atleast_1d(torch.tensor(3.0)).shape,
            torch.column_stack([a, a]), torch.dstack([a, a]).shape, torch.tensor_split(
                torch.arange(7), 3))
