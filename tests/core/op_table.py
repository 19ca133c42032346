"""The table of differentiable ops: each row is an op, how to draw its inputs, and its references.

Adding an op to OPS is how it gets tested (forward vs NumPy in float32/float64, gradcheck,
gradgradcheck, and PyTorch forward/backward when torch is installed).
"""

from dataclasses import dataclass

import numpy as np
import scipy.special

import chainrule as cr


@dataclass
class Row:
    id: str
    fn: object  # chainrule function of Tensors
    ref: object  # NumPy reference of ndarrays
    shapes: tuple  # one shape per input
    domain: tuple = ()  # per input: "real", "pos", "away" (|x| >= 0.2), "unit" (-0.9..0.9),
    # "prob" (0.05..0.95)
    torch: object = None  # torch function of torch tensors, when an equivalent exists
    second_order: bool = True


def draw(shape, domain, rng):
    """Random float64 input in the op's domain, away from kinks and ties."""
    x = rng.uniform(-2, 2, size=shape)
    if domain == "pos":
        x = rng.uniform(0.3, 2.5, size=shape)
    elif domain == "away":
        x = np.sign(x + 1e-12) * rng.uniform(0.2, 2, size=shape)
    elif domain == "unit":
        x = rng.uniform(-0.9, 0.9, size=shape)
    elif domain == "prob":
        x = rng.uniform(0.05, 0.95, size=shape)
    return np.asarray(x, dtype=np.float64)


OPS = []


def row(*args, **kwargs):
    OPS.append(Row(*args, **kwargs))


