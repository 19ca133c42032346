"""detect_anomaly: stop at the first op whose forward or backward gives NaN or inf; say where.

Inside the context an interceptor (the kernel's extension point, core/mode.py) sees every op's
forward and vjp: each op remembers the line of user code that created it (a walk up a few
frames, only while the context is active), and the first non-finite result raises
`AnomalyError` naming the op, the phase, the shapes, the creation site and a hint for the usual
causes.
"""

import functools
import linecache
import os
import sys
import weakref

import numpy as np

import chainrule
from chainrule.core import mode as _mode

_PACKAGE_DIR = os.path.dirname(os.path.abspath(chainrule.__file__)) + os.sep
_sites = weakref.WeakKeyDictionary()  # Function node -> (filename, lineno, function name)
_scopes = weakref.WeakKeyDictionary()  # Function node -> module name (while `scope` is used)
scope = []  # names of the modules whose forward is running, innermost last (diagnose fills it)


class AnomalyError(FloatingPointError):
    """Raised under detect_anomaly() when an op's forward or backward gives NaN or inf.

    Besides the message it carries the facts: ``op`` (the op's class name, e.g. ``'Log'``),
    ``phase`` (``'forward'`` or ``'backward'``), ``site`` ((filename, line, function) of the
    user code that created the op, or None), ``scope`` (the name of the module whose forward
    created it, when `diagnose` tracks modules, else None) and ``hint``.
    """

    def __init__(self, message, op=None, phase=None, site=None, scope=None, hint=None):
        super().__init__(message)
        self.op, self.phase, self.site, self.scope, self.hint = op, phase, site, scope, hint


class detect_anomaly:
    """Context (or decorator): raise at the first op whose forward or backward is not finite.

    The error names the op (``the backward of Log``), the shapes, the line of your code that created
    the op, and a hint for the usual causes. ``check_forward=False`` checks only backward passes
    (infinities in a forward pass, such as log(0) masked by `where`, are sometimes intended).
    Recording creation sites costs a few microseconds per op, so use it for debugging only.

        >>> import chainrule as cr
        >>> x = cr.tensor([0.0, 1.0], requires_grad=True)
        >>> with detect_anomaly(check_forward=False):  # doctest: +IGNORE_EXCEPTION_DETAIL
        ...     cr.log(x).sum().backward()
        Traceback (most recent call last):
        AnomalyError: detect_anomaly: the backward of Log (y = log x) produced non-finite ...
    """

    def __init__(self, check_forward=True):
        self.check_forward = bool(check_forward)

    def __enter__(self):
        self._intercept = _mode.intercept(_Checker(self.check_forward))
        self._intercept.__enter__()
        return self

    def __exit__(self, *exc):
        self._intercept.__exit__(*exc)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_forward):
                return fn(*args, **kwargs)

        return wrapper


def _user_site():
    """(filename, lineno, function) of the innermost frame outside the chainrule package."""
    frame = sys._getframe(3)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name


class _Checker(_mode.Interceptor):
    """Records each op's creation site; raises with context at the first NaN or inf."""

    def __init__(self, check_forward):
        self.check_forward = check_forward

    def forward(self, fn, inputs, arrays, raw, many):
        # only ops recorded for backward (the ops inside a vjp are checked by its vjp event),
        # and by the innermost detect_anomaly context only
        if self is not _innermost() or not (fn.differentiable and _mode.state.grad_enabled
                and any(t.requires_grad for t in inputs)):
            return
        if fn not in _sites:
            _sites[fn] = _user_site()
            if scope:
                _scopes[fn] = scope[-1]
        if self.check_forward:
            _check(fn, "forward", arrays, None, inputs)

    def vjp(self, node, grads, upstream):
        if self is _innermost():
            _check(node, "vjp", grads, upstream, node.inputs)


def _innermost():
    for i in reversed(_mode.state.interceptors):
        if type(i) is _Checker:
            return i
    return None


def _check(node, phase, arrays, upstream, inputs):
    """Raise AnomalyError with context if an array of this forward or vjp is not finite."""
    for i, a in enumerate(arrays):
        a = getattr(a, "_data", a)
        if a is None or a.dtype.kind not in "fc" or np.isfinite(a).all():
            continue
        op = type(node).__name__
        hint = _hint(op, phase, inputs or (), a, getattr(upstream, "_data", None))
        raise AnomalyError(_message(node, phase, i, a, hint, inputs), op=op,
                           phase="forward" if phase == "forward" else "backward",
                           site=_sites.get(node), scope=_scopes.get(node), hint=hint)


