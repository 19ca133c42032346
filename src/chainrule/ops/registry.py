"""The op registry: every public op registered once, next to its Function classes.

Each entry says what the op is called (``cr.<name>``, or ``cr.<namespace>.<name>``), which
Tensor methods it also is, how its arguments are spelled (torch's ``dim``/``keepdim`` first,
NumPy's ``axis``/``keepdims`` accepted as aliases, as torch itself does), what it returns, and
whether it is differentiable and pure (the same inputs give the same outputs: not a random
draw). From the registry, `install` puts the methods on Tensor (the kernel knows none of them),
and `exports` gives ``ops.__all__`` and the names of ``chainrule``, so no name list can drift.

    @op(methods=("exp",), classes=(Exp,))
    def exp(x):
        \"""e^x.\"""
        return Exp()(to_tensor(x))
"""

import functools
import inspect
from dataclasses import dataclass, field

from chainrule.core.tensor import Tensor

# NumPy's spelling -> torch's parameter names it stands for (the first one the op has)
NUMPY_SPELLINGS = {"axis": ("dim", "dims"), "keepdims": ("keepdim",)}


@dataclass(frozen=True)
class OpInfo:
    """One registered op: its public name and everything generated from it."""

    name: str
    fn: object  # the public function (with alias handling when it takes dim/keepdim)
    namespace: str = ""  # "" for cr.<name>; "linalg" for cr.linalg.<name>, ...
    methods: tuple = ()  # Tensor methods: the tensor is the first argument
    reflected: tuple = ()  # Tensor methods with the tensor as the second argument (__radd__)
    properties: tuple = ()  # Tensor properties computed by fn(tensor) (T, mT)
    returns: str = "tensor"  # "tensor", "tuple" (of tensors) or the named tuple's name
    differentiable: bool = True
    pure: bool = True  # False for random draws: never folded into a constant
    classes: tuple = ()  # the Function classes it records (the op table covers each)
    export: bool = True  # also a name of `chainrule` (or of its namespace)
    aliases: dict = field(default_factory=dict)  # accepted keyword -> parameter name
    also: tuple = ()  # other public names of the same function (clip for clamp, cat for concat)


REGISTRY = {}  # (namespace, name) -> OpInfo


def _spelled(fn, renames):
    """fn accepting NumPy's keyword spellings (axis=, keepdims=) for torch's (dim=, keepdim=)."""

    @functools.wraps(fn)
    def spelled(*args, **kwargs):
        if kwargs:
            for alias, name in renames:
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}: got both {name}= and its alias "
                                        f"{alias}=")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return spelled


def op(name=None, *, namespace="", methods=(), reflected=(), properties=(), returns="tensor",
       differentiable=True, pure=True, classes=(), export=True, also=()):
    """Register the decorated function as a public op (see the module docstring).

    An op that takes dim/keepdim comes back accepting axis/keepdims too (one thin wrapper);
    every other function comes back unchanged.
    """

    def register(fn):
        key = (namespace, name or fn.__name__)
        if key in REGISTRY:
            raise ValueError(f"op registry: {'.'.join(filter(None, key))} is registered twice")
        params = _parameter_names(fn)
        renames = tuple((alias, next(t for t in targets if t in params))
                        for alias, targets in NUMPY_SPELLINGS.items()
                        if alias not in params and any(t in params for t in targets))
        public = _spelled(fn, renames) if renames else fn
        REGISTRY[key] = OpInfo(key[1], public, namespace, tuple(methods), tuple(reflected),
                               tuple(properties), returns, differentiable, pure, tuple(classes),
                               export, dict(renames), tuple(also))
        return public

    return register


def _parameter_names(fn):
    """The names fn's parameters are called by (read from its code object: inspect.signature
    costs ~70 us an op, a fifth of chainrule's import over its ~350 ops)."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:  # not a plain Python function (a builtin, a callable object)
        return tuple(n for n, p in inspect.signature(fn).parameters.items()
                     if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


def _reflect(fn):
    def reflected(self, other):
        return fn(other, self)

    reflected.__name__ = reflected.__qualname__ = f"r{fn.__name__}"
    reflected.__doc__ = fn.__doc__
    return reflected


def install():
    """Put every registered method and property on Tensor (the kernel's class)."""
    for info in REGISTRY.values():
        for m in info.methods:
            setattr(Tensor, m, info.fn)
        for m in info.reflected:
            setattr(Tensor, m, _reflect(info.fn))
        for m in info.properties:
            setattr(Tensor, m, property(info.fn, doc=info.fn.__doc__))


def exports(namespace=""):
    """{public name: function} of the ops registered for `namespace` ("" is chainrule's)."""
    out = {}
    for (ns, _), info in REGISTRY.items():
        if ns == namespace and info.export:
            for name in (info.name,) + info.also:
                out[name] = info.fn
    return out


def tensor_methods():
    """{Tensor method or property name: OpInfo}, for the generated listing."""
    out = {}
    for info in REGISTRY.values():
        for m in info.methods + info.reflected + info.properties:
            out[m] = info
    return dict(sorted(out.items()))