# ---- arithmetic, with broadcasting pairs ----------------------------------------------------
BROADCAST = [((3,), (3,)), ((2, 3), (3,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((4, 1), (1, 5)),
             ((2, 3), ())]
for sa, sb in BROADCAST:
    tag = f"{sa}x{sb}"
    row(f"add{tag}", lambda a, b: a + b, np.add, (sa, sb), torch=lambda a, b: a + b)
    row(f"sub{tag}", lambda a, b: a - b, np.subtract, (sa, sb), torch=lambda a, b: a - b)
    row(f"mul{tag}", lambda a, b: a * b, np.multiply, (sa, sb), torch=lambda a, b: a * b)
    row(f"div{tag}", lambda a, b: a / b, np.divide, (sa, sb), ("real", "away"),
        torch=lambda a, b: a / b)
    row(f"pow{tag}", lambda a, b: a ** b, np.power, (sa, sb), ("pos", "real"),
        torch=lambda a, b: a ** b)
    row(f"maximum{tag}", cr.maximum, np.maximum, (sa, sb), torch=lambda a, b: a.maximum(b))
    row(f"minimum{tag}", cr.minimum, np.minimum, (sa, sb), torch=lambda a, b: a.minimum(b))
row("rsub_scalar", lambda a: 2.0 - a, lambda a: 2.0 - a, ((2, 3),), torch=lambda a: 2.0 - a)
row("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, ((2, 3),), ("away",),
    torch=lambda a: 2.0 / a)
row("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, ((2, 3),), torch=lambda a: a ** 3)
row("pow_half", lambda a: a ** 0.5, np.sqrt, ((2, 3),), ("pos",), torch=lambda a: a ** 0.5)
row("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, ((2, 3),), torch=lambda a: 2.0 ** a)
row("neg", lambda a: -a, np.negative, ((2, 3),), torch=lambda a: -a)

# ---- elementwise ---------------------------------------------------------------------------
UNARY = [
    ("abs", cr.abs, np.abs, "away", "abs"),
    ("exp", cr.exp, np.exp, "real", "exp"),
    ("log", cr.log, np.log, "pos", "log"),
    ("log1p", cr.log1p, np.log1p, "pos", "log1p"),
    ("expm1", cr.expm1, np.expm1, "real", "expm1"),
    ("sqrt", cr.sqrt, np.sqrt, "pos", "sqrt"),
    ("square", lambda x: x.square(), np.square, "real", "square"),
    ("sin", cr.sin, np.sin, "real", "sin"),
    ("cos", cr.cos, np.cos, "real", "cos"),
    ("tanh", cr.tanh, np.tanh, "real", "tanh"),
    ("sigmoid", cr.sigmoid, scipy.special.expit, "real", "sigmoid"),
    ("relu", cr.relu, lambda x: np.maximum(x, 0), "away", "relu"),
    ("leaky_relu", lambda x: cr.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
     "away", None),
    ("elu", lambda x: cr.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x)), "away",
     None),
    ("softplus", cr.softplus, lambda x: np.logaddexp(0, x), "real", None),
    ("softplus_beta2", lambda x: cr.softplus(x, beta=2.0), lambda x: np.logaddexp(0, 2 * x) / 2,
     "real", None),
    ("gelu", cr.gelu, lambda x: x * scipy.special.ndtr(x), "real", None),
    ("gelu_tanh", lambda x: cr.gelu(x, approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), "real",
     None),
    ("erf", cr.erf, scipy.special.erf, "real", "erf"),
    ("clip", lambda x: cr.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), "real", None),
    ("clip_min", lambda x: x.clip(min=0.1), lambda x: np.maximum(x, 0.1), "real", None),
]
for name, fn, ref, dom, tname in UNARY:
    tfn = (lambda n: (lambda x: getattr(x, n)()))(tname) if isinstance(tname, str) else None
    for shape in [(), (5,), (2, 3)]:
        row(f"{name}{shape}", fn, ref, (shape,), (dom,), torch=tfn)


def _torch_F(name, **kw):
    def f(*xs):
        import torch.nn.functional as F

        return getattr(F, name)(*xs, **kw)

    return f


for r in OPS:
    if r.id.startswith("leaky_relu"):
        r.torch = _torch_F("leaky_relu", negative_slope=0.1)
    elif r.id.startswith("elu"):
        r.torch = _torch_F("elu", alpha=1.5)
    elif r.id.startswith("softplus_beta2"):
        r.torch = _torch_F("softplus", beta=2.0, threshold=1e9)
    elif r.id.startswith("softplus"):
        r.torch = _torch_F("softplus", threshold=1e9)
    elif r.id.startswith("gelu_tanh"):
        r.torch = _torch_F("gelu", approximate="tanh")
    elif r.id.startswith("gelu"):
        r.torch = _torch_F("gelu")
    elif r.id.startswith("clip_min"):
        r.torch = lambda x: x.clamp(min=0.1)
    elif r.id.startswith("clip"):
        r.torch = lambda x: x.clamp(-0.5, 0.7)

row("where", lambda c, a, b: cr.where(c > 0, a, b), lambda c, a, b: np.where(c > 0, a, b),
    ((2, 3), (2, 3), (3,)))

# ---- reductions: every axis / keepdims combination -----------------------------------------
AXES = [None, 0, 1, -1, (0, 2), (0, 1, 2), ()]
for axis in AXES:
    for keep in (False, True):
        tag = f"[axis={axis},keep={keep}]"
        row(f"sum{tag}", lambda x, a=axis, k=keep: x.sum(a, k),
            lambda x, a=axis, k=keep: np.sum(x, axis=a, keepdims=k), ((2, 3, 4),))
        row(f"mean{tag}", lambda x, a=axis, k=keep: x.mean(a, k),
            lambda x, a=axis, k=keep: np.mean(x, axis=a, keepdims=k), ((2, 3, 4),))
        if axis != ():
            row(f"var{tag}", lambda x, a=axis, k=keep: x.var(a, keepdims=k),
                lambda x, a=axis, k=keep: np.var(x, axis=a, keepdims=k, ddof=1), ((2, 3, 4),))
            row(f"std{tag}", lambda x, a=axis, k=keep: x.std(a, correction=0, keepdims=k),
                lambda x, a=axis, k=keep: np.std(x, axis=a, keepdims=k), ((2, 3, 4),))
            row(f"amax{tag}", lambda x, a=axis, k=keep: x.amax(a, k),
                lambda x, a=axis, k=keep: np.max(x, axis=a, keepdims=k), ((2, 3, 4),))
            row(f"amin{tag}", lambda x, a=axis, k=keep: x.amin(a, k),
                lambda x, a=axis, k=keep: np.min(x, axis=a, keepdims=k), ((2, 3, 4),))
            if isinstance(axis, int):  # torch's max(dim): (values, indices), values checked
                row(f"max_dim{tag}", lambda x, a=axis, k=keep: x.max(a, k).values,
                    lambda x, a=axis, k=keep: np.max(x, axis=a, keepdims=k), ((2, 3, 4),),
                    torch=lambda x, a=axis, k=keep: x.max(a, k).values)
                row(f"min_dim{tag}", lambda x, a=axis, k=keep: x.min(dim=a, keepdim=k).values,
                    lambda x, a=axis, k=keep: np.min(x, axis=a, keepdims=k), ((2, 3, 4),),
                    torch=lambda x, a=axis, k=keep: x.min(dim=a, keepdim=k).values)
            row(f"logsumexp{tag}", lambda x, a=axis, k=keep: x.logsumexp(a, k),
                lambda x, a=axis, k=keep: scipy.special.logsumexp(x, axis=a, keepdims=k),
                ((2, 3, 4),))
for r in OPS:
    if r.id.startswith(("sum[axis=None", "mean[axis=None", "amax[axis=None", "amin[axis=None")):
        if "keep=False" in r.id:
            r.torch = (lambda n: (lambda x: getattr(x, n)()))(r.id.split("[")[0])
    if r.id.startswith("logsumexp[axis=1,keep"):
        r.torch = (lambda k: (lambda x: x.logsumexp(1, keepdim=k)))("True" in r.id)
    if r.id.startswith("var[axis=1,keep=False"):
        r.torch = lambda x: x.var(1)
for axis in (0, 1, -1):
    row(f"softmax[{axis}]", lambda x, a=axis: x.softmax(a),
        lambda x, a=axis: scipy.special.softmax(x, axis=a), ((2, 3, 4),),
        torch=lambda x, a=axis: x.softmax(a))
    row(f"log_softmax[{axis}]", lambda x, a=axis: x.log_softmax(a),
        lambda x, a=axis: scipy.special.log_softmax(x, axis=a), ((2, 3, 4),),
        torch=lambda x, a=axis: x.log_softmax(a))
row("max_scalar", lambda x: x.max(), np.max, ((),))

# ---- shape ---------------------------------------------------------------------------------
row("reshape", lambda x: x.reshape(3, -1), lambda x: x.reshape(3, -1), ((2, 3, 2),),
    torch=lambda x: x.reshape(3, -1))
row("flatten", lambda x: x.flatten(1), lambda x: x.reshape(2, -1), ((2, 3, 2),),
    torch=lambda x: x.flatten(1))
row("permute", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), ((2, 3, 4),),
    torch=lambda x: x.permute(2, 0, 1))