def _bad(a):
    nan, pinf, ninf = np.isnan(a).sum(), np.isposinf(a).sum(), np.isneginf(a).sum()
    parts = [f"{n} {k}" for n, k in ((nan, "NaN"), (pinf, "inf"), (ninf, "-inf")) if n]
    return ", ".join(parts) + f" of {a.size} values"


def _describe(t):
    a = t._data
    text = f"shape {a.shape} {a.dtype}"
    if a.size and a.dtype.kind in "fc":
        finite = a[np.isfinite(a)]
        if finite.size:
            text += f", range [{finite.min():.4g}, {finite.max():.4g}]"
        if (a == 0).any():
            text += f", {int((a == 0).sum())} zeros"
        if finite.size < a.size:
            text += f", {a.size - finite.size} non-finite"
    return text


def _message(node, phase, i, a, hint, inputs):
    op = type(node).__name__
    formula = (type(node).__doc__ or "").strip().split("\n")[0].split(";")[0]
    where = "forward" if phase == "forward" else "backward"
    what = "output" if phase == "forward" else f"gradient for input {i}"
    lines = [f"detect_anomaly: the {where} of {op} ({formula}) produced non-finite values in "
             f"its {what}; got {_bad(a)} (shape {a.shape})"]
    inputs = inputs or ()
    for k, t in enumerate(inputs):
        lines.append(f"  input {k}: {_describe(t)}")
    site = _sites.get(node)
    if site is None:
        lines.append("  created: outside detect_anomaly(); run the forward pass inside the "
                     "context to see where")
    else:
        filename, lineno, func = site
        code = linecache.getline(filename, lineno).strip()
        lines.append(f'  created at: File "{filename}", line {lineno}, in {func}'
                     + (f"\n      {code}" if code else ""))
    lines.append("  hint: " + hint)
    return "\n".join(lines)


_AT_ZERO = {
    "Log": "log at 0: log 0 = -inf and d log x/dx = 1/x = inf",
    "Div": "division by 0: a/0 = inf (0/0 = NaN) and d(a/b)/db = -a/b^2 = inf",
    "Sqrt": "sqrt at 0: d sqrt(x)/dx = 1/(2 sqrt x) = inf",
    "Pow": "a power at 0: d x^p/dx = p x^(p-1) = inf for p < 1",
}


def _hint(op, phase, inputs, a, upstream):
    masked = upstream is not None and np.isnan(a).any() and (upstream == 0).any()
    if phase == "vjp" and masked:
        return ("the upstream gradient is 0 where this result is NaN: 0 * inf. This is the "
                "inactive branch of `where` (or a mask) still differentiating an op at a point "
                "where its derivative is infinite; make that branch safe before the op, e.g. "
                "log(where(x > 0, x, 1)), not where(x > 0, log(x), 0)")
    if op in ("Log", "Div", "Pow", "Sqrt") and any((t._data == 0).any()
                                                             for t in inputs):
        return (f"{_AT_ZERO[op]}: keep the argument away from 0 (clamp, + eps), or use the "
                "logits form: log_softmax / cross_entropy on logits, "
                "binary_cross_entropy_with_logits instead of log(sigmoid(.))")
    if op in ("Log", "Sqrt") and any((t._data < 0).any() for t in inputs):
        return f"{op.lower()} of a negative number is NaN: check the sign of its argument"
    if op in ("Exp", "Expm1", "Pow", "Mul", "MatMul", "Linear") and np.isinf(a).any():
        return ("overflow: exp (or a product) exceeded the largest float (exp(x) for x > 88 in "
                "float32); use logsumexp / softmax / log_softmax, which subtract the max first, "
                "or lower the learning rate if the weights are growing")
    if any(not np.isfinite(t._data).all() for t in inputs):
        return "an input of this op is already non-finite: look at the op that produced it"
    return ("a NaN or inf first appeared here: check the ranges of the inputs above (division "
            "by ~0, overflow, or a learning rate so large that the weights diverged)")
