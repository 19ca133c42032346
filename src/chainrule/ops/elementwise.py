"""Elementwise functions: exp log sqrt sin cos tanh abs relu leaky_relu elu clamp maximum where."""

import numpy as np

from chainrule import _numba
from chainrule.core.backend import to_like, xp_of
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, from_array
from chainrule.ops.arithmetic import _pair, to_tensor
from chainrule.ops.compare import InsideMask, Sign, SlopeMask, TieWeights
from chainrule.ops.registry import op


class Exp(Function):
    """y = e^x;  dy/dx = e^x = y"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape
    into_ufunc = np.exp  # forward_into(out, *x) is np.exp(*x, out=out)

    def forward(self, x):
        return np.exp(x)

    def forward_into(self, out, x):
        """forward, written into out (the result's shape and dtype; may be x)."""
        return np.exp(x, out=out)

    def vjp(self, g):
        return g * self.output


class Log(Function):
    """y = log x;  dy/dx = 1/x"""

    __slots__ = ()

    def forward(self, x):
        return np.log(x)

    def vjp(self, g):
        return g / self.inputs[0]


class Log1p(Function):
    """y = log(1 + x);  dy/dx = 1/(1 + x)"""

    __slots__ = ()

    def forward(self, x):
        return np.log1p(x)

    def vjp(self, g):
        return g / (1 + self.inputs[0])


class Expm1(Function):
    """y = e^x - 1;  dy/dx = e^x = y + 1"""

    __slots__ = ()

    def forward(self, x):
        return np.expm1(x)

    def vjp(self, g):
        return g * (self.output + 1)


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1/(2 sqrt(x)) = 1/(2y)"""

    __slots__ = ()

    def forward(self, x):
        return np.sqrt(x)

    def vjp(self, g):
        return g / (2 * self.output)


class Sin(Function):
    """y = sin x;  dy/dx = cos x"""

    __slots__ = ()

    def forward(self, x):
        return np.sin(x)

    def vjp(self, g):
        return g * cos(self.inputs[0])


class Cos(Function):
    """y = cos x;  dy/dx = -sin x"""

    __slots__ = ()

    def forward(self, x):
        return np.cos(x)

    def vjp(self, g):
        return -g * sin(self.inputs[0])


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - tanh(x)^2 = 1 - y^2"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape
    into_ufunc = np.tanh  # forward_into(out, *x) is np.tanh(*x, out=out)

    def forward(self, x):
        return np.tanh(x)

    def forward_into(self, out, x):
        """forward, written into out (the result's shape and dtype; may be x)."""
        return np.tanh(x, out=out)

    def vjp(self, g):
        y = self.output
        return g * (1 - y * y)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0, as PyTorch)"""

    __slots__ = ()

    def forward(self, x):
        return np.abs(x)

    def vjp(self, g):
        return g * Sign()(self.inputs[0])


class Relu(Function):
    """y = max(x, 0);  dy/dx = 1 if x > 0 else 0 (0 at x = 0, as PyTorch)"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape

    def forward(self, x):
        if _numba.get() is not None and _numba.fits(x):
            return self.forward_into(np.empty_like(x), x)
        return np.maximum(x, 0)

    def forward_into(self, out, x):
        """forward, written into out (the result's shape and dtype; may be x)."""
        # numba: one pass, the same bits (NumPy's maximum with a scalar is ~3x slower)
        kernels = _numba.get()
        if kernels is not None and _numba.fits(out, x):
            kernels.relu(x, out, x.dtype.type(0))
            return out
        return np.maximum(x, 0, out=out)

    def vjp(self, g):
        return ReluGrad()(g, self.output)


class ReluGrad(Function):
    """y = g where r > 0 else 0 (relu's vjp, r its output);  dy/dg: the same mask (linear)"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape

    def forward(self, g, r):
        if _numba.get() is not None and _numba.fits(g, r) and g.shape == r.shape:
            return self.forward_into(np.empty_like(g), g, r)
        return g * (r > 0)

    def forward_into(self, out, g, r):
        """forward, written into out (the result's shape and dtype; may be g or r)."""
        kernels = _numba.get()  # (numba: one pass, the same bits as NumPy's two)
        if kernels is not None and _numba.fits(out, g, r) and g.shape == r.shape:
            c = g.dtype.type
            kernels.relu_grad(g, r, out, c(1), c(0))
            return out
        return np.multiply(g, r > 0, out=out)

    def vjp(self, gg):
        return ReluGrad()(gg, self.inputs[1]), None


class LeakyRelu(Function):
    """y = x if x > 0 else s*x;  dy/dx = 1 if x > 0 else s"""

    __slots__ = ("slope",)

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return np.where(x > 0, x, x * x.dtype.type(self.slope))

    def vjp(self, g):
        return g * SlopeMask(self.slope)(self.inputs[0])


class Elu(Function):
    """y = x if x > 0 else a(e^x - 1);  dy/dx = 1 if x > 0 else y + a"""

    __slots__ = ("alpha",)

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        # expm1 of min(x, 0): the inactive branch cannot overflow
        return np.where(x > 0, x, x.dtype.type(self.alpha) * np.expm1(np.minimum(x, 0)))

    def vjp(self, g):
        return where(self.inputs[0] > 0, g, g * (self.output + self.alpha))


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 if lo <= x <= hi else 0 (as PyTorch's clamp)"""

    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return np.clip(x, self.lo, self.hi)

    def vjp(self, g):
        return g * InsideMask(self.lo, self.hi)(self.inputs[0])


class Maximum(Function):
    """y = max(a, b);  dy/da = 1 where a > b, 1/2 at ties (as PyTorch), else 0"""

    __slots__ = ()

    def forward(self, a, b):
        return np.maximum(a, b)

    def vjp(self, g):
        a, b = self.inputs
        wa = TieWeights(np.greater, g.dtype)(a, b)
        ga = g * wa if a.requires_grad else None
        gb = g * (1 - wa) if b.requires_grad else None
        return ga, gb


class Minimum(Function):
    """y = min(a, b);  dy/da = 1 where a < b, 1/2 at ties (as PyTorch), else 0"""

    __slots__ = ()

    def forward(self, a, b):
        return np.minimum(a, b)

    def vjp(self, g):
        a, b = self.inputs
        wa = TieWeights(np.less, g.dtype)(a, b)
        ga = g * wa if a.requires_grad else None
        gb = g * (1 - wa) if b.requires_grad else None
        return ga, gb


class Where(Function):
    """y = a where c else b;  dy/da = c, dy/db = not c  (c: a boolean input, not differentiated)"""

    __slots__ = ()

    def forward(self, a, b, c):
        return np.where(c, a, b)

    def vjp(self, g):
        a, b, c = self.inputs
        zero = from_array(xp_of(g).zeros((), dtype=g.dtype))
        ga = Where()(g, zero, c) if a.requires_grad else None
        gb = Where()(zero, g, c) if b.requires_grad else None
        return ga, gb, None


@op(methods=("exp",), classes=(Exp,))
def exp(input):
    """e^x."""
    return Exp()(to_tensor(input))


@op(methods=("log",), classes=(Log,))
def log(input):
    """Natural logarithm."""
    return Log()(to_tensor(input))


@op(methods=("log1p",), classes=(Log1p,))
def log1p(input):
    """log(1 + x), accurate for small x."""
    return Log1p()(to_tensor(input))


@op(methods=("expm1",), classes=(Expm1,))
def expm1(input):
    """e^x - 1, accurate for small x."""
    return Expm1()(to_tensor(input))


@op(methods=("sqrt",), classes=(Sqrt,))
def sqrt(input):
    """Square root."""
    return Sqrt()(to_tensor(input))


@op(methods=("rsqrt",))
def rsqrt(input):
    """1 / sqrt(x)."""
    return 1 / Sqrt()(to_tensor(input))


@op(methods=("sin",), classes=(Sin,))
def sin(input):
    """Sine."""
    return Sin()(to_tensor(input))


@op(methods=("cos",), classes=(Cos,))
def cos(input):
    """Cosine."""
    return Cos()(to_tensor(input))


@op(methods=("tanh",), classes=(Tanh,))
def tanh(input):
    """Hyperbolic tangent."""
    return Tanh()(to_tensor(input))


@op(methods=("abs", "absolute", "__abs__"), classes=(Abs, Sign))
def abs(input):
    """|x|."""
    return Abs()(to_tensor(input))


@op(methods=("relu",), classes=(Relu, ReluGrad))
def relu(input):
    """max(x, 0)."""
    return Relu()(to_tensor(input))


@op(methods=("leaky_relu",), classes=(LeakyRelu, SlopeMask))
def leaky_relu(input, negative_slope=0.01):
    """x if x > 0 else negative_slope * x."""
    return LeakyRelu(negative_slope)(to_tensor(input))


@op(methods=("elu",), classes=(Elu,))
def elu(input, alpha=1.0):
    """x if x > 0 else alpha * (e^x - 1)."""
    return Elu(alpha)(to_tensor(input))


@op(methods=("clamp", "clip"), classes=(Clip, InsideMask), also=("clip",))
def clamp(input, min=None, max=None):
    """Clamp x into [min, max] (either bound may be None), as torch.clamp."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clip(min, max)(to_tensor(input))


@op(methods=("maximum",), classes=(Maximum, TieWeights))
def maximum(input, other):
    """Elementwise max(input, other) (broadcasting)."""
    return Maximum()(*_pair(input, other))


@op(methods=("minimum",), classes=(Minimum, TieWeights))
def minimum(input, other):
    """Elementwise min(input, other) (broadcasting)."""
    return Minimum()(*_pair(input, other))


@op(classes=(Where,))
def where(condition, input, other):
    """input where condition else other (broadcasting); the condition is not differentiated."""
    cond = condition if isinstance(condition, Tensor) else from_array(np.asarray(condition))
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be boolean; got dtype {cond.dtype}")
    a, b = _pair(input, other)
    if type(cond._data) is np.ndarray and type(a._data) is not np.ndarray:  # a host mask
        cond = from_array(to_like(cond._data, a._data))
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: shapes of condition {cond.shape}, input {a.shape} and other "
                         f"{b.shape} cannot be broadcast together") from None
    return Where()(a, b, cond)


clip = clamp