row("transpose", lambda x: x.transpose(0, 2), lambda x: np.swapaxes(x, 0, 2), ((2, 3, 4),),
    torch=lambda x: x.transpose(0, 2))
row("T", lambda x: x.T, lambda x: x.T, ((2, 3),), torch=lambda x: x.T)
row("squeeze", lambda x: x.squeeze(), np.squeeze, ((2, 1, 3, 1),), torch=lambda x: x.squeeze())
row("squeeze_axis", lambda x: x.squeeze(1), lambda x: np.squeeze(x, 1), ((2, 1, 3, 1),))
row("unsqueeze", lambda x: x.unsqueeze(1), lambda x: np.expand_dims(x, 1), ((2, 3),),
    torch=lambda x: x.unsqueeze(1))
row("broadcast_to", lambda x: x.broadcast_to((4, 2, 3)),
    lambda x: np.broadcast_to(x, (4, 2, 3)), ((2, 1),), torch=lambda x: x.expand(4, 2, 3))
row("concatenate0", lambda a, b: cr.concatenate([a, b]), lambda a, b: np.concatenate([a, b]),
    ((2, 3), (4, 3)), torch=lambda a, b: __import__("torch").cat([a, b]))
row("concatenate1", lambda a, b, c: cr.concatenate([a, b, c], axis=1),
    lambda a, b, c: np.concatenate([a, b, c], axis=1), ((2, 1), (2, 3), (2, 2)))
row("stack", lambda a, b: cr.stack([a, b], axis=1), lambda a, b: np.stack([a, b], axis=1),
    ((2, 3), (2, 3)), torch=lambda a, b: __import__("torch").stack([a, b], 1))
row("split", lambda x: x.split(2, axis=1), lambda x: tuple(np.split(x, [2, 4], axis=1)),
    ((3, 5),), torch=lambda x: x.split(2, 1))
