"""Arithmetic: add sub mul div neg pow, with NumPy broadcasting (the engine sums gradients back)."""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.backend import DEVICE_TYPES as _device_types
from chainrule.core.backend import backend_of as _backend_of
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, as_array, from_array
from chainrule.ops.registry import op

_float_kinds = "fc"


def to_tensor(value, like=None):
    """Tensor from a Tensor, ndarray or Python scalar; a scalar takes the dtype of `like`.

    Python scalars are "weak" as in NumPy 2 and PyTorch: float32 * 2.0 stays float32.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        if like is not None and type(value) is np.ndarray and type(like._data) in _device_types:
            b = _backend_of(like._data)
            if b.lenient:  # the test suite's edge on a test device: host operands copied there
                return from_array(b.from_host(value, None))
        return from_array(value)
    if like is not None and isinstance(value, (int, float, bool, np.number)):
        la = like._data
        kind = la.dtype.kind
        if type(la) is not np.ndarray and type(la) in _device_types:  # on like's device, once
            b = _backend_of(la)
            if kind in _float_kinds or (isinstance(value, (int, bool, np.integer))
                                        and kind in "iub"):
                return from_array(b.scalar(value, la.dtype))
            if isinstance(value, (float, np.floating)):
                return from_array(b.scalar(value, _mode.state.default_dtype))
            return from_array(b.scalar(value, as_array(value).dtype))
        if kind in _float_kinds or (isinstance(value, (int, bool, np.integer)) and kind in "iub"):
            return from_array(np.asarray(value, dtype=la.dtype))
        if isinstance(value, (float, np.floating)):
            return from_array(np.asarray(value, dtype=_mode.state.default_dtype))
    return from_array(as_array(value))


def const(host, like):
    """A constant Tensor of the host array `host` on like's device (like: a Tensor)."""
    a = like._data
    return from_array(host if type(a) is np.ndarray else _backend_of(a).from_host(host, None))


def _pair(a, b):
    if not isinstance(a, Tensor):
        a = to_tensor(a, b)
    if not isinstance(b, Tensor):
        b = to_tensor(b, a)
    return a, b


def _broadcast_error(op, a, b):
    return ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together")


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape
    into_ufunc = np.add  # forward_into(out, *x) is np.add(*x, out=out)
    reads_values = False

    def forward(self, a, b):
        return a + b

    def forward_into(self, out, a, b):
        """forward, written into out (the result's shape and dtype; may be a or b)."""
        return np.add(a, b, out=out)

    def vjp(self, g):
        return g, g


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape
    into_ufunc = np.subtract  # forward_into(out, *x) is np.subtract(*x, out=out)
    reads_values = False

    def forward(self, a, b):
        return a - b

    def forward_into(self, out, a, b):
        """forward, written into out (the result's shape and dtype; may be a or b)."""
        return np.subtract(a, b, out=out)

    def vjp(self, g):
        return g, (-g if self.inputs[1].requires_grad else None)


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape
    into_ufunc = np.multiply  # forward_into(out, *x) is np.multiply(*x, out=out)

    def forward(self, a, b):
        return a * b

    def forward_into(self, out, a, b):
        """forward, written into out (the result's shape and dtype; may be a or b)."""
        return np.multiply(a, b, out=out)

    def vjp(self, g):
        a, b = self.inputs
        return (g * b if a.requires_grad else None), (g * a if b.requires_grad else None)


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b^2 = -y/b"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape
    into_ufunc = np.divide  # forward_into(out, *x) is np.divide(*x, out=out)

    def forward(self, a, b):
        return a / b

    def forward_into(self, out, a, b):
        """forward, written into out (the result's shape and dtype; may be a or b)."""
        return np.divide(a, b, out=out)

    def vjp(self, g):
        a, b = self.inputs
        ga = g / b if a.requires_grad else None
        gb = -g * a / (b * b) if b.requires_grad else None
        return ga, gb


class Neg(Function):
    """y = -x;  dy/dx = -1"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape
    into_ufunc = np.negative  # forward_into(out, *x) is np.negative(*x, out=out)
    reads_values = False

    def forward(self, x):
        return -x

    def forward_into(self, out, x):
        """forward, written into out (the result's shape and dtype; may be x)."""
        return np.negative(x, out=out)

    def vjp(self, g):
        return -g


class Pow(Function):
    """y = a^b;  dy/da = b a^(b-1), dy/db = a^b log a"""

    __slots__ = ()

    def forward(self, a, b):
        return np.power(a, b)

    def vjp(self, g):
        a, b = self.inputs
        ga = g * b * a ** (b - 1) if a.requires_grad else None
        gb = g * self.output * a.log() if b.requires_grad else None
        return ga, gb


def _binary(cls, name, a, b):
    if type(a) is not Tensor or type(b) is not Tensor:  # (Parameters take this path too)
        a, b = _pair(a, b)
    da, db = a._data.dtype, b._data.dtype
    if da is not db and (da.kind in _float_kinds) != (db.kind in _float_kinds):
        # torch's promotion: an integer or bool tensor meeting a floating one takes its dtype
        # (NumPy would make int64 + float32 a float64)
        a, b = (a, b.astype(da)) if da.kind in _float_kinds else (a.astype(db), b)
    try:
        return cls()(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise _broadcast_error(name, a, b) from None
        raise


@op(methods=("add", "__add__"), reflected=("__radd__",), classes=(Add,))
def add(input, other, alpha=1):
    """Elementwise input + alpha * other (broadcasting)."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Add, "add", input, other)


@op(methods=("sub", "subtract", "__sub__"), reflected=("__rsub__",), classes=(Sub,))
def sub(input, other, alpha=1):
    """Elementwise input - alpha * other (broadcasting)."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Sub, "sub", input, other)


@op(methods=("mul", "multiply", "__mul__"), reflected=("__rmul__",), classes=(Mul,))
def mul(input, other):
    """Elementwise input * other (broadcasting)."""
    return _binary(Mul, "mul", input, other)


@op(methods=("div", "divide", "true_divide", "__truediv__"), reflected=("__rtruediv__",),
    classes=(Div,))
def div(input, other):
    """Elementwise input / other (broadcasting). Integer tensors divide to floats, as in torch."""
    a, b = _pair(input, other)
    if a._data.dtype.kind not in _float_kinds and b._data.dtype.kind not in _float_kinds:
        a = a.astype(_mode.state.default_dtype)  # torch: int / int is the default float dtype
    return _binary(Div, "div", a, b)


@op(methods=("neg", "negative", "__neg__"), classes=(Neg,))
def neg(input):
    """-input."""
    return Neg()(to_tensor(input))


@op(methods=("positive", "__pos__"))
def positive(input):
    """+input: the tensor itself."""
    return to_tensor(input)


@op(methods=("pow", "__pow__"), reflected=("__rpow__",), classes=(Pow,))
def pow(input, exponent):
    """Elementwise input ** exponent (broadcasting)."""
    return _binary(Pow, "pow", input, exponent)


@op(methods=("square",))
def square(input):
    """input^2 (as input * input, so every order of derivative is exact)."""
    x = to_tensor(input)
    return Mul()(x, x)