row("split_sizes", lambda x: x.split([1, 3], axis=0)[1], lambda x: x[1:4], ((4, 2),))
row("pad", lambda x: x.pad(((1, 2), (0, 1)), value=0.5),
    lambda x: np.pad(x, ((1, 2), (0, 1)), constant_values=0.5), ((2, 3),))
row("pad_one_pair", lambda x: x.pad((1, 1)), lambda x: np.pad(x, 1), ((2, 3),))
INDICES = {
    "int": 1,
    "neg_int": -1,
    "slice": slice(1, None),
    "step_slice": (slice(None), slice(None, None, 2)),
    "none": (None, 0),
    "ellipsis": (Ellipsis, 1),
    "int_array_repeats": np.array([0, 2, 2, 1]),
    "pair_arrays": (np.array([0, 1, 1]), np.array([2, 0, 2])),
    "bool_mask": np.array([[True, False, True, False], [False, False, True, True],
                           [True, True, False, False]]),
    "mixed": (slice(0, 2), np.array([3, 3, 0])),
}
for name, index in INDICES.items():
    row(f"getitem_{name}", lambda x, i=index: x[i], lambda x, i=index: x[i], ((3, 4),),
        torch=lambda x, i=index: x[__import__("torch").as_tensor(i) if isinstance(i, np.ndarray)
                                   else tuple(__import__("torch").as_tensor(j)
                                              if isinstance(j, np.ndarray) else j for j in i)
                                   if isinstance(i, tuple) else i])

# ---- linear algebra ------------------------------------------------------------------------
MATMUL = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
          ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)), ((4,), (2, 4, 3)),
          ((2, 2, 3), (3,))]
for sa, sb in MATMUL:
    row(f"matmul{sa}@{sb}", lambda a, b: a @ b, np.matmul, (sa, sb), torch=lambda a, b: a @ b)

SPD = lambda A: A @ A.mT + 3 * cr.eye(A.shape[-1], dtype=A.dtype)  # noqa: E731
row("cholesky", lambda A: cr.cholesky(SPD(A)),
    lambda A: np.linalg.cholesky(A @ np.swapaxes(A, -1, -2) + 3 * np.eye(3)), ((3, 3),),
    torch=lambda A: __import__("torch").linalg.cholesky(A @ A.mT + 3 * __import__("torch").eye(
        3, dtype=A.dtype)))
row("cholesky_batched", lambda A: cr.cholesky(SPD(A)),
    lambda A: np.linalg.cholesky(A @ np.swapaxes(A, -1, -2) + 3 * np.eye(2)), ((2, 2, 2),))
row("triangular_solve", lambda A, B: cr.triangular_solve(cr.cholesky(SPD(A)), B),
    lambda A, B: np.linalg.solve(np.linalg.cholesky(A @ A.T + 3 * np.eye(3)), B),
    ((3, 3), (3, 2)))
row("triangular_solve_upper", lambda A, B: cr.triangular_solve(cr.cholesky(SPD(A)).mT, B, True),
    lambda A, B: np.linalg.solve(np.linalg.cholesky(A @ A.T + 3 * np.eye(3)).T, B),
    ((3, 3), (3,)))
row("diagonal", lambda A: cr.diagonal(A, 0, -2, -1),
    lambda A: np.diagonal(A, axis1=-2, axis2=-1).copy(), ((2, 3, 3),),
    torch=lambda A: A.diagonal(0, -2, -1))
row("diagonal_offset", lambda A: A.diagonal(1), lambda A: np.diagonal(A, 1).copy(), ((3, 4, 2),),
    torch=lambda A: A.diagonal(1))
for axis in (0, 1, -1):
    row(f"cumsum[{axis}]", lambda x, a=axis: x.cumsum(a), lambda x, a=axis: np.cumsum(x, a),
        ((3, 4),), torch=lambda x, a=axis: x.cumsum(a))

# ---- composites used everywhere ------------------------------------------------------------
row("mlp_layer", lambda x, W, b: (x @ W.mT + b).tanh().sum(1),
    lambda x, W, b: np.tanh(x @ W.T + b).sum(1), ((4, 3), (2, 3), (2,)))

row("clone", lambda x: x.clone() * x, lambda x: x * x, ((2, 3),), torch=lambda x: x.clone() * x)
row("logical", lambda x: cr.where(~(x > 0) | (x > 1), x, 2 * x) * (x > -5).all(1, keepdim=True)
    * (x > 5).any(), lambda x: 0 * x, ((2, 3),))
row("logical_where", lambda x: cr.where((x > 0).any(1, keepdim=True) & ~(x < -3).all(), x, -x),
    lambda x: np.where((x > 0).any(1, keepdims=True), x, -x), ((3, 2),))

# ---- special functions (SciPy) ---------------------------------------------------------------
row("lgamma", cr.lgamma, scipy.special.gammaln, ((4,),), ("pos",), torch=lambda x: x.lgamma())
row("digamma", cr.digamma, scipy.special.digamma, ((4,),), ("pos",))  # (torch's: 4e-10 off)
row("polygamma2", lambda x: cr.polygamma(2, x), lambda x: scipy.special.polygamma(2, x), ((3,),),
    ("pos",))
row("ndtr", cr.ndtr, scipy.special.ndtr, ((4,),),
    torch=lambda x: __import__("torch").special.ndtr(x))
row("ndtri", cr.ndtri, scipy.special.ndtri, ((4,),), ("prob",))  # (torch's is 4e-10 off SciPy)
row("xlogy", cr.xlogy, scipy.special.xlogy, ((3,), (3,)), ("real", "pos"),
    torch=lambda x, y: __import__("torch").xlogy(x, y))

# ---- the fused primitives of layers and losses -----------------------------------------------
LABELS = np.array([2, 0, 1, 2])
row("linear", lambda x, W, b: cr.nn.functional.linear(x, W, b), lambda x, W, b: x @ W.T + b,
    ((4, 3), (2, 3), (2,)), torch=lambda x, W, b: __import__("torch").nn.functional.linear(x, W, b))
row("cross_entropy", lambda x: cr.nn.functional.cross_entropy(x, LABELS),
    lambda x: -scipy.special.log_softmax(x, 1)[np.arange(4), LABELS].mean(), ((4, 3),),
    torch=lambda x: __import__("torch").nn.functional.cross_entropy(
        x, __import__("torch").as_tensor(LABELS)))
IGNORED = np.array([2, -100, 1, -100])
row("cross_entropy_ignore", lambda x: cr.nn.functional.cross_entropy(x, IGNORED, reduction="sum"),
    lambda x: -scipy.special.log_softmax(x, 1)[[0, 2], [2, 1]].sum(), ((4, 3),),
    torch=lambda x: __import__("torch").nn.functional.cross_entropy(
        x, __import__("torch").as_tensor(IGNORED), reduction="sum"))
row("nll_loss", lambda x: cr.nn.functional.nll_loss(x.log_softmax(1), IGNORED),
    lambda x: -scipy.special.log_softmax(x, 1)[[0, 2], [2, 1]].mean(), ((4, 3),),
    torch=lambda x: __import__("torch").nn.functional.nll_loss(
        x.log_softmax(1), __import__("torch").as_tensor(IGNORED)))
row("mse_loss", lambda x, y: cr.nn.functional.mse_loss(x, y), lambda x, y: ((x - y) ** 2).mean(),
    ((3, 2), (3, 2)), torch=lambda x, y: __import__("torch").nn.functional.mse_loss(x, y))
row("binary_cross_entropy", lambda p, q: cr.nn.functional.binary_cross_entropy(p, q),
    lambda p, q: -(q * np.log(p) + (1 - q) * np.log1p(-p)).mean(), ((5,), (5,)), ("prob", "prob"),
    torch=lambda p, q: __import__("torch").nn.functional.binary_cross_entropy(p, q))
TOKENS = np.array([[0, 3], [3, 1]])
row("embedding", lambda W: cr.nn.functional.embedding(TOKENS, W), lambda W: W[TOKENS], ((4, 2),),
    torch=lambda W: __import__("torch").nn.functional.embedding(__import__("torch").as_tensor(
        TOKENS), W))


def _family_rows():
    """Import every module of tests/op_rows (each adds its family's rows with row())."""
    import importlib
    import pkgutil

    import tests.op_rows

    for info in sorted(pkgutil.iter_modules(tests.op_rows.__path__), key=lambda m: m.name):
        importlib.import_module(f"tests.op_rows.{info.name}")


_family_rows()
